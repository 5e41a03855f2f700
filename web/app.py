"""The officers' web page: search the pages, open the exact page of the PDF.

Routes (every one but /login, /static and /healthz needs a session)
    GET  /                              the search page (bilingual, Hindi first)
    GET  /login, POST /login            log-in form (CSRF token, throttled)
    POST /logout                        end the session
    GET  /bundles/{id}                  one bundle's metadata, with a link per page
    GET  /bundles/{id}/pages/{n}        page viewer: metadata, thumbnail, PDF at page n
    GET  /bundles/{id}/pages/{n}/thumb.jpg   small JPEG of page n (cached)
    GET  /bundles/{id}/document.pdf     the searchable access copy (?page=n is audited,
                                        ?download=1 saves instead of showing)
    GET  /api/search                    the same search as JSON (session cookie)
    POST /api/login, POST /api/logout   JSON log-in for API clients
    GET  /admin/users, POST /admin/users      users, roles, station grants (admin)
    GET  /admin/audit, /admin/audit/export    the audit log, paged; CSV / JSON (admin)
    GET  /healthz                       which index and store the app talks to

Who sees what: an admin sees every station; officers and operators see only the
stations granted to them (`abhilekh users grant`). Every search is run inside that
scope (results, facet counts, pages), and every bundle, page, thumbnail and PDF request
checks the user's stations against the bundle's manifest, so a guessed or shared link
does not get around it. Every search and every page/PDF view is written to the audit
log (access/audit.py).

The index and the store are opened once, when the app starts, and kept on
`app.state`. Index calls run on a small pool of threads of their own
(``INDEX_THREADS``), so the event loop never waits on a query and searches run side
by side: both indexes are thread-safe (SqliteIndex reads through one connection per
thread; the Elasticsearch client pools its HTTP connections).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os
import re
import secrets
import subprocess
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from fastapi.security import APIKeyCookie
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader
from pydantic import BaseModel, Field
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from abhilekh.records import BundleMetadata, SearchFilters, SearchHit
from search.base import SearchError, SearchIndex, SearchResults
from storage.base import IntegrityError, ObjectNotFound, ObjectStore, StorageError
from storage.bundles import Manifest, load_manifest, load_page, pdf_key, thumb_key
from access import audit as audit_mod
from access.audit import AuditLog
from web.highlight import hit_boxes
from access.auth import LOGIN_COOKIE, SESSION_COOKIE, Signer, cookie_secure, load_secret, safe_next
from access.users import ROLES, User, UserError, UserStore, station_key

if TYPE_CHECKING:
    from abhilekh.settings import Settings

HERE = Path(__file__).resolve().parent

# Bundle ids are sha256 hex digests; shorter prefixes are accepted for hand-typed URLs.
BUNDLE_ID = re.compile(r"[0-9a-f]{16,64}")
PAGE_SIZE = 10
MAX_LIMIT = 100
MAX_OFFSET = 10_000  # Elasticsearch's default result window
MAX_QUERY = 500

EXAMPLES = ["रमेश यादव", "मु0अ0सं0 123/2019", "धारा 379", "UP 78 AB 1234", "Ramesh Yadav"]
FACETS = [("thana", "थाना", "Police station"), ("register", "रजिस्टर", "Register"),
          ("year", "वर्ष", "Year")]

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'self'; frame-ancestors 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

T = TypeVar("T")


# --------------------------------------------------------------------------- JSON shapes


class HitOut(BaseModel):
    bundle_id: str
    page: int = Field(description="1-based page within the bundle")
    score: float
    snippet: str = Field(description="plain text around the match")
    snippet_html: str = Field(description="the snippet, HTML-escaped, matches in <mark>")
    metadata: BundleMetadata  # the stdlib dataclass; pydantic validates and documents it
    confidence: float = Field(description="mean OCR word confidence of the page, 0-100")
    pdf: str = Field(description="app URL opening the PDF at this page")
    thumbnail: str = Field(description="app URL of a small JPEG of this page")


class SearchOut(BaseModel):
    total: int
    hits: list[HitOut]
    facets: dict[str, dict[str, int]] = Field(
        default_factory=dict, description='"thana" | "register" | "year" -> value -> pages'
    )


class LoginIn(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class UserOut(BaseModel):
    name: str
    role: str
    stations: list[str] = Field(description="stations (thana) this user may see; admins: all")


class HealthOut(BaseModel):
    ok: bool
    index: str
    store: str


# --------------------------------------------------------------------------- plumbing


INDEX_THREADS = 4  # searches at once (SQLite and the ES client release the GIL while they wait)


class _IndexThread:
    """A few threads that open, query and close the index."""

    def __init__(self, opener: Callable[[], SearchIndex]) -> None:
        self._pool = ThreadPoolExecutor(
            max_workers=INDEX_THREADS, thread_name_prefix="abhilekh-index"
        )
        try:
            self.index: SearchIndex = self._pool.submit(opener).result()
        except BaseException:
            self._pool.shutdown()
            raise

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        try:
            self._pool.submit(self.index.close).result()
        finally:
            self._pool.shutdown()


class _SecurityHeaders:
    """Add the security headers to every response, errors and static files included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _page_number(page: str, manifest: Manifest) -> int:
    """PAGE from the URL as a page of the bundle, or the bilingual 404."""
    number = int(page) if page.isdigit() else 0
    if not 1 <= number <= manifest.page_count:
        raise _PageError(404, "यह पृष्ठ नहीं मिला", "Page not found")
    return number


