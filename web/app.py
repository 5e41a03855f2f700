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
    /efiles...                          e-files: inbox/sent/parked/closed, the file page,
                                        movements, notes, pendency (web/routes/efiles.py)

Who sees what: an admin sees every station; officers and operators see only the
stations granted to them (`abhilekh users grant`). Every search is run inside that
scope (results, facet counts, pages), and every bundle, page, thumbnail and PDF request
checks the user's stations against the bundle's manifest, so a guessed or shared link
does not get around it. Every search and every page/PDF view is written to the audit
log (access/audit.py).

Where things are: web/routes/ one router per concern (log-in, search, bundles and
pages, admin, API), each declaring the checks its routes need (web/session.py:
session, admin, CSRF, JSON) as router-level dependencies; web/scope.py the station
scope; web/render.py the templates; web/errors.py and handlers.py the errors;
web/runtime.py what the app holds while it runs. ``create_app`` only wires them.

The index and the store are opened once, when the app starts, and kept on
`app.state`. Index calls run on a small pool of threads of their own
(``INDEX_THREADS``), so the event loop never waits on a query and searches run side
by side: both indexes are thread-safe (SqliteIndex reads through one connection per
thread; the Elasticsearch client pools its HTTP connections).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from access.audit import AuditLog, key_for
from access.auth import Signer, cookie_secure, load_secret
from access.review import ReviewStore, review_path
from access.throttle import LoginThrottle
from access.users import UserStore
from web.catalog import Catalog
from web.handlers import install as install_handlers
from web.lang import router as lang_router
from web.render import HERE
from web.routes import admin, api, browse, bundles, efiles, efiles_api, entries, login, review, saved, search, upload
from web.runtime import IndexThreads, Manifests, PageTexts, ResultCache, SecurityHeaders
from web.saved import SavedSearches, saved_path
from web.session import trusted_proxies
from web.thumbs import RenderedThumbnails
from web.uploads import Uploads

if TYPE_CHECKING:
    from abhilekh.settings import Settings

__all__ = ["app_from_environment", "create_app", "default_workers", "serve"]


def create_app(settings: Settings) -> FastAPI:
    """The web app for one deployment: its index and store come from `settings`."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from search import open_index
        from storage import open_store

        app.state.store = open_store(settings)
        app.state.index = IndexThreads(lambda: open_index(settings))
        app.state.users = UserStore(settings.users_path)
        app.state.throttle = LoginThrottle(
            settings.users_path, max_failures=settings.login_max_failures,
            backoff_seconds=settings.login_backoff_seconds,
            max_backoff_seconds=settings.login_window_minutes * 60,
        )
        app.state.audit = AuditLog.for_settings(settings, anchors=app.state.store,
                                                 group_commit=settings.audit_group_commit)
        app.state.reviews = ReviewStore(review_path(settings.home))
        app.state.saved = SavedSearches(saved_path(settings.home))
        app.state.uploads = Uploads(settings)
        app.state.uploads.start()  # and runs what a stopped server left queued or running
        app.state.workflow = efiles.WorkflowHolder(settings)  # e-files: migrates the database
        try:
            yield
        finally:
            app.state.uploads.stop()
            app.state.index.close()
            app.state.users.close()
            app.state.throttle.close()
            app.state.audit.close()
            app.state.reviews.close()
            app.state.saved.close()
            app.state.workflow.close()
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
    app.state.signer = Signer(load_secret(settings))
    app.state.cookie_secure = cookie_secure(settings)
    app.state.trusted_proxies = trusted_proxies(settings.trusted_proxies)
    app.state.manifests = Manifests()
    app.state.results = ResultCache(settings.search_cache)
    app.state.page_texts = PageTexts()
    app.state.thumbs = RenderedThumbnails(settings.thumbs_dir)
    app.state.catalog = Catalog()
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    install_handlers(app)
    for router in (login.router, login.logout_router, lang_router, search.router, saved.router, browse.router,
                   bundles.router, efiles.router, review.router, upload.router, admin.router, api.auth_router,
                   api.router, efiles_api.router, api.health_router, entries.router, entries.page_router):
        app.include_router(router)
    return app


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
        access_log=settings.access_log,  # ABHILEKH_ACCESS_LOG; the audit log records each request
        # Longer than uvicorn's 5 s: a browser reusing a connection the server is just
        # closing gets a reset (seen under load as failed thumbnail requests).
        timeout_keep_alive=30,
        # loop/http "auto": uvloop and httptools (dependencies for this reason) parse
        # and schedule in C; the pure-Python h11 parser cost ~40% of a request's CPU.
    )
    if workers == 1:
        uvicorn.run(create_app(settings), **options)
        return
    # Make the secret and audit key files now, once, rather than racing in N fresh workers.
    load_secret(settings)
    key_for(settings)
    os.environ[_SETTINGS_ENV] = settings.model_dump_json()
    uvicorn.run("web.app:app_from_environment", factory=True, workers=workers, **options)
