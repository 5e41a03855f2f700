"""Who is asking: the session behind a request, and the checks routers depend on.

Routers declare these as router-level dependencies, so no route can forget them:

    require_user   a valid session of a user who may search (else LoginRequired:
                   pages redirect to /login, /api/ answers 401)
    require_admin  ... who is an admin (else 403, and the refusal is audited)
    csrf_protect   a POST (PUT, PATCH, DELETE) made within a session carries the
                   session's CSRF token in its form, or in an X-CSRF-Token header
                   (the page's fetch() calls: chunks of an upload), else 403
    json_only      a POST to /api/ is application/json (a page on another site cannot
                   send that without a CORS pre-flight, which is never allowed)

The log-in form is the one POST without a session; it checks its own token (a nonce
cookie signed at GET /login, web/routes/login.py).
"""

from __future__ import annotations

import ipaddress
import secrets
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.security import APIKeyCookie
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from access.audit import AuditLog
from access.auth import SESSION_COOKIE, Signer
from access.users import User, UserStore
from web.errors import ADMIN_ONLY, BAD_CSRF, LoginRequired, PageError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"

# Documents in /openapi.json how API clients authenticate; as a dependency it only
# reads the cookie (auto_error=False), require_user decides.
session_cookie = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False,
    description="Session cookie set by POST /api/login (or the log-in page)",
)


def signer(request: Request) -> Signer:
    return request.app.state.signer


def session_token(request: Request) -> str | None:
    return signer(request).unsign(request.cookies.get(SESSION_COOKIE))


def current_user(request: Request) -> User | None:
    """The user of the request's session, looked up once per request."""
    if "user" not in request.state._state:
        token = session_token(request)
        users: UserStore = request.app.state.users
        request.state.user = users.session_user(token) if token else None
    return request.state.user


def searching_user(request: Request) -> User:
    user = current_user(request)
    if user is None or not user.can_search:
        raise LoginRequired()
    return user


async def require_user(request: Request) -> User:
    """async: FastAPI runs a sync dependency on a worker thread, a hop per request (the
    session lookup is one indexed SQLite read, cheaper than the hop; issue 15)."""
    return searching_user(request)


def require_admin(request: Request) -> User:
    user = searching_user(request)
    if not user.is_admin:
        audit(request, user, "denied", target=request.url.path, detail="admin only")
        raise PageError(403, *ADMIN_ONLY)
    return user


def client_ip(request: Request) -> str:
    """The client's address: the peer's, or, when the peer is one of
    ABHILEKH_TRUSTED_PROXIES, the right-most address in X-Forwarded-For that is not a
    trusted proxy (each proxy appends the address it was reached from; anything to the
    left of that is what the client claimed, and is not believed)."""
    peer = request.client.host if request.client else ""
    proxies: list[IPNetwork] = getattr(request.app.state, "trusted_proxies", [])
    if not proxies or not _trusted(peer, proxies):
        return peer
    forwarded = [a.strip() for h in request.headers.getlist("x-forwarded-for") for a in h.split(",") if a.strip()]
    for address in reversed(forwarded):
        if not _trusted(address, proxies):
            return address[:64]
    return forwarded[0][:64] if forwarded else peer


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_proxies(spec: str) -> list[IPNetwork]:
    """ABHILEKH_TRUSTED_PROXIES ("127.0.0.1, 10.0.0.0/8") as networks; ValueError names a bad entry."""
    out = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"ABHILEKH_TRUSTED_PROXIES: {item!r} is not an address or network "
                             "(e.g. 127.0.0.1 or 10.0.0.0/8)") from None
    return out


def _trusted(address: str, proxies: list[IPNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies)


DEVICE_COOKIE = "abhilekh_device"
DEVICE_DAYS = 365


def device_token(request: Request) -> str | None:
    """This browser's device token (signed by us), if it has one."""
    return signer(request).unsign(request.cookies.get(DEVICE_COOKIE), "device")


def new_device_token() -> str:
    return secrets.token_urlsafe(18)


def set_device_cookie(request: Request, response: Response) -> None:
    """Remember this browser: its later log-ins are throttled apart from anyone else's."""
    token = getattr(request.state, "device", None)
    if not token:
        return
    response.set_cookie(
        DEVICE_COOKIE, signer(request).sign(token, "device"), max_age=DEVICE_DAYS * 86400, path="/",
        secure=request.app.state.cookie_secure, httponly=True, samesite="lax",
    )


def audit(request: Request, user: User | None, action: str, **fields: Any) -> None:
    log: AuditLog = request.app.state.audit
    log.record(user.name if user else "", user.role if user else "", action, ip=client_ip(request), **fields)


async def audit_async(request: Request, user: User | None, action: str, **fields: Any) -> None:
    """``audit`` for async routes: returns once the row is durable, without holding
    the event loop meanwhile."""
    log: AuditLog = request.app.state.audit
    await log.record_async(user.name if user else "", user.role if user else "", action,
                           ip=client_ip(request), **fields)


def csrf_token(request: Request) -> str:
    token = session_token(request)
    return signer(request).csrf(token) if token else ""


async def posted_form(request: Request) -> FormData:
    """The form of a POST, after its CSRF token is checked (403 otherwise)."""
    form = await request.form()  # Starlette keeps it: the route reads the same form
    if not signer(request).check_csrf(session_token(request), str(form.get("csrf") or "")):
        raise PageError(403, *BAD_CSRF)
    return form


async def csrf_protect(request: Request) -> None:
    if request.method in SAFE_METHODS or current_user(request) is None:
        return  # nothing to forge without a session
    header = request.headers.get(CSRF_HEADER)
    if header is not None:
        # A page on another site cannot set a custom header without a CORS pre-flight,
        # which is never allowed; the body (a file's bytes) is then left unread.
        if not signer(request).check_csrf(session_token(request), header):
            raise PageError(403, *BAD_CSRF)
        return
    await posted_form(request)


def json_only(request: Request) -> None:
    if request.method in SAFE_METHODS:
        return
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise StarletteHTTPException(415, "सामग्री का प्रकार application/json हो / Content-Type must be application/json")


# What a route takes to get the checked user (the router has already run the check;
# FastAPI runs a dependency once per request, so this is the same call's result).
CurrentUser = Annotated[User, Depends(require_user)]
CurrentAdmin = Annotated[User, Depends(require_admin)]


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE, signer(request).sign(token), max_age=int(settings.session_hours * 3600),
        path="/", secure=request.app.state.cookie_secure, httponly=True, samesite="lax",
    )
