"""A temporary Prefect API that is slow to start ends the command with what to do next."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from abhilekh.errors import AbhilekhError
from abhilekh.settings import Settings
from pipelines.prefect_server import PrefectUnavailable, temporary_api


def test_a_slow_start_is_a_named_error_that_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    settings = Settings(home=tmp_path, prefect_start_timeout=0.05)
    with pytest.raises(PrefectUnavailable) as caught:
        with temporary_api(settings):
            pass
    err = caught.value
    assert isinstance(err, AbhilekhError) and err.transient
    assert "ABHILEKH_PREFECT_START_TIMEOUT" in str(err) and "temporary-api.log" in str(err)
    assert "PREFECT_API_URL" not in os.environ  # nothing half-configured is left behind
