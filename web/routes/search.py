"""The search page: a search box, facets to narrow by, hits with snippets and thumbnails;
before any search, what there is to browse (stations, registers, years with counts)."""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from abhilekh.records import SearchFilters, SearchHit
from search.base import QueryRefused, SearchError, SearchResults
from web.catalog import Catalog
from web.query import (
    MAX_OFFSET,
    PAGE_SIZE,
    Query,
    facet_options,
    page_url,
    pdf_url,
    query_from,
    thumb_url,
    with_params,
    years_label,
)
from web.render import render
from web.scope import audit_search_async, run_search, store_of
from web.session import CurrentUser, csrf_protect, require_user

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_user), Depends(csrf_protect)])

# Candidates for the page's examples, one of each kind; only those that find something
# in the index are shown (checked now and then, see Examples), so an example never
# leads to "no results" — on the quickstart's sample register as on real data.
EXAMPLES = ["रमेश शर्मा", "रमेश यादव", "मु0अ0सं0 208/2009", "मु0अ0सं0 123/2019", "धारा 379",
            "UP 74 HB 8436", "UP 78 AB 1234", "Ramesh Sharma", "Ramesh Yadav"]
EXAMPLES_SHOWN = 5
EXAMPLES_TTL = 600.0
FACETS = [("thana", "थाना", "Police station"), ("register", "रजिस्टर", "Register"),
          ("year", "वर्ष", "Year")]


def hit_view(hit: SearchHit, review_confidence: float, q: str = "", back: str = "") -> dict[str, Any]:
    meta = hit.metadata
    return {
        "bundle_id": hit.bundle_id,
        "title": meta.title or meta.file_no or hit.bundle_id[:12],
        "meta": meta,
        "years": years_label(meta),
        "page": hit.page,
        "confidence": hit.confidence,
        "needs_review": hit.confidence < review_confidence,
        "snippet_html": hit.snippet_html,
        "pdf": pdf_url(hit.bundle_id, hit.page),
        "view": page_url(hit.bundle_id, hit.page, q, back),
        "thumb": thumb_url(hit.bundle_id, hit.page),
        "bundle": with_params(f"/bundles/{hit.bundle_id}", back=back),
    }


def last_offset(query: Query, total: int) -> int:
    """The offset of the last page of results that can be shown."""
    last = min(total, MAX_OFFSET + 1) - 1
    return max(0, last - last % query.limit)


def _paging(query: Query, results: SearchResults | None) -> dict[str, Any]:
    if not results or not results.total:
        return {}
    return {
        "first": query.offset + 1,
        "last": query.offset + len(results.hits),
        "current": query.offset // query.limit + 1,
        "count": last_offset(query, results.total) // query.limit + 1,
        "prev": query.url(offset=max(0, query.offset - query.limit)) if query.offset else None,
        "next": (
            query.url(offset=query.offset + query.limit)
            if query.offset + query.limit < min(results.total, MAX_OFFSET + 1)
            else None
        ),
    }


