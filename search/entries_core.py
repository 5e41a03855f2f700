"""Register entries as search documents: the records and the one core both engines share.

``EntryIndex.find(filters)`` is the whole of an entry query, written once here: the
filters are turned into an ``EntryWhere`` (folded, transliterated keys), the engine
(``search.entries_sqlite``, ``search.entries_elastic``) returns the matching entries in
bundle / page / row order and the facet counts over all of them, and this module
shapes the answer. What an entry stores (``entry_row``) is also made here, so both
engines index the very same keys.

Filters: section ("379"), act ("IPC"), crime year, station of the case (तिर्वा or
Tirwa), village, outcome (charge_sheet, final_report, arrested, investigation),
words (every word must be one of the entry's values, in either script), bundle and
page, and the scope of stations the asker may see (the bundle's thana, as for pages).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from abhilekh.records import BundleMetadata, station_key
from search.normalise import fold, transliterate

__all__ = ["FACETS", "SHOWN", "EntryDocument", "EntryFilters", "EntryIndex", "EntryResults", "EntryWhere", "entry_row",
           "entry_terms"]

FACETS = ("section", "act", "crime_year", "station", "outcome")
# What an officer is shown of an entry, in this order (hit cards, CSV/XLSX columns).
SHOWN = ("serial", "crime_no", "sections", "act", "date", "complainant.name", "complainant.relative",
         "complainant.village", "accused.name", "station", "vehicle", "engine", "chassis", "mobile", "outcome",
         "file_no", "letter_date", "subject")


@dataclass(frozen=True)
class EntryDocument:
    """One entry as the index keeps it; id ``<bundle_id>:<page>:<index>``."""

    bundle_id: str
    page: int
    index: int
    kind: str  # "row" or "letter"
    box: list[int]
    values: dict[str, str]  # field -> normalised value
    texts: dict[str, str] = field(default_factory=dict)  # field -> text as read
    confidence: dict[str, float] = field(default_factory=dict)
    metadata: BundleMetadata = field(default_factory=BundleMetadata)

    @property
    def id(self) -> str:
        return f"{self.bundle_id}:{self.page}:{self.index}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "id": self.id}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EntryDocument:
        return cls(str(d["bundle_id"]), int(d["page"]), int(d["index"]), str(d.get("kind", "row")),
                   list(d.get("box") or []), dict(d.get("values") or {}), dict(d.get("texts") or {}),
                   dict(d.get("confidence") or {}), BundleMetadata.from_dict(d.get("metadata") or {}))


def place_key(text: str | None) -> str:
    """A station or village as filters compare it: transliterated, so तिर्वा, Tirwa and
    TIRWA are one; a "थाना" before it is no part of the name."""
    words = [w for w in fold(text or "").split() if w not in ("थाना", "thana", "ps")]
    return transliterate(" ".join(words)).strip()


def crime_year(value: str | None) -> int | None:
    if not value or "/" not in value:
        return None
    try:
        return int(value.rsplit("/", 1)[1])
    except ValueError:
        return None


def _terms(doc: EntryDocument) -> list[str]:
    text = " ".join(v for k, v in doc.values.items() if k not in ("outcome",))
    return sorted(set(fold(text).split()) | set(transliterate(text).split()))


def entry_terms(doc: EntryDocument) -> list[str]:
    """The words an entry is found by (``entry_row``'s "terms"), without the rest of its row."""
    return _terms(doc)


def entry_row(doc: EntryDocument) -> dict[str, Any]:
    """The indexed keys of an entry: the same in both engines."""
    v = doc.values
    return {
        "id": doc.id,
        "bundle_id": doc.bundle_id,
        "page": doc.page,
        "idx": doc.index,
        "thana_key": station_key(doc.metadata.thana),
        "crime_year": crime_year(v.get("crime_no")),
        "sections": sorted({s.strip().upper() for s in (v.get("sections") or "").split(",") if s.strip()}),
        "act": v.get("act") or "",
        "act_key": (v.get("act") or "").casefold(),
        "station": v.get("station") or "",
        "station_key": place_key(v.get("station")),
        "village_key": place_key(v.get("complainant.village")),
        "outcome": v.get("outcome") or "",
        "terms": _terms(doc),
        "doc": json.dumps(doc.to_dict(), ensure_ascii=False),
    }


@dataclass(frozen=True)
class EntryFilters:
    section: str | None = None
    act: str | None = None
    crime_year: int | None = None
    station: str | None = None  # the case's police station (as printed on the entry)
    village: str | None = None
    outcome: str | None = None
    words: str | None = None
    bundle_id: str | None = None
    page: int | None = None
    thana: str | None = None  # the bundle's station (its metadata), as for pages
    stations: tuple[str, ...] | None = None  # the asker's scope; None: every station


@dataclass(frozen=True)
class EntryWhere:
    """The filters as engines apply them: each None means "any"."""

    section: str | None = None
    act: str | None = None
    crime_year: int | None = None
    station: str | None = None
    village: str | None = None
    outcome: str | None = None
    words: tuple[tuple[str, ...], ...] = ()  # per typed word, the keys any of which it may match
    bundle_id: str | None = None
    page: int | None = None
    thana_keys: tuple[str, ...] | None = None

    @classmethod
    def of(cls, f: EntryFilters | None) -> EntryWhere:
        if f is None:
            return cls()
        def text(s: str | None) -> str | None:
            return s.strip() if s is not None and s.strip() else None
        keys: tuple[str, ...] | None = None
        if text(f.thana):
            keys = (station_key(f.thana),)
        if f.stations is not None:
            allowed = tuple(dict.fromkeys(k for k in map(station_key, f.stations) if k))
            keys = allowed if keys is None else tuple(k for k in keys if k in allowed)
        words = tuple(tuple(dict.fromkeys([w, *transliterate(w).split()])) for w in fold(f.words or "").split())
        section = text(f.section)
        return cls(
            section=section.upper().replace(" ", "") if section else None,
            act=text(f.act).casefold() if text(f.act) else None,  # type: ignore[union-attr]
            crime_year=int(f.crime_year) if f.crime_year is not None else None,
            station=place_key(f.station) or None if text(f.station) else None,
            village=place_key(f.village) or None if text(f.village) else None,
            outcome=text(f.outcome),
            words=words,
            bundle_id=text(f.bundle_id),
            page=int(f.page) if f.page is not None else None,
            thana_keys=keys,
        )

    @property
    def empty(self) -> bool:
        return self.thana_keys == ()


@dataclass
class EntryResults:
    entries: list[EntryDocument]
    total: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)  # FACETS -> value -> entries


