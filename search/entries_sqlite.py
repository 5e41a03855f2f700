"""The entries index in SQLite: a file of its own beside the page index.

Tables: ``entries`` (one row per entry: its keys and the stored document),
``entry_sections`` and ``entry_terms`` (one row per section / word key of an entry).
A filter is a WHERE on these; facets are GROUP BYs over the same matches. A file of its
own, because the page index's rebuild swaps its whole file.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from search.base import SearchError
from search.entries_core import EntryDocument, EntryIndex, EntryWhere, entry_row

SCHEMA_VERSION = 1
BUSY_SECONDS = 60.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    bundle_id TEXT NOT NULL,
    page INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    thana_key TEXT NOT NULL,
    crime_year INTEGER,
    act TEXT NOT NULL,
    act_key TEXT NOT NULL,
    station TEXT NOT NULL,
    station_key TEXT NOT NULL,
    village_key TEXT NOT NULL,
    outcome TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_order ON entries (bundle_id, page, idx);
CREATE TABLE IF NOT EXISTS entry_sections (entry INTEGER NOT NULL, section TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS entry_sections_by ON entry_sections (section, entry);
CREATE INDEX IF NOT EXISTS entry_sections_of ON entry_sections (entry);
CREATE TABLE IF NOT EXISTS entry_terms (entry INTEGER NOT NULL, term TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS entry_terms_by ON entry_terms (term, entry);
CREATE INDEX IF NOT EXISTS entry_terms_of ON entry_terms (entry);
"""


class SqliteEntries(EntryIndex):
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Several ingests index their entries into the one file: wait for each other.
            self.db = sqlite3.connect(self.path, check_same_thread=False, timeout=BUSY_SECONDS)
            self.db.execute("PRAGMA journal_mode=WAL")
            if self.db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                self.db.executescript("DROP TABLE IF EXISTS entries; DROP TABLE IF EXISTS entry_sections; "
                                      "DROP TABLE IF EXISTS entry_terms;")
            self.db.executescript(_SCHEMA)
            self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self.db.commit()
        except sqlite3.Error as exc:
            raise SearchError(f"the entries index {self.path} cannot be opened ({exc}); it is derived: "
                              "move it aside and run `abhilekh reindex`", transient=False) from None

    @contextmanager
    def _engine(self) -> Iterator[_Engine]:
        with self._lock:
            try:
                yield _Engine(self.db)
            except sqlite3.OperationalError as exc:
                # "database is locked": another writer held it past BUSY_SECONDS; try again
                raise SearchError(f"the entries index {self.path}: {exc}", transient="locked" in str(exc)) from None
            except sqlite3.Error as exc:
                raise SearchError(f"the entries index {self.path}: {exc}", transient=False) from None

    def _insert(self, docs: Iterable[EntryDocument]) -> None:
        for doc in docs:
            r = entry_row(doc)
            self._delete_ids([r["id"]])
            cur = self.db.execute(
                "INSERT INTO entries (id, bundle_id, page, idx, thana_key, crime_year, act, act_key, station, station_key,"
                " village_key, outcome, doc) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                tuple(r[k] for k in ("id", "bundle_id", "page", "idx", "thana_key", "crime_year", "act", "act_key",
                                     "station", "station_key", "village_key", "outcome", "doc")))
            rowid = cur.lastrowid
            self.db.executemany("INSERT INTO entry_sections VALUES (?, ?)", [(rowid, s) for s in r["sections"]])
            self.db.executemany("INSERT INTO entry_terms VALUES (?, ?)", [(rowid, t) for t in r["terms"]])

    def _delete_ids(self, ids: list[str]) -> None:
        for i in ids:
            self._delete_where("id = ?", [i])

    def _delete_where(self, where: str, args: list[Any]) -> None:
        rows = [r[0] for r in self.db.execute(f"SELECT rowid FROM entries WHERE {where}", args)]
        for rowid in rows:
            self.db.execute("DELETE FROM entry_sections WHERE entry = ?", (rowid,))
            self.db.execute("DELETE FROM entry_terms WHERE entry = ?", (rowid,))
            self.db.execute("DELETE FROM entries WHERE rowid = ?", (rowid,))

    def index_bundle(self, bundle_id: str, docs: Iterable[EntryDocument]) -> int:
        with self._engine():
            with self.db:
                self._delete_where("bundle_id = ?", [bundle_id])
                self._insert(d for d in docs if d.bundle_id == bundle_id)
            return self.count(bundle_id)

    def rebuild(self, docs: Iterable[EntryDocument]) -> int:
        # One transaction: readers see the old entries until it commits.
        with self._engine():
            with self.db:
                self.db.execute("DELETE FROM entry_sections")
                self.db.execute("DELETE FROM entry_terms")
                self.db.execute("DELETE FROM entries")
                self._insert(docs)
            return self.count()

    def delete_bundle(self, bundle_id: str) -> None:
        with self._engine(), self.db:
            self._delete_where("bundle_id = ?", [bundle_id])

    def count(self, bundle_id: str | None = None) -> int:
        with self._engine():
            if bundle_id is None:
                return int(self.db.execute("SELECT count(*) FROM entries").fetchone()[0])
            return int(self.db.execute("SELECT count(*) FROM entries WHERE bundle_id = ?", (bundle_id,)).fetchone()[0])

    def bundle_counts(self) -> dict[str, int]:
        with self._engine():
            return {b: int(n) for b, n in self.db.execute("SELECT bundle_id, count(*) FROM entries GROUP BY bundle_id")}

    def close(self) -> None:
        try:
            self.db.close()
        except sqlite3.Error:
            pass

    def describe(self) -> str:
        return f"SQLite entries index {self.path}"


