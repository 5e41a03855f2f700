"""The embedded search index: one SQLite file with an FTS5 table.

Layout (schema version ``SCHEMA_VERSION`` in ``PRAGMA user_version``):
- ``pages``: one row per page, id ``<bundle_id>:<page>``, and the bundle metadata
  (filters, facets, hits); kept small so facet counts over many pages stay fast;
- ``page_text``: the raw OCR text of each page (same rowid), for snippets;
- ``pages_fts``: FTS5 with columns ``folded`` (``fold`` of text + title + file no +
  thana, then the notation tokens of ``index_extras``) and ``translit``
  (``transliterate`` of the same, then the joined pair keys), rowid = ``pages.rowid``,
  tokenizer ``unicode61 remove_diacritics 0 categories 'L* N* Co Mn Mc'`` so that vowel
  signs, virama and nukta stay inside Devanagari words;
- ``vocab``: every indexed token with a letter, per column, with its length: the
  candidates for fuzzy matching (``search.query.fuzzy_expand``; FTS5 has no fuzzy
  query). Terms of deleted pages stay (they match nothing);
- ``meta``: the ``search.normalise.NORMALISE_VERSION`` the rows were folded with. An
  index written by another schema or normaliser version is emptied on open (it is
  derived; ``bundle_page_counts`` then shows every bundle as missing and the caller
  re-indexes it).

Queries are built from ``search.query.clauses`` only: every token is quoted as an FTS5
string, so no typed character reaches FTS5 syntax. One connection, shared by threads
under a lock; WAL lets other processes read while this one writes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from abhilekh.records import BundleMetadata, SearchDocument, SearchFilters, SearchHit
from search.base import SearchError, SearchResults
from search.normalise import NORMALISE_VERSION, fold, index_extras, transliterate_folded
from search.query import (
    FIELD_WEIGHTS,
    FUZZY_MIN_HITS,
    PHRASE_BOOST,
    Match,
    ParsedQuery,
    clauses,
    fuzzy_clauses,
    fuzzy_expand,
    fuzzy_score,
    parse_query,
    proximity_boost,
)
from search.snippet import make_snippet

__all__ = ["SCHEMA_VERSION", "SqliteIndex", "fts_expression"]

SCHEMA_VERSION = 2
TOKENIZER = "unicode61 remove_diacritics 0 categories 'L* N* Co Mn Mc'"
SNIPPET_WIDTH = 200
MAX_FACET_YEARS = 200  # a page's year range counted in at most this many years

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
    folded, translit, tokenize = "{TOKENIZER}"
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

_COLUMNS = (
    "p.bundle_id, p.page, t.text, p.thana, p.register, p.year, p.year_to, "
    "p.file_no, p.title, p.confidence"
)


def _quote(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def _match_sql(m: Match) -> str:
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


def _thana_key(thana: str | None) -> str:
    return (thana or "").strip().casefold()


class SqliteIndex:
    """``search.base.SearchIndex`` on one SQLite FTS5 file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        memory = str(path) == ":memory:"
        if not memory:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
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
        except sqlite3.Error as exc:
            raise SearchError(f"cannot open the search index at {self.path}: {exc}") from exc
        try:
            self._open_schema()
        except BaseException:
            self._db.close()
            raise

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
                    "file and re-index"
                )
            stale = version != SCHEMA_VERSION
            if not stale:
                row = db.execute(
                    "SELECT value FROM meta WHERE key = 'normalise_version'"
                ).fetchone()
                stale = row is None or row[0] != str(NORMALISE_VERSION)
            if stale:
                for name in ("pages_fts", "page_text", "pages", "meta", "vocab"):
                    db.execute(f"DROP TABLE IF EXISTS {name}")
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(
                    "INSERT INTO meta (key, value) VALUES ('normalise_version', ?)",
                    (str(NORMALISE_VERSION),),
                )
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- writing -----------------------------------------------------------------

    def index(self, docs: Iterable[SearchDocument]) -> int:
        """Add or replace pages by id, in one transaction; visible on return."""
        unique: dict[str, SearchDocument] = {}
        for doc in docs:
            unique[doc.id] = doc
        if not unique:
            return 0
        page_rows = []
        fts_rows = []
        text_rows = []
        vocab_folded: set[str] = set()
        vocab_translit: set[str] = set()
        for doc_id, doc in unique.items():
            md = doc.metadata
            year_end = md.year
            if md.year is not None and md.year_to is not None and md.year_to >= md.year:
                year_end = md.year_to
            page_rows.append(
                (
                    doc_id,
                    doc.bundle_id,
                    int(doc.page),
                    md.thana or "",
                    _thana_key(md.thana),
                    md.register or "",
                    md.year,
                    md.year_to,
                    year_end,
                    md.file_no or "",
                    md.title or "",
                    float(doc.confidence),
                    1 if doc.needs_review else 0,
                )
            )
            searchable = "\n".join(
                (doc.text or "", md.title or "", md.file_no or "", md.thana or "")
            )
            folded = fold(searchable)
            translit = transliterate_folded(folded)
            extra_folded, extra_translit = index_extras(searchable, folded)
            if extra_folded:
                folded = f"{folded} {extra_folded}"
            if extra_translit:
                translit = f"{translit} {extra_translit}"
            vocab_folded |= _vocab_terms(folded)
            vocab_translit |= _vocab_terms(translit)
            fts_rows.append((folded, translit, doc_id))
            text_rows.append((doc.text or "", doc_id))
        ids = [(doc_id,) for doc_id in unique]
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
            db.executemany(
                "INSERT OR REPLACE INTO page_text (rowid, text)"
                " SELECT rowid, ? FROM pages WHERE id = ?",
                text_rows,
            )
            db.executemany(
                "INSERT INTO pages_fts (rowid, folded, translit)"
                " SELECT rowid, ?, ? FROM pages WHERE id = ?",
                fts_rows,
            )
            db.executemany(
                "INSERT OR IGNORE INTO vocab (field, term, len) VALUES (?, ?, ?)",
                [("folded", t, len(t)) for t in vocab_folded]
                + [("translit", t, len(t)) for t in vocab_translit],
            )
        return len(unique)

    def delete_bundle(self, bundle_id: str) -> None:
        with self._transaction() as db:
            for table in ("pages_fts", "page_text"):
                db.execute(
                    f"DELETE FROM {table} WHERE rowid IN"
                    " (SELECT rowid FROM pages WHERE bundle_id = ?)",
                    (bundle_id,),
                )
            db.execute("DELETE FROM pages WHERE bundle_id = ?", (bundle_id,))

    def clear(self) -> None:
        with self._transaction() as db:
            for table in ("pages_fts", "page_text", "pages", "vocab"):
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

    def bundle_page_counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT bundle_id, count(*) FROM pages GROUP BY bundle_id ORDER BY bundle_id"
            ).fetchall()
        return {b: int(n) for b, n in rows}

    @staticmethod
    def _filter_sql(filters: SearchFilters | None) -> tuple[str, list]:
        where: list[str] = []
        args: list = []
        if filters is not None:
            if filters.thana is not None and filters.thana.strip():
                where.append("p.thana_key = ?")
                args.append(_thana_key(filters.thana))
            if filters.register is not None and filters.register != "":
                where.append("p.register = ?")
                args.append(filters.register)
            if filters.year is not None:
                where.append("p.year <= ? AND p.year_end >= ?")
                args.extend([int(filters.year), int(filters.year)])
        return " AND ".join(where), args

    def search(
        self,
        query: str,
        filters: SearchFilters | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> SearchResults:
        """Pages matching every query word (BM25, higher score = better) and filters.

        An empty query with filters browses the filtered pages in bundle/page order; an
        empty query without filters returns nothing. Facets count all matching pages.
        """
        parsed = parse_query(query or "")
        limit = max(0, int(limit))
        offset = max(0, int(offset))
        where, fargs = self._filter_sql(filters)
        try:
            if parsed.is_empty and not where:
                return SearchResults(hits=[], total=0, facets={})
            with self._lock:
                if parsed.is_empty:
                    rows, groups = self._browse(where, fargs, limit, offset)
                else:
                    rows, groups = self._search(parsed, where, fargs, limit, offset)
        except sqlite3.Error as exc:
            message = f"search in {self.path} failed: {exc}; re-index if it persists"
            raise SearchError(message) from exc
        return self._results(parsed, rows, groups)  # snippets outside the lock

    def _browse(self, where: str, fargs: list, limit: int, offset: int) -> tuple[list, list]:
        db = self._db
        rows = db.execute(
            f"SELECT {_COLUMNS}, 0.0 FROM pages p JOIN page_text t ON t.rowid = p.rowid"
            f" WHERE {where}"
            " ORDER BY p.bundle_id, p.page LIMIT ? OFFSET ?",
            [*fargs, limit, offset],
        ).fetchall()
        groups = db.execute(
            "SELECT p.thana, p.register, p.year, p.year_end, count(*) FROM pages p"
            f" WHERE {where} GROUP BY 1, 2, 3, 4",
            fargs,
        ).fetchall()
        return rows, groups

    def _search(
        self, parsed: ParsedQuery, where: str, fargs: list, limit: int, offset: int
    ) -> tuple[list, list]:
        expr = fts_expression(parsed)
        boost_alts = proximity_boost(parsed)
        rows, groups = self._run(expr, boost_alts, where, fargs, limit, offset)
        if sum(g[-1] for g in groups) >= FUZZY_MIN_HITS:
            return rows, groups
        fuzzy = self._fuzzy_expression(parsed)
        if not fuzzy:
            return rows, groups
        # Fewer than FUZZY_MIN_HITS exact hits: pages that match only with OCR-like
        # errors come after all of them (search.query.fuzzy_clauses).
        exact, _ = self._run(expr, boost_alts, where, fargs, FUZZY_MIN_HITS, 0)
        more, more_groups = self._run(
            f"({fuzzy}) NOT ({expr})", boost_alts, where, fargs, offset + limit, 0
        )
        if not more_groups:
            return rows, groups
        floor = min((r[-1] for r in exact), default=None)
        more = [(*r[:-1], fuzzy_score(r[-1], floor)) for r in more]
        return (exact + more)[offset : offset + limit], groups + more_groups

    def _fuzzy_expression(self, parsed: ParsedQuery) -> str:
        """The FTS5 expression of ``fuzzy_clauses``, fuzzy matches expanded through the
        vocabulary; "" when no fuzzy alternative found a candidate."""
        out = []
        expanded = False
        for alts in fuzzy_clauses(parsed):
            plain: list[Match] = []
            for m in alts:
                if not m.fuzzy:
                    plain.append(m)
                    continue
                token = m.tokens[0]
                rows = self._db.execute(
                    "SELECT term FROM vocab WHERE field = ? AND len BETWEEN ? AND ?",
                    (m.field, len(token) - m.fuzzy, len(token) + m.fuzzy),
                )
                for term in fuzzy_expand(token, m.fuzzy, (r[0] for r in rows)):
                    alt = Match(m.field, (term,))
                    if alt not in plain:
                        plain.append(alt)
                        expanded = True
            out.append(_or(plain))
        return " AND ".join(out) if expanded else ""

    def _run(
        self, expr: str, boost_alts: list[Match], where: str, fargs: list, limit: int, offset: int
    ) -> tuple[list, list]:
        db = self._db
        w_folded = FIELD_WEIGHTS["folded"]
        w_translit = FIELD_WEIGHTS["translit"]
        and_where = f" AND {where}" if where else ""
        if boost_alts:
            boost_sql = (
                f"CASE WHEN m.rowid IN (SELECT rowid FROM pages_fts WHERE pages_fts MATCH ?)"
                f" THEN {PHRASE_BOOST} ELSE 1.0 END"
            )
            boost_args = [_or(boost_alts)]
        else:
            boost_sql = "1.0"
            boost_args = []
        top = db.execute(
            "WITH m AS (SELECT rowid, -bm25(pages_fts, ?, ?) AS s FROM pages_fts"
            " WHERE pages_fts MATCH ?)"
            f" SELECT m.rowid, m.s * {boost_sql} AS score"
            f" FROM m JOIN pages p ON p.rowid = m.rowid WHERE 1{and_where}"
            " ORDER BY score DESC, p.bundle_id, p.page LIMIT ? OFFSET ?",
            [w_folded, w_translit, expr, *boost_args, *fargs, limit, offset],
        ).fetchall()
        rows = []
        if top:
            # Texts only for the hits shown, not for every page the sorter saw.
            details = {
                r[0]: r[1:]
                for r in db.execute(
                    f"SELECT p.rowid, {_COLUMNS} FROM pages p JOIN page_text t"
                    f" ON t.rowid = p.rowid WHERE p.rowid IN ({','.join('?' * len(top))})",
                    [r[0] for r in top],
                )
            }
            rows = [(*details[rowid], score) for rowid, score in top if rowid in details]
        groups = db.execute(
            "SELECT p.thana, p.register, p.year, p.year_end, count(*)"
            " FROM pages_fts f JOIN pages p ON p.rowid = f.rowid"
            f" WHERE pages_fts MATCH ?{and_where} GROUP BY 1, 2, 3, 4",
            [expr, *fargs],
        ).fetchall()
        return rows, groups

    @staticmethod
    def _results(parsed: ParsedQuery, rows: list, groups: list) -> SearchResults:
        hits = []
        for row in rows:
            bundle_id, page, text, thana, register, year, year_to, file_no, title, conf, score = row
            plain, markup = make_snippet(text, parsed, SNIPPET_WIDTH)
            hits.append(
                SearchHit(
                    bundle_id=bundle_id,
                    page=int(page),
                    score=float(score),
                    snippet=plain,
                    snippet_html=markup,
                    metadata=BundleMetadata(
                        thana=thana,
                        register=register,
                        year=year,
                        year_to=year_to,
                        file_no=file_no,
                        title=title,
                    ),
                    confidence=float(conf),
                )
            )
        total = 0
        thanas: dict[str, int] = {}
        thana_label: dict[str, str] = {}
        registers: dict[str, int] = {}
        years: dict[int, int] = {}
        for thana, register, year, year_end, n in groups:
            total += n
            if thana:
                key = _thana_key(thana)
                label = thana_label.setdefault(key, thana.strip())
                thanas[label] = thanas.get(label, 0) + n
            if register:
                registers[register] = registers.get(register, 0) + n
            if year is not None:
                end = min(year_end if year_end is not None else year, year + MAX_FACET_YEARS - 1)
                for y in range(year, end + 1):
                    years[y] = years.get(y, 0) + n
        facets = {
            "thana": dict(sorted(thanas.items(), key=lambda kv: (-kv[1], kv[0]))),
            "register": dict(sorted(registers.items(), key=lambda kv: (-kv[1], kv[0]))),
            "year": {str(y): years[y] for y in sorted(years)},
        }
        return SearchResults(hits=hits, total=total, facets=facets)

    # -- lifecycle ---------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            try:
                self._db.close()
            except sqlite3.Error:
                pass

    def describe(self) -> str:
        return f"SQLite FTS5 index at {self.path}"

    def __enter__(self) -> SqliteIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
