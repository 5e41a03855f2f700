"""One bundle, end to end: plan → OCR each page → store → index.

These are plain functions; flows.py wraps them in Prefect tasks. Every step is
resumable: page results land in a work directory first, the manifest is written to
the store last (its presence means "stored"), and index ids are deterministic.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from abhilekh import __version__
from abhilekh.errors import AbhilekhError
from abhilekh.records import BundleMetadata, PageText, SearchDocument
from abhilekh.settings import Settings
from pipelines import crashpoints, progress, timing
from pipelines.identity import bundle_id_for, file_sha256
from pipelines.report import BundleReport, Failure, FlaggedPage
from pipelines.retry import with_retries
from search.base import SearchIndex
from search.page import fold_record
from storage.base import ChecksumMissing, IntegrityError, MissingObject, ObjectNotFound, ObjectStore, StorageError
from storage.bundles import (
    Manifest,
    SourceFile,
    bundle_object_keys,
    catalog_entry_for,
    catalog_key,
    load_catalog_entry,
    load_manifest,
    load_page,
    manifest_key,
    object_name,
    page_bytes,
    page_key,
    pdf_key,
    read_object,
    thumb_key,
)
from storage.local import atomic_write

if TYPE_CHECKING:
    from ingest.entries import BundleEntries
    from search.entries import EntryDocument

# Files an operator (or the scanning station) puts beside the scans to describe the
# bundle or mark it complete. They are not scans: planning leaves them out, so they
# neither get quarantined nor change the bundle id.
CONTROL_FILES = frozenset(
    {"bundle.yaml", "bundle.yml", "metadata.json", "metadata.yaml", "metadata.yml", ".ready", "ready"}
)

# Pages written to the index per call. A crash between calls leaves a bundle partly
# indexed; the next ingest or `reconcile` sees the count short and indexes it again
# (ids are deterministic, so nothing doubles). ABHILEKH_TEST_INDEX_CHUNK lets the
# crash tests make a 2-page bundle span two calls.
INDEX_CHUNK = int(os.environ.get("ABHILEKH_TEST_INDEX_CHUNK", "64"))


@dataclass(frozen=True)
class PageJob:
    bundle_id: str
    page: int  # 1-based page number in the bundle
    source: str  # absolute path of the source file
    source_name: str  # the name operators know it by (relative to the bundle)
    source_page: int  # 1-based page within the source file
    # the source as planning found it: OCR checks the file is still exactly this
    source_bytes: int = -1
    source_mtime_ns: int = -1


@dataclass
class BundlePlan:
    bundle_id: str
    path: str
    metadata: BundleMetadata
    sources: list[SourceFile]
    jobs: list[PageJob]
    failures: list[Failure] = field(default_factory=list)
    unpacked: str | None = None  # our own copy of a zip's members, removed when the bundle is done
    files: dict[str, str] = field(default_factory=dict)  # source name -> absolute path


class SourceChanged(AbhilekhError):
    """A source file changed between planning and storing (still being copied, appended
    to, or replaced): the pages read so far may mix old and new bytes, so nothing of the
    bundle is stored. Not transient: the same plan can never succeed; a new ingest, once
    the copy is final, plans the file as it then is."""

    def __init__(self, name: str, reason: str) -> None:
        self.file, self.reason = name, reason
        super().__init__(f"{name}: {reason}")


class StillBeingWritten(AbhilekhError):
    """A source grew or changed while planning read it: the bundle is refused whole."""

    transient = True  # it will be complete in a while


@dataclass(frozen=True)
class Pin:
    """What a source file was when planning hashed it."""

    size: int
    mtime_ns: int


def _pin(file: Path) -> Pin:
    st = file.stat()
    return Pin(st.st_size, st.st_mtime_ns)


def plan_bundle(path: Path, metadata: BundleMetadata, settings: Settings) -> BundlePlan:
    """List and validate the sources, number the pages, derive the bundle id.

    Bad files do not stop the plan: each becomes a failure naming the file and the
    reason, is copied to quarantine (entries that are no file we may read, like links
    leaving the bundle or named pipes, only get their reason there), and the rest of
    the bundle goes on. Every source is pinned as it is hashed (size, modification
    time, sha256): a file that changes while it is hashed refuses the bundle as "still
    being written", and OCR checks each file against its pin.

    Raises BadInput for a bundle with nothing in it, or a zip refused whole (its copy
    is then in quarantine), StillBeingWritten for a bundle still being copied.
    """
    from ingest.load import BadInput, find_sources, validate

    path = Path(path).resolve()
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    is_zip = path.is_file() and path.suffix.lower() == ".zip"
    unpack_dir = _unpack_dir(settings, path) if is_zip else settings.work_dir / "unpacked" / "dir"
    before = _pin(path) if path.is_file() else None
    try:
        listing = find_sources(path, unpack_dir, settings)
    except BadInput as exc:
        shutil.rmtree(unpack_dir, ignore_errors=True)
        if is_zip:
            exc.reason += f"; the archive was copied to {quarantine_whole(path, exc.reason, settings)}"
            exc.args = (f"{exc.file}: {exc.reason}",)
        raise
    if before is not None and _pin(path) != before:
        shutil.rmtree(unpack_dir, ignore_errors=True)
        raise StillBeingWritten(f"{path.name}: still being written (it changed while it was read); run again once "
                                "the copy has finished")
    files = [f for f in listing.files if f.name.casefold() not in CONTROL_FILES]
    base = listing.root
    if not files and not listing.refused:
        if is_zip:
            shutil.rmtree(unpack_dir, ignore_errors=True)
        what = "zip archive" if is_zip else "folder"
        controls = [f.name for f in listing.files]
        raise BadInput(path, f"the bundle is empty: the {what} holds no scans"
                       + (f" (only {', '.join(controls)})" if controls else "") + "; put the page scans in it")

    def check(file: Path) -> tuple[SourceFile, int, str | None, Pin]:
        name = _relative_name(file, base)
        pin = _pin(file)
        with timing.stage("plan.hash"):
            sha = file_sha256(file)
        try:
            with timing.stage("plan.validate"):
                n = validate(file, settings)
            if n < 1:
                raise BadInput(name, "contains no pages")
        except BadInput as exc:
            return SourceFile(name=name, sha256=sha, bytes=pin.size, error=exc.reason,
                              mtime_ns=pin.mtime_ns), 0, exc.reason, pin
        return SourceFile(name=name, sha256=sha, bytes=pin.size, pages=n, mtime_ns=pin.mtime_ns), n, None, pin

    # One file per core at once: decoding and hashing release the GIL, and the first
    # bundle's plan is time in which no Tesseract can start (nothing is numbered yet).
    with ThreadPoolExecutor(max_workers=max(1, min(settings.ocr_jobs, len(files) or 1))) as pool:
        checked = list(pool.map(check, files))
    growing = [(c[0].name, c[3], _pin_or_none(f)) for f, c in zip(files, checked) if _pin_or_none(f) != c[3]]
    if growing:
        if is_zip:
            shutil.rmtree(unpack_dir, ignore_errors=True)
        name, was, now = growing[0]
        change = (f"grew from {was.size} to {now.size} bytes" if now and now.size != was.size
                  else "was modified" if now else "disappeared")
        raise StillBeingWritten(f"{name}: still being written ({change} while it was read); run again once the "
                                "copy has finished" + (f" ({len(growing)} file(s) changing)" if len(growing) > 1 else ""))
    sources = [c[0] for c in checked]
    bad = [(file, c[2]) for file, c in zip(files, checked) if c[2] is not None]

    bundle_id = bundle_id_for(s.sha256 for s in sources)
    jobs: list[PageJob] = []
    for file, (source, n, _err, pin) in zip(files, checked):
        for k in range(1, n + 1):
            jobs.append(PageJob(bundle_id, len(jobs) + 1, str(file), source.name, k, pin.size, pin.mtime_ns))
    failures = [{"file": s.name, "reason": s.error} for s in sources if s.error]
    failures += [{"file": name, "reason": reason} for name, reason in listing.refused]
    for file, reason in bad:
        quarantine(file, _relative_name(file, base), reason, bundle_id, settings, move=is_zip)
    for name, reason in listing.refused:  # nothing we may read: the reason alone
        note_refusal(name, reason, bundle_id, settings)
    return BundlePlan(bundle_id, str(path), metadata, sources, jobs, failures,
                      unpacked=str(unpack_dir) if is_zip else None,
                      files={s.name: str(f) for f, s in zip(files, sources)})


def _pin_or_none(file: Path) -> Pin | None:
    try:
        return _pin(file)
    except OSError:
        return None


def _unpack_dir(settings: Settings, archive: Path) -> Path:
    """A folder of our own for one plan's copy of a zip: two ingests of the same zip at
    once (the second waits on the bundle lock) must not unpack over each other. Copies
    left by processes that died (kill -9) are removed here."""
    root = settings.work_dir / "unpacked"
    if root.is_dir():
        for old in root.iterdir():
            pid = old.name.rsplit("-", 2)[-2] if old.name.count("-") >= 2 else ""
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(old, ignore_errors=True)
    return root / f"{file_sha256(archive)[:16]}-{os.getpid()}-{secrets.token_hex(4)}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def discard_unpacked(plan: BundlePlan) -> None:
    """Remove this plan's copy of a zip's members (the zip itself is untouched)."""
    if plan.unpacked:
        shutil.rmtree(plan.unpacked, ignore_errors=True)


def quarantine(file: Path, name: str, reason: str, bundle_id: str, settings: Settings, move: bool = False) -> Path:
    """Put a rejected file aside with its reason: a copy (the operator's original stays
    put), or, for our own unpacked copy of a zip member, the file itself (no second copy
    of what may be a huge file)."""
    target = settings.quarantine_dir / bundle_id / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if move:
        shutil.move(str(file), target)
    else:
        shutil.copy2(file, target)
    target.with_name(target.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
    return target


def note_refusal(name: str, reason: str, bundle_id: str, settings: Settings) -> Path:
    """The reason an entry was refused unread, where its copy would have gone."""
    target = settings.quarantine_dir / bundle_id / name
    target.parent.mkdir(parents=True, exist_ok=True)
    reason_file = target.with_name(target.name + ".reason.txt")
    reason_file.write_text(f"{reason}\n(not copied: there is no file to copy, or it may not be read)\n",
                           encoding="utf-8")
    return reason_file


def quarantine_whole(archive: Path, reason: str, settings: Settings) -> Path:
    """A zip refused whole, copied aside with its reason (unless it is over the size
    limit: then only the reason, the original stays where it is)."""
    folder = settings.quarantine_dir / f"zip-{file_sha256(archive)[:16]}"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / archive.name
    if archive.stat().st_size <= settings.max_file_mb * 1024**2:
        shutil.copy2(archive, target)
    else:
        reason += f"\n(not copied: over ABHILEKH_MAX_FILE_MB; the original is {archive})"
    target.with_name(target.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
    return folder


def check_unchanged(plan: BundlePlan) -> None:
    """Every source with pages is still the file planning hashed (same sha256), or
    SourceChanged: a bundle is stored only from the bytes its id was made of."""
    for source in plan.sources:
        if source.error or not source.pages:
            continue
        path = Path(plan.files.get(source.name, ""))
        try:
            sha = file_sha256(path)
        except OSError as exc:
            raise SourceChanged(source.name, f"disappeared while it was being ingested ({exc.strerror or exc})") from None
        if sha != source.sha256:
            raise SourceChanged(source.name, "changed while it was being ingested (its sha256 is not the one "
                                "planning took): nothing of the bundle was stored; run the ingest again once the "
                                "file is final")


def _check_pin(job: PageJob) -> None:
    if job.source_bytes < 0:
        return
    now = _pin_or_none(Path(job.source))
    if now is None:
        raise SourceChanged(job.source_name, "disappeared while it was being ingested; put it back and run again")
    if now != Pin(job.source_bytes, job.source_mtime_ns):
        change = f"grew from {job.source_bytes} to {now.size} bytes" if now.size != job.source_bytes else \
            "was modified"
        raise SourceChanged(job.source_name, f"changed while it was being ingested ({change}): nothing of the "
                            "bundle was stored; run the ingest again once the file is final")


def _work(settings: Settings, bundle_id: str) -> Path:
    return settings.work_dir / bundle_id


# How a page that could not be read or processed is named in PageText.ocr_error; the
# report's wording (unread_page_errors) follows from which it is.
PROCESSING_FAILED = "processing failed"
NOT_DECODED = "cannot be decoded"


def run_page(job: PageJob, settings: Settings) -> PageText:
    """OCR one page into the work directory, or reuse what a previous run left there.

    The page always comes out, whatever it is like: OCR that fails every attempt, or
    any other failure of the page's processing (an OpenCV assertion on a 1 x 20000
    image, a bug), gives the page as its image only, flagged; a page whose image cannot
    even be decoded gives a placeholder page and its file goes to quarantine. Only a
    source that changed since planning (SourceChanged) stops the page: its bundle must
    not be stored from mixed bytes.
    """
    from ingest.load import BadInput, read_page
    from ingest.ocr import OcrError
    from ingest.process import image_only_page, process_page

    work = _work(settings, job.bundle_id)
    text_path, pdf_path = work / f"{job.page}.json", work / f"{job.page}.pdf"
    if text_path.exists() and pdf_path.exists():
        page = PageText.from_dict(json.loads(text_path.read_text(encoding="utf-8")))
        progress.emit("page", bundle_id=job.bundle_id, page=job.page, resumed=True)
        return page

    _check_pin(job)
    ocr_error: str | None = None
    try:
        with timing.stage("ocr.read"):
            source_page = read_page(Path(job.source), job.source_page, settings)
    except BadInput as exc:
        _check_pin(job)  # a file that changed is that, not undecodable
        reason = f"page {job.source_page} {NOT_DECODED} ({exc.reason})"
        where = quarantine(Path(job.source), job.source_name, exc.reason, job.bundle_id, settings)
        ocr_error = f"{NOT_DECODED}: {exc.reason}; the file is in quarantine ({where.parent})"
        progress.emit("page_failed", bundle_id=job.bundle_id, page=job.page, reason=reason)
        result = image_only_page(placeholder_image(job), 300)
    else:
        for attempt in range(1, settings.ocr_page_attempts + 1):
            try:
                with timing.stage("ocr.process"):
                    result = process_page(source_page.image, source_page.dpi, settings)
                ocr_error = None
                break
            except OcrError as exc:  # a timeout may be a busy machine: try again first
                ocr_error = f"{type(exc).__name__}: {exc}"
                progress.emit("page_retry", bundle_id=job.bundle_id, page=job.page, attempt=attempt,
                              reason=ocr_error)
            except Exception as exc:  # noqa: BLE001 - any failure of one page's processing gives its image-only page
                # Not retried: an odd image fails the same way every time.
                ocr_error = f"{PROCESSING_FAILED} ({type(exc).__name__}: {str(exc).strip()[:300]})"
                progress.emit("page_failed", bundle_id=job.bundle_id, page=job.page, reason=ocr_error)
                break
        if ocr_error is not None:
            # Keep the scan and flag the page rather than hold back the bundle (and every
            # other page in it) until an operator acts; the report names it.
            try:
                result = image_only_page(source_page.image, source_page.dpi)
            except Exception as exc:  # noqa: BLE001 - not even the picture: a placeholder, the file to quarantine
                where = quarantine(Path(job.source), job.source_name, f"{ocr_error}; {exc}", job.bundle_id, settings)
                ocr_error += f"; not even its image could be kept ({type(exc).__name__}), the file is in quarantine "
                ocr_error += f"({where.parent})"
                result = image_only_page(placeholder_image(job), 300)
    _check_pin(job)  # the bytes read must be the bytes planned
    page = PageText(
        bundle_id=job.bundle_id,
        page=job.page,
        source=job.source_name,
        source_page=job.source_page,
        text=result.text,
        confidence=round(result.confidence, 2),
        needs_review=ocr_error is not None or result.confidence < settings.review_confidence,
        width=result.width,
        height=result.height,
        dpi=result.dpi,
        rotation=result.rotation,
        skew=round(result.skew, 2),
        words=result.words,
        ocr_error=ocr_error,
    )
    work.mkdir(parents=True, exist_ok=True)
    # PDF and thumbnail first, text last: the text file is the "page done" marker.
    atomic_write(pdf_path, result.pdf_page)
    if result.thumbnail:
        atomic_write(work / f"{job.page}.jpg", result.thumbnail)
    atomic_write(text_path, json.dumps(page.to_dict(), ensure_ascii=False).encode("utf-8"))
    crashpoints.reached("ocr")
    progress.emit("page", bundle_id=job.bundle_id, page=job.page, resumed=False)
    return page


def placeholder_image(job: PageJob) -> np.ndarray:
    """A white A4 page at 300 dpi saying which page could not be read, where it stands
    in the access copy (page numbers stay the scans' order)."""
    import cv2

    page = np.full((3508, 2480), 255, np.uint8)
    lines = [f"Page {job.page} could not be read.", f"Source: {job.source_name[-60:]} (page {job.source_page})",
             "The file is in quarantine; see the ingest report."]
    for i, line in enumerate(lines):
        cv2.putText(page, line.encode("ascii", "replace").decode(), (150, 400 + 110 * i),
                    cv2.FONT_HERSHEY_SIMPLEX, 2.2, 0, 4, cv2.LINE_AA)
    return page


def put_verified(store: ObjectStore, key: str, data: bytes, content_type: str, settings: Settings) -> str:
    """Put, then read the object back and compare sha256s: only then is it durable.

    The stores record each object's sha256 and check it on every read; reading back
    also proves the bytes are on the server, not in a buffer. Transient errors are
    retried with backoff.
    """
    digest = hashlib.sha256(data).hexdigest()

    def attempt() -> None:
        with timing.stage("store.put"):
            store.put(key, data, content_type)
        with timing.stage("store.readback"):
            try:
                back = store.get(key)
            except IntegrityError:
                # A damaged copy whose checksum record still says what these bytes are
                # (a put takes the record's word that they are already there): replace it.
                store.delete(key)
                store.put(key, data, content_type)
                back = store.get(key)
        if hashlib.sha256(back).hexdigest() != digest:
            raise IntegrityError(f"{key!r} read back different bytes from {store.describe()}")

    with_retries(attempt, f"storing {key}", settings.retry_attempts, settings.retry_backoff_seconds)
    crashpoints.reached("store")
    return digest


def store_bundle(plan: BundlePlan, pages: list[PageText], settings: Settings, store: ObjectStore) -> Manifest:
    """Write pages, the searchable PDF, the thumbnails, then the manifest (recording
    every object's sha256) and last the bundle's entry in the bundle list (recording
    the manifest's); each object read back and verified."""
    from ingest.engine import open_engine
    from ingest.pdf import assemble

    pages = sorted(pages, key=lambda p: p.page)
    work = _work(settings, plan.bundle_id)
    objects: dict[str, str] = {}

    def put(key: str, data: bytes, content_type: str) -> None:
        objects[object_name(plan.bundle_id, key)] = put_verified(store, key, data, content_type, settings)

    with timing.stage("store.fold"):
        for page in pages:  # folded once, here: index_bundle and every reindex reuse it
            page.index_fields = fold_record(_document(page, plan.metadata))
    for page in pages:
        put(page_key(page.bundle_id, page.page), page_bytes(page), "application/json")
    if pages:
        with timing.stage("store.assemble_pdf"):
            pdf = assemble([(work / f"{p.page}.pdf").read_bytes() for p in pages], title=plan.metadata.title)
        put(pdf_key(plan.bundle_id), pdf, "application/pdf")
    for page in pages:  # a work dir from before thumbnails has none; the web renders those
        thumb = work / f"{page.page}.jpg"
        if thumb.exists():
            put(thumb_key(plan.bundle_id, page.page), thumb.read_bytes(), "image/jpeg")
    manifest = Manifest(
        bundle_id=plan.bundle_id,
        metadata=plan.metadata,
        sources=plan.sources,
        page_count=len(pages),
        page_confidence=[p.confidence for p in pages],
        needs_review=[p.page for p in pages if p.needs_review],
        versions={
            "abhilekh": __version__,
            # Through the engine seam: what actually read the pages, models included.
            "tesseract": open_engine(settings).version(),
            "ocr_engine": open_engine(settings).describe(),
            "languages": settings.ocr_languages,
        },
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        errors=plan.failures + unread_page_errors(pages, settings),
        objects=objects,
    )
    raw = manifest.to_json()
    put_verified(store, manifest_key(manifest.bundle_id), raw, "application/json", settings)
    list_bundle(store, manifest, raw, settings)
    # Derived, so after the record: a crash before it leaves it missing, and reindex
    # (which makes missing entries) or the index step (from the pages) covers it.
    store_entries(store, plan.bundle_id, pages, settings)
    return manifest


def entries_key(bundle_id: str) -> str:
    """The bundle's register entries (ingest.entries): derived from its pages like the
    index, so not in the manifest's objects; rebuilt when the extractor's version changes."""
    return f"bundles/{bundle_id}/entries.json"


def store_entries(store: ObjectStore, bundle_id: str, pages: list[PageText], settings: Settings) -> BundleEntries:
    """Extract the pages' entries and store them as entries.json (verified like the rest)."""
    from ingest.entries import extract_bundle

    with timing.stage("entries.extract"):
        found = extract_bundle(bundle_id, sorted(pages, key=lambda p: p.page))
    raw = json.dumps(found.to_dict(), ensure_ascii=False).encode("utf-8")
    put_verified(store, entries_key(bundle_id), raw, "application/json", settings)
    return found


def load_entries(store: ObjectStore, bundle_id: str) -> BundleEntries | None:
    """The stored entries, or None when there are none yet or they do not read (they
    are derived: the caller makes them again from the pages)."""
    from ingest.entries import BundleEntries

    try:
        return BundleEntries.from_dict(json.loads(read_object(store, entries_key(bundle_id), None)))
    except StorageError as exc:
        if exc.transient:
            raise  # a server that is down is not a missing object
        return None
    except (ValueError, KeyError, TypeError):
        return None


def current_entries(store: ObjectStore, bundle_id: str, pages: list[PageText], settings: Settings) -> tuple[BundleEntries, bool]:
    """The bundle's entries as this extractor makes them: the stored ones when their
    version is current, else extracted again and stored. (entries, whether rebuilt)."""
    from ingest.entries import EXTRACTOR_VERSION

    have = load_entries(store, bundle_id)
    if have is not None and have.extractor_version == EXTRACTOR_VERSION:
        return have, False
    return store_entries(store, bundle_id, pages, settings), True


def list_bundle(store: ObjectStore, manifest: Manifest, raw: bytes, settings: Settings) -> None:
    """Put the bundle's entry in the bundle list (the manifest's sha256, metadata, sources)."""
    entry = catalog_entry_for(manifest, raw)
    put_verified(store, catalog_key(manifest.bundle_id), entry.to_json(), "application/json", settings)


def unread_page_errors(pages: list[PageText], settings: Settings) -> list[dict[str, str]]:
    """One {"file", "reason"} per page stored without its text, saying what to do next."""
    out = []
    for p in pages:
        if not p.ocr_error:
            continue
        if p.ocr_error.startswith(NOT_DECODED):
            reason = (f"its image {p.ocr_error}; stored as placeholder page {p.page} (no image, no text), "
                      "flagged for review: rescan the page")
        elif p.ocr_error.startswith(PROCESSING_FAILED):
            reason = (f"{p.ocr_error}; stored as image-only page {p.page} with no searchable text, flagged for "
                      "review: key its entries in or rescan it")
        else:
            reason = (f"OCR failed {settings.ocr_page_attempts} times ({p.ocr_error}); stored as image-only "
                      f"page {p.page} with no searchable text, flagged for review: key its entries in or rescan it")
        out.append({"file": f"{p.source} (page {p.source_page})", "reason": reason})
    return out


def _document(p: PageText, metadata: BundleMetadata) -> SearchDocument:
    return SearchDocument(bundle_id=p.bundle_id, page=p.page, text=p.text, metadata=metadata,
                          confidence=p.confidence, needs_review=p.needs_review, index_fields=p.index_fields)


def documents_for(manifest: Manifest, pages: list[PageText]) -> list[SearchDocument]:
    return [_document(p, manifest.metadata) for p in sorted(pages, key=lambda p: p.page)]


def load_stored_pages(store: ObjectStore, manifest: Manifest) -> list[PageText]:
    """Every page, each checked against the sha256 its manifest recorded; the first
    damaged one raises."""
    return [load_page(store, manifest.bundle_id, n, manifest.expected_sha256(page_key(manifest.bundle_id, n)))
            for n in range(1, manifest.page_count + 1)]


@dataclass
class Damage:
    """One damaged object of a stored bundle, found while reading it."""

    bundle_id: str
    what: str  # the object's key
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"bundle_id": self.bundle_id, "what": self.what, "reason": self.reason}


