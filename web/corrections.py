"""Putting the reviewers' corrections (access/review.py) back into an index rebuilt from
storage: `abhilekh reindex` and `reconcile` call `reapply` after they rebuild, so a
correction outlives any rebuild (storage keeps OCR's reading; the decisions are here)."""

from __future__ import annotations

from abhilekh.records import SearchDocument
from abhilekh.settings import Settings
from access.review import ReviewStore, review_path
from storage.base import StorageError
from storage.bundles import load_manifest


def reapply(settings: Settings) -> int:
    """Index every corrected page's latest text; the number of pages put back."""
    if not review_path(settings.home).exists():
        return 0
    from search import open_index
    from storage import open_store

    reviews, store = ReviewStore(review_path(settings.home)), open_store(settings)
    index = open_index(settings)
    try:
        docs: list[SearchDocument] = []
        metadata = {}
        for c in reviews.all_latest():
            if c.bundle_id not in metadata:
                try:
                    manifest = load_manifest(store, c.bundle_id)
                except StorageError:
                    manifest = None  # damaged: `abhilekh verify` names it; its pages are not indexed either
                metadata[c.bundle_id] = manifest.metadata if manifest and c.page <= manifest.page_count else None
            meta = metadata[c.bundle_id]
            if meta is not None:
                docs.append(SearchDocument(c.bundle_id, c.page, c.text, meta, confidence=100.0, needs_review=False))
        return index.index(docs) if docs else 0
    finally:
        index.close()
        reviews.close()
        close = getattr(store, "close", None)
        if callable(close):
            close()
