"""Thumbnails are made at ingest from the cleaned page and stored with the bundle."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from abhilekh.records import BundleMetadata
from abhilekh.settings import Settings
from ingest.thumbnail import ThumbnailError, make_thumbnail
from storage import open_store
from storage.base import ObjectNotFound
from storage.bundles import load_manifest, thumb_key
from tests.fixtures.pagegen import make_bundle


def _decode(data: bytes) -> np.ndarray:
    assert data.startswith(b"\xff\xd8"), "not a JPEG"
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert img is not None
    return img


def test_thumbnail_is_a_small_grayscale_jpeg_of_the_page() -> None:
    page = np.full((3508, 2480), 255, np.uint8)
    page[1000:1400, 300:2200] = 0  # a dark band a third of the way down
    img = _decode(make_thumbnail(page))
    assert img.ndim == 2  # grayscale
    assert img.shape == (424, 300)  # 300 px wide, aspect kept
    assert img[130:165, 50:250].mean() < 40 and img[:100].mean() > 230
    assert len(make_thumbnail(page)) < 30_000


def test_colour_and_small_pages() -> None:
    colour = np.zeros((200, 150, 3), np.uint8)
    colour[..., 2] = 255  # red in BGR
    img = _decode(make_thumbnail(colour))
    assert img.ndim == 2 and img.shape == (200, 150)  # never enlarged
    assert 60 < img.mean() < 90  # red's luminance (~76), not 0 or 255


@pytest.mark.parametrize("bad", [np.zeros((0, 0), np.uint8), np.zeros((2, 2, 2, 2), np.uint8)])
def test_not_an_image_is_refused(bad: np.ndarray) -> None:
    with pytest.raises(ThumbnailError):
        make_thumbnail(bad)


def test_ingest_stores_a_thumbnail_per_page_and_resumes_old_work_dirs(tmp_path: Path) -> None:
    from pipelines.bundle import _work, plan_bundle, run_page, store_bundle

    scans = tmp_path / "scans"
    make_bundle(scans, seed=5, pages=2, kind="letter", profile="clean", dpi=200)
    (scans / "truth.json").unlink()
    settings = Settings(home=tmp_path / "home", es_url=None, s3_endpoint=None)
    plan = plan_bundle(scans, BundleMetadata(thana="छिबरामऊ"), settings)
    assert len(plan.jobs) == 2
    pages = [run_page(job, settings) for job in plan.jobs]
    work = _work(settings, plan.bundle_id)
    assert sorted(p.name for p in work.glob("*.jpg")) == ["1.jpg", "2.jpg"]

    store = open_store(settings)
    store_bundle(plan, pages, settings, store)
    for page in pages:
        img = _decode(store.get(thumb_key(plan.bundle_id, page.page)))
        assert img.ndim == 2 and img.shape[1] == 300
        # Same frame as the word boxes, scaled: the page's aspect ratio is kept.
        assert abs(img.shape[0] - page.height * 300 / page.width) <= 1
        assert store.get(thumb_key(plan.bundle_id, page.page)) == (work / f"{page.page}.jpg").read_bytes()

    # A work dir left by a run from before thumbnails (no <n>.jpg) still resumes and stores.
    (work / "2.jpg").unlink()
    resumed = run_page(plan.jobs[1], settings)
    assert resumed.text == pages[1].text and not (work / "2.jpg").exists()
    other = Settings(home=tmp_path / "home2", es_url=None, s3_endpoint=None)
    other.work_dir.mkdir(parents=True)
    (other.work_dir / plan.bundle_id).symlink_to(work, target_is_directory=True)
    store2 = open_store(other)
    manifest = store_bundle(plan, pages, other, store2)
    assert load_manifest(store2, plan.bundle_id) == manifest
    store2.get(thumb_key(plan.bundle_id, 1))
    with pytest.raises(ObjectNotFound):
        store2.get(thumb_key(plan.bundle_id, 2))


def test_backfill_stores_thumbnails_for_bundles_stored_before_them(tmp_path: Path) -> None:
    import io

    import pikepdf

    from pipelines.maintenance import backfill_thumbnails
    from storage.bundles import Manifest, SourceFile, pdf_key, save_manifest

    settings = Settings(home=tmp_path / "home", es_url=None, s3_endpoint=None)
    store = open_store(settings)
    bid = "ab" * 32
    pdf = pikepdf.new()
    for _ in range(2):
        pdf.add_blank_page(page_size=(595, 842))
    buf = io.BytesIO()
    pdf.save(buf)
    store.put(pdf_key(bid), buf.getvalue(), "application/pdf")
    save_manifest(store, Manifest(bid, BundleMetadata(thana="कन्नौज"), [SourceFile("a", "0" * 64, 1)],
                                  2, [90.0, 90.0], [], {}, "2024-01-01T00:00:00+00:00"))
    assert backfill_thumbnails(settings) == 2
    for n in (1, 2):
        img = _decode(store.get(thumb_key(bid, n)))
        assert img.ndim == 2 and img.shape[1] == 300 and abs(img.shape[0] - 424) <= 1
        assert img.mean() > 250  # a blank page stays white
    assert backfill_thumbnails(settings) == 0  # nothing left to do
