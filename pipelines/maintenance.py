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
        rebuild = getattr(index, "rebuild", None)
        if rebuild is not None:  # Elasticsearch: new versioned index, then switch the alias
            return rebuild(stored_documents(store))
        index.clear()
        return index.index(stored_documents(store))
    finally:
        index.close()


def reconcile(settings: Settings, console: Console | None = None) -> list[str]:
    """Index every stored bundle whose pages are missing from the index."""
    store, index = open_store(settings), open_index(settings)
    fixed: list[str] = []
    try:
        indexed = index.bundle_page_counts()
        for bundle_id in stored_bundle_ids(store):
            manifest = load_manifest(store, bundle_id)
            if manifest is None or indexed.get(bundle_id, 0) == manifest.page_count:
                continue
            index.index(documents_for(manifest, load_stored_pages(store, manifest)))
            fixed.append(bundle_id)
            if console:
                console.print(f"indexed {bundle_id[:12]} ({manifest.page_count} pages)")
    finally:
        index.close()
    return fixed


def status(settings: Settings) -> dict[str, int]:
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
        quarantined = sum(1 for p in settings.quarantine_dir.glob("*") if p.is_dir()) if settings.quarantine_dir.exists() else 0
        return {
            "bundles": bundles,
            "pages_stored": pages,
            "pages_indexed": index.count(),
            "pages_to_review": review,
            "bundles_with_quarantined_files": quarantined,
        }
    finally:
        index.close()
