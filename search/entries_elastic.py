"""The entries index in Elasticsearch: ``<es_index>-entries``, keyword fields only.

Every key is made in Python (``search.entries.entry_row``), as for pages, so a filter
is a ``term``/``terms`` on the very keys SQLite compares, and facets are terms
aggregations over the same matches (one request with the hits).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import elastic_transport
from elasticsearch import ApiError, Elasticsearch, helpers

from search.base import SearchError
from search.entries_core import EntryDocument, EntryIndex, EntryWhere, entry_row

if TYPE_CHECKING:
    from abhilekh.settings import Settings

_KW = {"type": "keyword"}
MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "bundle_id": _KW, "page": {"type": "integer"}, "idx": {"type": "integer"}, "thana_key": _KW,
        "crime_year": {"type": "integer"}, "sections": _KW, "act": _KW, "act_key": _KW, "station": _KW,
        "station_key": _KW, "village_key": _KW, "outcome": _KW, "terms": _KW,
        "doc": {"type": "keyword", "index": False, "doc_values": False},
    },
}
FACET_SIZE = 200


class ElasticEntries(EntryIndex):
    def __init__(self, url: str, name: str, shards: int = 1) -> None:
        hosts = [u.strip().rstrip("/") for u in url.split(",") if u.strip()]
        self.url, self.name = ",".join(hosts), name
        self.client = Elasticsearch(hosts, request_timeout=30.0, max_retries=len(hosts), retry_on_timeout=False)
        self.shards = shards
        self._ready = False

    @classmethod
    def from_settings(cls, settings: Settings) -> ElasticEntries:
        if not settings.es_url:
            raise SearchError("ABHILEKH_ES_URL is not set: no Elasticsearch configured", transient=False)
        return cls(settings.es_url, f"{settings.es_index}-entries", shards=settings.es_shards)

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except SearchError:
            raise
        except helpers.BulkIndexError as exc:
            raise SearchError(f"{doing}: Elasticsearch at {self.url} refused {len(exc.errors)} entries") from None
        except elastic_transport.ConnectionError:
            raise SearchError(f"{doing}: cannot reach Elasticsearch at {self.url}") from None
        except ApiError as exc:
            raise SearchError(f"{doing}: Elasticsearch at {self.url} answered {exc.meta.status}: {exc.message}",
                              transient=exc.meta.status in (429, 502, 503, 504)) from None
        except elastic_transport.TransportError as exc:
            raise SearchError(f"{doing}: Elasticsearch at {self.url}: {exc}") from None

    def _prepare(self, create: bool) -> bool:
        if self._ready:
            return True
        if self.client.indices.exists(index=self.name):
            self._ready = True
        elif create:
            try:
                self.client.indices.create(index=self.name, mappings=MAPPING,
                                           settings={"number_of_shards": self.shards, "auto_expand_replicas": "0-1"})
            except ApiError as exc:
                if exc.meta.status != 400 or "already_exists" not in str(exc):
                    raise
            self._ready = True
        return self._ready

    def _actions(self, docs: Iterable[EntryDocument]) -> Iterator[dict[str, Any]]:
        for doc in docs:
            row = entry_row(doc)
            yield {"_index": self.name, "_id": row.pop("id"), "_source": row}

    def index_bundle(self, bundle_id: str, docs: Iterable[EntryDocument]) -> int:
        with self._errors(f"indexing the entries of {bundle_id[:12]}"):
            self._prepare(create=True)
            self._delete_bundle(bundle_id)
            helpers.bulk(self.client, self._actions(d for d in docs if d.bundle_id == bundle_id), refresh="wait_for")
        return self.count(bundle_id)

    def _delete_bundle(self, bundle_id: str) -> None:
        # By ids, not _delete_by_query: that lives in the reindex module, which a minimal
        # server (the integ-test distribution) does not have.
        hits = helpers.scan(self.client, index=self.name, query={"query": {"term": {"bundle_id": bundle_id}}},
                            _source=False)
        helpers.bulk(self.client, ({"_op_type": "delete", "_index": self.name, "_id": h["_id"]} for h in hits),
                     refresh="wait_for", raise_on_error=False)

    def rebuild(self, docs: Iterable[EntryDocument]) -> int:
        with self._errors(f"rebuilding {self.name!r}"):
            self.client.indices.delete(index=self.name, ignore_unavailable=True)
            self._ready = False
            self._prepare(create=True)
            helpers.bulk(self.client, self._actions(docs), refresh="wait_for")
        return self.count()

    def delete_bundle(self, bundle_id: str) -> None:
        with self._errors(f"removing the entries of {bundle_id[:12]}"):
            if self._prepare(create=False):
                self._delete_bundle(bundle_id)

    def count(self, bundle_id: str | None = None) -> int:
        with self._errors(f"counting entries in {self.name!r}"):
            if not self._prepare(create=False):
                return 0
            q = {"term": {"bundle_id": bundle_id}} if bundle_id else {"match_all": {}}
            return int(self.client.count(index=self.name, query=q)["count"])

    def bundle_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        with self._errors(f"counting bundles in {self.name!r}"):
            if not self._prepare(create=False):
                return out
            after: dict[str, Any] | None = None
            while True:
                composite: dict[str, Any] = {"size": 1000, "sources": [{"bundle_id": {"terms": {"field": "bundle_id"}}}]}
                if after:
                    composite["after"] = after
                resp = self.client.search(index=self.name, size=0, aggs={"bundles": {"composite": composite}})
                agg = resp["aggregations"]["bundles"]
                for bucket in agg["buckets"]:
                    out[bucket["key"]["bundle_id"]] = int(bucket["doc_count"])
                after = agg.get("after_key")
                if not after or not agg["buckets"]:
                    break
        return out

    def drop(self) -> None:
        """Delete the entries index (tests)."""
        with self._errors(f"dropping {self.name!r}"):
            self.client.indices.delete(index=self.name, ignore_unavailable=True)
            self._ready = False

    @contextmanager
    def _engine(self) -> Iterator[_Engine | None]:
        with self._errors(f"finding entries in {self.name!r}"):
            yield _Engine(self) if self._prepare(create=False) else None

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:  # noqa: BLE001 - closing must not fail
            pass

    def describe(self) -> str:
        return f"Elasticsearch entries index {self.name!r} at {self.url}"


def where_dsl(w: EntryWhere) -> dict[str, Any]:
    filters: list[dict[str, Any]] = []
    for name, val in (("crime_year", w.crime_year), ("act_key", w.act), ("station_key", w.station),
                      ("village_key", w.village), ("outcome", w.outcome), ("bundle_id", w.bundle_id), ("page", w.page),
                      ("sections", w.section)):
        if val is not None:
            filters.append({"term": {name: val}})
    if w.thana_keys is not None:
        filters.append({"terms": {"thana_key": list(w.thana_keys)}})
    for alts in w.words:
        filters.append({"terms": {"terms": list(alts)}})
    return {"bool": {"filter": filters}} if filters else {"match_all": {}}


class _Engine:
    def __init__(self, index: ElasticEntries) -> None:
        self.index = index

    def find(self, where: EntryWhere, limit: int, offset: int) -> tuple[list[str], int, dict[str, dict[str, int]]]:
        aggs = {name: {"terms": {"field": field, "size": FACET_SIZE}}
                for name, field in (("section", "sections"), ("act", "act"), ("crime_year", "crime_year"),
                                    ("station", "station"), ("outcome", "outcome"))}
        resp = self.index.client.search(
            index=self.index.name, query=where_dsl(where), size=limit, from_=offset, track_total_hits=True,
            sort=[{"bundle_id": "asc"}, {"page": "asc"}, {"idx": "asc"}], aggs=aggs, source_includes=["doc"])
        docs = [h["_source"]["doc"] for h in resp["hits"]["hits"]]
        facets = {name: {str(b["key"]): int(b["doc_count"]) for b in resp["aggregations"][name]["buckets"]
                         if str(b["key"]) != ""} for name in aggs}
        return docs, int(resp["hits"]["total"]["value"]), facets

    def on_pages(self, pages: list[tuple[str, int]], thana_keys: tuple[str, ...] | None,
                 limit: int) -> list[str]:
        pairs = [{"bool": {"filter": [{"term": {"bundle_id": b}}, {"term": {"page": p}}]}} for b, p in pages]
        filters: list[dict[str, Any]] = [{"bool": {"should": pairs, "minimum_should_match": 1}}]
        if thana_keys is not None:
            filters.append({"terms": {"thana_key": list(thana_keys)}})
        resp = self.index.client.search(
            index=self.index.name, query={"bool": {"filter": filters}}, size=limit, track_total_hits=False,
            sort=[{"bundle_id": "asc"}, {"page": "asc"}, {"idx": "asc"}], source_includes=["doc"])
        return [h["_source"]["doc"] for h in resp["hits"]["hits"]]
