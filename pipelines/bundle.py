"""One bundle, end to end: plan → OCR each page → store → index.

These are plain functions; flows.py wraps them in Prefect tasks. Every step is
resumable: page results land in a work directory first, the manifest is written to
the store last (its presence means "stored"), and index ids are deterministic.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from abhilekh import __version__
from abhilekh.records import BundleMetadata, PageText, SearchDocument
from abhilekh.settings import Settings
from pipelines import progress
from pipelines.identity import bundle_id_for, file_sha256
from search.base import SearchIndex
from storage.base import ObjectStore
from storage.bundles import (
    Manifest,
    SourceFile,
    load_manifest,
    load_page,
    pdf_key,
    save_manifest,
    save_page,
)
from storage.local import _atomic_write


@dataclass(frozen=True)
class PageJob:
    bundle_id: str
    page: int  # 1-based page number in the bundle
    source: str  # absolute path of the source file
    source_name: str  # the name operators know it by (relative to the bundle)
    source_page: int  # 1-based page within the source file


@dataclass
class BundlePlan:
    bundle_id: str
    path: str
    metadata: BundleMetadata
    sources: list[SourceFile]
    jobs: list[PageJob]
    failures: list[dict[str, str]] = field(default_factory=list)  # {"file", "reason"}


@dataclass
class BundleReport:
    bundle_id: str
    path: str
    pages: int
    stored: bool
    indexed_pages: int
    failures: list[dict[str, str]]
    needs_review: list[int]
    already_done: bool = False
    index_error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.stored and not self.failures and self.index_error is None

    def to_dict(self) -> dict:
        return asdict(self) | {"ok": self.ok}


def plan_bundle(path: Path, metadata: BundleMetadata, settings: Settings) -> BundlePlan:
    """List and validate the sources, number the pages, derive the bundle id.

    Bad files do not stop the plan: each becomes a failure naming the file and the
    reason, is copied to quarantine, and the rest of the bundle goes on.
    """
    from ingest.load import BadInput, list_sources, validate

    path = Path(path).resolve()
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    unpack_dir = settings.work_dir / "unpacked" / (file_sha256(path) if path.is_file() else "dir")
    files = list_sources(path, unpack_dir)
    base = path if path.is_dir() else (unpack_dir if path.suffix.lower() == ".zip" else path.parent)

    sources: list[SourceFile] = []
    counts: list[int] = []
    bad: list[tuple[Path, str]] = []
    for file in files:
        name = _relative_name(file, base)
        size = file.stat().st_size
        sha = file_sha256(file)
        try:
            n = validate(file, settings)
            if n < 1:
                raise BadInput(name, "contains no pages")
        except BadInput as exc:
            sources.append(SourceFile(name=name, sha256=sha, bytes=size, error=exc.reason))
            counts.append(0)
            bad.append((file, exc.reason))
            continue
        sources.append(SourceFile(name=name, sha256=sha, bytes=size, pages=n))
        counts.append(n)

    bundle_id = bundle_id_for(s.sha256 for s in sources)
    jobs: list[PageJob] = []
    for file, source, n in zip(files, sources, counts):
        for k in range(1, n + 1):
            jobs.append(PageJob(bundle_id, len(jobs) + 1, str(file), source.name, k))
    failures = [{"file": s.name, "reason": s.error} for s in sources if s.error]
    for file, reason in bad:
        quarantine(file, _relative_name(file, base), reason, bundle_id, settings)
    return BundlePlan(bundle_id, str(path), metadata, sources, jobs, failures)


def quarantine(file: Path, name: str, reason: str, bundle_id: str, settings: Settings) -> Path:
    """Copy a rejected file aside with its reason; the operator's original stays put."""
    target = settings.quarantine_dir / bundle_id / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(file, target)
    target.with_name(target.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
    return target


def _work(settings: Settings, bundle_id: str) -> Path:
    return settings.work_dir / bundle_id


def run_page(job: PageJob, settings: Settings) -> PageText:
    """OCR one page into the work directory, or reuse what a previous run left there."""
    from ingest.load import read_page
    from ingest.process import process_page

    work = _work(settings, job.bundle_id)
    text_path, pdf_path = work / f"{job.page}.json", work / f"{job.page}.pdf"
    if text_path.exists() and pdf_path.exists():
        page = PageText.from_dict(json.loads(text_path.read_text(encoding="utf-8")))
        progress.emit("page", bundle_id=job.bundle_id, page=job.page, resumed=True)
        return page

    source_page = read_page(Path(job.source), job.source_page, settings)
    result = process_page(source_page.image, source_page.dpi, settings)
    page = PageText(
        bundle_id=job.bundle_id,
        page=job.page,
        source=job.source_name,
        source_page=job.source_page,
        text=result.text,
        confidence=round(result.confidence, 2),
        needs_review=result.confidence < settings.review_confidence,
        width=result.width,
        height=result.height,
        dpi=result.dpi,
        rotation=result.rotation,
        skew=round(result.skew, 2),
        words=result.words,
    )
    work.mkdir(parents=True, exist_ok=True)
    # PDF first, text second: the text file is the "page done" marker.
    _atomic_write(pdf_path, result.pdf_page)
    _atomic_write(text_path, json.dumps(page.to_dict(), ensure_ascii=False).encode("utf-8"))
    progress.emit("page", bundle_id=job.bundle_id, page=job.page, resumed=False)
    return page


def store_bundle(plan: BundlePlan, pages: list[PageText], settings: Settings, store: ObjectStore) -> Manifest:
    """Write pages, the searchable PDF and, last, the manifest."""
    from ingest.ocr import tesseract_version
    from ingest.pdf import assemble

    pages = sorted(pages, key=lambda p: p.page)
    work = _work(settings, plan.bundle_id)
    for page in pages:
        save_page(store, page)
    if pages:
        pdf = assemble([(work / f"{p.page}.pdf").read_bytes() for p in pages], title=plan.metadata.title)
        store.put(pdf_key(plan.bundle_id), pdf, "application/pdf")
    manifest = Manifest(
        bundle_id=plan.bundle_id,
        metadata=plan.metadata,
        sources=plan.sources,
        page_count=len(pages),
        page_confidence=[p.confidence for p in pages],
        needs_review=[p.page for p in pages if p.needs_review],
        versions={
            "abhilekh": __version__,
            "tesseract": tesseract_version(),
            "languages": settings.ocr_languages,
        },
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        errors=plan.failures,
    )
    save_manifest(store, manifest)
    return manifest


def documents_for(manifest: Manifest, pages: list[PageText]) -> list[SearchDocument]:
    return [
        SearchDocument(
            bundle_id=manifest.bundle_id,
            page=p.page,
            text=p.text,
            metadata=manifest.metadata,
            confidence=p.confidence,
            needs_review=p.needs_review,
        )
        for p in sorted(pages, key=lambda p: p.page)
    ]


def load_stored_pages(store: ObjectStore, manifest: Manifest) -> list[PageText]:
    return [load_page(store, manifest.bundle_id, n) for n in range(1, manifest.page_count + 1)]


def index_bundle(manifest: Manifest, pages: list[PageText], index: SearchIndex) -> int:
    """Index every page; a bundle already fully indexed is left alone."""
    if index.count(manifest.bundle_id) == manifest.page_count == len(pages):
        return manifest.page_count
    return index.index(documents_for(manifest, pages))


def clean_work(settings: Settings, bundle_id: str) -> None:
    shutil.rmtree(_work(settings, bundle_id), ignore_errors=True)


def already_stored(plan: BundlePlan, store: ObjectStore) -> Manifest | None:
    return load_manifest(store, plan.bundle_id)


def report_for(plan: BundlePlan, manifest: Manifest | None, indexed: int, started: float, **extra) -> BundleReport:
    failures = list(plan.failures)
    return BundleReport(
        bundle_id=plan.bundle_id,
        path=plan.path,
        pages=manifest.page_count if manifest else len(plan.jobs),
        stored=manifest is not None,
        indexed_pages=indexed,
        failures=failures + extra.pop("page_failures", []),
        needs_review=manifest.needs_review if manifest else [],
        seconds=round(time.monotonic() - started, 2),
        **extra,
    )


def _relative_name(file: Path, base: Path) -> str:
    try:
        return file.relative_to(base).as_posix()
    except ValueError:
        return file.name
