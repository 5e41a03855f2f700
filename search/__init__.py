"""search/: the derived page index (SQLite FTS5 embedded, or Elasticsearch)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from search.base import SearchError, SearchIndex, SearchResults

if TYPE_CHECKING:
    from abhilekh.settings import Settings

__all__ = ["SearchError", "SearchIndex", "SearchResults", "open_index"]


def open_index(settings: Settings) -> SearchIndex:
    """The index the settings point at: Elasticsearch when a URL is set, else SQLite."""
    if settings.es_url:
        from search.elastic import ElasticIndex

        return ElasticIndex.from_settings(settings)
    from search.sqlite import SqliteIndex

    return SqliteIndex(settings.index_path)