def load_pages_isolated(store: ObjectStore, manifest: Manifest) -> tuple[list[PageText], list[Damage]]:
    """Every page that reads back intact, and one Damage per page that does not.

    Transient store errors (the server unreachable) still raise: they are not damage,
    and the caller's retry or a later run deals with them."""
    pages: list[PageText] = []
    damaged: list[Damage] = []
    for n in range(1, manifest.page_count + 1):
        key = page_key(manifest.bundle_id, n)
        try:
            pages.append(load_page(store, manifest.bundle_id, n, manifest.expected_sha256(key)))
        except StorageError as exc:
            if exc.transient:
                raise
            damaged.append(Damage(manifest.bundle_id, key, damage_reason(exc)))
    return pages, damaged


def damage_reason(exc: BaseException) -> str:
    """What is wrong with an object, in words, and what to run about it."""
    if isinstance(exc, ObjectNotFound | MissingObject):
        kind = "missing"
    elif isinstance(exc, ChecksumMissing):
        kind = "no recorded checksum"
    else:
        kind = "fails its checksum or does not read"
    return f"{kind}: {exc}; `abhilekh verify --repair` rebuilds what can be rebuilt"


def stored_copy_damage(store: ObjectStore, manifest: Manifest) -> tuple[list[PageText], list[Damage]]:
    """For an ingest of a bundle already stored: its pages, and what of it is damaged
    (any object its manifest lists that is gone or fails its checksum)."""
    pages, damaged = load_pages_isolated(store, manifest)
    for key in bundle_object_keys(manifest):
        if key.startswith(f"bundles/{manifest.bundle_id}/pages/"):
            continue
        try:  # read whole: a PDF cut short exists as much as an intact one
            read_object(store, key, manifest.expected_sha256(key))
        except StorageError as exc:
            if exc.transient:
                raise
            damaged.append(Damage(manifest.bundle_id, key, damage_reason(exc)))
    return pages, damaged


