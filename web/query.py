"""The search page's query string, read leniently, and the app's own URLs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from abhilekh.records import BundleMetadata, SearchFilters
from search.query import MAX_QUERY_CHARS

PAGE_SIZE = 10
MAX_LIMIT = 100
MAX_OFFSET = 10_000  # Elasticsearch's default result window
MAX_QUERY = MAX_QUERY_CHARS  # longer queries are refused by the search, with a message


@dataclass
class Query:
    q: str
    filters: SearchFilters
    limit: int
    offset: int

    @property
    def active(self) -> bool:
        """Words to search for, or at least a filter to browse by."""
        f = self.filters
        return bool(self.q or f.thana or f.register or f.year is not None)

    def url(self, **changes: Any) -> str:
        values: dict[str, Any] = {
            "q": self.q,
            "thana": self.filters.thana,
            "register": self.filters.register,
            "year": self.filters.year,
            "limit": self.limit if self.limit != PAGE_SIZE else None,
            "offset": self.offset or None,
        }
        values.update(changes)
        kept = {k: v for k, v in values.items() if v not in (None, "")}
        return "/?" + urlencode(kept) if kept else "/"


def text_param(value: str | None, limit: int = 200) -> str | None:
    value = (value or "").strip()[:limit]
    return value or None


def query_param(value: str | None) -> str:
    """The search words as typed, never cut: a query over the limit is refused by the
    search with a message that states it (search.query.check_query)."""
    return (value or "").strip()


def int_param(value: str | None, default: int, low: int, high: int) -> int:
    try:
        number = int((value or "").strip())
    except ValueError:
        return default
    return min(max(number, low), high)


def year_param(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) <= 4 else None


def query_from(params: Mapping[str, str]) -> Query:
    """The page's query string, read leniently: a bad value falls back, never a 422."""
    return Query(
        q=query_param(params.get("q")),
        filters=SearchFilters(
            thana=text_param(params.get("thana")),
            register=text_param(params.get("register")),
            year=year_param(params.get("year")),
        ),
        limit=int_param(params.get("limit"), PAGE_SIZE, 1, MAX_LIMIT),
        offset=int_param(params.get("offset"), 0, 0, MAX_OFFSET),
    )


def pdf_url(bundle_id: str, page: int | None = None) -> str:
    """The PDF, opened at `page`: the query names the page for the audit log (a
    #fragment never reaches the server), the fragment tells the PDF viewer."""
    url = f"/bundles/{bundle_id}/document.pdf"
    return f"{url}?page={page}#page={page}" if page else url


def page_url(bundle_id: str, page: int, q: str = "", back: str = "") -> str:
    """The page viewer; with `q`, the query's words are boxed on the page image; with
    `back`, its "Back to search" returns to that search (query, filters, offset)."""
    return with_params(f"/bundles/{bundle_id}/pages/{page}", q=q, back=back)


def with_params(url: str, **params: str) -> str:
    kept = {k: v for k, v in params.items() if v}
    return f"{url}?{urlencode(kept)}" if kept else url


def back_param(value: str | None) -> str:
    """The search a page was opened from: only this app's search page, else none."""
    value = (value or "").strip()
    if value == "/" or (value.startswith("/?") and not any(c in value for c in "\r\n\t\\")):
        return value[:2000]
    return ""


def thumb_url(bundle_id: str, page: int) -> str:
    return f"/bundles/{bundle_id}/pages/{page}/thumb.jpg"


def years_label(meta: BundleMetadata) -> str:
    if meta.year is None:
        return ""
    if meta.year_to and meta.year_to > meta.year:
        return f"{meta.year}–{meta.year_to}"
    return str(meta.year)


def facet_options(facets: dict[str, dict[str, int]], name: str, selected: Any) -> list[dict[str, Any]]:
    counts = {str(k): v for k, v in facets.get(name, {}).items() if str(k).strip()}
    if name == "year":
        values = sorted(counts, key=lambda v: (not v.isdigit(), -int(v) if v.isdigit() else 0, v))
    else:
        values = sorted(counts, key=lambda v: (-counts[v], v))
    chosen = "" if selected is None else str(selected)
    if chosen and chosen not in counts:
        values.insert(0, chosen)
    return [{"value": v, "count": counts.get(v), "selected": v == chosen} for v in values]