class Examples:
    """The example queries that find something, per app, re-checked every EXAMPLES_TTL."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._at = -1e9
        self._shown: list[str] = EXAMPLES[:EXAMPLES_SHOWN]

    async def get(self, request: Request) -> list[str]:
        with self._lock:
            fresh = time.monotonic() - self._at < EXAMPLES_TTL
            if not fresh:
                self._at = time.monotonic()
        if fresh:
            return self._shown
        worker = request.app.state.index
        found: list[str] = []
        for text in EXAMPLES:
            try:  # counts only, across every station: no record is shown from this
                results = await worker.call(worker.index.search, text, SearchFilters(), limit=1)
            except SearchError:
                continue
            if results.total:
                found.append(text)
        with self._lock:
            self._shown = found[:EXAMPLES_SHOWN] or EXAMPLES[:EXAMPLES_SHOWN]
        return self._shown


def examples_of(request: Request) -> Examples:
    state = request.app.state
    if not hasattr(state, "examples"):
        state.examples = Examples()
    examples: Examples = state.examples
    return examples


async def _suggestions(request: Request, user: CurrentUser, query: Query) -> dict[str, Any]:
    """For "no results": how many the same words find without the filters, and a
    shorter query (the words that do find something on their own) to try instead."""
    out: dict[str, Any] = {}
    f = query.filters
    if query.q and (f.thana or f.register or f.year is not None):
        unfiltered = Query(query.q, SearchFilters(), query.limit, 0)
        try:
            out["unfiltered"] = (await run_search(request, user, unfiltered)).total
        except SearchError:
            pass
        out["unfiltered_url"] = unfiltered.url()
    words = query.q.split()
    if len(words) > 1:
        kept = []
        for word in words[:8]:
            try:
                if (await run_search(request, user, Query(word, query.filters, 1, 0))).total:
                    kept.append(word)
            except SearchError:
                continue
        if kept and len(kept) < len(words):
            shorter = " ".join(kept)
            out["shorter"] = {"text": shorter, "url": query.url(q=shorter, offset=None)}
    return out


def _browse_url(name: str, value: str) -> str:
    """A search by one filter alone: every page of that station, register or year."""
    year = int(value) if name == "year" and value.isdigit() else None
    filters = SearchFilters(thana=value if name == "thana" else None,
                            register=value if name == "register" else None, year=year)
    return Query("", filters, PAGE_SIZE, 0).url()


@router.get("/", response_class=HTMLResponse)
async def search_page(request: Request, user: CurrentUser) -> Response:
    query = query_from(request.query_params)
    results: SearchResults | None = None
    error: str | None = None
    refused: str | None = None
    suggestions: dict[str, Any] = {}
    if query.active:
        try:
            results = await run_search(request, user, query)
        except QueryRefused as exc:
            refused = str(exc)
        except SearchError as exc:
            error = str(exc)
        else:
            if results.total and query.offset > last_offset(query, results.total):
                # Past the end (a stale or hand-made link): the last page, not "501–500".
                return RedirectResponse(query.url(offset=last_offset(query, results.total) or None), 303)
            await audit_search_async(request, user, query, results, "web")
            if not results.total:
                suggestions = await _suggestions(request, user, query)
                if results.did_you_mean:
                    suggestions["did_you_mean"] = {"text": results.did_you_mean,
                                                   "url": query.url(q=results.did_you_mean, offset=None)}
    catalog: Catalog = request.app.state.catalog
    counts = await run_in_threadpool(catalog.counts, store_of(request), user)
    facets = results.facets if results else {}
    filters = []
    for name, hindi, english in FACETS:
        options = facet_options(facets, name, getattr(query.filters, name))
        if not facets.get(name):  # before a search: what is stored (files), to browse
            chosen = getattr(query.filters, name)
            chosen = "" if chosen is None else str(chosen)
            options = [{"value": v, "count": None, "files": c, "selected": v == chosen} for v, c in counts.of(name)]
            if chosen and chosen not in {o["value"] for o in options}:
                options.insert(0, {"value": chosen, "count": None, "files": None, "selected": True})
        filters.append({"name": name, "hindi": hindi, "english": english, "options": options})
    browse = [
        {"name": name, "hindi": hindi, "english": english,
         "items": [{"value": v, "files": c, "pages": counts.pages.get(v) if name == "thana" else None,
                    "url": _browse_url(name, v)}
                   for v, c in counts.of(name)][:12]}
        for name, hindi, english in FACETS
    ]
    review = request.app.state.settings.review_confidence
    back = query.url() if query.active else ""
    hits = [hit_view(h, review, query.q, back) for h in results.hits] if results else []
    if results and query.q:
        from web.routes.entries import hit_entries

        found = await run_in_threadpool(hit_entries, request, user, results.hits, query.q)
        for h in hits:
            h["entries"] = found.get((h["bundle_id"], h["page"]), [])
    return render(
        request,
        "search.html",
        status=503 if error else 400 if refused else 200,
        query=query,
        results=results,
        hits=hits,
        filters=filters,
        browse=browse if not query.active else [],
        pages=_paging(query, results),
        error=error,
        refused=refused,
        suggestions=suggestions,
        saved=request.app.state.saved.list(user.name),
        just_saved=request.query_params.get("saved") == "1",
        examples=[{"text": e, "url": Query(e, SearchFilters(), PAGE_SIZE, 0).url()}
                  for e in await examples_of(request).get(request)],
    )