def _where_sql(w: EntryWhere) -> tuple[str, list[Any]]:
    parts: list[str] = []
    args: list[Any] = []
    for col, val in (("crime_year", w.crime_year), ("act_key", w.act), ("station_key", w.station), ("village_key", w.village),
                     ("outcome", w.outcome), ("bundle_id", w.bundle_id), ("page", w.page)):
        if val is not None:
            parts.append(f"e.{col} = ?")
            args.append(val)
    if w.thana_keys is not None:
        parts.append(f"e.thana_key IN ({','.join('?' * len(w.thana_keys))})")
        args.extend(w.thana_keys)
    if w.section is not None:
        parts.append("EXISTS (SELECT 1 FROM entry_sections s WHERE s.entry = e.rowid AND s.section = ?)")
        args.append(w.section)
    for alts in w.words:
        parts.append(f"EXISTS (SELECT 1 FROM entry_terms t WHERE t.entry = e.rowid AND t.term IN ({','.join('?' * len(alts))}))")
        args.extend(alts)
    return (" AND ".join(parts) or "1"), args


class _Engine:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def find(self, where: EntryWhere, limit: int, offset: int) -> tuple[list[str], int, dict[str, dict[str, int]]]:
        sql, args = _where_sql(where)
        total = int(self.db.execute(f"SELECT count(*) FROM entries e WHERE {sql}", args).fetchone()[0])
        docs = [r[0] for r in self.db.execute(
            f"SELECT doc FROM entries e WHERE {sql} ORDER BY e.bundle_id, e.page, e.idx LIMIT ? OFFSET ?",
            [*args, limit, offset])]
        facets: dict[str, dict[str, int]] = {}
        for name, col in (("act", "act"), ("crime_year", "crime_year"), ("station", "station"), ("outcome", "outcome")):
            facets[name] = {str(k): int(n) for k, n in self.db.execute(
                f"SELECT e.{col}, count(*) FROM entries e WHERE {sql} AND e.{col} IS NOT NULL AND e.{col} != '' "
                f"GROUP BY e.{col}", args)}
        facets["section"] = {str(k): int(n) for k, n in self.db.execute(
            f"SELECT s.section, count(*) FROM entry_sections s JOIN entries e ON e.rowid = s.entry WHERE {sql} "
            "GROUP BY s.section", args)}
        return docs, total, facets

    def on_pages(self, pages: list[tuple[str, int]], thana_keys: tuple[str, ...] | None,
                 limit: int) -> list[str]:
        # (bundle_id, page) pairs through the entries_order index, one query for all
        pairs = " OR ".join("(e.bundle_id = ? AND e.page = ?)" for _ in pages)
        args: list[Any] = [v for bp in pages for v in bp]
        sql = f"({pairs})"
        if thana_keys is not None:
            sql += f" AND e.thana_key IN ({','.join('?' * len(thana_keys))})"
            args.extend(thana_keys)
        return [r[0] for r in self.db.execute(
            f"SELECT doc FROM entries e WHERE {sql} ORDER BY e.bundle_id, e.page, e.idx LIMIT ?", [*args, limit])]
