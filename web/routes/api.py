"""The JSON API: log-in and log-out for API clients, the search, and a health check.

Every POST must be application/json (``json_only``); the search needs a session.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from abhilekh.records import SearchFilters
from access.auth import SESSION_COOKIE
from search.base import QueryRefused, SearchError
from web.errors import BAD_LOGIN, SEARCH_DOWN
from web.models import HealthOut, HitOut, LoginIn, SearchOut, UserOut
from web.query import (
    MAX_LIMIT,
    MAX_OFFSET,
    MAX_QUERY,
    PAGE_SIZE,
    pdf_url,
    query_param,
    text_param,
    thumb_url,
    year_param,
)
from web.query import Query as SearchQuery
from web.routes.login import check_login, throttled_message
from web.runtime import IndexThreads
from web.scope import audit_search_async, run_search, store_of
from web.session import (
    CurrentUser,
    audit,
    current_user,
    json_only,
    require_user,
    session_cookie,
    session_token,
    set_device_cookie,
    set_session_cookie,
)

auth_router = APIRouter(prefix="/api", dependencies=[Depends(json_only)])
router = APIRouter(prefix="/api", dependencies=[Depends(session_cookie), Depends(require_user), Depends(json_only)])
health_router = APIRouter()


@auth_router.post("/login", response_model=UserOut, summary="Log in; sets the session cookie",
                  responses={401: {"description": "wrong name or password"},
                             429: {"description": "too many failures from this client; wait Retry-After seconds"}})
def api_login(request: Request, body: LoginIn) -> Response:
    user, status, wait = check_login(request, body.username, body.password)
    if user is None:
        text = throttled_message(wait) if status == 429 else BAD_LOGIN
        return JSONResponse({"detail": f"{text[0]} / {text[1]}"}, status,
                            headers={"Retry-After": str(wait)} if wait else None)
    token = request.app.state.users.new_session(user.name, request.app.state.settings.session_hours)
    response = JSONResponse(UserOut(name=user.name, role=user.role, stations=list(user.stations)).model_dump())
    set_session_cookie(request, response, token)
    set_device_cookie(request, response)
    return response


@auth_router.post("/logout", status_code=204, summary="End the session", response_class=Response)
def api_logout(request: Request) -> Response:
    user = current_user(request)
    token = session_token(request)
    if user is not None and token:
        request.app.state.users.end_session(token)
        audit(request, user, "logout")
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/search", response_model=SearchOut,
            summary="Search the pages (needs a session; only the user's stations)",
            responses={401: {"description": "no session: POST /api/login first"},
                       400: {"description": "nothing to search for, or over a limit (the detail says which)"}})
async def api_search(
    request: Request,
    user: CurrentUser,
    q: Annotated[str, Query(description=f"words, names, numbers (at most {MAX_QUERY} characters)")] = "",
    thana: Annotated[str | None, Query(max_length=200)] = None,
    register: Annotated[str | None, Query(max_length=200)] = None,
    year: Annotated[str | None, Query(pattern=r"^(\d{1,4})?$", description="e.g. 2019")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = PAGE_SIZE,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> SearchOut:
    query = SearchQuery(
        q=query_param(q),
        filters=SearchFilters(thana=text_param(thana), register=text_param(register), year=year_param(year)),
        limit=limit,
        offset=offset,
    )
    if not query.active:
        return SearchOut(total=0, hits=[], facets={})
    try:
        results = await run_search(request, user, query)
    except QueryRefused as exc:
        raise StarletteHTTPException(400, str(exc)) from None
    except SearchError as exc:
        raise StarletteHTTPException(503, f"{SEARCH_DOWN[0]} / {SEARCH_DOWN[1]}: {exc}") from None
    await audit_search_async(request, user, query, results, "api")
    return SearchOut(
        total=results.total,
        hits=[
            HitOut(
                bundle_id=h.bundle_id,
                page=h.page,
                score=h.score,
                snippet=h.snippet,
                snippet_html=h.snippet_html,
                metadata=h.metadata,
                confidence=h.confidence,
                pdf=pdf_url(h.bundle_id, h.page),
                thumbnail=thumb_url(h.bundle_id, h.page),
                near=h.near,
            )
            for h in results.hits
        ],
        facets={k: {str(v): n for v, n in vals.items()} for k, vals in results.facets.items()},
        did_you_mean=results.did_you_mean,
    )


@health_router.get("/healthz", response_model=HealthOut, summary="Whether the app is up (for an admin also: which index and store)")
async def healthz(request: Request) -> Response:
    user = current_user(request)
    if user is None or not user.is_admin:
        return JSONResponse(HealthOut(ok=True).model_dump(exclude_none=True))
    worker: IndexThreads = request.app.state.index
    index = await worker.call(worker.index.describe)
    return JSONResponse(HealthOut(ok=True, index=index, store=store_of(request).describe()).model_dump())
