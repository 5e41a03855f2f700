"""The one hit and facet builder: what every backend answers, shaped the same way.

An engine hands back ``Row``s (a page as stored, with the engine's score) and adds its
counts to a ``Facets``; ``hits`` and ``Facets.shape`` turn them into what callers see:

- a hit's snippet is cut from the raw OCR text by ``search.snippet.make_snippet``;
- facet "thana" is keyed by station (``station_key``) and labelled with the spelling
  most pages of that station carry (a tie goes to the spelling that sorts last, so
  the label does not depend on the order an engine returns groups in);
- facet "register" by exact value, "year" by every year a page's range covers;
- values are sorted by count (then value); years in calendar order; empty values
  are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from abhilekh.records import BundleMetadata, SearchHit, station_key
from search.page import MAX_FACET_YEARS
from search.query import ParsedQuery
from search.snippet import make_snippet

__all__ = ["SNIPPET_WIDTH", "Facets", "Found", "Row", "hits"]

SNIPPET_WIDTH = 200


@dataclass(frozen=True)
class Row:
    """One page as an engine found it."""

    bundle_id: str
    page: int
    text: str  # raw OCR text
    metadata: BundleMetadata
    confidence: float
    needs_review: bool
    score: float
    near: bool = False  # found only by the OCR-tolerant tier

    def rescored(self, score: float, near: bool = False) -> Row:
        return replace(self, score=score, near=near)


@dataclass
class Facets:
    """Pages per raw thana spelling, register and year, added up across engine calls."""

    thana: dict[str, int] = field(default_factory=dict)
    register: dict[str, int] = field(default_factory=dict)
    year: dict[int, int] = field(default_factory=dict)

    def add_thana(self, thana: str, n: int) -> None:
        if station_key(thana):
            label = thana.strip()
            self.thana[label] = self.thana.get(label, 0) + n

    def add_register(self, register: str, n: int) -> None:
        if register != "":
            self.register[register] = self.register.get(register, 0) + n

    def add_year(self, year: int, n: int) -> None:
        self.year[year] = self.year.get(year, 0) + n

    def add_years(self, year: int | None, year_end: int | None, n: int) -> None:
        """A group of `n` pages covering year..year_end (capped as the index caps it)."""
        if year is None:
            return
        end = min(year_end if year_end is not None else year, year + MAX_FACET_YEARS - 1)
        for y in range(year, end + 1):
            self.add_year(y, n)

    def add(self, other: Facets) -> Facets:
        """Both counts summed (other counts pages disjoint from these)."""
        for thana, n in other.thana.items():
            self.thana[thana] = self.thana.get(thana, 0) + n
        for register, n in other.register.items():
            self.add_register(register, n)
        for year, n in other.year.items():
            self.add_year(year, n)
        return self

    def shape(self) -> dict[str, dict[str, int]]:
        """{"thana" | "register" | "year": value -> pages}, as SearchResults carries it."""
        counts: dict[str, int] = {}
        votes: dict[str, dict[str, int]] = {}
        for label, n in self.thana.items():
            key = station_key(label)
            counts[key] = counts.get(key, 0) + n
            votes.setdefault(key, {})[label] = votes.get(key, {}).get(label, 0) + n
        thanas = {max(votes[k].items(), key=lambda kv: (kv[1], kv[0]))[0]: n for k, n in counts.items()}
        return {
            "thana": dict(sorted(thanas.items(), key=lambda kv: (-kv[1], kv[0]))),
            "register": dict(sorted(self.register.items(), key=lambda kv: (-kv[1], kv[0]))),
            "year": {str(y): self.year[y] for y in sorted(self.year)},
        }


@dataclass
class Found:
    """What one engine call found: the rows asked for, every match counted."""

    rows: list[Row]
    total: int
    facets: Facets = field(default_factory=Facets)


def hits(parsed: ParsedQuery, rows: list[Row]) -> list[SearchHit]:
    """The rows as hits, each with its snippet."""
    out = []
    for row in rows:
        plain, markup = make_snippet(row.text, parsed, SNIPPET_WIDTH)
        out.append(
            SearchHit(
                bundle_id=row.bundle_id,
                page=int(row.page),
                score=float(row.score),
                snippet=plain,
                snippet_html=markup,
                metadata=row.metadata,
                confidence=float(row.confidence),
                needs_review=bool(row.needs_review),
                near=row.near,
            )
        )
    return out
