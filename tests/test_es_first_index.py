"""Two machines indexing into a fresh Elasticsearch alias at the same moment must end
with ONE index behind it (CI saw an alias over two indices once: every bulk write
through the alias then failed and the bundle was left "safe in storage, run
reconcile").

Deterministic: both indexers have looked and found no index, and a barrier holds each
at the point of creating its index until the other is there too.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from abhilekh.records import BundleMetadata, SearchDocument
from tests.conftest import make_settings

META = BundleMetadata(thana="Tirwa", register="Letters", year=2020)


def _docs(bundle: str) -> list[SearchDocument]:
    return [SearchDocument(bundle, n, f"पृष्ठ {n} रमेश यादव", META, 90.0) for n in (1, 2, 3)]


@pytest.fixture
def racing(tmp_path: Path):
    from search.elastic import ElasticIndex

    settings = make_settings(tmp_path / "home", index="elastic")
    barrier = threading.Barrier(2, timeout=60)

    class RacingIndex(ElasticIndex):
        """An indexer that, having found no index, waits for the other before creating."""

        def _create_index(self, name: str, with_alias: bool) -> None:
            barrier.wait()
            super()._create_index(name, with_alias)

    indexers = [RacingIndex(settings.es_url, settings.es_index) for _ in range(2)]
    yield indexers
    indexers[0].drop()
    for idx in indexers:
        idx.close()


def test_two_indexers_creating_a_fresh_alias_at_once_share_one_index(racing):
    errors: list[BaseException] = []
    written: list[int] = []

    def run(idx, bundle: str) -> None:
        try:
            written.append(idx.index(_docs(bundle)))
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(idx, f"machine-{i}")) for i, idx in enumerate(racing)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, [str(e) for e in errors]
    assert written == [3, 3]
    es = racing[0]
    targets = sorted(es.client.indices.get_alias(name=es.alias))
    assert len(targets) == 1, f"alias {es.alias} points at {targets}"
    assert es.bundle_page_counts() == {"machine-0": 3, "machine-1": 3}
    # later writes through either indexer go to that one index
    assert racing[1].index(_docs("machine-1")) == 3
    assert es.count() == 6