def index_bundle(manifest: Manifest, pages: list[PageText], index: SearchIndex, settings: Settings | None = None) -> int:
    """Index every page, in chunks; a bundle already fully indexed is left alone.

    A bundle with more pages in the index than in storage (a stale index) is removed
    from the index first, so it ends with exactly its stored pages.
    """
    attempts = settings.retry_attempts if settings else 4
    backoff = settings.retry_backoff_seconds if settings else 1.0

    def retry(fn, what):
        return with_retries(fn, what, attempts, backoff)

    if settings is not None:
        retry(lambda: index_entries(manifest, pages, settings), f"indexing the entries of {manifest.bundle_id[:12]}")
    have = retry(lambda: index.count(manifest.bundle_id), f"counting {manifest.bundle_id[:12]} in the index")
    if have == manifest.page_count == len(pages):
        return manifest.page_count
    if have > manifest.page_count:
        retry(lambda: index.delete_bundle(manifest.bundle_id), f"removing stale pages of {manifest.bundle_id[:12]}")
    docs = documents_for(manifest, pages)
    done = 0
    for start in range(0, len(docs), max(1, INDEX_CHUNK)):
        chunk = docs[start : start + max(1, INDEX_CHUNK)]
        with timing.stage("index.write"):
            done += retry(lambda chunk=chunk: index.index(chunk), f"indexing {manifest.bundle_id[:12]}")
        crashpoints.reached("index")
    return done


