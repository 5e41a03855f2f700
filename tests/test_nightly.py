"""The nightly flow on a temporary inbox: complete, still-being-copied and bad bundles;
what is stored and indexed, what is moved where, what the report says. And the index
being down: everything is stored and archived, and reconcile indexes it later."""

from __future__ import annotations

import json
import os
import time
from datetime import date
from pathlib import Path

import pytest

from search import open_index
from storage import open_store
from storage.bundles import stored_bundle_ids
from tests.fixtures.pagegen import make_bundle


def _bundle(path: Path, seed: int, pages: int = 1, kind: str = "letter") -> Path:
    make_bundle(path, seed=seed, pages=pages, kind=kind, profile="clean", station="छिबरामऊ", year=2019)
    (path / "truth.json").unlink()
    return path


def _age(path: Path, minutes: float) -> None:
    """Make everything in path look `minutes` old."""
    old = time.time() - minutes * 60
    for p in [path, *path.rglob("*")]:
        os.utime(p, (old, old))


def test_nightly_ingests_complete_bundles_moves_them_and_reports(backend_settings, prefect_api, active, tmp_path):
    import flows

    settings = active(backend_settings.model_copy(update={"inbox": tmp_path / "inbox", "inbox_settle_minutes": 30}))
    inbox = settings.inbox_dir
    good = _bundle(inbox / "GD-2019 <i>&1", seed=41)  # a name that must be escaped in HTML
    (good / "bundle.yaml").write_text("thana: Chhibramau\nregister: General Diary\nyear: 2019\n", encoding="utf-8")
    _age(good, 60)  # settled: complete without a marker
    marked = _bundle(inbox / "letters", seed=42)
    (marked / ".ready").write_text("")  # complete by marker, though just written
    partial = _bundle(inbox / "still-copying", seed=43)  # fresh, no marker: left alone
    bad = inbox / "broken"
    bad.mkdir()
    (bad / "page1.jpg").write_bytes(b"")
    (bad / "page2.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    _age(bad, 60)

    day_before = date.today().isoformat()  # the run files bundles under its own day
    result = flows.run_nightly()
    day_after = date.today().isoformat()
    assert not result["ok"]
    by_name = {r["name"]: r for r in result["bundles"]}
    assert set(by_name) == {"GD-2019 <i>&1", "letters", "broken"}
    assert result["waiting"] == ["still-copying"]
    assert by_name["GD-2019 <i>&1"]["ok"] and by_name["letters"]["ok"]
    assert by_name["GD-2019 <i>&1"]["metadata"]["register"] == "General Diary"
    assert not by_name["broken"]["stored"] and len(by_name["broken"]["failures"]) == 2
    assert sorted(result["archived"]) == ["GD-2019 <i>&1", "letters"] and result["quarantined"] == ["broken"]

    # Moves: good ones archived, the bad one quarantined with its reasons, the partial one untouched.
    assert sorted(p.name for p in inbox.iterdir()) == ["still-copying"]
    archived = {p.name for p in settings.archive_dir.glob("*/*")}
    assert archived == {"GD-2019 <i>&1", "letters"}
    (day,) = {p.name for p in settings.archive_dir.iterdir()}  # one day for the whole run
    assert day in {day_before, day_after}
    assert (settings.archive_dir / day / "letters" / ".ready").exists()
    rejected = list((settings.quarantine_dir / "inbox" / day).glob("broken"))
    assert len(rejected) == 1 and (rejected[0] / "page1.jpg").exists()
    reason = rejected[0].with_name("broken.reason.txt").read_text(encoding="utf-8")
    assert "page1.jpg" in reason and "empty" in reason.lower()
    assert partial.exists() and len(list(partial.iterdir())) == 1

    # Storage and index: two bundles, one page each, all indexed.
    store, index = open_store(settings), open_index(settings)
    try:
        ids = set(stored_bundle_ids(store))
        assert ids == {by_name["GD-2019 <i>&1"]["bundle_id"], by_name["letters"]["bundle_id"]}
        assert index.bundle_page_counts() == {i: 1 for i in ids}
    finally:
        index.close()

    # The report: JSON and HTML, escaped.
    data = json.loads(Path(result["report_json"]).read_text(encoding="utf-8"))
    assert data["summary"]["bundles"] == 3 and data["summary"]["pages_stored"] == 2
    assert data["waiting"] == ["still-copying"] and data["reconciled"] == []
    assert {b["name"] for b in data["bundles"]} == set(by_name)
    page = Path(result["report_html"]).read_text(encoding="utf-8")
    assert "GD-2019 &lt;i&gt;&amp;1" in page and "<i>&1" not in page
    assert "still-copying" in page and "broken" in page

    # Status knows about the quarantined bundle.
    from pipelines.maintenance import status

    counts = status(settings)
    assert counts["bundles"] == 2 and counts["pages_stored"] == 2 and counts["pages_indexed"] == 2
    assert counts["bundles_quarantined"] == 1

    # The next night: the partial bundle has settled; nothing else is redone.
    _age(partial, 60)
    second = flows.run_nightly()
    assert second["ok"] and [r["name"] for r in second["bundles"]] == ["still-copying"]
    assert not list(inbox.iterdir())
    assert len(stored_bundle_ids(store)) == 3


def test_elasticsearch_down_then_back_reconcile_indexes_the_stored_bundle(prefect_api, active, tmp_path):
    """The real Elasticsearch, unreachable at its URL during the nightly run (connections
    refused), then reachable at the same URL: the run stores and archives and reports the
    index error; reconcile then puts exactly the missing pages into Elasticsearch."""
    import flows
    from search.elastic import ElasticIndex
    from tests.conftest import make_settings
    from tests.fixtures.outage import Outage

    real = make_settings(tmp_path / "home", index="elastic")
    host, port = real.es_url.removeprefix("http://").split(":")
    with Outage(host, int(port)) as outage:
        settings = active(real.model_copy(update={
            "es_url": outage.url, "inbox": tmp_path / "inbox", "retry_attempts": 2,
            "retry_backoff_seconds": 0.1}))
        truths = make_bundle(settings.inbox_dir / "register", seed=45, pages=1, kind="letter",
                             profile="clean", station="छिबरामऊ", year=2019)
        (settings.inbox_dir / "register" / "truth.json").unlink()
        (settings.inbox_dir / "register" / ".ready").touch()
        direct = ElasticIndex(real.es_url, real.es_index)  # behind the outage, for the checks
        try:
            result = flows.run_nightly()
            (report,) = result["bundles"]
            assert report["stored"] and not report["failures"], report
            assert "cannot reach Elasticsearch" in report["index_error"]
            assert result["archived"] == ["register"] and "cannot reach" in result["reconcile_error"]
            assert outage.forwarded == 0
            assert not direct.client.indices.exists(index=real.es_index)  # nothing got through

            outage.restore()  # Elasticsearch is back, at the same URL
            assert flows.reconcile() == [report["bundle_id"]]
            assert outage.forwarded > 0
            assert direct.bundle_page_counts() == {report["bundle_id"]: 1}
            # the page is found by a name written on it, straight from Elasticsearch
            name = truths[0].entries[0].names[0]
            assert [(h.bundle_id, h.page) for h in direct.search(f'"{name}"').hits] == [
                (report["bundle_id"], 1)]
            assert flows.reconcile() == []  # nothing left to do
        finally:
            direct.drop()
            direct.close()


def test_index_down_bundles_are_stored_archived_and_reconciled_later(prefect_api, active, tmp_path):
    """Elasticsearch unreachable: the nightly run stores and archives, reports the index
    error; reconcile indexes exactly the missing pages into the index that answers (here
    the embedded one, so this runs without servers; the test above uses the real one)."""
    import socket

    import flows
    from tests.conftest import make_settings

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    base = make_settings(tmp_path / "home")
    settings = active(base.model_copy(update={
        "es_url": dead, "inbox": tmp_path / "inbox", "retry_attempts": 2, "retry_backoff_seconds": 0.1}))
    b = _bundle(settings.inbox_dir / "register", seed=44)
    (b / ".ready").touch()

    result = flows.run_nightly()
    (report,) = result["bundles"]
    assert report["stored"] and not report["failures"] and report["index_error"]
    assert result["archived"] == ["register"] and result["reconcile_error"]
    assert len(stored_bundle_ids(open_store(settings))) == 1

    up = active(base.model_copy(update={"inbox": tmp_path / "inbox"}))  # the embedded index stands in for ES coming back
    fixed = flows.reconcile()
    assert fixed == [report["bundle_id"]]
    index = open_index(up)
    try:
        assert index.bundle_page_counts() == {report["bundle_id"]: 1}
    finally:
        index.close()
    assert flows.reconcile() == []  # nothing left to do


def test_a_second_nightly_run_while_one_is_busy_stops_at_once(tmp_path):
    from pipelines.locks import BundleLock
    from pipelines.nightly import run_nightly
    from tests.conftest import make_settings

    settings = make_settings(tmp_path / "home")
    held = BundleLock(settings.locks_dir, "nightly")
    held.acquire()
    try:
        result = run_nightly(settings, lambda reqs: pytest.fail("must not ingest"), lambda: [])
        assert "another nightly run" in result["skipped"]
    finally:
        held.release()


def test_completeness_rules(tmp_path):
    from pipelines.nightly import scan_inbox

    inbox = tmp_path / "inbox"
    (inbox / "fresh").mkdir(parents=True)
    (inbox / "fresh" / "p1.png").write_bytes(b"x")
    (inbox / "marked").mkdir()
    (inbox / "marked" / "p1.png").write_bytes(b"x")
    (inbox / "marked" / ".ready").touch()
    (inbox / "old").mkdir()
    (inbox / "old" / "p1.png").write_bytes(b"x")
    (inbox / "old" / "metadata.json").write_text('{"thana": "Tirwa", "year": "1995-1998"}')
    _age(inbox / "old", 45)
    (inbox / "old-but-touched").mkdir()
    (inbox / "old-but-touched" / "p1.png").write_bytes(b"x")
    _age(inbox / "old-but-touched", 45)
    (inbox / "old-but-touched" / "p2.png").write_bytes(b"x")  # a page still arriving
    (inbox / ".hidden").mkdir()
    (inbox / "notes.txt").write_text("not a bundle")
    (inbox / "badmeta").mkdir()
    (inbox / "badmeta" / "bundle.yaml").write_text("year: [unclosed\n")
    (inbox / "badmeta" / ".ready").touch()

    scan = scan_inbox(inbox, settle_minutes=30)
    assert [r.name for r in scan.complete] == ["marked", "old"]
    assert scan.complete[1].metadata == {"thana": "Tirwa", "year": 1995, "year_to": 1998, "title": "old"}
    assert scan.waiting == ["fresh", "old-but-touched"]
    assert [n for n, _ in scan.unreadable] == ["badmeta"]
