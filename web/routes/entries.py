"""Register entries on the web: ``/api/entries`` (JSON, CSV, XLSX) and the entries a
search hit's page holds that match the query (shown under the hit).

Station scope applies as for pages: an officer sees the entries of bundles of their
stations only, counts included. Every listing is written to the audit log.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from abhilekh.records import SearchHit
from access.users import User
from search.base import SearchError
from search.entries import SHOWN, EntryDocument, EntryFilters, EntryIndex, EntryResults, entry_terms, open_entries
from search.normalise import fold, transliterate
from web.errors import SEARCH_DOWN
from web.highlight import Box
from web.query import page_url
from web.session import CurrentUser, audit, json_only, require_user, session_cookie

router = APIRouter(prefix="/api", dependencies=[Depends(session_cookie), Depends(require_user), Depends(json_only)])
_LOCK = threading.Lock()
MAX_EXPORT = 100_000


def entries_index(request: Request) -> EntryIndex:
    """One entries index per app, opened on first use."""
    with _LOCK:
        idx = getattr(request.app.state, "entries", None)
        if idx is None:
            idx = open_entries(request.app.state.settings)
            request.app.state.entries = idx
        return idx


def _scoped(filters: EntryFilters, user: User) -> EntryFilters:
    if user.is_admin:
        return filters
    return EntryFilters(**{**filters.__dict__, "stations": tuple(user.stations)})


def _audited(f: EntryFilters) -> dict[str, Any]:
    return {k: v for k, v in f.__dict__.items() if k not in ("words", "stations")}


def entry_view(e: EntryDocument, q: str = "") -> dict[str, Any]:
    return {"id": e.id, "bundle_id": e.bundle_id, "page": e.page, "row": e.index, "kind": e.kind, "box": e.box,
            "thana": e.metadata.thana, "values": {k: e.values[k] for k in SHOWN if k in e.values},
            "confidence": e.confidence,
            "view": page_url(e.bundle_id, e.page, q) + (f"&entry={e.index}" if q else "")}


@router.get("/entries", summary="Register entries (rows) by section, act, crime year, station, village, outcome",
            responses={401: {"description": "no session: POST /api/login first"}})
async def api_entries(
    request: Request,
    user: CurrentUser,
    section: Annotated[str | None, Query(max_length=20)] = None,
    act: Annotated[str | None, Query(max_length=40)] = None,
    crime_year: Annotated[int | None, Query(ge=1900, le=2100)] = None,
    thana: Annotated[str | None, Query(max_length=200, description="the case's police station")] = None,
    village: Annotated[str | None, Query(max_length=200)] = None,
    outcome: Annotated[str | None, Query(pattern=r"^(charge_sheet|final_report|arrested|investigation)?$")] = None,
    words: Annotated[str | None, Query(max_length=200)] = None,
    bundle: Annotated[str | None, Query(pattern=r"^[0-9a-f]{64}$")] = None,
    page: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    format: Annotated[str, Query(pattern=r"^(json|csv|xlsx)$")] = "json",  # noqa: A002 - the query parameter's name
) -> Response:
    from search.entries_export import to_csv, to_xlsx

    filters = _scoped(EntryFilters(section=section, act=act, crime_year=crime_year, station=thana, village=village,
                                   outcome=outcome or None, words=words, bundle_id=bundle, page=page), user)
    try:
        idx = entries_index(request)
        if format != "json":
            every = await run_in_threadpool(lambda: list(idx.iter_all(filters))[:MAX_EXPORT])
            await run_in_threadpool(audit, request, user, "entries_export", query=words or "",
                                    filters=_audited(filters), detail=f"{format}, {len(every)} entries")
            if format == "csv":
                return Response(to_csv(every), media_type="text/csv; charset=utf-8",
                                headers={"Content-Disposition": 'attachment; filename="entries.csv"'})
            return Response(to_xlsx(every), media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                            headers={"Content-Disposition": 'attachment; filename="entries.xlsx"'})
        res = await run_in_threadpool(idx.find, filters, limit, offset)
    except SearchError as exc:
        raise StarletteHTTPException(503, f"{SEARCH_DOWN[0]} / {SEARCH_DOWN[1]}: {exc}") from None
    await run_in_threadpool(audit, request, user, "entries", query=words or "", filters=_audited(filters),
                            detail=f"{res.total} entries")
    return JSONResponse({"total": res.total, "facets": res.facets, "entries": [entry_view(e) for e in res.entries]})


def _keys(text: str) -> set[str]:
    return set(fold(text).split()) | set(transliterate(text).split())


def hit_entries(request: Request, user: User, hits: list[SearchHit], q: str, most: int = 2) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """For each hit, the entries of its page sharing the most words with the query
    (none when no entry shares one): what the officer was looking for on that page."""
    want = {k for k in _keys(q) if len(k) > 1 or k.isdigit()}
    out: dict[tuple[str, int], list[dict[str, Any]]] = {}
    if not want or not hits:
        return out
    try:
        stations = None if user.is_admin else tuple(user.stations)
        on = entries_index(request).on_pages([(h.bundle_id, h.page) for h in hits], stations, per_page=100)
    except SearchError:
        return out  # the page hits stand without their entries
    for h in hits:
        found = on.get((h.bundle_id, h.page), [])
        scored = sorted(((len(want & set(entry_terms(e))), e) for e in found), key=lambda se: (-se[0], se[1].index))
        top = scored[0][0] if scored else 0
        # only the best-matching entries: "2019" alone is on every row of the page
        best = [entry_view(e, q) for n, e in scored[:most] if n and n == top]
        if best:
            out[(h.bundle_id, h.page)] = best
    return out


def entry_box(request: Request, user: User, bundle_id: str, page: int, index: int) -> list[Box]:
    """The box of entry INDEX of the page, for the viewer to draw (none if unknown)."""
    try:
        found = entries_index(request).find(_scoped(EntryFilters(bundle_id=bundle_id, page=page), user), limit=500)
    except SearchError:
        return []
    for e in found.entries:
        if e.index == index and len(e.box) == 4 and e.box[2] > e.box[0] and e.box[3] > e.box[1]:
            x0, y0, x1, y1 = e.box
            return [Box(x0, y0, x1 - x0, y1 - y0)]
    return []


# ----------------------------------------------------------------------------- the page

page_router = APIRouter(include_in_schema=False, dependencies=[Depends(require_user)])
CHART_BARS = 15  # bars a chart shows (the most frequent values)
BAR_WIDTH = 320  # px of the longest bar


def _chart(name: str, counts: dict[str, int], link: Callable[[str], str], by_value: bool = False) -> dict[str, Any]:
    """One bar chart drawn server-side: each bar's length, its number and its link."""
    items = sorted(counts.items(), key=lambda kv: kv[0]) if by_value else list(counts.items())
    items = items[-CHART_BARS:] if by_value else items[:CHART_BARS]
    top = max((n for _, n in items), default=0) or 1
    return {"name": name, "bars": [{"label": k, "count": n, "width": max(2, round(BAR_WIDTH * n / top)),
                                    "url": link(k)} for k, n in items]}


