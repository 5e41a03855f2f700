"""The web's cache of search results (issue 15: server CPU per search): a repeated search
is answered from memory, and any write to the index, by this process or another (an
ingest, a correction, a reindex), makes the next search read the index again."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from abhilekh.records import SearchDocument
from abhilekh.settings import Settings
from tests.test_web import GD, KANNAUJ, _docs, fast_hashing, home, login  # noqa: F401  (fixtures)

NEW = "f" * 64


def _hits(html: str) -> list[str]:
    return re.findall(r'<a class="open" href="/bundles/([0-9a-f]{64}/pages/\d+)', html)


def test_repeated_search_is_cached_and_a_write_from_another_process_invalidates_it(home: Settings) -> None:  # noqa: F811
    from search.sqlite import SqliteIndex
    from web.app import create_app

    with TestClient(create_app(home)) as c:
        cache = c.app.state.results  # type: ignore[attr-defined]
        login(c, "admin")
        assert _hits(c.get("/", params={"q": "नीलगाय"}).text) == []
        first = c.get("/", params={"q": "सुरेश"}).text
        assert c.get("/", params={"q": "सुरेश"}).text == first
        assert cache.hits == 1  # the second one came from memory
        # an ingest in another process (its own connection to the index file)
        other = SqliteIndex(home.index_path)
        try:
            other.index([SearchDocument(NEW, 1, "नीलगाय ने खेत की फ़सल खाई", KANNAUJ, confidence=90.0)])
            assert _hits(c.get("/", params={"q": "नीलगाय"}).text) == [f"{NEW}/pages/1"]
            # a reindex that no longer holds that page
            other.rebuild(_docs())
            assert _hits(c.get("/", params={"q": "नीलगाय"}).text) == []
            other.delete_bundle(GD)
            assert GD not in c.get("/", params={"q": "रमेश"}).text.split("<main", 1)[-1]
        finally:
            other.close()


def test_the_cache_can_be_turned_off(home: Settings) -> None:  # noqa: F811
    from web.app import create_app

    with TestClient(create_app(home.model_copy(update={"search_cache": 0}))) as c:
        login(c, "admin")
        assert c.get("/", params={"q": "सुरेश"}).text == c.get("/", params={"q": "सुरेश"}).text
        assert c.app.state.results.hits == 0  # type: ignore[attr-defined]
