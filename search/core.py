"""The search both backends run: one core, two engines.

``SearchCore.search`` is the whole of a search, written once:

    check_query(text) ─► Scope.of(filters) ─► nothing to look for? empty answer
        │  (QueryRefused: punctuation only, too long, too many words)
        ├─ no words, some filter: engine.browse      (bundle / page order, score 0)
        └─ words: engine.match(EXACT)                (search.query.clauses)
              fewer than FUZZY_MIN_HITS pages? engine.match(TOLERANT): the pages only
              OCR-tolerant matching finds (search.query.tolerant_clauses: fuzzy words,
              n-grams, code skeletons), after every exact hit, each scored by
              fuzzy_score below the lowest exact score, each marked ``near``
              nothing at all? did_you_mean: each word that finds nothing alone
              respelt as the nearest indexed word (Engine.terms_near) that does,
              kept only when the respelt query finds pages in scope
        ▼
    hits (snippets) and facets (search.results)

A backend subclasses ``SearchCore`` and supplies ``_engine()``: a context manager
yielding an ``Engine`` bound to its connection (or None when there is no index yet),
turning the engine's own errors into ``SearchError``. Engines differ only in how they
ask their database; what a page, a hit, a facet or the fuzzy tier means is here.

Scope. ``SearchFilters.stations`` (the stations a user may see; None: all) is part of
the engine query like any filter, so totals, facets and pages are counted inside it
by the engine. A ``thana`` filter outside those stations finds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from abhilekh.records import SearchFilters, station_key
from search.base import SearchResults
from search.normalise import is_latin
from search.query import FUZZY_MIN_HITS, ParsedQuery, check_query, edit_distance, fuzzy_score, parse_query
from search.results import Facets, Found, hits

__all__ = ["SUGGEST_LENGTHS", "Engine", "Scope", "SearchCore", "Tier", "did_you_mean", "nearest_terms", "suggest_edits"]

# "did you mean": words of 3-5 code points may be one edit off, longer ones two
SUGGEST_LENGTHS = (3, 6)
SUGGEST_TRIES = 5


class Tier(Enum):
    EXACT = "exact"  # search.query.clauses
    TOLERANT = "tolerant"  # search.query.tolerant_clauses, minus the exact matches


@dataclass(frozen=True)
class Scope:
    """The filters, as engines apply them. ``thana_keys``: None for every station, else
    the station keys a page's ``thana_key`` must be one of (empty: none at all)."""

    thana_keys: tuple[str, ...] | None = None
    register: str | None = None
    year: int | None = None

    @classmethod
    def of(cls, filters: SearchFilters | None) -> Scope:
        if filters is None:
            return cls()
        keys: tuple[str, ...] | None = None
        if filters.thana is not None and filters.thana.strip():
            keys = (station_key(filters.thana),)
        if filters.stations is not None:
            allowed = tuple(dict.fromkeys(k for k in map(station_key, filters.stations) if k))
            keys = allowed if keys is None else tuple(k for k in keys if k in allowed)
        register = filters.register if filters.register is not None and filters.register != "" else None
        year = int(filters.year) if filters.year is not None else None
        return cls(keys, register, year)

    @property
    def empty(self) -> bool:
        """No page can be in scope (no station allowed)."""
        return self.thana_keys == ()

    @property
    def filters_anything(self) -> bool:
        return self.thana_keys is not None or self.register is not None or self.year is not None


class Engine(Protocol):
    """One backend's way of asking its database, for the length of one search."""

    def browse(self, scope: Scope, limit: int, offset: int) -> Found:
        """Pages in scope in bundle / page order, score 0; facets of all of them."""
        ...

    def match(
        self, parsed: ParsedQuery, scope: Scope, tier: Tier, limit: int, offset: int, facets: bool = True
    ) -> Found | None:
        """Pages in scope matching `tier` of the query, best first (score, then bundle
        id, then page); facets of every match (when asked). None: the query has no
        such tier (TOLERANT: nothing to tolerate)."""
        ...

    def terms_near(self, token: str, edits: int) -> list[str]:
        """Indexed ``folded`` tokens that may be within ``edits`` of ``token`` (any
        order, a superset is fine: ``nearest_terms`` filters and orders them)."""
        ...


