"""Corrections of OCR text, as decisions people made: who corrected which page, when,
to what. Private SQLite (owner-only, WAL) beside the users and audit files.

A correction is a new text version of one page; the scan and the machine reading stay
in the store untouched, so a correction can always be compared with, or undone to,
what OCR read. The latest version of a page is what the index holds for it (the web
route indexes it at once; `abhilekh reindex` and `reconcile` apply the latest versions
again after rebuilding from storage, see `corrected_documents`). Every save is also
written to the audit log by the caller (web/routes/review.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from abhilekh.records import SearchDocument
from access.db import open_private_db

__all__ = ["Correction", "ReviewError", "ReviewStore", "corrected_documents", "review_path"]

LATEST_KEPT = 65_536  # pages whose latest correction (or none) is kept in memory
MAX_TEXT_CHARS = 200_000  # a dense register page is ~5,000; more is not a page

_SCHEMA = """
CREATE TABLE IF NOT EXISTS corrections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bundle_id TEXT NOT NULL,
    page INTEGER NOT NULL CHECK (page >= 1),
    version INTEGER NOT NULL CHECK (version >= 1),
    text TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    at TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    UNIQUE (bundle_id, page, version)
);
CREATE INDEX IF NOT EXISTS corrections_page ON corrections (bundle_id, page, version);
"""


class ReviewError(ValueError):
    """A correction that cannot be saved (said in the message)."""


@dataclass(frozen=True)
class Correction:
    bundle_id: str
    page: int
    version: int  # 1 is the first correction; OCR's reading is version 0, in the store
    text: str
    reviewer: str
    at: str  # ISO 8601, UTC
    note: str = ""


def review_path(home: Path) -> Path:
    return home / "review.sqlite3"


class ReviewStore:
    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = open_private_db(path, _SCHEMA, synchronous="FULL")  # a decision must survive a power cut
        # latest() per page, kept in memory: the page viewer asks on every view. Emptied
        # when PRAGMA data_version changes (a commit by any other connection: another
        # web worker, the CLI) and, for this connection's own saves, by save().
        self._latest: dict[tuple[str, int], Correction | None] = {}
        self._seen_version: int | None = None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def save(self, bundle_id: str, page: int, text: str, reviewer: str, note: str = "") -> Correction:
        """Record a new version of the page's text; the earlier ones are kept."""
        text = text.replace("\r\n", "\n").strip("\n")
        if not text.strip():
            raise ReviewError("the corrected text is empty: a page's text cannot be removed here")
        if len(text) > MAX_TEXT_CHARS:
            raise ReviewError(f"the corrected text has {len(text):,} characters, over {MAX_TEXT_CHARS:,}")
        if page < 1 or not bundle_id or not reviewer:
            raise ReviewError("a correction names its bundle, page (from 1) and reviewer")
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")  # the version number is taken once, across workers
            try:
                (last,) = self._db.execute(
                    "SELECT coalesce(max(version), 0) FROM corrections WHERE bundle_id = ? AND page = ?",
                    (bundle_id, page)).fetchone()
                self._db.execute(
                    "INSERT INTO corrections (bundle_id, page, version, text, reviewer, at, note) "
                    "VALUES (?,?,?,?,?,?,?)", (bundle_id, page, last + 1, text, reviewer, at, note[:500]))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            finally:
                self._latest.pop((bundle_id, page), None)
        return Correction(bundle_id, page, last + 1, text, reviewer, at, note[:500])

    def latest(self, bundle_id: str, page: int) -> Correction | None:
        key = (bundle_id, page)
        with self._lock:
            (version,) = self._db.execute("PRAGMA data_version").fetchone()
            if version != self._seen_version:
                self._latest.clear()
                self._seen_version = version
            elif key in self._latest:
                return self._latest[key]
            row = self._db.execute(
                "SELECT bundle_id, page, version, text, reviewer, at, note FROM corrections "
                "WHERE bundle_id = ? AND page = ? ORDER BY version DESC LIMIT 1", (bundle_id, page)).fetchone()
            found = Correction(*row) if row else None
            if len(self._latest) >= LATEST_KEPT:
                self._latest.clear()
            self._latest[key] = found
        return found

    def history(self, bundle_id: str, page: int) -> list[Correction]:
        with self._lock:
            rows = self._db.execute(
                "SELECT bundle_id, page, version, text, reviewer, at, note FROM corrections "
                "WHERE bundle_id = ? AND page = ? ORDER BY version", (bundle_id, page)).fetchall()
        return [Correction(*r) for r in rows]

    def corrected_pages(self) -> dict[tuple[str, int], Correction]:
        """(bundle_id, page) -> its latest correction, for every corrected page."""
        return {(c.bundle_id, c.page): c for c in self.all_latest()}

    def all_latest(self) -> Iterator[Correction]:
        with self._lock:
            rows = self._db.execute(
                "SELECT c.bundle_id, c.page, c.version, c.text, c.reviewer, c.at, c.note FROM corrections c "
                "JOIN (SELECT bundle_id, page, max(version) AS v FROM corrections GROUP BY bundle_id, page) m "
                "ON c.bundle_id = m.bundle_id AND c.page = m.page AND c.version = m.v "
                "ORDER BY c.bundle_id, c.page").fetchall()
        for r in rows:
            yield Correction(*r)


def corrected_documents(docs: Iterable[SearchDocument], store: ReviewStore) -> Iterator[SearchDocument]:
    """The pages as the index should hold them: each corrected page's latest text in
    place of OCR's. A person read it: no longer flagged for review, and its confidence is
    100 (the index's confidence is that of the text it holds; OCR's own stays in the
    manifest and the stored page)."""
    latest = store.corrected_pages()
    for doc in docs:
        c = latest.get((doc.bundle_id, doc.page))
        yield replace(doc, text=c.text, confidence=100.0, needs_review=False) if c else doc
