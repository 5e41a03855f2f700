"""GET /bundles: every file the user may see, filtered by station/register/year, sorted
and paged: browsing without knowing what to search for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from web.catalog import BundleLine, Catalog
from web.query import int_param, text_param, year_param, years_label
from web.render import render
from web.scope import store_of
from web.session import CurrentUser, csrf_protect, require_user

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_user), Depends(csrf_protect)])

BUNDLES_PAGE = 25
SORTS: dict[str, tuple[str, str]] = {
    "title": ("शीर्षक", "Title"), "thana": ("थाना", "Police station"), "year": ("वर्ष", "Year"),
    "pages": ("पृष्ठ", "Pages"), "review": ("समीक्षा हेतु", "To review"), "new": ("नई पहले", "Newest first"),
}


def _key(sort: str) -> Callable[[BundleLine], Any]:
    if sort == "thana":
        return lambda b: (b.metadata.thana, b.title)
    if sort == "year":
        return lambda b: (-(b.metadata.year or 0), b.title)
    if sort == "pages":
        return lambda b: (-b.pages, b.title)
    if sort == "review":
        return lambda b: (-len(b.needs_review), b.title)
    if sort == "new":
        return lambda b: tuple(-ord(c) for c in b.created_at)
    return lambda b: (b.title.casefold(), b.bundle_id)


@router.get("/bundles", response_class=HTMLResponse)
async def bundle_list(request: Request, user: CurrentUser) -> HTMLResponse:
    params = request.query_params
    thana, register = text_param(params.get("thana")), text_param(params.get("register"))
    year = year_param(params.get("year"))
    sort = str(params.get("sort")) if params.get("sort") in SORTS else "title"
    offset = int_param(params.get("offset"), 0, 0, 10**9)
    catalog: Catalog = request.app.state.catalog
    lines: list[BundleLine] = await run_in_threadpool(catalog.for_user, store_of(request), user)
    chosen = [b for b in lines
              if (not thana or b.metadata.thana == thana) and (not register or b.metadata.register == register)
              and (year is None or (b.metadata.year or 0) <= year <= (b.metadata.year_to or b.metadata.year or 0))]
    chosen.sort(key=_key(sort))
    total = len(chosen)
    offset = min(offset, max(0, (total - 1) // BUNDLES_PAGE * BUNDLES_PAGE))

    def link(**changes: Any) -> str:
        values = {"thana": thana, "register": register, "year": year, "sort": sort if sort != "title" else None,
                  "offset": offset or None, **changes}
        kept = {k: v for k, v in values.items() if v not in (None, "")}
        return "/bundles" + ("?" + urlencode(kept) if kept else "")

    shown = chosen[offset:offset + BUNDLES_PAGE]
    return render(
        request, "bundles.html", total=total, offset=offset, sort=sort, sorts=SORTS,
        thana=thana, register=register, year=year,
        rows=[{"line": b, "years": years_label(b.metadata), "url": f"/bundles/{b.bundle_id}",
               "search": "/?" + urlencode({"thana": b.metadata.thana})} for b in shown],
        sort_links={k: link(sort=k if k != "title" else None, offset=None) for k in SORTS},
        prev=link(offset=max(0, offset - BUNDLES_PAGE) or None) if offset else None,
        next=link(offset=offset + BUNDLES_PAGE) if offset + BUNDLES_PAGE < total else None,
        first=offset + 1 if total else 0, last=offset + len(shown),
        clear=link(thana=None, register=None, year=None, offset=None),
    )
