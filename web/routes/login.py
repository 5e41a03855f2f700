"""Log-in and log-out in the browser (the API's are in api.py).

The log-in form has no session to carry a CSRF token for, so GET /login sets a signed
nonce cookie and the form carries the nonce's token; POST /login checks that pair.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from access.auth import LOGIN_COOKIE, SESSION_COOKIE, safe_next
from access.throttle import LoginThrottle
from access.users import User, UserStore
from web.errors import BAD_CSRF, BAD_LOGIN, THROTTLED
from web.render import render
from web.session import (
    audit,
    client_ip,
    csrf_protect,
    current_user,
    device_token,
    new_device_token,
    session_token,
    set_device_cookie,
    set_session_cookie,
    signer,
)

router = APIRouter(include_in_schema=False)
# Log-out ends a session, so it carries the session's CSRF token like every other form.
logout_router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])


def login_page(request: Request, status: int = 200, message: tuple[str, str] | None = None,
               next_url: str = "/", username: str = "") -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    response = render(
        request, "login.html", status, next_url=safe_next(next_url), username=username,
        message=message, login_csrf=signer(request).csrf("login:" + nonce),
    )
    response.set_cookie(LOGIN_COOKIE, signer(request).sign(nonce, "login"), max_age=3600,
                        path="/login", secure=request.app.state.cookie_secure, httponly=True, samesite="lax")
    return response


def check_login(request: Request, username: str, password: str) -> tuple[User | None, int, int]:
    """(user, 200, 0) on success; (None, 401, 0) wrong; (None, 429, seconds to wait)
    throttled. The throttle (access/throttle.py) counts per user and client: this
    browser's device cookie when the user logged in from it before, else its address."""
    users: UserStore = request.app.state.users
    throttle: LoginThrottle = request.app.state.throttle
    ip = client_ip(request)
    name = (username or "").strip().lower()[:64]
    device = device_token(request)
    client = f"device:{device}" if device and throttle.knows_device(name, device) else f"ip:{ip}"
    attempt = throttle.begin(name, client)
    if not attempt.allowed:
        request.app.state.audit.record(name, "", "login_throttled", ip=ip, detail=f"retry after {attempt.retry_after} s")
        return None, 429, attempt.retry_after
    user = users.verify(name, password)
    if user is None or not user.can_search:
        attempt.failed()
        request.app.state.audit.record(name, "", "login_failed", ip=ip)
        return None, 401, 0
    attempt.succeeded()
    request.state.device = device or new_device_token()
    throttle.remember_device(user.name, request.state.device)
    audit(request, user, "login")
    return user, 200, 0


def throttled_message(seconds: int) -> tuple[str, str]:
    """THROTTLED, with the wait spelled out."""
    wait = f"{seconds} s" if seconds < 120 else f"{(seconds + 59) // 60} min"
    return (f"{THROTTLED[0]} ({wait} बाद)", f"{THROTTLED[1]} (in {wait})")


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    if current_user(request) is not None:
        return RedirectResponse(safe_next(next), 303)
    return login_page(request, next_url=next)


@router.post("/login", response_class=HTMLResponse)
async def login_submit(request: Request) -> Response:
    form = await request.form()
    username = str(form.get("username") or "")[:64]
    next_url = safe_next(str(form.get("next") or "/"))
    nonce = signer(request).unsign(request.cookies.get(LOGIN_COOKIE), "login")
    if not nonce or not signer(request).check_csrf("login:" + nonce, str(form.get("csrf") or "")):
        return login_page(request, 403, BAD_CSRF, next_url, username)
    user, status, wait = await run_in_threadpool(
        check_login, request, username, str(form.get("password") or "")[:1024]
    )
    if user is None:
        page = login_page(request, status, throttled_message(wait) if status == 429 else BAD_LOGIN, next_url,
                          username)
        if wait:
            page.headers["Retry-After"] = str(wait)
        return page
    users: UserStore = request.app.state.users
    token = await run_in_threadpool(users.new_session, user.name, request.app.state.settings.session_hours)
    response = RedirectResponse(next_url, 303)
    set_session_cookie(request, response, token)
    set_device_cookie(request, response)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@logout_router.post("/logout")
async def logout(request: Request) -> Response:
    user = current_user(request)
    token = session_token(request)
    if user is not None and token:
        request.app.state.users.end_session(token)
        audit(request, user, "logout")
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=request.app.state.cookie_secure, httponly=True,
                           samesite="lax")
    return response
