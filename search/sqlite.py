"""The embedded search index: one SQLite file with an FTS5 table.

What a page stores (``search.page``), how a search runs and what it answers
(``search.core``, ``search.results``) is shared with Elasticsearch; this module is the
engine: the tables, and the SQL that browses, ranks and counts.

Layout (schema version ``SCHEMA_VERSION`` in ``PRAGMA user_version``):
- ``pages``: one row per page, id ``<bundle_id>:<page>``, and the bundle metadata
  (filters, facets, hits); kept small so facet counts over many pages stay fast;
- ``page_text``: the raw OCR text of each page (same rowid), for snippets;
- ``pages_fts``: FTS5 with the four columns of ``search.normalise.index_fields``:
  ``folded`` (``fold`` of text + title + file no + thana, then the notation tokens),
  ``translit`` (transliteration keys, joined pair keys), ``grams`` (character n-grams of
  long tokens) and ``loose`` (code skeletons and loose keys), rowid = ``pages.rowid``,
  tokenizer ``unicode61 remove_diacritics 0 categories 'L* N* Co Mn Mc'`` so that vowel
  signs, virama and nukta stay inside Devanagari words (and the private-use marks of
  ``grams`` inside its tokens);
- ``vocab``: every indexed token with a letter, per column (of ``loose``: the code
  skeletons), with its length: the candidates for fuzzy matching (``search.query.fuzzy_expand``; FTS5 has no fuzzy
  query). Terms of deleted pages stay (they match nothing);
- ``facet_combo`` / ``page_facet``: each distinct (thana, register, year, year_end)
  once, and each page's rowid -> its combo: facets and filters over many matches join
  these small tables, not ``pages`` (added within schema 2: filled from ``pages`` on
  open when missing);
- ``meta``: the ``search.normalise.NORMALISE_VERSION`` the rows were folded with. An
  index written by another schema or normaliser version is emptied on open (it is
  derived; ``bundle_page_counts`` then shows every bundle as missing and the caller
  re-indexes it).

Queries are built from ``search.query.clauses`` / ``tolerant_clauses`` /
``proximity_boost`` only: every token is quoted as an FTS5 string, so no typed character
reaches FTS5 syntax. A name's words near each other are ``NEAR(...)`` groups. Writes go through one connection
under a lock; searches from other threads read through a connection of their own
(WAL: readers run side by side, and other processes may read while this one writes).
The top hits are ranked on the score (``_run``: in one pass with the facets when a
scoped search has few matches, else inside FTS5), exactly as a full sort of every match
would order them.
"""

from __future__ import annotations

import collections
import heapq
import sqlite3
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from abhilekh.records import BundleMetadata, SearchDocument
from search.base import SearchError
from search.core import Scope, SearchCore, Tier
from search.normalise import NORMALISE_VERSION
from search.page import indexed_page, unique_pages
from search.query import (
    FIELD_WEIGHTS,
    Match,
    ParsedQuery,
    clauses,
    fuzzy_expand,
    proximity_boost,
    tolerant_clauses,
)
from search.results import Facets, Found, Row

__all__ = ["SCHEMA_VERSION", "SqliteIndex", "fts_expression"]

SCHEMA_VERSION = 3  # 3: the grams and loose columns
TOKENIZER = "unicode61 remove_diacritics 0 categories 'L* N* Co Mn Mc'"
CACHE_KIB = -65536  # page cache per connection: 64 MiB (PRAGMA cache_size)
REBUILD_BATCH = 5000  # pages per transaction while a rebuild fills its new file
MMAP_BYTES = 1 << 30  # reads through mmap, up to 1 GiB of the file (PRAGMA mmap_size)

