"""What is stored, for browsing before searching and for the review queue: one line per
bundle (title, station, register, years, pages, pages flagged for review), read from the
manifests and kept in memory for a short while (a home page must not read every
manifest on every visit).

A bundle whose manifest cannot be read is left out here (``abhilekh verify`` and the
bundle's own page name the damage); the station scope is applied per user on the way out.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from abhilekh.records import BundleMetadata
from access.users import User
from storage.base import ObjectStore, StorageError
from storage.bundles import Manifest, load_manifest, stored_bundle_ids

CATALOG_TTL = 30.0  # seconds; an upload's bundle shows within this long


@dataclass(frozen=True)
class BundleLine:
    bundle_id: str
    metadata: BundleMetadata
    pages: int
    needs_review: tuple[int, ...]
    confidence: tuple[float, ...]
    created_at: str

    @property
    def title(self) -> str:
        m = self.metadata
        return m.title or m.file_no or self.bundle_id[:12]

    @property
    def mean_confidence(self) -> float | None:
        return sum(self.confidence) / len(self.confidence) if self.confidence else None

    @classmethod
    def of(cls, manifest: Manifest) -> BundleLine:
        return cls(manifest.bundle_id, manifest.metadata, manifest.page_count,
                   tuple(manifest.needs_review), tuple(manifest.page_confidence), manifest.created_at)


@dataclass
class Counts:
    """Bundles and pages per station, register and year, inside one user's scope."""

    thana: Counter[str] = field(default_factory=Counter)
    register: Counter[str] = field(default_factory=Counter)
    year: Counter[str] = field(default_factory=Counter)
    pages: Counter[str] = field(default_factory=Counter)  # per station

    def of(self, name: str) -> list[tuple[str, int]]:
        counts: Counter[str] = getattr(self, name)
        if name == "year":
            return sorted(counts.items(), key=lambda kv: kv[0], reverse=True)
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


class Catalog:
    def __init__(self, ttl: float = CATALOG_TTL) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._loading = threading.Lock()  # one reload at a time (see all)
        self._at = -1e9
        self._lines: list[BundleLine] = []

    def refresh(self) -> None:
        with self._lock:
            self._at = -1e9
            self._lines = []

    def all(self, store: ObjectStore) -> list[BundleLine]:
        """Every bundle's line, reloaded from the store at most every `ttl` seconds by
        ONE thread: the others meanwhile get the previous lines (or, when there are none
        yet or after `refresh`, wait for that one load). Without this, 20 officers
        searching when the cache lapsed each read every manifest at once (seen under
        load as searches of 10 s and 40 ms of CPU each)."""
        with self._lock:
            if time.monotonic() - self._at < self.ttl:
                return self._lines
            stale = self._lines if self._at > -1e9 else None
        if not self._loading.acquire(blocking=stale is None):
            return stale if stale is not None else self._lines
        try:
            with self._lock:  # loaded by another thread while this one waited
                if time.monotonic() - self._at < self.ttl:
                    return self._lines
            return self._load(store)
        finally:
            self._loading.release()

    def _load(self, store: ObjectStore) -> list[BundleLine]:
        lines: list[BundleLine] = []
        try:
            ids = stored_bundle_ids(store)
        except StorageError:
            ids = []
        for bundle_id in ids:
            try:
                manifest = load_manifest(store, bundle_id)
            except StorageError:
                continue
            if manifest is not None:
                lines.append(BundleLine.of(manifest))
        with self._lock:
            self._lines, self._at = lines, time.monotonic()
        return lines

    def for_user(self, store: ObjectStore, user: User) -> list[BundleLine]:
        return [b for b in self.all(store) if user.may_see(b.metadata.thana)]

    def counts(self, store: ObjectStore, user: User) -> Counts:
        counts = Counts()
        for b in self.for_user(store, user):
            m = b.metadata
            if m.thana:
                counts.thana[m.thana] += 1
                counts.pages[m.thana] += b.pages
            if m.register:
                counts.register[m.register] += 1
            if m.year is not None:
                counts.year[str(m.year)] += 1
        return counts

    def stations(self, store: ObjectStore) -> list[str]:
        """Every station some stored bundle names, as spelt in its metadata."""
        return sorted({b.metadata.thana for b in self.all(store) if b.metadata.thana})
