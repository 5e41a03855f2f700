"""How each error is answered: pages get the bilingual error page (or a redirect to
/login), anything under /api/ gets JSON, in Hindi and English either way: our own
errors (PageError) with their message, the framework's (a wrong method, a malformed
parameter) and an unexpected failure with the status's (web/errors.py STATUS_TEXT)."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from access.auth import SESSION_COOKIE
from web.errors import LoginRequired, PageError, not_found_page, status_text
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


def _bilingual(status: int, detail: object) -> str:
    """The detail as sent when it is already in both scripts, else the status's text
    in both with the English detail after it."""
    text = str(detail or "")
    if any("\u0900" <= ch <= "\u097f" for ch in text):
        return text
    hindi, english = status_text(status)
    generic = text.lower() in {"", english.lower(), "not found", "method not allowed", "internal server error"}
    return f"{hindi} / {english}" + ("" if generic else f": {text}")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if _is_api(request):
        return JSONResponse({"detail": _bilingual(exc.status_code, exc.detail)}, exc.status_code,
                            headers=exc.headers)
    if exc.status_code == 404:
        return render(request, "error.html", 404, error=not_found_page())
    hindi, english = status_text(exc.status_code)
    detail = str(exc.detail or "")
    if detail and detail.lower() != english.lower() and not any("\u0900" <= c <= "\u097f" for c in detail):
        english = f"{english}: {detail}"
    response = render(request, "error.html", exc.status_code,
                      error=PageError(exc.status_code, hindi, english))
    for key, value in (exc.headers or {}).items():
        response.headers[key] = value
    return response


async def _invalid_request(request: Request, exc: Exception) -> Response:
    """A parameter that does not parse (e.g. a page number of letters): 422 in both
    languages, naming the parameter, instead of FastAPI's English JSON."""
    assert isinstance(exc, RequestValidationError)
    where = ", ".join(str(e.get("loc", ["?"])[-1]) for e in exc.errors()[:3])
    hindi, english = status_text(422)
    if _is_api(request):
        return JSONResponse({"detail": f"{hindi} ({where}) / {english} ({where})", "errors": exc.errors()}, 422)
    return render(request, "error.html", 422, error=PageError(422, f"{hindi} ({where})", f"{english} ({where})"))


async def _unexpected(request: Request, exc: Exception) -> Response:
    """Anything not caught: logged with its traceback, the officer reads both languages."""
    logging.getLogger("abhilekh.web").error("unexpected error on %s", request.url.path, exc_info=exc)
    hindi, english = status_text(500)
    if _is_api(request):
        return JSONResponse({"detail": f"{hindi} / {english}"}, 500)
    try:
        return render(request, "error.html", 500, error=PageError(500, hindi, english))
    except Exception:  # noqa: BLE001  the page itself cannot be made (e.g. the user store is down)
        return Response(f"500 — {hindi} / {english}", 500, media_type="text/plain; charset=utf-8")


def install(app: FastAPI) -> None:
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(PageError, _page_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(Exception, _unexpected)