_SCHEMA = f"""
CREATE TABLE pages (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    bundle_id TEXT NOT NULL,
    page INTEGER NOT NULL,
    thana TEXT NOT NULL,
    thana_key TEXT NOT NULL,
    register TEXT NOT NULL,
    year INTEGER,
    year_to INTEGER,
    year_end INTEGER,
    file_no TEXT NOT NULL,
    title TEXT NOT NULL,
    confidence REAL NOT NULL,
    needs_review INTEGER NOT NULL
);
CREATE TABLE page_text (rowid INTEGER PRIMARY KEY, text TEXT NOT NULL);
CREATE INDEX pages_bundle ON pages (bundle_id, page);
CREATE INDEX pages_thana ON pages (thana_key);
CREATE INDEX pages_register ON pages (register);
CREATE INDEX pages_year ON pages (year, year_end);
CREATE VIRTUAL TABLE pages_fts USING fts5 (
    folded, translit, grams, loose, tokenize = "{TOKENIZER}"
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE vocab (
    field TEXT NOT NULL,
    term TEXT NOT NULL,
    len INTEGER NOT NULL,
    PRIMARY KEY (field, term)
) WITHOUT ROWID;
CREATE INDEX vocab_len ON vocab (field, len);
"""

# Facets and filters read a page's (thana, register, year, year_end) through a small
# integer: ``facet_combo`` holds each distinct tuple once, ``page_facet`` maps a page's
# rowid to it. Both are a few MB at most, so joining every match of a query to them
# stays in the page cache (``pages`` itself is ten times wider).
_FACET_SCHEMA = """
CREATE TABLE IF NOT EXISTS facet_combo (
    id INTEGER PRIMARY KEY,
    thana TEXT NOT NULL,
    thana_key TEXT NOT NULL,
    register TEXT NOT NULL,
    year INTEGER,
    year_end INTEGER
);
CREATE INDEX IF NOT EXISTS facet_combo_key ON facet_combo (thana, register, year, year_end);
CREATE TABLE IF NOT EXISTS page_facet (rowid INTEGER PRIMARY KEY, combo INTEGER NOT NULL);
"""
_FACET_FILL_COMBOS = """
INSERT INTO facet_combo (thana, thana_key, register, year, year_end)
SELECT DISTINCT p.thana, p.thana_key, p.register, p.year, p.year_end FROM pages p
WHERE NOT EXISTS (SELECT 1 FROM facet_combo c WHERE c.thana = p.thana
    AND c.register = p.register AND c.year IS p.year AND c.year_end IS p.year_end)
"""
_FACET_COMBO_OF = """
SELECT c.id FROM facet_combo c WHERE c.thana = p.thana AND c.register = p.register
    AND c.year IS p.year AND c.year_end IS p.year_end ORDER BY c.id LIMIT 1
"""
# ``meta`` row 'generation': a counter every write transaction (of any process) moves
# on, so a cache of results (web.runtime.ResultCache) knows when they are stale.
_BUMP_GENERATION = """
INSERT INTO meta (key, value) VALUES ('generation', '1')
ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1
"""
# Candidates fetched beyond offset + limit when ranking inside FTS5: the top hits are
# exact unless more pages than this tie with the last one shown (then every match is
# ranked, as before).
TIE_SLACK = 16
# Matches ranked and counted for facets in one pass up to this many (measured on the
# load bench's 10,000-page home: 133 matches on a mean search of one station, 1,137 of
# every station; see docs/benchmarks.md, issue 15 round 7).
ONE_PASS_MAX = 800

_COLUMNS = (
    "p.bundle_id, p.page, t.text, p.thana, p.register, p.year, p.year_to, "
    "p.file_no, p.title, p.confidence, p.needs_review"
)


