"""What a bundle's files may be like, and what happens then (issue 17, items 3, 4, 10).

Item 3: any failure of one page's processing gives the image-only page (or, when its
image cannot even be decoded, a placeholder and its file in quarantine); the rest of
the bundle is stored. Item 4: sources are pinned at plan time; a file that changes
during the ingest is reported and quarantined, never mixed into a stored bundle, and a
bundle still being written is refused. Item 10: zip and file-system edges, each with a
named reason. Real Tesseract on the one readable page of each bundle; the batch engine
with plain callables (the flows wrap exactly these), on both backends where it matters.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from abhilekh.records import BundleMetadata
from pipelines import bundle as steps
from pipelines.batch import BundleRequest, ingest_bundles
from search import open_index
from storage import open_store
from storage.bundles import load_manifest, page_key
from tests.fixtures.synthetic import render_lines

LINES = ["रमेश यादव पुत्र सुरेश ग्राम छिबरामऊ", "मु0अ0सं0 123/2019 धारा 379 भादवि"]


class Done:
    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


class Failed:
    def __init__(self, exc):
        self.exc = exc

    def result(self):
        raise self.exc


def run(settings, path: Path, before_ocr=None, metadata: dict | None = None):
    """One bundle through the batch engine; BEFORE_OCR(job) runs before each page."""

    def submit(job):
        if before_ocr:
            before_ocr(job)
        try:
            return Done(steps.run_page(job, settings))
        except Exception as exc:  # noqa: BLE001 - a failed future, as the pool gives it
            return Failed(exc)

    def store_fn(plan, pages):
        return steps.store_bundle(plan, pages, settings, open_store(settings))

    def index_fn(manifest, pages):
        index = open_index(settings)
        try:
            return steps.index_bundle(manifest, pages, index, settings)
        finally:
            index.close()

    [report] = ingest_bundles([BundleRequest(str(path), metadata or {"thana": "Tirwa"})], settings, submit,
                              store_fn, index_fn)
    return report


def good_page(path: Path, lines=LINES) -> Path:
    Image.fromarray(render_lines(lines, width=1400)).save(path, dpi=(300, 300))
    return path


def reasons(report) -> dict[str, str]:
    return {f["file"]: f["reason"] for f in report.failures}


# ----------------------------------------------------------------------------- item 3


def test_any_failure_of_one_page_gives_its_image_only_page_and_the_rest_is_stored(backend_settings, tmp_path):
    settings = backend_settings.model_copy(update={"pdf_render_timeout": 0.001})
    bundle = tmp_path / "odd"
    bundle.mkdir()
    good_page(bundle / "page1.png")
    Image.fromarray(np.full((20000, 1), 255, np.uint8)).save(bundle / "page2.png")  # OpenCV's resize asserts
    Image.fromarray(np.full((1, 20000), 0, np.uint8)).save(bundle / "page3.png")
    Image.fromarray(render_lines(LINES[:1], width=1000)).save(bundle / "page4.pdf")  # renders too slowly here

    report = run(settings, bundle)
    assert report.stored and report.pages == 4 and report.indexed_pages == 4, report
    assert not report.ok  # the operator must look at the three pages
    why = reasons(report)
    assert "processing failed" in why["page2.png (page 1)"] and "image-only" in why["page2.png (page 1)"]
    assert "processing failed" in why["page3.png (page 1)"]
    assert "cannot be decoded" in why["page4.pdf (page 1)"] and "placeholder" in why["page4.pdf (page 1)"]
    assert report.needs_review[-3:] == [2, 3, 4]
    assert (settings.quarantine_dir / report.bundle_id / "page4.pdf").is_file()
    assert "takes longer" in (settings.quarantine_dir / report.bundle_id / "page4.pdf.reason.txt").read_text()
    store = open_store(settings)
    page1 = json.loads(store.get(page_key(report.bundle_id, 1)))
    assert "रमेश" in page1["text"] and page1["ocr_error"] is None
    index = open_index(settings)
    try:
        assert (report.bundle_id, 1) in {(h.bundle_id, h.page) for h in index.search("रमेश यादव").hits}
    finally:
        index.close()


# ----------------------------------------------------------------------------- item 4


def _two_page_bundle(tmp_path: Path) -> Path:
    bundle = tmp_path / "changing"
    bundle.mkdir()
    good_page(bundle / "page1.png")
    good_page(bundle / "page2.png", [LINES[1], "वाहन संख्या UP 78 AB 1234"])
    return bundle


def test_a_scan_swapped_between_plan_and_ocr_is_quarantined_never_mixed(backend_settings, tmp_path):
    settings = backend_settings
    bundle = _two_page_bundle(tmp_path)
    swapped = []

    def swap(job):
        if job.page == 2 and not swapped:
            good_page(bundle / "page2.png", ["अभियुक्त की तलाश जारी है"])  # another scan under the same name
            swapped.append(job)

    report = run(settings, bundle, before_ocr=swap)
    assert not report.stored and report.failures, report
    why = reasons(report)
    assert "changed while it was being ingested" in why["page2.png"]
    copy = settings.quarantine_dir / report.bundle_id / "page2.png"
    assert copy.read_bytes() == (bundle / "page2.png").read_bytes()  # the file as it is now
    assert not (settings.work_dir / report.bundle_id).exists()  # nothing half-read kept
    assert load_manifest(open_store(settings), report.bundle_id) is None

    again = run(settings, bundle)  # the file is final now: one bundle, once
    assert again.stored and again.ok and again.bundle_id != report.bundle_id
    index = open_index(settings)
    try:
        assert index.bundle_page_counts() == {again.bundle_id: 2}
    finally:
        index.close()


def test_a_scan_appended_to_after_its_ocr_stops_the_store(settings, tmp_path):
    bundle = _two_page_bundle(tmp_path)

    def append(job):
        if job.page == 2:  # page 1 is read already; the scanner writes more into it
            with (bundle / "page1.png").open("ab") as f:
                f.write(b"\0" * 1000)

    report = run(settings, bundle, before_ocr=append)
    assert not report.stored
    assert "changed while it was being ingested" in reasons(report)["page1.png"]
    assert (settings.quarantine_dir / report.bundle_id / "page1.png").is_file()


def test_a_bundle_still_being_written_is_refused(settings, tmp_path, monkeypatch):
    """The scanning station is still copying: a file grows while planning hashes it."""
    bundle = _two_page_bundle(tmp_path)
    hash_file = steps.file_sha256

    def hash_while_the_copy_goes_on(path):
        digest = hash_file(path)
        if Path(path).name == "page2.png":
            with open(path, "ab") as f:
                f.write(b"more of the scan")
        return digest

    monkeypatch.setattr(steps, "file_sha256", hash_while_the_copy_goes_on)
    report = run(settings, bundle)
    assert not report.stored
    [failure] = report.failures
    assert "still being written" in failure["reason"] and "page2.png" in failure["reason"]
    assert not settings.work_dir.joinpath(report.bundle_id or "x").exists()


# ----------------------------------------------------------------------------- item 10


def _zip(path: Path, members: dict[str, bytes], **kw) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, **kw) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_a_small_zip_with_a_huge_member_is_refused_before_it_fills_the_disk(settings, tmp_path):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("scan/page1.tif", "w", force_zip64=True) as member:
            block = b"\0" * (1 << 20)
            for _ in range(1024):  # 1 GiB of zeros, about 1 MB deflated
                member.write(block)
    assert archive.stat().st_size < 2 * 1024**2
    free_before = shutil.disk_usage(tmp_path).free
    report = run(settings, archive)
    assert not report.stored
    reason = report.failures[0]["reason"]
    assert "over the" in reason and "limit" in reason
    assert free_before - shutil.disk_usage(tmp_path).free < 100 * 1024**2  # nothing big was written
    assert not list((settings.work_dir / "unpacked").glob("*"))


def test_the_unpacked_copy_of_a_zip_is_removed_after_success(settings, tmp_path):
    page = good_page(tmp_path / "p.png")
    archive = _zip(tmp_path / "register.zip", {"scans/page1.png": page.read_bytes()})
    report = run(settings, archive)
    assert report.stored and report.ok, report
    assert not list((settings.work_dir / "unpacked").glob("*")), "the unpacked copy stays behind"


def test_an_encrypted_zip_is_named(settings, tmp_path):
    archive = _zip(tmp_path / "secret.zip", {"page1.png": good_page(tmp_path / "p.png").read_bytes()})
    raw = bytearray(archive.read_bytes())
    # set the "encrypted" flag in the local header and the central directory entry
    raw[6] |= 1
    central = raw.rfind(b"PK\x01\x02")
    raw[central + 8] |= 1
    archive.write_bytes(bytes(raw))
    report = run(settings, archive)
    assert not report.stored
    assert "password-protected" in report.failures[0]["reason"]
    assert "RuntimeError" not in report.failures[0]["reason"]


@pytest.mark.parametrize("kind", ["folder", "zip", "only-metadata"])
def test_an_empty_bundle_is_named(settings, tmp_path, kind):
    if kind == "zip":
        path = _zip(tmp_path / "empty.zip", {})
    else:
        path = tmp_path / "empty"
        path.mkdir()
        if kind == "only-metadata":
            (path / "bundle.yaml").write_text("thana: Tirwa\n")
    report = run(settings, path)
    assert not report.stored
    assert "the bundle is empty" in report.failures[0]["reason"]


def test_links_pipes_and_sockets_are_refused_by_name(settings, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("secret of this machine")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    good_page(elsewhere / "page9.png")
    bundle = tmp_path / "links"
    bundle.mkdir()
    good_page(bundle / "page1.png")
    (bundle / "hostname.png").symlink_to(outside)
    (bundle / "gone.png").symlink_to(tmp_path / "nothing-here.png")
    (bundle / "more").symlink_to(elsewhere, target_is_directory=True)
    (bundle / "page1-again.png").symlink_to(bundle / "page1.png")  # inside the bundle: read
    os.mkfifo(bundle / "pipe.png")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(bundle / "scanner.sock"))
    try:
        report = run(settings, bundle)
    finally:
        sock.close()
    assert report.stored and report.pages == 2, report  # page1 and its link
    why = reasons(report)
    assert "pointing outside the bundle" in why["hostname.png"]
    assert "dangling" in why["gone.png"]
    assert "link to a folder" in why["more"]
    assert "named pipe" in why["pipe.png"]
    assert "socket" in why["scanner.sock"]
    q = settings.quarantine_dir / report.bundle_id
    assert not (q / "hostname.png").exists(), "the target of a link out of the bundle must never be copied"
    assert "secret" not in "".join(p.read_text() for p in q.rglob("*.txt"))
    assert (q / "hostname.png.reason.txt").is_file()


def test_a_rejected_zip_is_where_the_report_says(settings, tmp_path):
    archive = _zip(tmp_path / "slip.zip", {"page1.png": b"x", "../evil.png": b"y"})
    report = run(settings, archive)
    assert not report.stored
    reason = report.failures[0]["reason"]
    assert "outside the extraction folder" in reason
    folder = Path(reason.rsplit("copied to ", 1)[1])
    assert (folder / "slip.zip").read_bytes() == archive.read_bytes()
    assert (folder / "slip.zip.reason.txt").is_file()


def test_a_quarantined_zip_member_is_moved_not_copied_twice(settings, tmp_path):
    archive = _zip(tmp_path / "mixed.zip", {"page1.png": good_page(tmp_path / "p.png").read_bytes(),
                                            "notes.docx": b"PK\x03\x04 not a scan"})
    report = run(settings, archive)
    assert report.stored and "unsupported file type" in reasons(report)["mixed/notes.docx"]
    assert (settings.quarantine_dir / report.bundle_id / "mixed" / "notes.docx").is_file()
    shutil.rmtree(settings.quarantine_dir)


def test_plan_metadata_is_unchanged_for_good_bundles(settings, tmp_path):
    """Pinning adds each source's modification time to the manifest; ids are unchanged."""
    bundle = _two_page_bundle(tmp_path)
    plan = steps.plan_bundle(bundle, BundleMetadata(), settings)
    assert all(s.mtime_ns for s in plan.sources)
    assert [j.source_bytes for j in plan.jobs] == [(bundle / f"page{n}.png").stat().st_size for n in (1, 2)]