def entry_documents(metadata: BundleMetadata, found: BundleEntries) -> list[EntryDocument]:
    """The index's documents of a bundle's entries (search.entries), with its metadata."""
    from search.entries import EntryDocument

    return [EntryDocument(found.bundle_id, e.page, e.index, e.kind, list(e.box),
                          {k: f.value for k, f in e.fields.items()}, {k: f.text for k, f in e.fields.items()},
                          {k: f.confidence for k, f in e.fields.items()}, metadata) for e in found.entries]


def index_entries(manifest: Manifest, pages: list[PageText], settings: Settings) -> int:
    """Index the bundle's register entries (extraction is pure: the pages give the very
    entries stored in entries.json); a bundle whose entries are all in is left alone."""
    from ingest.entries import extract_bundle
    from search.entries import open_entries

    found = extract_bundle(manifest.bundle_id, sorted(pages, key=lambda p: p.page))
    entries = open_entries(settings)
    try:
        if entries.count(manifest.bundle_id) == len(found.entries):
            return len(found.entries)
        with timing.stage("index.entries"):
            return entries.index_bundle(manifest.bundle_id, entry_documents(manifest.metadata, found))
    finally:
        entries.close()


def clean_work(settings: Settings, bundle_id: str) -> None:
    shutil.rmtree(_work(settings, bundle_id), ignore_errors=True)


