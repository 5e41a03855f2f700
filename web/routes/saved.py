"""POST /saved and /saved/delete: a user's saved searches (listed on the home page)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from web.query import back_param
from web.saved import SavedSearches
from web.session import CurrentUser, csrf_protect, require_user

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_user), Depends(csrf_protect)])


def saved_of(request: Request) -> SavedSearches:
    saved: SavedSearches = request.app.state.saved
    return saved


@router.post("/saved")
async def save_search(request: Request, user: CurrentUser) -> RedirectResponse:
    form = await request.form()
    url = back_param(str(form.get("url") or ""))
    name = str(form.get("name") or "").strip()
    if url and url != "/":
        saved_of(request).save(user.name, name or url, url)
        return RedirectResponse(url + "&saved=1", 303)
    return RedirectResponse("/", 303)


@router.post("/saved/delete")
async def delete_search(request: Request, user: CurrentUser) -> RedirectResponse:
    form = await request.form()
    saved_of(request).delete(user.name, str(form.get("name") or ""))
    return RedirectResponse("/", 303)
