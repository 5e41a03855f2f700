"""Who may see what, per request: searches run inside the user's stations, and every
bundle, page, thumbnail and PDF is checked against its manifest's station.

The stations go into the engine query (``SearchFilters.stations``), so totals, facet
counts and paging are the engine's own, exactly as an admin's search over the same
stations; a thana filter outside them finds nothing.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from abhilekh.records import SearchFilters
from access.users import User
from search.base import SearchResults
from storage.base import IntegrityError, ObjectStore, StorageError
from storage.bundles import Manifest
from web.errors import NOT_ALLOWED, PageError, not_found_bundle, store_down
from web.query import Query
from web.runtime import IndexThreads, Manifests, ResultCache
from web.session import audit, audit_async

# Bundle ids are sha256 hex digests; shorter prefixes are accepted for hand-typed URLs.
BUNDLE_ID = re.compile(r"[0-9a-f]{16,64}")
_PAGE_NUMBER = re.compile(r"[0-9]{1,9}")


def store_of(request: Request) -> ObjectStore:
    return request.app.state.store


def within_stations(filters: SearchFilters, user: User) -> SearchFilters:
    """The filters, limited to what `user` may see (admins: everything)."""
    return filters if user.is_admin else dataclasses.replace(filters, stations=tuple(user.stations))


async def run_search(request: Request, user: User, query: Query) -> SearchResults:
    """The search, inside the user's stations."""
    worker: IndexThreads = request.app.state.index
    cache: ResultCache = request.app.state.results
    return await worker.call(cache.search, worker.index, query.q, within_stations(query.filters, user),
                             query.limit, query.offset)


def _search_row(query: Query, results: SearchResults, via: str) -> dict[str, Any]:
    f = query.filters
    return dict(
        query=query.q,
        filters={"thana": f.thana, "register": f.register, "year": f.year,
                 "offset": query.offset or None, "via": via},
        target=" ".join(f"{h.bundle_id}:{h.page}" for h in results.hits),
        detail=f"total={results.total}",
    )


def audit_search(request: Request, user: User, query: Query, results: SearchResults, via: str) -> None:
    audit(request, user, "search", **_search_row(query, results, via))


async def audit_search_async(request: Request, user: User, query: Query, results: SearchResults, via: str) -> None:
    """``audit_search`` from an async route: returns once the row is durable."""
    await audit_async(request, user, "search", **_search_row(query, results, via))


async def bundle_for_async(request: Request, user: User, bundle_id: str) -> Manifest:
    """``bundle_for`` for async routes: a fresh manifest in memory is checked on the
    event loop (no thread hop); anything else (a store read, a refusal with its audit
    row) runs ``bundle_for`` on a worker thread."""
    if BUNDLE_ID.fullmatch(bundle_id):
        manifests: Manifests = request.app.state.manifests
        manifest = manifests.cached(bundle_id)
        if manifest is not None and user.may_see(manifest.metadata.thana):
            return manifest
    return await run_in_threadpool(bundle_for, request, user, bundle_id)


def bundle_for(request: Request, user: User, bundle_id: str) -> Manifest:
    """The bundle's manifest if it exists and the user may see its station."""
    if not BUNDLE_ID.fullmatch(bundle_id):
        raise not_found_bundle()
    manifests: Manifests = request.app.state.manifests
    try:
        manifest = manifests.get(store_of(request), bundle_id)
    except IntegrityError:
        raise PageError(500, "इस फ़ाइल का विवरण क्षतिग्रस्त है",
                        "This bundle's manifest fails its integrity check") from None
    except StorageError as exc:
        raise store_down(exc) from None
    if manifest is None:
        raise not_found_bundle()
    if not user.may_see(manifest.metadata.thana):
        audit(request, user, "denied", target=bundle_id, detail=request.url.path)
        raise PageError(403, *NOT_ALLOWED)
    return manifest


def page_number(page: str, manifest: Manifest) -> int:
    """PAGE from the URL as a page of the bundle, or the bilingual 404."""
    # ASCII digits only: str.isdigit() and int() also take "²", "१" and "１", and "²"
    # then fails int() (a 500); a page number in a link is always plain digits.
    number = int(page) if _PAGE_NUMBER.fullmatch(page) else 0
    if not 1 <= number <= manifest.page_count:
        raise PageError(404, "यह पृष्ठ नहीं मिला", "Page not found")
    return number
