"""A page Tesseract cannot read must not hold back its bundle: after
ABHILEKH_OCR_PAGE_ATTEMPTS tries it is stored as its image only, flagged for review,
and named in the report (so the run exits non-zero). Real Tesseract runs, made to
fail by a page timeout no OCR can meet."""

from __future__ import annotations

import io
import json

import pikepdf

from storage import open_store
from storage.bundles import load_manifest, page_key, pdf_key, thumb_key
from tests.fixtures.pagegen import make_bundle


def test_a_page_ocr_cannot_read_is_stored_as_image_only_and_reported(prefect_api, active, tmp_path):
    import flows
    from pipelines import progress
    from tests.conftest import make_settings

    settings = make_settings(tmp_path / "home").model_copy(update={"ocr_page_timeout": 0.001, "ocr_page_attempts": 2})
    active(settings)
    bundle = tmp_path / "register"
    make_bundle(bundle, seed=11, pages=2, kind="register", profile="clean", station="Talgram", year=2019)
    (bundle / "truth.json").unlink()

    retries: list[dict] = []
    unsubscribe = progress.subscribe(lambda event, data: retries.append(data) if event == "page_retry" else None)
    try:
        report = flows.run_ingest_bundle(str(bundle), {"thana": "Talgram"})
    finally:
        unsubscribe()

    assert sorted((r["page"], r["attempt"]) for r in retries) == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert "OcrTimeout" in retries[0]["reason"]
    assert report["stored"] and report["pages"] == 2 and report["indexed_pages"] == 2
    assert not report["ok"] and report["needs_review"] == [1, 2]
    assert len(report["failures"]) == 2
    for failure in report["failures"]:
        assert "image-only" in failure["reason"] and "OcrTimeout" in failure["reason"]
        assert "rescan" in failure["reason"]  # says what to do next

    store = open_store(settings)
    manifest = load_manifest(store, report["bundle_id"])
    assert [e["file"] for e in manifest.errors] == [f["file"] for f in report["failures"]]
    for n in (1, 2):
        page = json.loads(store.get(page_key(report["bundle_id"], n)))
        assert page["text"] == "" and page["needs_review"] and "OcrTimeout" in page["ocr_error"]
        assert store.get(thumb_key(report["bundle_id"], n))[:2] == b"\xff\xd8"  # a JPEG
    with pikepdf.open(io.BytesIO(store.get(pdf_key(report["bundle_id"])))) as pdf:
        assert len(pdf.pages) == 2
        assert all(page.get_images() for page in pdf.pages)  # the scan is there to key in from


def test_page_json_stored_before_the_field_existed_still_loads():
    """pages/<n>.json written before ocr_error existed reads as "OCR did not fail"."""
    from abhilekh.records import PageText

    old = PageText(bundle_id="b", page=1, source="a.png", source_page=1, text="x", confidence=90, needs_review=False)
    assert PageText.from_dict({k: v for k, v in old.to_dict().items() if k != "ocr_error"}).ocr_error is None