class _PageError(Exception):
    """An error an officer reads: a status and the same message in Hindi and English."""

    def __init__(self, status: int, hindi: str, english: str) -> None:
        super().__init__(english)
        self.status, self.hindi, self.english = status, hindi, english


def _not_found_bundle() -> _PageError:
    return _PageError(404, "यह फ़ाइल नहीं मिली", "No such bundle")


@dataclass
class _Query:
    q: str
    filters: SearchFilters
    limit: int
    offset: int

    @property
    def active(self) -> bool:
        """Words to search for, or at least a filter to browse by."""
        f = self.filters
        return bool(self.q or f.thana or f.register or f.year is not None)

    def url(self, **changes: Any) -> str:
        values: dict[str, Any] = {
            "q": self.q,
            "thana": self.filters.thana,
            "register": self.filters.register,
            "year": self.filters.year,
            "limit": self.limit if self.limit != PAGE_SIZE else None,
            "offset": self.offset or None,
        }
        values.update(changes)
        kept = {k: v for k, v in values.items() if v not in (None, "")}
        return "/?" + urlencode(kept) if kept else "/"


def _text(value: str | None, limit: int = 200) -> str | None:
    value = (value or "").strip()[:limit]
    return value or None


def _int(value: str | None, default: int, low: int, high: int) -> int:
    try:
        number = int((value or "").strip())
    except ValueError:
        return default
    return min(max(number, low), high)


def _year(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) <= 4 else None


def _query_from(params: Mapping[str, str]) -> _Query:
    """The page's query string, read leniently: a bad value falls back, never a 422."""
    return _Query(
        q=_text(params.get("q"), MAX_QUERY) or "",
        filters=SearchFilters(
            thana=_text(params.get("thana")),
            register=_text(params.get("register")),
            year=_year(params.get("year")),
        ),
        limit=_int(params.get("limit"), PAGE_SIZE, 1, MAX_LIMIT),
        offset=_int(params.get("offset"), 0, 0, MAX_OFFSET),
    )


def pdf_url(bundle_id: str, page: int | None = None) -> str:
    """The PDF, opened at `page`: the query names the page for the audit log (a
    #fragment never reaches the server), the fragment tells the PDF viewer."""
    url = f"/bundles/{bundle_id}/document.pdf"
    return f"{url}?page={page}#page={page}" if page else url


def page_url(bundle_id: str, page: int, q: str = "") -> str:
    """The page viewer; with `q`, the query's words are boxed on the page image."""
    url = f"/bundles/{bundle_id}/pages/{page}"
    return f"{url}?{urlencode({'q': q})}" if q else url


def thumb_url(bundle_id: str, page: int) -> str:
    return f"/bundles/{bundle_id}/pages/{page}/thumb.jpg"


def _years(meta: BundleMetadata) -> str:
    if meta.year is None:
        return ""
    if meta.year_to and meta.year_to > meta.year:
        return f"{meta.year}–{meta.year_to}"
    return str(meta.year)


def _facet_options(
    facets: dict[str, dict[str, int]], name: str, selected: Any
) -> list[dict[str, Any]]:
    counts = {str(k): v for k, v in facets.get(name, {}).items() if str(k).strip()}
    if name == "year":
        values = sorted(counts, key=lambda v: (not v.isdigit(), -int(v) if v.isdigit() else 0, v))
    else:
        values = sorted(counts, key=lambda v: (-counts[v], v))
    chosen = "" if selected is None else str(selected)
    if chosen and chosen not in counts:
        values.insert(0, chosen)
    return [
        {"value": v, "count": counts.get(v), "selected": v == chosen} for v in values
    ]


class _LoginRequired(Exception):
    """No valid session: pages redirect to /login, the API answers 401."""


THROTTLED = ("बहुत अधिक असफल प्रयास; 15 मिनट बाद पुनः प्रयास करें",
             "Too many failed log-ins; try again in 15 minutes")
BAD_LOGIN = ("नाम या पासवर्ड गलत है", "Wrong user name or password")
BAD_CSRF = ("फ़ॉर्म की अवधि समाप्त हो गई; पृष्ठ दोबारा खोलें",
            "The form has expired or did not come from this site; reload the page")
NOT_ALLOWED = ("आपको इस थाने के अभिलेख देखने की अनुमति नहीं है",
               "You are not allowed to see this police station's records")
ADMIN_ONLY = ("यह पृष्ठ केवल व्यवस्थापक के लिए है", "Only administrators may open this page")
AUDIT_PAGE = 50
MANIFEST_TTL = 60.0  # seconds a manifest's station is trusted from memory
# A browser keeps a thumbnail for an hour without asking (a result list shows ~10, and
# officers page back and forth); after that it revalidates with If-None-Match, which
# goes through the log-in and station check again. `private`: never in a shared cache.
THUMB_CACHE = "private, max-age=3600"