@page_router.get("/entries", response_class=HTMLResponse)
async def entries_page(request: Request, user: CurrentUser) -> HTMLResponse:
    """Register entries for supervisors: counts by section, crime year and station as
    bar charts (every bar a link to its entries), the entries themselves, exports."""
    from web.render import render

    p = request.query_params

    def text(name: str) -> str | None:
        v = (p.get(name) or "").strip()
        return v[:200] or None

    year = text("crime_year")
    filters = EntryFilters(section=text("section"), act=text("act"),
                           crime_year=int(year) if year and year.isdigit() and len(year) == 4 else None,
                           station=text("thana"), village=text("village"), outcome=text("outcome"))
    shown = {k: v for k, v in (("section", filters.section), ("act", filters.act), ("crime_year", year),
                                ("thana", filters.station), ("village", filters.village),
                                ("outcome", filters.outcome)) if v}
    error = None
    res: EntryResults | None = None
    try:
        res = await run_in_threadpool(entries_index(request).find, _scoped(filters, user), 100, 0)
    except SearchError as exc:
        error = str(exc)
    if res is not None:
        await run_in_threadpool(audit, request, user, "entries", filters=_audited(filters), detail=f"{res.total} entries, page")

    def url(**more: str) -> str:
        return "/entries?" + urlencode({**shown, **more})

    charts = [] if res is None else [
        _chart("धारा / Section", res.facets.get("section", {}), lambda v: url(section=v)),
        _chart("वर्ष / Crime year", res.facets.get("crime_year", {}), lambda v: url(crime_year=v), by_value=True),
        _chart("थाना / Station", res.facets.get("station", {}), lambda v: url(thana=v)),
        _chart("परिणाम / Outcome", res.facets.get("outcome", {}), lambda v: url(outcome=v)),
    ]
    api = "/api/entries?" + urlencode({("thana" if k == "thana" else k): v for k, v in shown.items()})
    return render(request, "entries.html", status=503 if error else 200, results=res, charts=charts,
                  entries=[entry_view(e) for e in res.entries] if res else [], shown=shown, error=error,
                  csv=api + "&format=csv", xlsx=api + "&format=xlsx", clear="/entries")
