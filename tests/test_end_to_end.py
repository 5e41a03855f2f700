"""A generated bundle goes through the real pipeline (OpenCV, Tesseract, Prefect, store,
index) on each backend, and officers' searches land on the right page."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from abhilekh.records import SearchFilters
from search import open_index
from storage import open_store
from storage.bundles import load_manifest, pdf_key
from tests.fixtures.pagegen import make_bundle

STATION = "छिबरामऊ"


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory) -> tuple[Path, list]:
    out = tmp_path_factory.mktemp("bundle") / "register-2019"
    truths = make_bundle(out, seed=11, pages=3, kind="register", profile="light", station=STATION, year=2019)
    (out / "truth.json").unlink()  # the bundle is the scans only
    return out, truths


def _pages_for(index, query: str, **filters) -> list[int]:
    results = index.search(query, SearchFilters(**filters), limit=20)
    return [h.page for h in results.hits]


def test_bundle_end_to_end(backend_settings, bundle_dir, prefect_api, active, tmp_path):
    import flows

    path, truths = bundle_dir
    settings = active(backend_settings)
    meta = {"thana": "Chhibramau", "register": "Crime Register", "year": 2019, "title": "CR 2019"}

    report = flows.run_ingest_bundle(str(path), meta)
    assert report["ok"], report
    assert report["pages"] == 3 and report["indexed_pages"] == 3 and not report["failures"]

    index, store = open_index(settings), open_store(settings)
    try:
        # Known-item searches: every complainant's name, crime number and vehicle number
        # printed on a page should lead back to that page (OCR may miss a few).
        tried = found = 0
        vehicles = 0
        for page, truth in enumerate(truths, 1):
            for entry in truth.entries:
                queries = [entry.names[0], entry.crime_no]
                if entry.vehicle_text:
                    queries.append(entry.vehicle_text)
                    vehicles += 1
                for q in queries:
                    tried += 1
                    found += page in _pages_for(index, q)
        assert vehicles, "the generated bundle should print at least one vehicle number"
        assert found / tried >= 0.8, f"only {found} of {tried} known items found"

        name = truths[0].entries[0].names[0]
        assert 1 in _pages_for(index, name, thana="Chhibramau")
        assert _pages_for(index, name, thana="Tirwa") == []
        assert _pages_for(index, name, year=2018) == []

        manifest = load_manifest(store, report["bundle_id"])
        assert manifest is not None and manifest.page_count == 3
        assert [s.name for s in manifest.sources] == ["page1.png", "page2.png", "page3.png"]

        # The searchable PDF: three pages, and its text layer holds the OCR text.
        pdf = tmp_path / "document.pdf"
        pdf.write_bytes(store.get(pdf_key(report["bundle_id"])))
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        assert re.search(r"^Pages:\s+3$", info, re.M), info
        layer = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"],
                               capture_output=True, text=True, check=True).stdout
        from storage.bundles import load_page

        ocr_words = set(load_page(store, report["bundle_id"], 1).text.split())
        layer_words = set(layer.split())
        assert len(ocr_words & layer_words) >= 0.7 * len(ocr_words)

        # Ingesting the same scans again changes nothing.
        again = flows.run_ingest_bundle(str(path), meta)
        assert again["already_done"] and again["ok"] and again["bundle_id"] == report["bundle_id"]
        assert index.count(report["bundle_id"]) == 3
    finally:
        index.close()


def test_bad_files_are_reported_quarantined_and_the_rest_ingested(prefect_api, active, tmp_path):
    import flows
    from tests.conftest import make_settings
    from tests.fixtures.pagegen import write_bad_inputs

    settings = active(make_settings(tmp_path / "home"))
    bundle = tmp_path / "mixed"
    truths = make_bundle(bundle, seed=5, pages=2, kind="letter", profile="clean", station=STATION, year=2020)
    (bundle / "truth.json").unlink()
    expected = write_bad_inputs(bundle)

    report = flows.run_ingest_bundle(str(bundle), {"thana": "Chhibramau"})
    assert not report["ok"]
    assert report["stored"] and report["pages"] == 2 and report["indexed_pages"] == 2
    reasons = {f["file"]: f["reason"].lower() for f in report["failures"]}
    assert set(reasons) == set(expected)
    for name, keyword in expected.items():
        assert keyword.lower() in reasons[name], (name, reasons[name])
        quarantined = settings.quarantine_dir / report["bundle_id"] / name
        assert quarantined.exists() and quarantined.with_name(name + ".reason.txt").exists()
    index = open_index(settings)
    try:
        assert 1 in _pages_for(index, truths[0].entries[0].names[0])
    finally:
        index.close()
    manifest = load_manifest(open_store(settings), report["bundle_id"])
    assert {e["file"] for e in manifest.errors} == set(expected)


def test_interrupted_run_resumes_from_finished_pages(prefect_api, active, tmp_path, bundle_dir):
    """Pages finished before a crash are not OCR'd again, and nothing is duplicated."""
    import flows
    from abhilekh.records import BundleMetadata
    from pipelines import bundle as steps
    from pipelines import progress
    from tests.conftest import make_settings

    settings = active(make_settings(tmp_path / "home"))
    path, _ = bundle_dir
    plan = steps.plan_bundle(path, BundleMetadata(), settings)
    steps.run_page(plan.jobs[0], settings)  # as if the run died after page 1

    seen: list[tuple[int, bool]] = []
    unsubscribe = progress.subscribe(lambda event, data: event == "page" and seen.append((data["page"], data["resumed"])))
    try:
        report = flows.run_ingest_bundle(str(path), {})
    finally:
        unsubscribe()
    assert report["ok"] and report["pages"] == 3
    assert sorted(seen) == [(1, True), (2, False), (3, False)]
    index = open_index(settings)
    try:
        assert index.count(plan.bundle_id) == 3
    finally:
        index.close()
    assert not (settings.work_dir / plan.bundle_id).exists(), "work files are cleaned once stored"