class SearchCore:
    """``search.base.SearchIndex.search`` for every backend."""

    def _engine(self) -> AbstractContextManager[Engine | None]:
        raise NotImplementedError

    def _window(self, limit: int, offset: int) -> int:
        """How many of the `limit` hits from `offset` the engine can return."""
        return limit

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
        Raises ``QueryRefused`` for a query that cannot be searched as typed.
        """
        parsed = check_query(query or "")
        limit = max(0, int(limit))
        offset = max(0, int(offset))
        scope = Scope.of(filters)
        if scope.empty or (parsed.is_empty and not scope.filters_anything):
            return SearchResults(hits=[], total=0, facets={})
        size = self._window(limit, offset)
        with self._engine() as engine:
            if engine is None:  # nothing indexed yet
                return SearchResults(hits=[], total=0, facets=Facets().shape())
            suggestion = None
            if parsed.is_empty:
                found = engine.browse(scope, size, offset)
            else:
                found = _with_fuzzy_tier(engine, parsed, scope, size, offset)
                if not found.total:
                    suggestion = did_you_mean(engine, query, parsed, scope)
        # snippets are cut after the engine is released
        return SearchResults(hits=hits(parsed, found.rows), total=found.total, facets=found.facets.shape(),
                             did_you_mean=suggestion)


def suggest_edits(term: str) -> int:
    """Edits "did you mean" may make to a word that finds nothing (by its length in
    code points): none below ``SUGGEST_LENGTHS[0]``, one below ``[1]``, else two."""
    n = len(term)
    return 0 if n < SUGGEST_LENGTHS[0] else 1 if n < SUGGEST_LENGTHS[1] else 2


def nearest_terms(term: str, edits: int, candidates: Iterable[str]) -> list[str]:
    """The candidates within ``edits`` of ``term``, nearest first (then in code point
    order): words of the same script, with digits only if ``term`` has some. A word two
    edits away must begin as ``term`` does: the rule of Lucene's spell checker (which
    Elasticsearch's term suggester runs), so both backends have the same candidates."""
    latin = is_latin(term)
    digits = any(c.isdigit() for c in term)
    found = []
    chars = set(term)
    for cand in set(candidates):
        # (SQLite's vocab holds tokens of 3 or more characters, not numbers); an edit
        # changes at most two distinct characters: a cheap exact filter first
        if cand == term or len(cand) < 3 or len(chars.symmetric_difference(cand)) > 2 * edits:
            continue
        if cand.isdigit() or is_latin(cand) != latin:
            continue
        if not digits and any(c.isdigit() for c in cand):
            continue
        d = edit_distance(term, cand, edits)
        if d > edits or (d >= 2 and cand[0] != term[0]):
            continue
        found.append((d, cand))
    return [c for _, c in sorted(found)]


def _finds(engine: Engine, parsed: ParsedQuery, scope: Scope) -> bool:
    return not parsed.is_empty and _with_fuzzy_tier(engine, parsed, scope, 0, 0).total > 0


def did_you_mean(engine: Engine, text: str, parsed: ParsedQuery, scope: Scope) -> str | None:
    """For a query that finds nothing: the typed text with each word that finds nothing
    on its own replaced by the nearest indexed word that does (``nearest_terms``, at
    most ``SUGGEST_TRIES`` tried per word), when the whole of it then finds pages in
    ``scope``; else None. Numbers, codes and quoted phrases are kept as typed."""
    fixes: dict[str, str] = {}
    for term in parsed.terms:
        edits = suggest_edits(term)
        if not edits or _finds(engine, parse_query(term), scope):
            continue
        for cand in nearest_terms(term, edits, engine.terms_near(term, edits))[:SUGGEST_TRIES]:
            if _finds(engine, parse_query(cand), scope):
                fixes[term] = cand
                break
    if not fixes:
        return None
    words = []
    for chunk in text.split():
        terms = parse_query(chunk).terms
        words.append(fixes.get(terms[0], chunk) if len(terms) == 1 and not parse_query(chunk).notations else chunk)
    suggestion = " ".join(words)
    return suggestion if _finds(engine, parse_query(suggestion), scope) else None


def _with_fuzzy_tier(engine: Engine, parsed: ParsedQuery, scope: Scope, size: int, offset: int) -> Found:
    first = engine.match(parsed, scope, Tier.EXACT, size, offset)
    assert first is not None  # every non-empty query has an exact tier
    if first.total >= FUZZY_MIN_HITS:
        return first
    more = engine.match(parsed, scope, Tier.TOLERANT, offset + size if size else 0, 0)
    if more is None or not more.total:
        return first
    # The exact hits from the top (all of them: fewer than FUZZY_MIN_HITS).
    exact = first if not offset and size >= first.total else engine.match(
        parsed, scope, Tier.EXACT, FUZZY_MIN_HITS, 0, facets=False
    )
    assert exact is not None
    floor = min((r.score for r in exact.rows), default=None)
    extra = [r.rescored(fuzzy_score(r.score, floor), near=True) for r in more.rows]
    rows = (exact.rows + extra)[offset : offset + size] if size else []
    return Found(rows, first.total + more.total, first.facets.add(more.facets))