def already_stored(plan: BundlePlan, store: ObjectStore) -> Manifest | None:
    return load_manifest(store, plan.bundle_id)


@dataclass
class StoredCopy:
    """What an ingest finds of its bundle in the store before it OCRs anything."""

    manifest: Manifest | None  # None: not stored, or stored but damaged (made again)
    pages: list[PageText] = field(default_factory=list)  # its intact pages, when stored
    damage: list[str] = field(default_factory=list)  # what was wrong with a damaged copy


def stored_copy(plan: BundlePlan, store: ObjectStore, settings: Settings) -> StoredCopy:
    """Is the bundle stored, and intact? A damaged copy (a manifest that does not read,
    a page, PDF or thumbnail gone or failing its checksum) is made again by this ingest
    from the sources in hand: its objects are overwritten, its manifest replaced.

    A manifest not yet in the bundle list (an ingest killed between the two writes) is
    listed now, once every object it records reads back with its recorded sha256."""
    try:
        manifest = load_manifest(store, plan.bundle_id, require_listed=False)
    except StorageError as exc:
        if exc.transient:
            raise
        return StoredCopy(None, damage=[str(exc)])
    if manifest is None:
        return StoredCopy(None)
    pages, damaged = stored_copy_damage(store, manifest)
    if damaged:
        return StoredCopy(None, damage=[f"{d.what}: {d.reason}" for d in damaged])
    if manifest.objects and load_catalog_entry(store, plan.bundle_id) is None:
        try:
            for key in bundle_object_keys(manifest):
                if not key.startswith(f"bundles/{plan.bundle_id}/pages/"):
                    read_object(store, key, manifest.expected_sha256(key))
        except StorageError as exc:
            if exc.transient:
                raise
            return StoredCopy(None, damage=[str(exc)])
        list_bundle(store, manifest, store.get(manifest_key(plan.bundle_id)), settings)
    current_entries(store, plan.bundle_id, pages, settings)  # an ingest killed before them leaves none
    return StoredCopy(manifest, pages)