def _empty() -> SearchResults:
    return SearchResults(hits=[], total=0, facets={})


def _merge(parts: list[SearchResults], offset: int, limit: int) -> SearchResults:
    """Results of one search per station, merged as one search over all of them.

    Stations partition the pages, so totals and facet counts add up exactly. Each part
    was asked for its best `offset + limit` hits; the merged order is the engines' own
    (score, then bundle id, then page)."""
    hits = sorted(
        (h for p in parts for h in p.hits), key=lambda h: (-h.score, h.bundle_id, h.page)
    )
    facets: dict[str, dict[str, int]] = {}
    for part in parts:
        for name, values in part.facets.items():
            into = facets.setdefault(name, {})
            for value, n in values.items():
                into[value] = into.get(value, 0) + n
    facets = {k: dict(sorted(v.items(), key=lambda kv: (-kv[1], str(kv[0]))))
              for k, v in facets.items()}
    return SearchResults(
        hits=hits[offset : offset + limit], total=sum(p.total for p in parts), facets=facets
    )


class _Manifests:
    """Bundle manifests, kept briefly in memory: every PDF request checks one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Manifest]] = {}

    def get(self, store: ObjectStore, bundle_id: str) -> Manifest | None:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(bundle_id)
        if cached and now - cached[0] < MANIFEST_TTL:
            return cached[1]
        manifest = load_manifest(store, bundle_id)
        if manifest is not None:
            with self._lock:
                if len(self._cache) > 4096:
                    self._cache.clear()
                self._cache[bundle_id] = (now, manifest)
        return manifest


TEMPLATES = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=True,  # every template, whatever its name: OCR text is untrusted
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)


def create_app(settings: Settings) -> FastAPI:
    """The web app for one deployment: its index and store come from `settings`."""

    signer = Signer(load_secret(settings))
    secure = cookie_secure(settings)
    manifests = _Manifests()
    thumb_locks: dict[str, threading.Lock] = {}
    thumb_locks_guard = threading.Lock()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from search import open_index
        from storage import open_store

        app.state.store = open_store(settings)
        app.state.index = _IndexThread(lambda: open_index(settings))
        app.state.users = UserStore(settings.users_path)
        app.state.audit = AuditLog(settings.audit_path)
        try:
            yield
        finally:
            app.state.index.close()
            app.state.users.close()
            app.state.audit.close()
            close_store = getattr(app.state.store, "close", None)
            if callable(close_store):
                close_store()

    app = FastAPI(
        title="abhilekh",
        summary="Search scanned police records and open the exact page.",
        description=(
            "Every endpoint but `/api/login` and `/healthz` needs a session: `POST "
            "/api/login` with JSON `{\"username\", \"password\"}` sets the `abhilekh_session` "
            "cookie; send it back with each request. Results are limited to the police "
            "stations granted to the user, and every search is audited."
        ),
        version="0.2.0",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI loads from a CDN; the network is closed
        redoc_url=None,
    )
    app.state.settings = settings
    app.add_middleware(_SecurityHeaders)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    templates = TEMPLATES
    session_cookie = APIKeyCookie(
        name=SESSION_COOKIE, auto_error=False,
        description="Session cookie set by POST /api/login (or the log-in page)",
    )

    # ---------------------------------------------------------------- sessions

    def session_token(request: Request) -> str | None:
        return signer.unsign(request.cookies.get(SESSION_COOKIE))

    def user_of(request: Request) -> User | None:
        if "user" not in request.state._state:
            token = session_token(request)
            users: UserStore = request.app.state.users
            request.state.user = users.session_user(token) if token else None
        return request.state.user

    def require_user(request: Request) -> User:
        user = user_of(request)
        if user is None or not user.can_search:
            raise _LoginRequired()
        return user

    def require_admin(request: Request) -> User:
        user = require_user(request)
        if not user.is_admin:
            audit(request, user, "denied", target=request.url.path, detail="admin only")
            raise _PageError(403, *ADMIN_ONLY)
        return user

    def client_ip(request: Request) -> str:
        return request.client.host if request.client else ""

    def audit(request: Request, user: User | None, action: str, **fields: Any) -> None:
        log: AuditLog = request.app.state.audit
        log.record(user.name if user else "", user.role if user else "", action,
                   ip=client_ip(request), **fields)

    def csrf_token(request: Request) -> str:
        token = session_token(request)
        return signer.csrf(token) if token else ""

    async def posted_form(request: Request) -> Any:
        """The form of a POST, after its CSRF token is checked (403 otherwise)."""
        form = await request.form()
        if not signer.check_csrf(session_token(request), str(form.get("csrf") or "")):
            raise _PageError(403, *BAD_CSRF)
        return form

    def set_session_cookie(response: Response, token: str) -> None:
        response.set_cookie(
            SESSION_COOKIE, signer.sign(token), max_age=int(settings.session_hours * 3600),
            path="/", secure=secure, httponly=True, samesite="lax",
        )

    # ---------------------------------------------------------------- rendering

    def render(request: Request | None, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        user = user_of(request) if request is not None else None
        context.setdefault("query", _query_from({}))
        html = templates.get_template(name).render(
            current_user=user, csrf=csrf_token(request) if request is not None and user else "",
            **context,
        )
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

    def store_of(request: Request) -> ObjectStore:
        return request.app.state.store

    # ---------------------------------------------------------------- scope

    async def run_search(request: Request, user: User, query: _Query) -> SearchResults:
        """The search, inside the user's stations."""
        worker: _IndexThread = request.app.state.index

        async def one(filters: SearchFilters, limit: int, offset: int) -> SearchResults:
            return await worker.call(worker.index.search, query.q, filters, limit=limit,
                                     offset=offset)

        if user.is_admin:
            return await one(query.filters, query.limit, query.offset)
        chosen = query.filters.thana
        if chosen is not None:
            return (await one(query.filters, query.limit, query.offset)
                    if user.may_see(chosen) else _empty())
        stations = list(dict.fromkeys(user.stations))
        if not stations:
            return _empty()
        if len(stations) == 1:
            return await one(_with_thana(query.filters, stations[0]), query.limit, query.offset)
        window = min(query.offset + query.limit, MAX_OFFSET)
        parts = [await one(_with_thana(query.filters, s), window, 0) for s in stations]
        return _merge(parts, query.offset, query.limit)

    def bundle_for(request: Request, user: User, bundle_id: str) -> Manifest:
        """The bundle's manifest if it exists and the user may see its station."""
        if not BUNDLE_ID.fullmatch(bundle_id):
            raise _not_found_bundle()
        try:
            manifest = manifests.get(store_of(request), bundle_id)
        except IntegrityError:
            raise _PageError(500, "इस फ़ाइल का विवरण क्षतिग्रस्त है",
                             "This bundle's manifest fails its integrity check") from None
        except StorageError as exc:
            raise _PageError(503, "भंडार उपलब्ध नहीं है", f"Store unavailable: {exc}") from None
        if manifest is None:
            raise _not_found_bundle()
        if not user.may_see(manifest.metadata.thana):
            audit(request, user, "denied", target=bundle_id, detail=request.url.path)
            raise _PageError(403, *NOT_ALLOWED)
        return manifest

    def hit_view(hit: SearchHit, q: str = "") -> dict[str, Any]:
        meta = hit.metadata
        return {
            "bundle_id": hit.bundle_id,
            "title": meta.title or meta.file_no or hit.bundle_id[:12],
            "meta": meta,
            "years": _years(meta),
            "page": hit.page,
            "confidence": hit.confidence,
            "needs_review": hit.confidence < settings.review_confidence,
            "snippet_html": hit.snippet_html,
            "pdf": pdf_url(hit.bundle_id, hit.page),
            "view": page_url(hit.bundle_id, hit.page, q),
            "thumb": thumb_url(hit.bundle_id, hit.page),
            "bundle": f"/bundles/{hit.bundle_id}",
        }

    def audit_search(request: Request, user: User, query: _Query, results: SearchResults,
                     via: str) -> None:
        f = query.filters
        audit(
            request, user, "search", query=query.q,
            filters={"thana": f.thana, "register": f.register, "year": f.year,
                     "offset": query.offset or None, "via": via},
            target=" ".join(f"{h.bundle_id}:{h.page}" for h in results.hits),
            detail=f"total={results.total}",
        )

    # ---------------------------------------------------------------- errors

    @app.exception_handler(_LoginRequired)
    async def login_required(request: Request, exc: _LoginRequired) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse(
                {"detail": "लॉग-इन आवश्यक / Log-in required: POST /api/login"}, 401,
                headers={"WWW-Authenticate": f'Cookie realm="abhilekh", name="{SESSION_COOKIE}"'},
            )
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?" + urlencode({"next": target}), 303)

    @app.exception_handler(_PageError)
    async def page_error(request: Request, exc: _PageError) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": f"{exc.hindi} / {exc.english}"}, exc.status)
        return render(request, "error.html", exc.status, error=exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api/") or exc.status_code != 404:
            return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)
        error = _PageError(404, "यह पृष्ठ नहीं मिला", "Page not found")
        return render(request, "error.html", 404, error=error)

    # ---------------------------------------------------------------- log-in

    def login_page(request: Request, status: int = 200, message: tuple[str, str] | None = None,
                   next_url: str = "/", username: str = "") -> HTMLResponse:
        nonce = secrets.token_urlsafe(16)
        response = render(
            request, "login.html", status, next_url=safe_next(next_url), username=username,
            message=message, login_csrf=signer.csrf("login:" + nonce),
        )
        response.set_cookie(LOGIN_COOKIE, signer.sign(nonce, "login"), max_age=3600,
                            path="/login", secure=secure, httponly=True, samesite="lax")
        return response

    def check_login(request: Request, username: str, password: str) -> tuple[User | None, int]:
        """(user, 200) on success; (None, 401) wrong; (None, 429) throttled."""
        users: UserStore = request.app.state.users
        ip = client_ip(request)
        name = (username or "").strip().lower()[:64]
        window = settings.login_window_minutes * 60
        if not users.claim_attempt(name, ip, window, settings.login_max_failures):
            request.app.state.audit.record(name, "", "login_throttled", ip=ip)
            return None, 429
        user = users.verify(name, password)
        if user is None or not user.can_search:  # the claimed attempt stays counted
            request.app.state.audit.record(name, "", "login_failed", ip=ip)
            return None, 401
        users.clear_failures(name, ip)
        audit(request, user, "login")
        return user, 200

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request, next: str = "/") -> Response:
        if user_of(request) is not None:
            return RedirectResponse(safe_next(next), 303)
        return login_page(request, next_url=next)

    @app.post("/login", response_class=HTMLResponse, include_in_schema=False)
    async def login_submit(request: Request) -> Response:
        form = await request.form()
        username = str(form.get("username") or "")[:64]
        next_url = safe_next(str(form.get("next") or "/"))
        nonce = signer.unsign(request.cookies.get(LOGIN_COOKIE), "login")
        if not nonce or not signer.check_csrf("login:" + nonce, str(form.get("csrf") or "")):
            return login_page(request, 403, BAD_CSRF, next_url, username)
        user, status = await run_in_threadpool(
            check_login, request, username, str(form.get("password") or "")[:1024]
        )
        if user is None:
            return login_page(request, status, THROTTLED if status == 429 else BAD_LOGIN,
                              next_url, username)
        users: UserStore = request.app.state.users
        token = await run_in_threadpool(users.new_session, user.name, settings.session_hours)
        response = RedirectResponse(next_url, 303)
        set_session_cookie(response, token)
        response.delete_cookie(LOGIN_COOKIE, path="/login")
        return response

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        user = user_of(request)
        token = session_token(request)
        if user is not None and token:
            await posted_form(request)
            request.app.state.users.end_session(token)
            audit(request, user, "logout")
        response = RedirectResponse("/login", 303)
        response.delete_cookie(SESSION_COOKIE, path="/", secure=secure, httponly=True,
                               samesite="lax")
        return response

    def require_json(request: Request) -> None:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise StarletteHTTPException(415, "Content-Type must be application/json")

    @app.post("/api/login", response_model=UserOut, summary="Log in; sets the session cookie",
              responses={401: {"description": "wrong name or password"},
                         429: {"description": "too many failures; wait 15 minutes"}})
    def api_login(request: Request, body: LoginIn, _: None = Depends(require_json)) -> Response:
        user, status = check_login(request, body.username, body.password)
        if user is None:
            text = THROTTLED if status == 429 else BAD_LOGIN
            return JSONResponse({"detail": f"{text[0]} / {text[1]}"}, status)
        token = request.app.state.users.new_session(user.name, settings.session_hours)
        response = JSONResponse(
            UserOut(name=user.name, role=user.role, stations=list(user.stations)).model_dump()
        )
        set_session_cookie(response, token)
        return response

    @app.post("/api/logout", status_code=204, summary="End the session",
              response_class=Response)
    def api_logout(request: Request, _: None = Depends(require_json)) -> Response:
        user = user_of(request)
        token = session_token(request)
        if user is not None and token:
            request.app.state.users.end_session(token)
            audit(request, user, "logout")
        response = Response(status_code=204)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # ---------------------------------------------------------------- pages

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def search_page(request: Request) -> HTMLResponse:
        user = require_user(request)
        query = _query_from(request.query_params)
        results: SearchResults | None = None
        error: str | None = None
        if query.active:
            try:
                results = await run_search(request, user, query)
            except SearchError as exc:
                error = str(exc)
            else:
                await run_in_threadpool(audit_search, request, user, query, results, "web")
        facets = results.facets if results else {}
        filters = [
            {
                "name": name,
                "hindi": hindi,
                "english": english,
                "options": _facet_options(facets, name, getattr(query.filters, name)),
            }
            for name, hindi, english in FACETS
        ]
        pages: dict[str, Any] = {}
        if results and results.total:
            first = query.offset + 1
            last = query.offset + len(results.hits)
            pages = {
                "first": first,
                "last": last,
                "current": query.offset // query.limit + 1,
                "count": (results.total + query.limit - 1) // query.limit,
                "prev": (
                    query.url(offset=max(0, query.offset - query.limit))
                    if query.offset
                    else None
                ),
                "next": (
                    query.url(offset=query.offset + query.limit)
                    if query.offset + query.limit < min(results.total, MAX_OFFSET + 1)
                    else None
                ),
            }
        return render(
            request,
            "search.html",
            status=503 if error else 200,
            query=query,
            results=results,
            hits=[hit_view(h, query.q) for h in results.hits] if results else [],
            filters=filters,
            pages=pages,
            error=error,
            examples=[{"text": e, "url": _Query(e, SearchFilters(), PAGE_SIZE, 0).url()}
                      for e in EXAMPLES],
        )

    @app.get("/bundles/{bundle_id}", response_class=HTMLResponse, include_in_schema=False)
    def bundle_page(request: Request, bundle_id: str) -> HTMLResponse:
        user = require_user(request)
        manifest = bundle_for(request, user, bundle_id)
        audit(request, user, "view_bundle", target=bundle_id)
        review = set(manifest.needs_review)
        pages = [
            {
                "number": n,
                "url": pdf_url(bundle_id, n),
                "view": page_url(bundle_id, n),
                "confidence": (
                    manifest.page_confidence[n - 1]
                    if n <= len(manifest.page_confidence)
                    else None
                ),
                "needs_review": n in review,
            }
            for n in range(1, manifest.page_count + 1)
        ]
        return render(
            request,
            "bundle.html",
            manifest=manifest,
            meta=manifest.metadata,
            years=_years(manifest.metadata),
            pages=pages,
            review=sorted(review),
            has_pdf=store_of(request).exists(pdf_key(bundle_id)),
            pdf=pdf_url(bundle_id),
            download=f"/bundles/{bundle_id}/document.pdf?download=1",
        )

    @app.get("/bundles/{bundle_id}/pages/{page}", response_class=HTMLResponse,
             include_in_schema=False)
    def page_viewer(request: Request, bundle_id: str, page: str) -> HTMLResponse:
        user = require_user(request)
        manifest = bundle_for(request, user, bundle_id)
        number = _page_number(page, manifest)
        q = _text(request.query_params.get("q"), MAX_QUERY) or ""
        audit(request, user, "view_page", target=f"{bundle_id}:{number}", query=q)
        conf = (manifest.page_confidence[number - 1]
                if number <= len(manifest.page_confidence) else None)
        boxes, frame = page_hits(request, bundle_id, number, q)
        return render(
            request,
            "page.html",
            manifest=manifest,
            meta=manifest.metadata,
            years=_years(manifest.metadata),
            number=number,
            confidence=conf,
            needs_review=number in set(manifest.needs_review),
            pdf=pdf_url(bundle_id, number),
            thumb=thumb_url(bundle_id, number),
            bundle=f"/bundles/{bundle_id}",
            download=f"/bundles/{bundle_id}/document.pdf?download=1",
            prev=page_url(bundle_id, number - 1, q) if number > 1 else None,
            next=page_url(bundle_id, number + 1, q) if number < manifest.page_count else None,
            q=q,
            boxes=boxes,
            frame=frame,
        )

    def page_hits(request: Request, bundle_id: str, number: int,
                  q: str) -> tuple[list[Any], tuple[int, int] | None]:
        """The query's word boxes on the page and the page's frame (width, height); no
        boxes, not an error, when the page's OCR is unreadable: the viewer still works."""
        if not q:
            return [], None
        try:
            text = load_page(store_of(request), bundle_id, number)
        except (StorageError, ValueError, KeyError, TypeError):
            return [], None
        if text.width <= 0 or text.height <= 0:
            return [], None
        return hit_boxes(text, q), (text.width, text.height)

    def read_pdf(request: Request, bundle_id: str) -> bytes:
        try:
            return store_of(request).get(pdf_key(bundle_id))
        except ObjectNotFound:
            raise _not_found_bundle() from None
        except IntegrityError:
            raise _PageError(
                500,
                "यह PDF क्षतिग्रस्त है, व्यवस्थापक को सूचित करें",
                "This PDF fails its integrity check; tell the administrator",
            ) from None
        except StorageError as exc:
            raise _PageError(503, "भंडार उपलब्ध नहीं है", f"Store unavailable: {exc}") from None

    @app.get(
        "/bundles/{bundle_id}/document.pdf",
        response_class=Response,
        responses={200: {"content": {"application/pdf": {}}}, 403: {"description": "not your station"},
                   404: {"description": "unknown"}},
        summary="The bundle's searchable PDF, inline (needs a session; station-checked)",
    )
    def bundle_pdf(
        request: Request,
        bundle_id: str,
        page: Annotated[int | None, Query(ge=1, description="page being opened (audited)")] = None,
        download: Annotated[bool, Query(description="save instead of showing")] = False,
        _cookie: str | None = Depends(session_cookie),
    ) -> Response:
        user = require_user(request)
        bundle_for(request, user, bundle_id)
        data = read_pdf(request, bundle_id)
        audit(request, user, "download" if download else "view_pdf",
              target=f"{bundle_id}:{page}" if page else bundle_id)
        disposition = "attachment" if download else "inline"
        return Response(
            data,
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'{disposition}; filename="{bundle_id[:16]}.pdf"',
                # Not kept by the browser: every view is checked and audited, and
                # nothing stays on a shared computer after log-out.
                "Cache-Control": "private, no-store",
            },
        )

    def thumbnail_file(request: Request, bundle_id: str, page: int) -> Path:
        path = settings.thumbs_dir / bundle_id / f"{page}.jpg"
        if path.exists():
            return path
        with thumb_locks_guard:
            lock = thumb_locks.setdefault(f"{bundle_id}:{page}", threading.Lock())
        with lock:
            if path.exists():
                return path
            path.parent.mkdir(parents=True, exist_ok=True)
            # One verified copy of the PDF per bundle next to its thumbnails, so each
            # further page costs one pdftoppm run, not a store read.
            src = path.parent / "document.pdf"
            with thumb_locks_guard:
                pdf_lock = thumb_locks.setdefault(bundle_id, threading.Lock())
            with pdf_lock:
                if not src.exists():
                    tmp_pdf = path.parent / f".{secrets.token_hex(6)}.pdf"
                    tmp_pdf.write_bytes(read_pdf(request, bundle_id))
                    tmp_pdf.replace(src)
            with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
                out = Path(tmp) / "out"
                try:
                    subprocess.run(
                        ["pdftoppm", "-jpeg", "-jpegopt", "quality=70", "-f", str(page),
                         "-l", str(page), "-scale-to", "200", "-singlefile", str(src), str(out)],
                        check=True, capture_output=True, timeout=60,
                    )
                except (OSError, subprocess.SubprocessError):
                    raise _PageError(503, "पूर्वावलोकन नहीं बन सका",
                                     "Could not render the page preview") from None
                Path(f"{out}.jpg").replace(path)
        with thumb_locks_guard:
            thumb_locks.pop(f"{bundle_id}:{page}", None)
        return path

    def stored_thumbnail(request: Request, bundle_id: str, page: int) -> bytes | None:
        """The thumbnail ingest stored, or None for a bundle stored before that."""
        try:
            return store_of(request).get(thumb_key(bundle_id, page))
        except ObjectNotFound:
            return None
        except IntegrityError:
            return None  # a damaged preview is re-rendered from the (verified) PDF
        except StorageError as exc:
            raise _PageError(503, "भंडार उपलब्ध नहीं है", f"Store unavailable: {exc}") from None

    @app.get("/bundles/{bundle_id}/pages/{page}/thumb.jpg", include_in_schema=False)
    def page_thumbnail(request: Request, bundle_id: str, page: str) -> Response:
        user = require_user(request)
        manifest = bundle_for(request, user, bundle_id)  # station scope, every time
        number = _page_number(page, manifest)
        data = stored_thumbnail(request, bundle_id, number)
        if data is None:  # stored before thumbnails were made at ingest
            data = thumbnail_file(request, bundle_id, number).read_bytes()
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        headers = {"ETag": etag, "Cache-Control": THUMB_CACHE}
        if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
            return Response(status_code=304, headers=headers)
        return Response(data, media_type="image/jpeg", headers=headers)

    # ---------------------------------------------------------------- admin

    @app.get("/admin/users", response_class=HTMLResponse, include_in_schema=False)
    def admin_users(request: Request) -> HTMLResponse:
        require_admin(request)
        message = request.query_params.get("done")
        return render(request, "admin_users.html", users=request.app.state.users.list(),
                      roles=ROLES, message=message)

    @app.post("/admin/users", include_in_schema=False)
    async def admin_users_post(request: Request) -> Response:
        admin = require_admin(request)
        form = await posted_form(request)
        users: UserStore = request.app.state.users
        action = str(form.get("action") or "")
        name = str(form.get("name") or "").strip().lower()
        stations = [s.strip() for s in str(form.get("stations") or "").split(",") if s.strip()]
        try:
            if action == "add":
                await run_in_threadpool(users.add, name, str(form.get("role") or "officer"),
                                        str(form.get("password") or ""), stations)
            elif action == "grant":
                users.grant(name, stations)
            elif action == "revoke":
                users.revoke(name, stations)
            elif action == "role":
                users.set_role(name, str(form.get("role") or ""))
            elif action == "password":
                await run_in_threadpool(users.set_password, name, str(form.get("password") or ""))
            elif action in ("disable", "enable"):
                if name == admin.name:
                    raise UserError("you cannot disable yourself")
                users.set_disabled(name, action == "disable")
            else:
                raise UserError("unknown action")
        except UserError as exc:
            return render(request, "admin_users.html", 400, users=users.list(), roles=ROLES,
                          error=str(exc))
        audit(request, admin, "admin", target=name,
              detail=f"{action} {', '.join(stations)}".strip())
        return RedirectResponse("/admin/users?" + urlencode({"done": f"{action} {name}"}), 303)

    @app.get("/admin/audit", response_class=HTMLResponse, include_in_schema=False)
    def admin_audit(request: Request) -> HTMLResponse:
        require_admin(request)
        log: AuditLog = request.app.state.audit
        who = _text(request.query_params.get("user"), 64)
        action = _text(request.query_params.get("action"), 32)
        offset = _int(request.query_params.get("offset"), 0, 0, 10**9)
        total = log.count(who, action)
        rows = log.page(AUDIT_PAGE, offset, who, action)

        def link(**changes: Any) -> str:
            values = {"user": who, "action": action, "offset": offset or None, **changes}
            kept = {k: v for k, v in values.items() if v not in (None, "")}
            return "/admin/audit" + ("?" + urlencode(kept) if kept else "")

        return render(
            request, "admin_audit.html", rows=rows, total=total, offset=offset,
            who=who or "", action=action or "",
            prev=link(offset=max(0, offset - AUDIT_PAGE) or None) if offset else None,
            next=link(offset=offset + AUDIT_PAGE) if offset + AUDIT_PAGE < total else None,
            csv="/admin/audit/export?format=csv", json="/admin/audit/export?format=json",
        )

    @app.get("/admin/audit/export", include_in_schema=False)
    def admin_audit_export(request: Request, format: str = "csv") -> Response:
        admin = require_admin(request)
        log: AuditLog = request.app.state.audit
        audit(request, admin, "export", detail=format)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        if format == "json":
            return StreamingResponse(
                audit_mod.to_json(log.iter_all()), media_type="application/json",
                headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.json"'},
            )
        return StreamingResponse(
            audit_mod.to_csv(log.iter_all()), media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"'},
        )

    # ---------------------------------------------------------------- JSON

    @app.get("/api/search", response_model=SearchOut,
             summary="Search the pages (needs a session; only the user's stations)",
             responses={401: {"description": "no session: POST /api/login first"}})
    async def api_search(
        request: Request,
        q: Annotated[str, Query(max_length=MAX_QUERY, description="words, names, numbers")] = "",
        thana: Annotated[str | None, Query(max_length=200)] = None,
        register: Annotated[str | None, Query(max_length=200)] = None,
        year: Annotated[str | None, Query(pattern=r"^(\d{1,4})?$", description="e.g. 2019")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = PAGE_SIZE,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
        _cookie: str | None = Depends(session_cookie),
    ) -> SearchOut:
        user = require_user(request)
        query = _Query(
            q=q.strip(),
            filters=SearchFilters(thana=_text(thana), register=_text(register), year=_year(year)),
            limit=limit,
            offset=offset,
        )
        if not query.active:
            return SearchOut(total=0, hits=[], facets={})
        try:
            results = await run_search(request, user, query)
        except SearchError as exc:
            raise StarletteHTTPException(503, str(exc)) from None
        await run_in_threadpool(audit_search, request, user, query, results, "api")
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
                )
                for h in results.hits
            ],
            facets={k: {str(v): n for v, n in vals.items()} for k, vals in results.facets.items()},
        )

    @app.get("/healthz", response_model=HealthOut, summary="Which index and store are in use")
    async def healthz(request: Request) -> HealthOut:
        worker: _IndexThread = request.app.state.index
        index = await worker.call(worker.index.describe)
        return HealthOut(ok=True, index=index, store=store_of(request).describe())

    return app


