"""The search page: a search box, facets to narrow by, hits with snippets and thumbnails."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from abhilekh.records import SearchFilters, SearchHit
from search.base import QueryRefused, SearchError, SearchResults
from web.query import MAX_OFFSET, PAGE_SIZE, Query, facet_options, page_url, pdf_url, query_from, thumb_url, years_label
from web.render import render
from web.scope import audit_search, run_search
from web.session import CurrentUser, csrf_protect, require_user

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_user), Depends(csrf_protect)])

EXAMPLES = ["रमेश यादव", "मु0अ0सं0 123/2019", "धारा 379", "UP 78 AB 1234", "Ramesh Yadav"]
FACETS = [("thana", "थाना", "Police station"), ("register", "रजिस्टर", "Register"),
          ("year", "वर्ष", "Year")]


def hit_view(hit: SearchHit, review_confidence: float, q: str = "") -> dict[str, Any]:
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
        "view": page_url(hit.bundle_id, hit.page, q),
        "thumb": thumb_url(hit.bundle_id, hit.page),
        "bundle": f"/bundles/{hit.bundle_id}",
    }


def _paging(query: Query, results: SearchResults | None) -> dict[str, Any]:
    if not results or not results.total:
        return {}
    return {
        "first": query.offset + 1,
        "last": query.offset + len(results.hits),
        "current": query.offset // query.limit + 1,
        "count": (results.total + query.limit - 1) // query.limit,
        "prev": query.url(offset=max(0, query.offset - query.limit)) if query.offset else None,
        "next": (
            query.url(offset=query.offset + query.limit)
            if query.offset + query.limit < min(results.total, MAX_OFFSET + 1)
            else None
        ),
    }


@router.get("/", response_class=HTMLResponse)
async def search_page(request: Request, user: CurrentUser) -> HTMLResponse:
    query = query_from(request.query_params)
    results: SearchResults | None = None
    error: str | None = None
    refused: str | None = None
    if query.active:
        try:
            results = await run_search(request, user, query)
        except QueryRefused as exc:
            refused = str(exc)
        except SearchError as exc:
            error = str(exc)
        else:
            await run_in_threadpool(audit_search, request, user, query, results, "web")
    facets = results.facets if results else {}
    filters = [
        {"name": name, "hindi": hindi, "english": english,
         "options": facet_options(facets, name, getattr(query.filters, name))}
        for name, hindi, english in FACETS
    ]
    review = request.app.state.settings.review_confidence
    hits = [hit_view(h, review, query.q) for h in results.hits] if results else []
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
        pages=_paging(query, results),
        error=error,
        refused=refused,
        examples=[{"text": e, "url": Query(e, SearchFilters(), PAGE_SIZE, 0).url()} for e in EXAMPLES],
    )
