"""Batches: manifests, the ingest-batch flow on each backend, the reports, the command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from pipelines.batch import BundleRequest, read_manifest, run_bundles
from search import open_index
from storage import open_store
from storage.bundles import stored_bundle_ids
from tests.fixtures.pagegen import make_bundle

BIN = Path(sys.executable).with_name("abhilekh")


def _bundle(path: Path, seed: int, pages: int = 1, kind: str = "letter") -> Path:
    make_bundle(path, seed=seed, pages=pages, kind=kind, profile="clean", station="तिर्वा", year=2018)
    (path / "truth.json").unlink()
    return path


def test_manifest_csv_yaml_and_folder(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "metadata.json").write_text('{"thana": "Tirwa", "register": "GD", "year": 1998}')
    (tmp_path / "m.csv").write_text("path,thana,register,year,file_no,title\n"
                                    "a,छिबरामऊ,Crime Register,1995-1998,12,\n"
                                    f"{tmp_path / 'b'},Tirwa,,2001,,B file\n", encoding="utf-8")
    rows = read_manifest(tmp_path / "m.csv")
    assert [r.path for r in rows] == [str((tmp_path / "a").resolve()), str((tmp_path / "b").resolve())]
    assert rows[0].metadata == {"thana": "छिबरामऊ", "register": "Crime Register", "year": 1995, "year_to": 1998,
                                "file_no": "12", "title": "a"}
    assert rows[1].metadata["title"] == "B file" and rows[1].metadata["year"] == 2001

    (tmp_path / "m.yaml").write_text("bundles:\n  - path: a\n    thana: Tirwa\n    year: 2003\n  - {path: b}\n")
    rows = read_manifest(tmp_path / "m.yaml")
    assert [r.name for r in rows] == ["a", "b"] and rows[0].metadata["year"] == 2003

    rows = read_manifest(tmp_path)  # a folder of bundle folders
    assert [r.name for r in rows] == ["a", "b"]
    assert rows[1].metadata == {"thana": "Tirwa", "register": "GD", "year": 1998, "title": "b"}

    (tmp_path / "bad.csv").write_text("path,year\na,nineteen\n")
    with pytest.raises(ValueError, match="1995-1998"):
        read_manifest(tmp_path / "bad.csv")
    (tmp_path / "nopath.yaml").write_text("- thana: x\n")
    with pytest.raises(ValueError, match="no path"):
        read_manifest(tmp_path / "nopath.yaml")


GUARD = 60  # seconds: only ever reached when the engine deadlocks or serialises (the test fails)


def test_bundles_share_one_page_pool_and_at_most_window_are_in_flight(tmp_path, monkeypatch):
    """The engine with a stand-in OCR: pages of all bundles go through one pool of 2;
    never more than `window` bundles with pages in OCR; reports come back in request order.

    No timing: every page waits at a gate until the test has seen the state it checks
    (both pool threads busy, the admitting thread waiting for room)."""
    from abhilekh.records import PageText
    from pipelines import batch
    from tests.conftest import make_settings

    settings = make_settings(tmp_path / "home")
    requests = []
    for b in range(5):
        folder = tmp_path / f"b{b}"
        folder.mkdir()
        for p in range(3):
            Image.new("L", (40, 30), color=b * 10 + p).save(folder / f"p{p}.png")
        requests.append(BundleRequest(str(folder), {"title": f"b{b}"}))

    cond = threading.Condition()
    state = {"pages": 0, "max_pages": 0, "max_bundles": 0, "blocked": 0}
    submitted: list[str] = []  # bundle ids in the order their pages were queued
    left: dict[str, int] = {}
    gate = threading.Event()
    pool = ThreadPoolExecutor(max_workers=2)

    def fake_ocr(job):
        with cond:
            state["pages"] += 1
            state["max_pages"] = max(state["max_pages"], state["pages"])
            cond.notify_all()
        assert gate.wait(GUARD), "the gate was never opened"
        with cond:
            state["pages"] -= 1
            left[job.bundle_id] -= 1
        return PageText(job.bundle_id, job.page, job.source_name, 1, "x", 90.0, False)

    def submit(job):
        with cond:
            if job.bundle_id not in left:
                submitted.append(job.bundle_id)
            left[job.bundle_id] = left.get(job.bundle_id, 0) + 1
            in_ocr = sum(1 for n in left.values() if n)
            state["max_bundles"] = max(state["max_bundles"], in_ocr)
        return pool.submit(fake_ocr, job)

    class Watched(threading.Condition):
        """The engine's slot condition, telling the test when the admitting thread
        really waits on it (its predicate false: no room for another bundle)."""

        def wait(self, timeout=None):
            if threading.current_thread() is runner:
                with cond:
                    state["blocked"] += 1
                    cond.notify_all()
            return super().wait(timeout)

    real_init = batch._Slots.__init__

    def watched_init(slots, window: int) -> None:
        real_init(slots, window)
        slots.cond = Watched()

    monkeypatch.setattr(batch._Slots, "__init__", watched_init)

    def store(plan, pages):
        raise OSError("store is down")  # keeps the test off Tesseract and PDF assembly

    reports: list = []
    runner = threading.Thread(target=lambda: reports.extend(
        run_bundles(requests, settings, submit, store, lambda m, p: 0, window=2)))
    runner.start()
    try:
        with cond:
            seen = cond.wait_for(lambda: state["pages"] == 2 and state["blocked"] >= 1, GUARD)
            snapshot = (state["pages"], len(submitted))
    finally:
        gate.set()
        runner.join(GUARD)
        pool.shutdown()
    assert seen, f"never saw both pool threads busy and the window full: {state}, {len(submitted)} bundles queued"
    # Gate closed: two pages in OCR at once (one pool, shared), and exactly `window`
    # bundles' pages queued while the admitting thread waits for room.
    assert snapshot == (2, 2)
    assert not runner.is_alive()
    assert [r["name"] for r in reports] == [f"b{b}" for b in range(5)]
    assert len(submitted) == 5 and state["max_pages"] == 2 and state["max_bundles"] == 2
    assert all(not r["stored"] and "store is down" in r["failures"][0]["reason"] for r in reports)


def test_the_pool_keeps_reading_pages_while_a_bundle_is_stored(tmp_path):
    """Storing and indexing bundle n run beside the OCR of the next bundles: a slow
    store never leaves the page pool empty while there are pages left to read.

    No timing: the store of bundle n waits until a page of bundle n + 1 has been read,
    which happens only if the engine queues that bundle while bundle n is being stored."""
    from abhilekh.records import PageText
    from storage.bundles import Manifest
    from tests.conftest import make_settings

    settings = make_settings(tmp_path / "home")
    requests = []
    for b in range(4):
        folder = tmp_path / f"b{b}"
        folder.mkdir()
        for p in range(4):
            Image.new("L", (40, 30), color=b * 10 + p).save(folder / f"p{p}.png")
        requests.append(BundleRequest(str(folder), {"title": f"b{b}"}))
    lock = threading.Lock()
    order: list[str] = []  # bundle ids as their first page was read
    read_one = [threading.Event() for _ in requests]  # a page of bundle n has been read
    done = {"pages": 0}
    during_store: list[bool] = []
    pool = ThreadPoolExecutor(max_workers=2)

    def fake_ocr(job):
        with lock:
            if job.bundle_id not in order:
                order.append(job.bundle_id)
            n = order.index(job.bundle_id)
            done["pages"] += 1
        read_one[n].set()
        return PageText(job.bundle_id, job.page, job.source_name, 1, "x", 90.0, False)

    def store(plan, pages):
        with lock:
            n = order.index(plan.bundle_id)
        if n + 1 < len(requests):
            during_store.append(read_one[n + 1].wait(GUARD))  # the next bundle is being read
        else:
            with lock:
                during_store.append(done["pages"] < 16)  # the last: nothing left to read
        return Manifest(bundle_id=plan.bundle_id, metadata=plan.metadata, sources=plan.sources,
                        page_count=len(pages), page_confidence=[90.0] * len(pages), needs_review=[],
                        versions={}, created_at="", errors=[])

    reports = run_bundles(requests, settings, lambda job: pool.submit(fake_ocr, job), store,
                          lambda m, p: len(p), window=1)
    pool.shutdown()
    assert all(r["ok"] for r in reports), reports
    assert len(order) == 4 and done["pages"] == 16
    # Every store but the last had pages of the next bundle read meanwhile.
    assert during_store == [True, True, True, False]


def test_batch_flow_reports_and_thumbnails(backend_settings, prefect_api, active, tmp_path):
    import flows
    from pipelines.report import write_reports

    # Every page flagged for review, so the report must carry a thumbnail of each.
    settings = active(backend_settings.model_copy(update={"review_confidence": 101.0}))
    one = _bundle(tmp_path / "one", seed=51)
    two = _bundle(tmp_path / "two", seed=52)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "scan.jpg").write_bytes(b"")
    requests = [
        BundleRequest(str(one), {"thana": "<script>alert(1)</script>", "year": 2018}, "one"),
        BundleRequest(str(tmp_path / "missing"), {}, "missing"),
        BundleRequest(str(bad), {}, "bad"),
        BundleRequest(str(two), {"thana": "Tirwa"}, "two"),
        BundleRequest(str(one), {}, "one-again"),  # the same scans twice in one batch: one copy
    ]
    reports = flows.run_ingest_batch(requests)
    assert [r["name"] for r in reports] == ["one", "missing", "bad", "two", "one-again"]
    ok = {r["name"] for r in reports if r["ok"]}
    assert ok == {"one", "two", "one-again"}
    assert reports[4]["already_done"] and reports[4]["bundle_id"] == reports[0]["bundle_id"]
    assert "does not exist" in reports[1]["failures"][0]["reason"]
    assert "empty" in reports[2]["failures"][0]["reason"]
    assert reports[0]["needs_review"] == [1] and reports[0]["confidence"] > 50

    store, index = open_store(settings), open_index(settings)
    try:
        ids = {reports[0]["bundle_id"], reports[3]["bundle_id"]}
        assert set(stored_bundle_ids(store)) == ids
        assert index.bundle_page_counts() == {i: 1 for i in ids}
    finally:
        index.close()

    html_path, json_path = write_reports(reports, tmp_path / "report", settings, seconds=12.0)
    page = html_path.read_text(encoding="utf-8")
    assert page.count("data:image/jpeg;base64,") == 3  # one flagged page in each stored report row
    assert "<script>" not in page and "&lt;script&gt;" in page
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert data["summary"]["bundles"] == 5 and data["summary"]["bundles_failed"] == 2
    first = data["bundles"][0]
    assert {"pages", "confidence", "failures", "seconds", "pages_flagged"} <= set(first)
    assert first["pages"] == 1 and first["pages_flagged"] == [1]


def test_batch_command_progress_report_and_exit_code(tmp_path):
    good = _bundle(tmp_path / "scans" / "GD-2018", seed=53)
    bad = tmp_path / "scans" / "torn"
    bad.mkdir()
    (bad / "page1.jpg").write_bytes(b"\xff\xd8\xff\xe0 half a jpeg")
    manifest = tmp_path / "scans" / "batch.csv"
    manifest.write_text("path,thana,register,year\nGD-2018,Tirwa,General Diary,2018\ntorn,Tirwa,,2018\n", encoding="utf-8")

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ABHILEKH_", "PREFECT_"))}
    env.update(ABHILEKH_HOME=str(tmp_path / "home"), COLUMNS="200", PYTHONIOENCODING="utf-8")
    result = subprocess.run([str(BIN), "batch", str(manifest), "--report-dir", str(tmp_path / "out")],
                            capture_output=True, text=True, env=env, timeout=600)
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "✓ GD-2018: 1 page(s)" in out and "✗ torn" in out and "page1.jpg" in out
    assert "bundles 2/2" in out and "pages/min" in out and "1 of 2 bundle(s) ok" in out
    assert "e-file    : ABH/TIRWA/2018/0001 (opened" in out  # the stored bundle's e-file (issue 12)
    data = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert [b["name"] for b in data["bundles"]] == ["GD-2018", "torn"]
    assert data["bundles"][0]["metadata"]["register"] == "General Diary"
    assert (tmp_path / "out" / "report.html").exists()
    assert good.exists(), "a batch never moves the operator's files"

    fixed = subprocess.run([str(BIN), "batch", str(manifest.with_name("only-good.yaml"))],
                           capture_output=True, text=True, env=env, timeout=60)
    assert fixed.returncode == 2 and "does not exist" in fixed.stderr