def _with_thana(filters: SearchFilters, thana: str) -> SearchFilters:
    return SearchFilters(thana=thana, register=filters.register, year=filters.year)


# The settings of `serve`, for the worker processes uvicorn starts (they import the
# app by name, so they cannot be handed the object).
_SETTINGS_ENV = "_ABHILEKH_SERVE_SETTINGS"


def app_from_environment() -> FastAPI:
    """The app of one uvicorn worker process, from the settings `serve` passed on."""
    from abhilekh.settings import Settings, get_settings

    raw = os.environ.get(_SETTINGS_ENV)
    return create_app(Settings.model_validate_json(raw) if raw else get_settings())


def default_workers(settings: Settings) -> int:
    """ABHILEKH_WEB_WORKERS, else one per CPU: a worker is one Python process, and the
    work per request (log-in check, HTML, audit) is CPU in Python."""
    return max(1, settings.web_workers or os.cpu_count() or 1)


def serve(settings: Settings, host: str | None = None, port: int | None = None,
          workers: int | None = None) -> None:
    """Run the web page until interrupted (the CLI's `serve` command).

    With several workers each process opens its own index, store, user and audit
    databases; everything shared between requests lives in those (sessions, log-in
    failures, the audit chain: SQLite, appends under BEGIN IMMEDIATE) or is derived
    from the secret key file (cookies, CSRF), so any worker can answer any request.
    """
    import uvicorn

    host = host or settings.host
    if host != settings.host:  # the Secure-cookie default follows the real address
        settings = settings.model_copy(update={"host": host})
    workers = workers or default_workers(settings)
    options: dict[str, Any] = dict(
        host=host,
        port=port or settings.port,
        proxy_headers=False,
        server_header=False,
        # Longer than uvicorn's 5 s: a browser reusing a connection the server is just
        # closing gets a reset (seen under load as failed thumbnail requests).
        timeout_keep_alive=30,
        # loop/http "auto": uvloop and httptools (dependencies for this reason) parse
        # and schedule in C; the pure-Python h11 parser cost ~40% of a request's CPU.
    )
    if workers == 1:
        uvicorn.run(create_app(settings), **options)
        return
    # Make the secret key file now, once, rather than racing in N fresh workers.
    load_secret(settings)
    os.environ[_SETTINGS_ENV] = settings.model_dump_json()
    uvicorn.run("web.app:app_from_environment", factory=True, workers=workers, **options)
