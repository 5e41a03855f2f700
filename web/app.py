"""The officers' web page: search the pages, open the exact page of the PDF.

Routes
    GET /                               the search page (bilingual, Hindi first)
    GET /bundles/{bundle_id}            one bundle's manifest, with a link per page
    GET /bundles/{bundle_id}/document.pdf   the searchable access copy, inline
    GET /api/search                     the same search as JSON
    GET /healthz                        which index and store the app talks to

The index and the store are opened once, when the app starts, and kept on
`app.state`. The index lives on one worker thread of its own: an SQLite connection
must not hop between threads, and the event loop must not wait on a query.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader
from pydantic import BaseModel, Field
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from abhilekh.records import BundleMetadata, SearchFilters, SearchHit
from search.base import SearchError, SearchIndex, SearchResults
from storage.base import IntegrityError, ObjectNotFound, ObjectStore, StorageError
from storage.bundles import load_manifest, pdf_key

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


class SearchOut(BaseModel):
    total: int
    hits: list[HitOut]
    facets: dict[str, dict[str, int]] = Field(
        default_factory=dict, description='"thana" | "register" | "year" -> value -> pages'
    )


class HealthOut(BaseModel):
    ok: bool
    index: str
    store: str


# --------------------------------------------------------------------------- plumbing


class _IndexThread:
    """One thread that opens, queries and closes the index."""

    def __init__(self, opener: Callable[[], SearchIndex]) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="abhilekh-index")
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
    url = f"/bundles/{bundle_id}/document.pdf"
    return f"{url}#page={page}" if page else url


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


# --------------------------------------------------------------------------- the app


def create_app(settings: Settings) -> FastAPI:
    """The web app for one deployment: its index and store come from `settings`."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from search import open_index
        from storage import open_store

        app.state.store = open_store(settings)
        app.state.index = _IndexThread(lambda: open_index(settings))
        try:
            yield
        finally:
            app.state.index.close()
            close_store = getattr(app.state.store, "close", None)
            if callable(close_store):
                close_store()

    app = FastAPI(
        title="abhilekh",
        summary="Search scanned police records and open the exact page.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI loads from a CDN; the network is closed
        redoc_url=None,
    )
    app.state.settings = settings
    app.add_middleware(_SecurityHeaders)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    templates = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every template, whatever its name: OCR text is untrusted
        trim_blocks=True,
        lstrip_blocks=True,
    )

    def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = templates.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status)

    def store_of(request: Request) -> ObjectStore:
        return request.app.state.store

    async def run_search(request: Request, query: _Query) -> SearchResults:
        worker: _IndexThread = request.app.state.index
        return await worker.call(
            worker.index.search, query.q, query.filters, limit=query.limit, offset=query.offset
        )

    def hit_view(hit: SearchHit) -> dict[str, Any]:
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
            "bundle": f"/bundles/{hit.bundle_id}",
        }

    # ---------------------------------------------------------------- errors

    @app.exception_handler(_PageError)
    async def page_error(request: Request, exc: _PageError) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": f"{exc.hindi} / {exc.english}"}, exc.status)
        return render("error.html", exc.status, error=exc, query=_query_from({}))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api/") or exc.status_code != 404:
            return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)
        error = _PageError(404, "यह पृष्ठ नहीं मिला", "Page not found")
        return render("error.html", 404, error=error, query=_query_from({}))

    # ---------------------------------------------------------------- pages

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def search_page(request: Request) -> HTMLResponse:
        query = _query_from(request.query_params)
        results: SearchResults | None = None
        error: str | None = None
        if query.active:
            try:
                results = await run_search(request, query)
            except SearchError as exc:
                error = str(exc)
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
            "search.html",
            status=503 if error else 200,
            query=query,
            results=results,
            hits=[hit_view(h) for h in results.hits] if results else [],
            filters=filters,
            pages=pages,
            error=error,
            examples=[{"text": e, "url": _Query(e, SearchFilters(), PAGE_SIZE, 0).url()}
                      for e in EXAMPLES],
        )

    @app.get("/bundles/{bundle_id}", response_class=HTMLResponse, include_in_schema=False)
    def bundle_page(request: Request, bundle_id: str) -> HTMLResponse:
        if not BUNDLE_ID.fullmatch(bundle_id):
            raise _not_found_bundle()
        store = store_of(request)
        manifest = load_manifest(store, bundle_id)
        if manifest is None:
            raise _not_found_bundle()
        review = set(manifest.needs_review)
        pages = [
            {
                "number": n,
                "url": pdf_url(bundle_id, n),
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
            "bundle.html",
            manifest=manifest,
            meta=manifest.metadata,
            years=_years(manifest.metadata),
            pages=pages,
            review=sorted(review),
            has_pdf=store.exists(pdf_key(bundle_id)),
            pdf=pdf_url(bundle_id),
            query=_query_from({}),
        )

    @app.get(
        "/bundles/{bundle_id}/document.pdf",
        response_class=Response,
        responses={200: {"content": {"application/pdf": {}}}, 404: {"description": "unknown"}},
        summary="The bundle's searchable PDF, inline",
    )
    def bundle_pdf(request: Request, bundle_id: str) -> Response:
        if not BUNDLE_ID.fullmatch(bundle_id):
            raise _not_found_bundle()
        try:
            data = store_of(request).get(pdf_key(bundle_id))
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
        return Response(
            data,
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'inline; filename="{bundle_id[:16]}.pdf"',
                "Cache-Control": "private, max-age=300",
            },
        )

    # ---------------------------------------------------------------- JSON

    @app.get("/api/search", response_model=SearchOut, summary="Search the pages")
    async def api_search(
        request: Request,
        q: Annotated[str, Query(max_length=MAX_QUERY, description="words, names, numbers")] = "",
        thana: Annotated[str | None, Query(max_length=200)] = None,
        register: Annotated[str | None, Query(max_length=200)] = None,
        year: Annotated[str | None, Query(pattern=r"^(\d{1,4})?$", description="e.g. 2019")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = PAGE_SIZE,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> SearchOut:
        query = _Query(
            q=q.strip(),
            filters=SearchFilters(thana=_text(thana), register=_text(register), year=_year(year)),
            limit=limit,
            offset=offset,
        )
        if not query.active:
            return SearchOut(total=0, hits=[], facets={})
        try:
            results = await run_search(request, query)
        except SearchError as exc:
            raise StarletteHTTPException(503, str(exc)) from None
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


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Run the web page until interrupted (the CLI's `serve` command)."""
    import uvicorn

    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        proxy_headers=False,
        server_header=False,
    )
