"""The one indexed-page builder: what every backend stores for a page.

``indexed_page(doc)`` turns a ``SearchDocument`` into the fields an engine writes, so
SQLite and Elasticsearch store the same station key, the same searchable text and the
same year range, computed here once:

    searchable = text + title + file no + thana      (one line each)
    folded, translit, grams, loose = index_fields(searchable)   (search.normalise)
    thana_key = station_key(thana)                   (abhilekh.records: strip + casefold)
    year_end  = year_to when it is a valid end of the range, else year
    years     = year .. year_end, at most MAX_FACET_YEARS of them (the year facet)

``fold_record(doc)`` is that fold as a record to keep with the page (ingest stores it
in the page JSON): ``indexed_page`` reuses a record made by the same folding code
(``FOLD_VERSION``, a fingerprint of search/normalise/) of the same searchable text, so
a reindex from storage does not fold again.

``unique_pages(docs)`` de-duplicates by id the way both backends' ``index`` do: a page
given twice is written once, with its last version, in the order first seen.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from abhilekh.records import SearchDocument, station_key
from search.normalise import index_fields
from search.normalise.indexing import IndexFields

__all__ = [
    "FOLD_VERSION", "MAX_FACET_YEARS", "IndexedPage", "fold_record", "indexed_page", "indexed_pages", "searchable_text",
    "unique_pages", "year_range",
]

MAX_FACET_YEARS = 200  # a page's year range is counted in at most this many years


@dataclass(frozen=True)
class IndexedPage:
    id: str  # <bundle_id>:<page>
    bundle_id: str
    page: int
    text: str  # raw OCR text, for snippets and display
    folded: str  # index_fields(searchable_text).folded: first tier
    translit: str  # .translit: first tier
    grams: str  # .grams: character n-grams, second tier
    loose: str  # .loose: code skeletons and loose keys, second tier
    thana: str
    thana_key: str
    register: str
    file_no: str
    title: str
    year: int | None
    year_to: int | None
    year_end: int | None
    years: tuple[int, ...]
    confidence: float
    needs_review: bool


def searchable_text(doc: SearchDocument) -> str:
    """Everything a query may find on the page: its text and its bundle's metadata."""
    md = doc.metadata
    return "\n".join((doc.text or "", md.title or "", md.file_no or "", md.thana or ""))


def year_range(year: int | None, year_to: int | None) -> tuple[int | None, tuple[int, ...]]:
    """(year_end, years) of a bundle's year or range; a range ending before it starts
    is read as the single year."""
    if year is None:
        return None, ()
    end = year_to if year_to is not None and year_to >= year else year
    return end, tuple(range(year, min(end, year + MAX_FACET_YEARS - 1) + 1))


def _fold_version() -> str:
    """The folding code's own fingerprint: folds recorded by another version are not reused."""
    digest = hashlib.sha256()
    for path in sorted((Path(__file__).parent / "normalise").glob("*.py")) + [Path(__file__)]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


FOLD_VERSION = _fold_version()


def _text_key(searchable: str) -> str:
    return hashlib.blake2b(searchable.encode("utf-8"), digest_size=12).hexdigest()


def fold_record(doc: SearchDocument) -> dict[str, str]:
    """A page's index fields, to be stored with the page (``SearchDocument.index_fields``),
    tagged with the folding code's version and the searchable text they were made of."""
    searchable = searchable_text(doc)
    fields = index_fields(searchable)
    return {"version": FOLD_VERSION, "text_key": _text_key(searchable), **fields._asdict()}


def _fields(doc: SearchDocument) -> IndexFields:
    """The recorded fold when it is still what folding would give, else a fresh fold."""
    searchable = searchable_text(doc)
    rec = doc.index_fields
    if rec and rec.get("version") == FOLD_VERSION and rec.get("text_key") == _text_key(searchable):
        try:
            return IndexFields(rec["folded"], rec["translit"], rec["grams"], rec["loose"])
        except KeyError:
            pass
    return index_fields(searchable)


def indexed_page(doc: SearchDocument) -> IndexedPage:
    md = doc.metadata
    fields = _fields(doc)
    year_end, years = year_range(md.year, md.year_to)
    return IndexedPage(
        id=doc.id,
        bundle_id=doc.bundle_id,
        page=int(doc.page),
        text=doc.text or "",
        folded=fields.folded,
        translit=fields.translit,
        grams=fields.grams,
        loose=fields.loose,
        thana=md.thana or "",
        thana_key=station_key(md.thana),
        register=md.register or "",
        file_no=md.file_no or "",
        title=md.title or "",
        year=md.year,
        year_to=md.year_to,
        year_end=year_end,
        years=years,
        confidence=float(doc.confidence),
        needs_review=bool(doc.needs_review),
    )


def unique_pages(docs: Iterable[SearchDocument]) -> list[SearchDocument]:
    """Each id once, its last version, in the order the ids were first seen."""
    unique: dict[str, SearchDocument] = {}
    for doc in docs:
        unique[doc.id] = doc
    return list(unique.values())


def indexed_pages(docs: Iterable[SearchDocument]) -> Iterator[IndexedPage]:
    """``indexed_page`` of each document, lazily (folding is the costly part)."""
    for doc in docs:
        yield indexed_page(doc)