def report_for(
    plan: BundlePlan,
    manifest: Manifest | None,
    indexed: int,
    started: float,
    page_failures: list[Failure] | None = None,
    already_done: bool = False,
    index_error: str | None = None,
    repaired: list[str] | None = None,
) -> BundleReport:
    failures = list(plan.failures)
    if manifest is not None:  # pages stored as image only are failures the operator must see
        failures += [e for e in manifest.errors if e not in failures]
    flagged: list[FlaggedPage] = []
    confidence = None
    if manifest is not None:
        jobs = {j.page: j for j in plan.jobs}
        for n in manifest.needs_review:
            job = jobs.get(n)
            flagged.append(FlaggedPage(
                page=n,
                source=job.source if job else "",
                source_name=job.source_name if job else "",
                source_page=job.source_page if job else 0,
                confidence=manifest.page_confidence[n - 1] if n <= len(manifest.page_confidence) else None,
            ))
        if manifest.page_confidence:
            confidence = round(sum(manifest.page_confidence) / len(manifest.page_confidence), 2)
    return BundleReport(
        bundle_id=plan.bundle_id,
        path=plan.path,
        pages=manifest.page_count if manifest else len(plan.jobs),
        stored=manifest is not None,
        indexed_pages=indexed,
        failures=failures + (page_failures or []),
        needs_review=manifest.needs_review if manifest else [],
        already_done=already_done,
        index_error=index_error,
        seconds=round(time.monotonic() - started, 2),
        confidence=confidence,
        flagged=flagged,
        metadata=plan.metadata.to_dict(),
        repaired=list(repaired or []),
    )


def _relative_name(file: Path, base: Path) -> str:
    try:
        return file.relative_to(base).as_posix()
    except ValueError:
        return file.name
