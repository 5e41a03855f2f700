"""What the app holds while it runs: the index on threads of its own, the manifest
cache, and the security headers on every response."""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from abhilekh.records import PageText, SearchFilters
from search.base import SearchIndex, SearchResults
from storage.base import ObjectStore
from storage.bundles import Manifest, load_manifest, load_page, page_key

T = TypeVar("T")

INDEX_THREADS = 4  # searches at once (SQLite and the ES client release the GIL while they wait)
MANIFEST_TTL = 60.0  # seconds a manifest's station is trusted from memory
PAGE_TEXTS = 512  # pages' OCR words (pages/<n>.json, parsed) kept per process for the viewer

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'self'; frame-ancestors 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class IndexThreads:
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


class ResultCache:
    """The last SIZE search results of this process, by (query, filters with the
    stations, limit, offset, index generation): an officer paging back, the same names
    asked at one station. A write to the index (ingest, correction, reindex, from any
    process) changes its generation, so an entry made before it is never served after
    it (the generation is read before the search runs). Only backends that report a
    generation are cached (SQLite; Elasticsearch keeps a request cache of its own).
    Results are shared between requests: callers must not change them."""

    def __init__(self, size: int) -> None:
        self.size = max(0, int(size))
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[Any, ...], SearchResults] = OrderedDict()
        self.hits = self.misses = 0

    def search(self, index: SearchIndex, q: str, filters: SearchFilters, limit: int, offset: int) -> SearchResults:
        generation = index.generation() if self.size else None
        if generation is None:
            return index.search(q, filters, limit=limit, offset=offset)
        key = (q, filters, limit, offset, generation)
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return found
            self.misses += 1
        results = index.search(q, filters, limit=limit, offset=offset)
        with self._lock:
            self._items[key] = results
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return results


class PageTexts:
    """Pages' stored OCR (``pages/<n>.json``, parsed), kept for the viewer's boxes: each
    view read and parsed the JSON again (~0.9 ms of a 2.5 ms budget). Kept by the sha256
    the bundle's manifest records for the page, so a manifest naming other bytes reads
    them anew; a manifest that records none (bundles stored before it did) is trusted
    for MANIFEST_TTL, as the manifest itself is."""

    def __init__(self, size: int = PAGE_TEXTS) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[str, int, str | None], tuple[float, PageText]] = OrderedDict()

    def cached(self, manifest: Manifest, number: int) -> PageText | None:
        """The page's words if they are in memory and valid, without touching the store."""
        key = (manifest.bundle_id, number, manifest.expected_sha256(page_key(manifest.bundle_id, number)))
        with self._lock:
            cached = self._items.get(key)
            if cached is not None and (key[2] is not None or time.monotonic() - cached[0] < MANIFEST_TTL):
                self._items.move_to_end(key)
                return cached[1]
        return None

    def get(self, store: ObjectStore, manifest: Manifest, number: int) -> PageText:
        found = self.cached(manifest, number)
        if found is not None:
            return found
        key = (manifest.bundle_id, number, manifest.expected_sha256(page_key(manifest.bundle_id, number)))
        now = time.monotonic()
        text = load_page(store, manifest.bundle_id, number)
        with self._lock:
            self._items[key] = (now, text)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return text


class Manifests:
    """Bundle manifests, kept briefly in memory: every PDF request checks one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Manifest]] = {}

    def cached(self, bundle_id: str) -> Manifest | None:
        """The manifest if it is in memory and still fresh, without touching the store
        (the async routes' fast path; else they read it on a worker thread)."""
        with self._lock:
            cached = self._cache.get(bundle_id)
        if cached and time.monotonic() - cached[0] < MANIFEST_TTL:
            return cached[1]
        return None

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


class SecurityHeaders:
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
