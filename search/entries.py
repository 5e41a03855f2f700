"""Register entries as their own search documents: one behaviour, two engines.

``search.entries_core`` holds the records (``EntryDocument``, ``EntryFilters``), the
indexed keys (``entry_row``) and the one query both engines answer (``EntryIndex.find``);
``search.entries_sqlite`` and ``search.entries_elastic`` are the engines;
``open_entries`` picks the one beside the page index the settings point at.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from search.entries_core import (
    FACETS,
    SHOWN,
    EntryDocument,
    EntryFilters,
    EntryIndex,
    EntryResults,
    EntryWhere,
    entry_row,
    entry_terms,
    place_key,
)

if TYPE_CHECKING:
    from abhilekh.settings import Settings

__all__ = ["FACETS", "SHOWN", "EntryDocument", "EntryFilters", "EntryIndex", "EntryResults", "EntryWhere",
           "entry_row", "entry_terms", "open_entries", "place_key"]


def open_entries(settings: Settings) -> EntryIndex:
    """The entries index beside the page index: ``<es_index>-entries`` in Elasticsearch,
    or ``<index file>-entries.sqlite`` next to the SQLite index."""
    if settings.es_url:
        from search.entries_elastic import ElasticEntries

        return ElasticEntries.from_settings(settings)
    from search.entries_sqlite import SqliteEntries

    return SqliteEntries(settings.index_path.with_name(settings.index_path.stem + "-entries.sqlite"))