def _quote(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def _match_sql(m: Match) -> str:
    if m.near >= 0:
        # FTS5 counts the words between the first and the last token; Match.near (as
        # Lucene's slop) the words between them that are none of the tokens.
        near = m.near + len(m.tokens) - 2
        return f"{m.field} : NEAR({' '.join(_quote(t) for t in m.tokens)}, {near})"
    return f"{m.field} : {_quote(' '.join(m.tokens))}{'*' if m.prefix else ''}"


def _or(alts: list[Match]) -> str:
    if len(alts) == 1:
        return _match_sql(alts[0])
    return "(" + " OR ".join(_match_sql(a) for a in alts) + ")"


def fts_expression(q: ParsedQuery) -> str:
    """The FTS5 MATCH expression of a parsed query ("" when the query is empty)."""
    return " AND ".join(_or(alts) for alts in clauses(q))


def _vocab_terms(text: str) -> set[str]:
    """Tokens of a field that fuzzy matching may find (those with a letter)."""
    return {t for t in text.split() if len(t) >= 3 and not t.isdigit()}


class SqliteIndex(SearchCore):
    """``search.base.SearchIndex`` on one SQLite FTS5 file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        memory = str(path) == ":memory:"
        if not memory:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._memory = memory
        self._lock = threading.RLock()
        # Searches from other threads read through connections of their own (WAL
        # readers run side by side, outside the lock); the first connection writes.
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._closed = False
        try:
            self._db = sqlite3.connect(
                ":memory:" if memory else str(self.path),
                check_same_thread=False,
                isolation_level=None,  # transactions are explicit
                timeout=30.0,
            )
            self._db.execute("PRAGMA busy_timeout = 30000")
            if not memory:
                self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute(f"PRAGMA cache_size = {CACHE_KIB}")
            if not memory:
                self._db.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
        except sqlite3.Error as exc:
            raise SearchError(f"cannot open the search index at {self.path}: {exc}{_rebuild_hint(exc)}",
                              transient=not _damaged(exc)) from exc
        try:
            self._open_schema()
        except SearchError as exc:
            self._db.close()
            cause = exc.__cause__
            if isinstance(cause, sqlite3.Error) and _damaged(cause):
                raise SearchError(f"{exc}{_rebuild_hint(cause)}", transient=False) from cause
            raise
        except BaseException:
            self._db.close()
            raise
        self._owner = threading.get_ident()

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """A connection to read with: this thread's own (no lock held while the query
        runs), or the shared one under the lock for ``:memory:`` and the opening thread."""
        if self._memory or threading.get_ident() == self._owner:
            with self._lock:
                yield self._db
            return
        db = getattr(self._local, "db", None)
        if db is None:
            with self._lock:
                if self._closed:
                    raise sqlite3.ProgrammingError("the search index is closed")
                db = sqlite3.connect(
                    str(self.path), check_same_thread=False, isolation_level=None, timeout=30.0
                )
                db.execute("PRAGMA busy_timeout = 30000")
                db.execute(f"PRAGMA cache_size = {CACHE_KIB}")
                db.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
                self._readers.append(db)
            self._local.db = db
        yield db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the lock; sqlite errors become SearchError."""
        with self._lock:
            db = self._db
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                message = f"cannot write to the search index at {self.path}: {exc}"
                raise SearchError(message) from exc
            try:
                yield db
                # every write moves the generation on: what callers cached is stale
                db.execute(_BUMP_GENERATION)
                db.execute("COMMIT")
            except BaseException as exc:
                try:
                    db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                if isinstance(exc, sqlite3.Error):
                    message = f"writing to the search index at {self.path} failed: {exc}"
                    raise SearchError(message) from exc
                raise

    # -- schema ------------------------------------------------------------------

    def _open_schema(self) -> None:
        with self._transaction() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise SearchError(
                    f"the search index at {self.path} has schema {version}, newer than "
                    f"this program ({SCHEMA_VERSION}): upgrade abhilekh or delete the "
                    "file and re-index",
                    transient=False,
                )
            stale = version != SCHEMA_VERSION
            if not stale:
                row = db.execute(
                    "SELECT value FROM meta WHERE key = 'normalise_version'"
                ).fetchone()
                stale = row is None or row[0] != str(NORMALISE_VERSION)
            if stale:
                for name in (
                    "pages_fts", "page_text", "pages", "meta", "vocab", "facet_combo", "page_facet"
                ):
                    db.execute(f"DROP TABLE IF EXISTS {name}")
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(
                    "INSERT INTO meta (key, value) VALUES ('normalise_version', ?)",
                    (str(NORMALISE_VERSION),),
                )
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            # added after schema 2 without a version bump: filled from `pages` once
            missing = db.execute(
                "SELECT count(*) FROM sqlite_master WHERE name = 'page_facet'"
            ).fetchone()[0] == 0
            for statement in _FACET_SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            if missing:
                db.execute(_FACET_FILL_COMBOS)
                db.execute(
                    f"INSERT OR REPLACE INTO page_facet (rowid, combo)"
                    f" SELECT p.rowid, ({_FACET_COMBO_OF}) FROM pages p"
                )

    # -- writing -----------------------------------------------------------------

    def index(self, docs: Iterable[SearchDocument]) -> int:
        """Add or replace pages by id, in one transaction; visible on return."""
        pages = [indexed_page(doc) for doc in unique_pages(docs)]
        if not pages:
            return 0
        page_rows = []
        fts_rows = []
        text_rows = []
        vocab_folded: set[str] = set()
        vocab_translit: set[str] = set()
        vocab_codes: set[str] = set()
        for pg in pages:
            page_rows.append(
                (
                    pg.id,
                    pg.bundle_id,
                    pg.page,
                    pg.thana,
                    pg.thana_key,
                    pg.register,
                    pg.year,
                    pg.year_to,
                    pg.year_end,
                    pg.file_no,
                    pg.title,
                    pg.confidence,
                    1 if pg.needs_review else 0,
                )
            )
            vocab_folded |= _vocab_terms(pg.folded)
            vocab_translit |= _vocab_terms(pg.translit)
            vocab_codes |= {t for t in pg.loose.split() if t.startswith("ck")}
            fts_rows.append((pg.folded, pg.translit, pg.grams, pg.loose, pg.id))
            text_rows.append((pg.text, pg.id))
        ids = [(pg.id,) for pg in pages]
        with self._transaction() as db:
            db.executemany(
                "DELETE FROM pages_fts WHERE rowid = (SELECT rowid FROM pages WHERE id = ?)",
                ids,
            )
            db.executemany(
                "INSERT INTO pages (id, bundle_id, page, thana, thana_key, register,"
                " year, year_to, year_end, file_no, title, confidence, needs_review)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET bundle_id = excluded.bundle_id,"
                " page = excluded.page, thana = excluded.thana,"
                " thana_key = excluded.thana_key, register = excluded.register,"
                " year = excluded.year, year_to = excluded.year_to,"
                " year_end = excluded.year_end, file_no = excluded.file_no,"
                " title = excluded.title, confidence = excluded.confidence,"
                " needs_review = excluded.needs_review",
                page_rows,
            )
            db.execute(
                "CREATE TEMP TABLE IF NOT EXISTS new_ids (id TEXT PRIMARY KEY) WITHOUT ROWID"
            )
            db.execute("DELETE FROM temp.new_ids")
            db.executemany("INSERT OR IGNORE INTO temp.new_ids (id) VALUES (?)", ids)
            db.execute(_FACET_FILL_COMBOS.replace(
                "FROM pages p", "FROM temp.new_ids n JOIN pages p ON p.id = n.id"
            ))
            db.execute(
                f"INSERT OR REPLACE INTO page_facet (rowid, combo)"
                f" SELECT p.rowid, ({_FACET_COMBO_OF})"
                f" FROM temp.new_ids n JOIN pages p ON p.id = n.id"
            )
            db.execute("DELETE FROM temp.new_ids")
            db.executemany(
                "INSERT OR REPLACE INTO page_text (rowid, text)"
                " SELECT rowid, ? FROM pages WHERE id = ?",
                text_rows,
            )
            db.executemany(
                "INSERT INTO pages_fts (rowid, folded, translit, grams, loose)"
                " SELECT rowid, ?, ?, ?, ? FROM pages WHERE id = ?",
                fts_rows,
            )
            db.executemany(
                "INSERT OR IGNORE INTO vocab (field, term, len) VALUES (?, ?, ?)",
                [("folded", t, len(t)) for t in vocab_folded]
                + [("translit", t, len(t)) for t in vocab_translit]
                + [("loose", t, len(t)) for t in vocab_codes],
            )
        return len(pages)

    def delete_bundle(self, bundle_id: str) -> None:
        with self._transaction() as db:
            for table in ("pages_fts", "page_text", "page_facet"):
                db.execute(
                    f"DELETE FROM {table} WHERE rowid IN"
                    " (SELECT rowid FROM pages WHERE bundle_id = ?)",
                    (bundle_id,),
                )
            db.execute("DELETE FROM pages WHERE bundle_id = ?", (bundle_id,))

    def clear(self) -> None:
        with self._transaction() as db:
            for table in ("pages_fts", "page_text", "pages", "vocab", "page_facet", "facet_combo"):
                db.execute(f"DELETE FROM {table}")

    # -- reading -----------------------------------------------------------------

    def count(self, bundle_id: str | None = None) -> int:
        with self._lock:
            if bundle_id is None:
                row = self._db.execute("SELECT count(*) FROM pages").fetchone()
            else:
                row = self._db.execute(
                    "SELECT count(*) FROM pages WHERE bundle_id = ?", (bundle_id,)
                ).fetchone()
        return int(row[0])

    def generation(self) -> int:
        """A number that changes whenever pages are written, by this process or another
        (read from the file: one indexed row)."""
        with self._reading() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def bundle_page_counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT bundle_id, count(*) FROM pages GROUP BY bundle_id ORDER BY bundle_id"
            ).fetchall()
        return {b: int(n) for b, n in rows}

    def rebuild(self, docs: Iterable[SearchDocument]) -> int:
        """Replace every page by `docs`: built in a new file beside this one, then
        switched in by one transaction. Searches answer from the old pages until the
        switch; a rebuild that fails (the documents stop coming, the disk fills) leaves
        the index exactly as it was. Returns the number of distinct pages afterwards.

        The switch copies the finished tables into this file rather than renaming the
        file over it: other processes (web workers) hold this file open, and a renamed
        database would leave them reading the old one (or its WAL beside the new).
        """
        beside = Path(f"{self.path}.rebuild") if not self._memory else None
        with tempfile.TemporaryDirectory(prefix="abhilekh-rebuild-") as tmp:
            target = beside or Path(tmp) / "rebuild.sqlite3"
            _remove_database(target)
            fresh = SqliteIndex(target)
            try:
                batch: list[SearchDocument] = []
                for doc in docs:
                    batch.append(doc)
                    if len(batch) >= REBUILD_BATCH:
                        fresh.index(batch)
                        batch = []
                fresh.index(batch)
                fresh._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                fresh.close()
            try:
                return self._switch_to(target)
            finally:
                _remove_database(target)

    def _switch_to(self, built: Path) -> int:
        """Make this index hold exactly the pages of the index file BUILT, atomically."""
        with self._lock:
            try:
                self._db.execute("ATTACH DATABASE ? AS fresh", (str(built),))
            except sqlite3.Error as exc:
                raise SearchError(f"cannot open the rebuilt index {built}: {exc}") from exc
            try:
                with self._transaction() as db:
                    for name in ("pages_fts", "page_text", "pages", "vocab", "facet_combo", "page_facet"):
                        db.execute(f"DELETE FROM main.{name}")
                    db.execute("INSERT INTO main.pages SELECT * FROM fresh.pages")
                    db.execute("INSERT INTO main.page_text SELECT * FROM fresh.page_text")
                    db.execute(
                        "INSERT INTO main.pages_fts (rowid, folded, translit)"
                        " SELECT rowid, folded, translit FROM fresh.pages_fts"
                    )
                    db.execute("INSERT INTO main.vocab SELECT * FROM fresh.vocab")
                    db.execute("INSERT INTO main.facet_combo SELECT * FROM fresh.facet_combo")
                    db.execute("INSERT INTO main.page_facet SELECT * FROM fresh.page_facet")
                    return int(db.execute("SELECT count(*) FROM main.pages").fetchone()[0])
            finally:
                self._db.execute("DETACH DATABASE fresh")

    def check(self) -> None:
        """Raise SearchError when the file cannot be read."""
        try:
            with self._lock:
                self._db.execute("SELECT count(*) FROM pages").fetchone()
        except sqlite3.Error as exc:
            raise SearchError(f"cannot read the search index at {self.path}: {exc}") from exc

    @contextmanager
    def _engine(self) -> Iterator[_Engine]:
        try:
            with self._reading() as db:
                yield _Engine(db)
        except sqlite3.Error as exc:
            message = f"search in {self.path} failed: {exc}; re-index if it persists"
            raise SearchError(message) from exc

    # -- lifecycle ---------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for db in [*self._readers, self._db]:
                try:
                    db.close()
                except sqlite3.Error:
                    pass
            self._readers.clear()

    def describe(self) -> str:
        return f"SQLite FTS5 index at {self.path}"

    def __enter__(self) -> SqliteIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _damaged(exc: sqlite3.Error) -> bool:
    """The file is not (or no longer) an SQLite database: no retry will read it."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.DatabaseError) and ("not a database" in text or "malformed" in text)


def _rebuild_hint(exc: sqlite3.Error) -> str:
    return "; the file is damaged: `abhilekh reindex` builds a new one from storage" if _damaged(exc) else ""


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _filter_sql(scope: Scope) -> tuple[str, list[Any]]:
    """The WHERE clause of a scope, over ``pages p`` or ``facet_combo p`` alike."""
    where: list[str] = []
    args: list[Any] = []
    keys = scope.thana_keys
    if keys is not None:
        where.append("p.thana_key = ?" if len(keys) == 1 else f"p.thana_key IN ({','.join('?' * len(keys))})")
        args.extend(keys)
    if scope.register is not None:
        where.append("p.register = ?")
        args.append(scope.register)
    if scope.year is not None:
        where.append("p.year <= ? AND p.year_end >= ?")
        args.extend([scope.year, scope.year])
    return " AND ".join(where), args


def _at_or_above_cut(rows: list[Any], want: int) -> list[Any]:
    """The rows (rowid, score, ...) scoring at least the ``want``-th best: the top
    ``want`` and every row tied with the last of them."""
    if len(rows) <= want:
        return rows
    cut = heapq.nlargest(want, (r[1] for r in rows))[-1]
    return [r for r in rows if r[1] >= cut]


def _found(rows: list[Any], groups: list[Any]) -> Found:
    facets = Facets()
    total = 0
    for thana, register, year, year_end, n in groups:
        total += n
        facets.add_thana(thana, n)
        facets.add_register(register, n)
        facets.add_years(year, year_end, n)
    found = [
        Row(
            bundle_id=bundle_id,
            page=int(page),
            text=text,
            metadata=BundleMetadata(
                thana=thana, register=register, year=year, year_to=year_to, file_no=file_no, title=title
            ),
            confidence=float(conf),
            needs_review=bool(review),
            score=float(score),
        )
        for bundle_id, page, text, thana, register, year, year_to, file_no, title, conf, review, score in rows
    ]
    return Found(found, total, facets)


class _Engine:
    """``search.core.Engine`` on one SQLite connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def browse(self, scope: Scope, limit: int, offset: int) -> Found:
        where, fargs = _filter_sql(scope)
        rows = self.db.execute(
            f"SELECT {_COLUMNS}, 0.0 FROM pages p JOIN page_text t ON t.rowid = p.rowid"
            f" WHERE {where}"
            " ORDER BY p.bundle_id, p.page LIMIT ? OFFSET ?",
            [*fargs, limit, offset],
        ).fetchall()
        groups = self.db.execute(
            "SELECT p.thana, p.register, p.year, p.year_end, count(*) FROM pages p"
            f" WHERE {where} GROUP BY 1, 2, 3, 4",
            fargs,
        ).fetchall()
        return _found(rows, groups)

    def match(
        self, parsed: ParsedQuery, scope: Scope, tier: Tier, limit: int, offset: int, facets: bool = True
    ) -> Found | None:
        expr = fts_expression(parsed)
        if tier is Tier.TOLERANT:
            tolerant = self._tolerant_expression(parsed)
            if not tolerant:
                return None
            expr = f"({tolerant}) NOT ({expr})"
        where, fargs = _filter_sql(scope)
        rows, groups = self._run(expr, proximity_boost(parsed), where, fargs, limit, offset)
        return _found(rows, groups)

    def terms_near(self, token: str, edits: int) -> list[str]:
        rows = self.db.execute(
            "SELECT term FROM vocab WHERE field = 'folded' AND len BETWEEN ? AND ?",
            (len(token) - edits, len(token) + edits),
        )
        return [r[0] for r in rows]

    def _tolerant_expression(self, parsed: ParsedQuery) -> str:
        """The FTS5 expression of ``tolerant_clauses``, fuzzy matches expanded through
        the vocabulary; "" when it could find nothing the exact query does not (no
        clause dropped, no alternative beyond the exact ones)."""
        out = []
        tolerant = tolerant_clauses(parsed)
        exact = clauses(parsed)
        # fewer clauses than the exact query (sections dropped next to a crime number),
        # or a plain alternative the exact query lacks (n-grams, loose keys)
        expanded = 0 < len(tolerant) < len(exact) or any(
            not m.fuzzy and m not in e for alts, e in zip(tolerant, exact) for m in alts
        )
        for alts in tolerant:
            plain: list[Match] = []
            for m in alts:
                if not m.fuzzy:
                    plain.append(m)
                    continue
                token = m.tokens[0]
                rows = self.db.execute(
                    "SELECT term FROM vocab WHERE field = ? AND len BETWEEN ? AND ?",
                    (m.field, len(token) - m.fuzzy, len(token) + m.fuzzy),
                )
                for term in fuzzy_expand(token, m.fuzzy, (r[0] for r in rows)):
                    alt = Match(m.field, (term, *m.tokens[1:]), near=m.near)
                    if alt not in plain:
                        plain.append(alt)
                        expanded = True
            out.append(_or(plain))
        return " AND ".join(out) if expanded else ""

    def _run(
        self,
        expr: str,
        boosts: list[tuple[float, list[Match]]],
        where: str,
        fargs: list[Any],
        limit: int,
        offset: int,
    ) -> tuple[list[Any], list[Any]]:
        """Rows of the hits ``offset:offset+limit`` (by score, then bundle and page) and
        the facet groups of every match.

        A scoped search with at most ``ONE_PASS_MAX`` matches reads them once, with
        their scores and facet groups, and is ranked and counted from those rows. Any
        other runs the ranking inside FTS5 on the score alone (``ORDER BY score LIMIT``:
        a bounded sorter, no join of every match to ``pages``) and counts the facets in
        a second pass. Either way only the candidates get their bundle and page for the
        tie-break, and filters and facets go through the small ``page_facet`` /
        ``facet_combo`` tables.
        """
        weights = [FIELD_WEIGHTS[c] for c in ("folded", "translit", "grams", "loose")]
        if where:
            combo_join = (
                " JOIN page_facet c ON c.rowid = f.rowid AND c.combo IN"
                f" (SELECT p.id FROM facet_combo p WHERE {where})"
            )
            combo_args = list(fargs)
        else:
            combo_join, combo_args = "", []
        # names as names: 1 + the weight of each pair of words found together
        boost_sql = "(1.0" + "".join(
            " + CASE WHEN f.rowid IN (SELECT rowid FROM pages_fts WHERE pages_fts MATCH ?)"
            f" THEN {weight!r} ELSE 0.0 END"
            for weight, _ in boosts
        ) + ")"
        boost_args = [_or(alts) for _, alts in boosts]
        want = offset + limit
        facet_join = combo_join or " JOIN page_facet c ON c.rowid = f.rowid"
        score_sql = f"(-bm25(pages_fts, ?, ?, ?, ?)) * {boost_sql}"
        args = [*weights, *boost_args, *combo_args, expr]
        groups: list[Any] | None = None
        fetched: list[Any] = []
        if want:
            # In a scope (an officer's stations, a register, a year) one pass over the
            # matches gives the ranking and the facets together when they are few;
            # past ONE_PASS_MAX, and with no scope (where matches are many), the rows
            # would cost more in Python than a second pass costs in SQLite, so the
            # ranking goes to FTS5's bounded sorter and the facets to their own pass.
            every: list[Any] = []
            if where:
                cur = self.db.execute(
                    f"SELECT f.rowid, {score_sql} AS score, c.combo FROM pages_fts f{facet_join}"
                    " WHERE pages_fts MATCH ?",
                    args,
                )
                every = cur.fetchmany(ONE_PASS_MAX + 1)
                cur.close()
            if where and len(every) <= ONE_PASS_MAX:
                groups = self._groups(collections.Counter(r[2] for r in every))
                fetched = _at_or_above_cut(every, want)
            else:
                fetched = self.db.execute(
                    f"SELECT f.rowid, {score_sql} AS score FROM pages_fts f{combo_join}"
                    " WHERE pages_fts MATCH ? ORDER BY score DESC LIMIT ?",
                    [*args, want + TIE_SLACK],
                ).fetchall()
                if len(fetched) > want and fetched[-1][1] == fetched[want - 1][1]:
                    # more ties than TIE_SLACK at the cut: rank every match
                    fetched = self.db.execute(
                        f"SELECT f.rowid, {score_sql} AS score FROM pages_fts f{combo_join}"
                        " WHERE pages_fts MATCH ?",
                        args,
                    ).fetchall()
                fetched = _at_or_above_cut(fetched, want)
        rows = self._shown(fetched, offset, want)
        if groups is None:
            groups = self.db.execute(
                "SELECT k.thana, k.register, k.year, k.year_end, g.n FROM"
                " (SELECT c.combo AS combo, count(*) AS n"
                f" FROM pages_fts f{facet_join} WHERE pages_fts MATCH ? GROUP BY c.combo) g"
                " JOIN facet_combo k ON k.id = g.combo",
                [*combo_args, expr],
            ).fetchall()
        return rows, groups

    def _groups(self, counts: collections.Counter[int]) -> list[Any]:
        """Facet groups (thana, register, year, year_end, n) of per-combo counts, in
        combo order as the GROUP BY pass gives them."""
        if not counts:
            return []
        ids = sorted(counts)
        combos = {
            r[0]: r[1:]
            for r in self.db.execute(
                "SELECT id, thana, register, year, year_end FROM facet_combo"
                f" WHERE id IN ({','.join('?' * len(ids))})",
                ids,
            )
        }
        return [(*combos[i], counts[i]) for i in ids if i in combos]

    def _shown(self, fetched: list[Any], offset: int, want: int) -> list[Any]:
        """Rows of the hits ``offset:want`` among the candidates (rowid, score, ...):
        by score, then bundle and page; texts only for the hits shown."""
        if not fetched:
            return []
        order = {
            r[0]: (r[1], r[2])
            for r in self.db.execute(
                f"SELECT rowid, bundle_id, page FROM pages"
                f" WHERE rowid IN ({','.join('?' * len(fetched))})",
                [r[0] for r in fetched],
            )
        }
        ranked = sorted(
            (r for r in fetched if r[0] in order),
            key=lambda r: (-r[1], *order[r[0]]),
        )
        top = ranked[offset:want]
        if not top:
            return []
        details = {
            r[0]: r[1:]
            for r in self.db.execute(
                f"SELECT p.rowid, {_COLUMNS} FROM pages p JOIN page_text t"
                f" ON t.rowid = p.rowid WHERE p.rowid IN ({','.join('?' * len(top))})",
                [r[0] for r in top],
            )
        }
        return [(*details[r[0]], r[1]) for r in top if r[0] in details]
