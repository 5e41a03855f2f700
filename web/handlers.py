"""How each error is answered: pages get the bilingual error page (or a redirect to
/login), anything under /api/ gets JSON."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from access.auth import SESSION_COOKIE
from web.errors import LoginRequired, PageError, not_found_page
from web.render import render

__all__ = ["install"]


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def _login_required(request: Request, exc: Exception) -> Response:
    if _is_api(request):
        return JSONResponse(
            {"detail": "लॉग-इन आवश्यक / Log-in required: POST /api/login"}, 401,
            headers={"WWW-Authenticate": f'Cookie realm="abhilekh", name="{SESSION_COOKIE}"'},
        )
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?" + urlencode({"next": target}), 303)


async def _page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    if _is_api(request):
        return JSONResponse({"detail": f"{exc.hindi} / {exc.english}"}, exc.status)
    return render(request, "error.html", exc.status, error=exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if _is_api(request) or exc.status_code != 404:
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)
    return render(request, "error.html", 404, error=not_found_page())


def install(app: FastAPI) -> None:
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(PageError, _page_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
