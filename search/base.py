"""The search-index interface: a derived index, rebuildable from storage."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from abhilekh.errors import AbhilekhError
from abhilekh.records import SearchDocument, SearchFilters, SearchHit

__all__ = ["QueryRefused", "SearchError", "SearchIndex", "SearchResults"]


class SearchError(AbhilekhError):
    """The index could not answer; the message says what to do.

    Transient by default (unreachable, timed out, 5xx); raisers pass
    ``transient=False`` for what waiting cannot fix (a wrong version, refused access).
    """

    transient = True


class QueryRefused(SearchError):
    """The query cannot be searched as typed (nothing to search for, or over a limit);
    the message says why and what the limit is. Asking again will not help."""

    transient = False
    exit_code = 2


@dataclass
class SearchResults:
    hits: list[SearchHit]
    total: int
    # facet name ("thana", "register", "year") -> value -> pages matching
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    # when nothing is found: the query with each word that finds nothing replaced by the
    # nearest word the index holds, when that query finds pages (search.core.did_you_mean)
    did_you_mean: str | None = None


class SearchIndex(Protocol):
    def index(self, docs: Iterable[SearchDocument]) -> int:
        """Add or replace pages (ids are deterministic); visible to search on return."""
        ...

    def search(
        self,
        query: str,
        filters: SearchFilters | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> SearchResults: ...

    def count(self, bundle_id: str | None = None) -> int:
        """Pages indexed, in all or in one bundle."""
        ...

    def bundle_page_counts(self) -> dict[str, int]:
        """bundle_id -> pages indexed, for reconciling against storage."""
        ...

    def generation(self) -> int | None:
        """A number that changes whenever the pages change (any writer), for caches of
        results; None: the backend cannot tell cheaply (do not cache)."""
        ...

    def delete_bundle(self, bundle_id: str) -> None: ...

    def clear(self) -> None:
        """Drop every page (the index is derived; storage keeps the truth)."""
        ...

    def rebuild(self, docs: Iterable[SearchDocument]) -> int:
        """Replace every page by `docs`; the number of distinct pages afterwards.

        Both build the new pages beside the old ones and switch only when they are
        all in (Elasticsearch: a new index, then the alias; SQLite: a new file, then one
        transaction), so searches answer from the old pages until then and a rebuild
        that fails leaves the index as it was."""
        ...

    def check(self) -> None:
        """Raise SearchError saying what is wrong when this index cannot be used."""
        ...

    def close(self) -> None: ...

    def describe(self) -> str: ...
