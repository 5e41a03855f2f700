"""The fault matrix (bench/fault_matrix.py) on each backend: every kind of bad input
and of damage gets its named outcome, and no page is lost. The README's reliability
section quotes the counts this prints (`bench/fault_matrix.py`)."""

from __future__ import annotations

import pytest

from bench import fault_matrix as fm
from tests.conftest import ES_URL, S3_ENDPOINT, _server_missing


@pytest.mark.parametrize("backend", ["embedded", "servers"])
def test_every_fault_has_its_named_outcome_and_no_page_is_lost(backend: str) -> None:
    if backend == "servers":
        if not ES_URL:
            _server_missing("Elasticsearch", "ABHILEKH_ES_URL")
        if not S3_ENDPOINT:
            _server_missing("MinIO", "ABHILEKH_S3_ENDPOINT")
    rows = fm.run([backend])
    counts = fm.summary(rows)[backend]
    assert counts["input kinds"] >= 50 and counts["damage kinds"] >= 10, counts
    failed = [f"{r.group} {r.kind!r}: expected {r.expect!r}, got {r.got!r}, pages lost {r.pages_lost}"
              for r in rows if not r.handled or r.pages_lost]
    assert not failed, "\n".join(failed)
    assert counts["handled"] == len(rows) and counts["pages lost"] == 0