class EntryEngine(Protocol):
    def find(self, where: EntryWhere, limit: int, offset: int) -> tuple[list[str], int, dict[str, dict[str, int]]]:
        """(stored docs in bundle/page/row order, total, facet counts over all matches)."""
        ...

    def on_pages(self, pages: list[tuple[str, int]], thana_keys: tuple[str, ...] | None,
                 limit: int) -> list[str]:
        """Stored docs of the entries on any of PAGES (bundle id, page) within the
        stations, in bundle/page/row order, at most LIMIT in all; no counts."""
        ...


class EntryIndex:
    """The entries index of either backend: write, rebuild, find."""

    def _engine(self) -> AbstractContextManager[EntryEngine | None]:
        raise NotImplementedError

    def index_bundle(self, bundle_id: str, docs: Iterable[EntryDocument]) -> int:
        """Replace the bundle's entries by DOCS; how many it has now."""
        raise NotImplementedError

    def rebuild(self, docs: Iterable[EntryDocument]) -> int:
        """Replace every entry by DOCS; how many there are now."""
        raise NotImplementedError

    def count(self, bundle_id: str | None = None) -> int:
        raise NotImplementedError

    def delete_bundle(self, bundle_id: str) -> None:
        raise NotImplementedError

    def bundle_counts(self) -> dict[str, int]:
        """bundle_id -> entries indexed (bundles with none are absent)."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    def find(self, filters: EntryFilters | None = None, limit: int = 50, offset: int = 0) -> EntryResults:
        """Entries matching every filter, in bundle / page / row order, with facets."""
        where = EntryWhere.of(filters)
        if where.empty:
            return EntryResults([], 0, {k: {} for k in FACETS})
        with self._engine() as engine:
            if engine is None:
                return EntryResults([], 0, {k: {} for k in FACETS})
            docs, total, facets = engine.find(where, max(0, int(limit)), max(0, int(offset)))
        return EntryResults([EntryDocument.from_dict(json.loads(d)) for d in docs], total,
                            {k: dict(sorted(facets.get(k, {}).items(), key=lambda kv: (-kv[1], kv[0]))) for k in FACETS})

    def on_pages(self, pages: Iterable[tuple[str, int]], stations: tuple[str, ...] | None = None,
                 per_page: int = 100) -> dict[tuple[str, int], list[EntryDocument]]:
        """The entries of each of PAGES (bundle id, page), up to PER_PAGE each, inside
        STATIONS (None: every station): one engine query for all the pages (a search's
        hits), where ``find`` per page would be one query and its counts per hit."""
        wanted = list(dict.fromkeys((b, int(p)) for b, p in pages))
        out: dict[tuple[str, int], list[EntryDocument]] = {}
        where = EntryWhere.of(EntryFilters(stations=stations))
        if not wanted or where.empty:
            return out
        with self._engine() as engine:
            if engine is None:
                return out
            docs = engine.on_pages(wanted, where.thana_keys, per_page * len(wanted))
        for d in docs:
            e = EntryDocument.from_dict(json.loads(d))
            got = out.setdefault((e.bundle_id, e.page), [])
            if len(got) < per_page:
                got.append(e)
        return out

    def iter_all(self, filters: EntryFilters | None = None, page_size: int = 500) -> Iterator[EntryDocument]:
        """Every matching entry, page by page (exports)."""
        offset = 0
        while True:
            got = self.find(filters, page_size, offset)
            yield from got.entries
            offset += len(got.entries)
            if not got.entries or offset >= got.total:
                return
