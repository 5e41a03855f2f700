"""Keeping the derived index true to storage: reindex, reconcile, status."""

from __future__ import annotations

from collections.abc import Iterator

from rich.console import Console

from abhilekh.records import SearchDocument
from abhilekh.settings import Settings
from pipelines.bundle import documents_for, load_stored_pages
from search import open_index
from storage import open_store
from storage.base import ObjectStore
from storage.bundles import load_manifest, stored_bundle_ids


def stored_documents(store: ObjectStore, bundle_ids: list[str] | None = None) -> Iterator[SearchDocument]:
    for bundle_id in bundle_ids if bundle_ids is not None else stored_bundle_ids(store):
        manifest = load_manifest(store, bundle_id)
        if manifest is not None:
            yield from documents_for(manifest, load_stored_pages(store, manifest))


def reindex(settings: Settings, console: Console | None = None) -> int:
    """Build the index afresh from storage alone."""
    store, index = open_store(settings), open_index(settings)
    try:
        return index.rebuild(stored_documents(store))
    finally:
        index.close()


def reconcile(settings: Settings, console: Console | None = None) -> list[str]:
    """Index every stored bundle that is missing, short or stale in the index.

    A bundle is stale when the index holds a different number of its pages than its
    manifest says; it is then re-indexed (with extra pages removed first). Ids are
    deterministic, so re-indexing never duplicates. Bundles found in the index but not
    in storage are left alone and reported (a wrongly configured store must not empty
    the index).
    """
    from pipelines.bundle import index_bundle
    from pipelines.retry import with_retries

    store, index = open_store(settings), open_index(settings)
    fixed: list[str] = []
    try:
        indexed = with_retries(index.bundle_page_counts, "reading the index", settings.retry_attempts,
                               settings.retry_backoff_seconds)
        stored = stored_bundle_ids(store)
        for bundle_id in stored:
            manifest = load_manifest(store, bundle_id)
            if manifest is None or indexed.get(bundle_id, 0) == manifest.page_count:
                continue
            index_bundle(manifest, load_stored_pages(store, manifest), index, settings)
            fixed.append(bundle_id)
            if console:
                console.print(f"indexed {bundle_id[:12]} ({manifest.page_count} pages)")
        orphans = sorted(set(indexed) - set(stored))
        if orphans and console:
            console.print(f"[yellow]{len(orphans)} bundle(s) are in the index but not in storage: "
                          f"{', '.join(b[:12] for b in orphans[:10])}[/]")
    finally:
        index.close()
    return fixed


def status(settings: Settings) -> dict[str, int]:
    """Counts from storage and the index (and the quarantine folder)."""
    store, index = open_store(settings), open_index(settings)
    try:
        bundles = pages = review = 0
        for bundle_id in stored_bundle_ids(store):
            manifest = load_manifest(store, bundle_id)
            if manifest is None:
                continue
            bundles += 1
            pages += manifest.page_count
            review += len(manifest.needs_review)
        qdir = settings.quarantine_dir
        with_files = sum(1 for p in qdir.glob("*") if p.is_dir() and _is_bundle_id(p.name)) if qdir.exists() else 0
        rejected = qdir / "inbox"
        whole = sum(1 for p in rejected.glob("*/*") if not p.name.endswith(".reason.txt")) if rejected.exists() else 0
        return {
            "bundles": bundles,
            "pages_stored": pages,
            "pages_indexed": index.count(),
            "pages_flagged": review,
            "pages_to_review": review,
            "bundles_quarantined": whole,
            "bundles_with_quarantined_files": with_files,
        }
    finally:
        index.close()


def _is_bundle_id(name: str) -> bool:
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


def backfill_thumbnails(settings: Settings, console: Console | None = None) -> int:
    """Store the ingest-time thumbnails of bundles stored before thumbnails existed.

    Each page missing `thumbs/<n>.jpg` is rendered from the stored (verified) PDF in
    grey and made into a thumbnail by the same function ingest uses. Until then the web
    renders such pages on first view, one `pdftoppm` each. Returns thumbnails stored.
    """
    from pipelines.bundle import put_verified
    from storage.bundles import thumb_key

    store = open_store(settings)
    made = 0
    for bundle_id in stored_bundle_ids(store):
        manifest = load_manifest(store, bundle_id)
        if manifest is None or manifest.page_count == 0:
            continue
        missing = [n for n in range(1, manifest.page_count + 1)
                   if not store.exists(thumb_key(bundle_id, n))]
        if not missing:
            continue
        for n, data in _render_thumbnails(store, bundle_id, missing):
            put_verified(store, thumb_key(bundle_id, n), data, "image/jpeg", settings)
            made += 1
        if console:
            console.print(f"thumbnails for {bundle_id[:12]}: {len(missing)} page(s)")
    return made


# Rendering resolution for backfilled thumbnails: A4 at 75 dpi is ~620 px wide, enough
# for INTER_AREA to scale down to the 300 px ingest makes.
_BACKFILL_DPI = 75


def _render_thumbnails(store: ObjectStore, bundle_id: str,
                       pages: list[int]) -> Iterator[tuple[int, bytes]]:
    import subprocess
    import tempfile
    from pathlib import Path

    import cv2

    from ingest.thumbnail import make_thumbnail
    from storage.bundles import pdf_key

    with tempfile.TemporaryDirectory(prefix="abhilekh-thumbs-") as tmp:
        pdf = Path(tmp) / "document.pdf"
        pdf.write_bytes(store.get(pdf_key(bundle_id)))
        for n in pages:
            out = Path(tmp) / f"p{n}"
            subprocess.run(["pdftoppm", "-gray", "-r", str(_BACKFILL_DPI), "-f", str(n),
                            "-l", str(n), "-singlefile", str(pdf), str(out)],
                           check=True, capture_output=True, timeout=120)
            image = cv2.imread(f"{out}.pgm", cv2.IMREAD_GRAYSCALE)
            if image is None:
                raise RuntimeError(f"pdftoppm made no image of page {n} of {bundle_id}")
            yield n, make_thumbnail(image)
