"""Real scanned FIR pages (../shared/samples/fir): robustness, not accuracy.

About 100 dpi, handwriting, dark borders, skew: every page must go through the whole
pipeline without a crash, land in storage and the index, and low-confidence pages must
be flagged for review.
"""

from __future__ import annotations

import shutil

from PIL import Image

from search import open_index
from storage import open_store
from storage.bundles import load_manifest, load_page


def test_real_fir_scans_go_through_the_whole_pipeline(fir_samples, prefect_api, active, tmp_path):
    import flows
    from tests.conftest import make_settings

    settings = active(make_settings(tmp_path / "home"))
    bundle = tmp_path / "fir"
    bundle.mkdir()
    for n, sample in enumerate(fir_samples, 1):
        shutil.copy(sample, bundle / f"page{n}.jpg")
    # One more page, scanned upside down: it must come back upright.
    Image.open(fir_samples[0]).rotate(180).save(bundle / f"page{len(fir_samples) + 1}.jpg", quality=90)

    report = flows.run_ingest_bundle(str(bundle), {"thana": "Airport", "register": "FIR"})
    pages = len(fir_samples) + 1
    assert report["stored"] and report["pages"] == pages and report["indexed_pages"] == pages, report

    store = open_store(settings)
    manifest = load_manifest(store, report["bundle_id"])
    texts = [load_page(store, report["bundle_id"], n) for n in range(1, pages + 1)]
    assert all(p.text.strip() for p in texts), "every page yields some text (the printed form labels)"
    flagged = {p.page for p in texts if p.confidence < settings.review_confidence}
    assert set(manifest.needs_review) == flagged
    assert texts[-1].rotation == 180 and texts[0].rotation == 0

    index = open_index(settings)
    try:
        assert index.count(report["bundle_id"]) == pages
        hits = index.search("First Information Report").hits
        assert hits, "the printed English form title is findable"
    finally:
        index.close()
