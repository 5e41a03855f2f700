"""The production search index: Elasticsearch, through the official client.

It answers like ``search.sqlite.SqliteIndex`` because both are engines under one core:
the same indexed page (``search.page``), the same search with its fuzzy tier
(``search.core``), the same hits and facets (``search.results``). Here:

- every page is folded and transliterated in Python (``search.normalise``) before it
  reaches Elasticsearch; the fields ``folded`` and ``translit`` hold those tokens joined
  by spaces and use the built-in ``whitespace`` analyzer, so ES indexes exactly the
  tokens SQLite indexes (the Maven integ-test server has no analysis-common/ICU anyway);
- the second tier's fields ``grams`` (character n-grams, made in Python:
  this server has no ngram tokenizer) and ``loose`` (code skeletons) are whitespace
  text fields too;
- queries are built only from ``search.query.clauses`` / ``tolerant_clauses`` /
  ``proximity_boost`` (``match_phrase`` / ``prefix`` / ``match_phrase_prefix`` /
  ``fuzzy`` on those fields, weighted by ``FIELD_WEIGHTS``; ``span_near`` for a name's
  words near each other); no typed character ever reaches ES query syntax;
- filters are ``term``/``range`` filters on keyword fields; facets are terms
  aggregations counted in the same ``_msearch`` round trip as the hits.

Pages live in a versioned index ``<es_index>-v<timestamp>`` behind the alias
``settings.es_index``: ``rebuild`` and ``clear`` write a new index and switch the alias
atomically, so searches never see a half-built index. The first index of a fresh alias
has the fixed name ``<es_index>-v00000000000000000000``, so machines creating it at
once end with one index, not an alias over two.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import elastic_transport
from elasticsearch import ApiError, Elasticsearch, NotFoundError, UnsupportedProductError, helpers
from elasticsearch import __version__ as _client_version
from elasticsearch.serializer import OrjsonSerializer

from abhilekh.records import BundleMetadata, SearchDocument
from search.base import SearchError
from search.core import Scope, SearchCore, Tier
from search.normalise import NORMALISE_VERSION
from search.page import IndexedPage, indexed_pages, unique_pages
from search.query import (
    FIELD_WEIGHTS,
    FUZZY_MAX_EXPANSIONS,
    Match,
    ParsedQuery,
    clauses,
    proximity_boost,
    tolerant_clauses,
)
from search.results import Facets, Found, Row

if TYPE_CHECKING:
    from abhilekh.settings import Settings

__all__ = ["MAPPING", "SCHEMA_VERSION", "ElasticIndex", "query_dsl", "tolerant_query_dsl"]

SCHEMA_VERSION = 2  # 2: the grams and loose fields
FACET_SIZE = 1000
MAX_WINDOW = 10_000  # index.max_result_window
SUGGEST_SIZE = 50  # candidates per word for "did you mean" (search.core.did_you_mean)
BULK_CHUNK = 500
BULK_THREADS = 3  # bulk requests in flight at once (ElasticIndex._bulk)
REBUILD_BATCH = 5000  # pages per bulk load in rebuild()
CLIENT_MAJOR = _client_version[0]

_KEYWORD = {"type": "keyword", "ignore_above": 2048}


class _OneLineRetries(logging.Filter):
    """The client logs each retry on another node with ``exc_info``: the whole urllib3
    chain, ~60 lines a request, in an ingest's log while a node is down. The error
    itself still reaches the caller as one ``SearchError``; the retry keeps a line
    naming why the node failed (``[Errno 111] Connection refused``, a timeout)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            found = re.findall(r"\[Errno -?\d+\][^)]*|timed out", str(exc))
            why = found[-1].strip() if found else str(exc).splitlines()[0][:200]
            record.msg = f"{record.getMessage()}: {type(exc).__name__}: {why}"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True


def _quiet_retries() -> None:
    log = logging.getLogger("elastic_transport.transport")
    if not any(isinstance(f, _OneLineRetries) for f in log.filters):
        log.addFilter(_OneLineRetries())


_quiet_retries()

MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"schema_version": SCHEMA_VERSION, "normalise_version": NORMALISE_VERSION},
    "properties": {
        "bundle_id": {"type": "keyword"},
        "page": {"type": "integer"},
        # fold(text + title + file no + thana), one space between tokens
        "folded": {"type": "text", "analyzer": "whitespace"},
        # transliterate of the same
        "translit": {"type": "text", "analyzer": "whitespace"},
        # character n-grams of long tokens (search.normalise.grams), second tier
        "grams": {"type": "text", "analyzer": "whitespace"},
        # code skeletons and loose keys (search.normalise.codes), second tier
        "loose": {"type": "text", "analyzer": "whitespace"},
        # raw OCR text, kept for snippets and display only
        "text": {"type": "text", "index": False},
        "thana": _KEYWORD,
        "thana_key": _KEYWORD,  # strip().casefold(), for the filter
        "register": _KEYWORD,
        "file_no": _KEYWORD,
        "title": {"type": "text", "analyzer": "standard", "fields": {"keyword": _KEYWORD}},
        "year": {"type": "integer"},
        "year_to": {"type": "integer"},
        "year_end": {"type": "integer"},  # year_to when it is a valid range end, else year
        "years": {"type": "integer"},  # every year of the range, for the year facet
        "confidence": {"type": "float"},
        "needs_review": {"type": "boolean"},
    },
}
_SOURCE_EXCLUDES = ["folded", "translit", "grams", "loose", "years", "thana_key", "year_end"]
_FACET_AGGS = {
    "thana": {"terms": {"field": "thana", "size": FACET_SIZE}},
    "register": {"terms": {"field": "register", "size": FACET_SIZE}},
    "year": {"terms": {"field": "years", "size": FACET_SIZE}},
}
_SETTINGS: dict[str, Any] = {"max_result_window": MAX_WINDOW}
# rebuild(): while the new index is filled (restored by ElasticIndex._after_bulk_load)
_BULK_LOAD_SETTINGS: dict[str, Any] = {
    "refresh_interval": "-1", "number_of_replicas": 0, "auto_expand_replicas": False, "translog.durability": "async",
}
_REPLICAS = re.compile(r"^\d+(-(\d+|all))?$")
_INDEX_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_START_HINT = "is it running? `scripts/services start`, then `eval \"$(scripts/services env)\"`"


def _replica_setting(replicas: str) -> dict[str, Any]:
    """``"1"`` -> a fixed number of replicas; ``"0-1"`` / ``"0-all"`` -> auto-expanding."""
    if "-" in replicas:
        return {"auto_expand_replicas": replicas}
    return {"number_of_replicas": int(replicas)}


# ----------------------------------------------------------------------------- query


def _match_dsl(m: Match) -> dict[str, Any]:
    boost = FIELD_WEIGHTS[m.field]
    text = " ".join(m.tokens)
    if m.fuzzy:
        fuzzy = {
            "fuzzy": {
                m.field: {
                    "value": m.tokens[0],
                    # the edits search.query chose (fuzzy_edits: AUTO:low,high of its
                    # field; code_edits for a code skeleton)
                    "fuzziness": m.fuzzy,
                    "max_expansions": FUZZY_MAX_EXPANSIONS,
                    "prefix_length": 2 if m.field == "loose" else 0,  # code skeletons only: ck...
                    "transpositions": True,
                }
            }
        }
        if m.near < 0:
            fuzzy["fuzzy"][m.field]["boost"] = boost
            return fuzzy
        # tokens[0] within edits, next to tokens[1]: SQLite expands the same terms
        return {
            "span_near": {
                "clauses": [{"span_multi": {"match": fuzzy}},
                            *({"span_term": {m.field: t}} for t in m.tokens[1:])],
                "slop": m.near,
                "in_order": False,
                "boost": boost,
            }
        }
    if m.near >= 0:
        # unordered, at most m.near other words in the span: FTS5's NEAR of search.sqlite
        return {
            "span_near": {
                "clauses": [{"span_term": {m.field: t}} for t in m.tokens],
                "slop": m.near,
                "in_order": False,
            }
        }
    if m.prefix:
        if len(m.tokens) == 1:
            return {"prefix": {m.field: {"value": text, "boost": boost}}}
        return {
            "match_phrase_prefix": {m.field: {"query": text, "boost": boost, "max_expansions": 200}}
        }
    return {"match_phrase": {m.field: {"query": text, "boost": boost}}}


def _any_of(alts: list[Match]) -> dict[str, Any]:
    if len(alts) == 1:
        return _match_dsl(alts[0])
    return {"bool": {"should": [_match_dsl(a) for a in alts], "minimum_should_match": 1}}


def _filter_dsl(scope: Scope | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if scope is None:
        return out
    keys = scope.thana_keys
    if keys is not None:
        out.append({"term": {"thana_key": keys[0]}} if len(keys) == 1 else {"terms": {"thana_key": list(keys)}})
    if scope.register is not None:
        out.append({"term": {"register": scope.register}})
    if scope.year is not None:
        out.append({"range": {"year": {"lte": scope.year}}})
        out.append({"range": {"year_end": {"gte": scope.year}}})
    return out


def query_dsl(parsed: ParsedQuery, scope: Scope | None = None) -> dict[str, Any]:
    """The ES query for a parsed query in a scope (match_all-free: empty query = filters)."""
    must = [_any_of(alts) for alts in clauses(parsed)]
    query: dict[str, Any] = {"bool": {"must": must, "filter": _filter_dsl(scope)}}
    return _with_proximity_boost(query, parsed) if must else query


def _with_proximity_boost(query: dict[str, Any], parsed: ParsedQuery) -> dict[str, Any]:
    """QUERY with each page's score multiplied by 1 + the weight of each pair of the
    query's words found together (``proximity_boost``; both tiers rank the same way)."""
    boosts = proximity_boost(parsed)
    if not boosts:
        return query
    functions: list[dict[str, Any]] = [{"weight": 1.0}]  # every page: the 1 of the sum
    functions += [{"filter": _any_of(alts), "weight": weight} for weight, alts in boosts]
    return {
        "function_score": {
            "query": query,
            "functions": functions,
            "score_mode": "sum",
            "boost_mode": "multiply",
        }
    }


def tolerant_query_dsl(parsed: ParsedQuery, scope: Scope | None = None) -> dict[str, Any] | None:
    """The ES query for the pages only the second tier finds (``tolerant_clauses`` minus
    the exact query); None when there is no second tier."""
    tolerant = tolerant_clauses(parsed)
    if not tolerant:
        return None
    query: dict[str, Any] = {
        "bool": {
            "must": [_any_of(alts) for alts in tolerant],
            "must_not": [{"bool": {"must": [_any_of(alts) for alts in clauses(parsed)]}}],
            "filter": _filter_dsl(scope),
        }
    }
    return _with_proximity_boost(query, parsed)


def _new_index_name(alias: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
    return f"{alias}-v{stamp}"


def _first_index_name(alias: str) -> str:
    """The one name every machine gives the first index of a fresh alias.

    A fixed name makes the first creation race-free: of two machines creating it at
    once, one gets ``resource_already_exists`` and uses the other's (created together
    with its alias, atomically). Timestamped names, as rebuilds use, let each machine
    create its own index carrying the alias: an alias over two indices, through which
    every write fails."""
    return f"{alias}-v{'0' * 20}"


# ----------------------------------------------------------------------------- index


class ElasticIndex(SearchCore):
    """``search.base.SearchIndex`` on an Elasticsearch alias."""

    def __init__(
        self,
        url: str,
        alias: str = "abhilekh-pages",
        request_timeout: float = 30.0,
        shards: int = 1,
        replicas: str = "0-1",
    ) -> None:
        """``url``: one node, or several separated by commas (the client spreads
        requests over them and skips a node that is down). ``shards`` / ``replicas``
        shape every index this creates (``Settings.es_shards`` / ``es_replicas``);
        replicas ``"N-M"`` or ``"N-all"`` auto-expand with the number of nodes."""
        if not _INDEX_NAME.match(alias) or alias in (".", ".."):
            raise SearchError(
                f"ABHILEKH_ES_INDEX={alias!r} is not a valid Elasticsearch index name "
                "(lowercase letters, digits, '.', '_' and '-')",
                transient=False,
            )
        hosts = [u.strip().rstrip("/") for u in url.split(",") if u.strip()]
        if not hosts:
            raise SearchError(
                "ABHILEKH_ES_URL is empty: give one URL, or several separated by commas", transient=False
            )
        if int(shards) < 1 or not _REPLICAS.match(str(replicas)):
            raise SearchError(
                f"index shape shards={shards!r} replicas={replicas!r}: ABHILEKH_ES_SHARDS must be "
                "at least 1, ABHILEKH_ES_REPLICAS a number or a range such as 0-1",
                transient=False,
            )
        self.url = ",".join(hosts)
        self.alias = alias
        self.index_settings: dict[str, Any] = {**_SETTINGS, "number_of_shards": int(shards), **_replica_setting(str(replicas))}
        self._versioned = re.compile(rf"^{re.escape(alias)}-v\d{{20}}$")
        # orjson encodes the bulk actions (helpers.bulk asks the client's application/json
        # serializer for each page): 0.06 -> 0.01 ms a page of the client's CPU, which
        # shares the machine with ES; responses are still decoded by the client's own.
        self.client = Elasticsearch(
            hosts, request_timeout=request_timeout, max_retries=len(hosts), retry_on_timeout=False,
            serializer=OrjsonSerializer(),
        )
        self._lock = threading.RLock()
        self._ready = False  # alias checked (and emptied if folded by another normaliser)

    @classmethod
    def from_settings(cls, settings: Settings) -> ElasticIndex:
        if not settings.es_url:
            raise SearchError("ABHILEKH_ES_URL is not set: no Elasticsearch configured", transient=False)
        return cls(
            settings.es_url, settings.es_index, shards=settings.es_shards, replicas=settings.es_replicas
        )

    # -- plumbing ----------------------------------------------------------------

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except SearchError:
            raise
        except helpers.BulkIndexError as exc:
            first = exc.errors[0] if exc.errors else {}
            raise SearchError(
                f"{doing}: Elasticsearch at {self.url} refused {len(exc.errors)} page(s), "
                f"first: {first}"
            ) from None
        except UnsupportedProductError as exc:
            raise SearchError(
                f"{doing}: {self.url} is not Elasticsearch (or not a supported one): {exc}",
                transient=False,
            ) from None
        except elastic_transport.ConnectionTimeout:
            raise SearchError(
                f"{doing}: Elasticsearch at {self.url} did not answer in time; is it overloaded?"
            ) from None
        except elastic_transport.ConnectionError:
            raise SearchError(
                f"{doing}: cannot reach Elasticsearch at {self.url}: {_START_HINT}"
            ) from None
        except ApiError as exc:
            raise SearchError(
                f"{doing}: Elasticsearch at {self.url} answered {exc.meta.status}: {_reason(exc)}",
                transient=_transient_status(exc.meta.status),
            ) from None
        except elastic_transport.TransportError as exc:
            raise SearchError(f"{doing}: Elasticsearch at {self.url}: {exc}") from None

    def _alias_targets(self) -> list[str]:
        """Concrete indices behind the alias ([] when it does not exist)."""
        try:
            found = self.client.indices.get_alias(name=self.alias)
        except NotFoundError:
            return []
        return sorted(found.keys())

    def _create_index(self, name: str, with_alias: bool) -> None:
        body: dict[str, Any] = {"settings": self.index_settings, "mappings": MAPPING}
        if with_alias:
            body["aliases"] = {self.alias: {}}
        self.client.indices.create(index=name, **body)
        self.client.cluster.health(index=name, wait_for_status="yellow", timeout="30s")

    def _prepare(self, create: bool) -> bool:
        """Make sure the alias is usable; True when it exists (after creating it if asked).

        An index whose pages were folded by another normaliser (or written with another
        schema) is replaced by an empty one, as SqliteIndex does: the index is derived,
        ``bundle_page_counts`` then shows every bundle missing and the caller re-indexes.
        """
        if self._ready:
            return True
        with self._lock:
            if self._ready:
                return True
            if self.client.indices.exists(index=self.alias) and not self.client.indices.exists_alias(
                name=self.alias
            ):
                raise SearchError(
                    f"{self.alias!r} at {self.url} is a plain index, not an alias: delete it "
                    "(the index is derived) or choose another ABHILEKH_ES_INDEX, then reindex",
                    transient=False,
                )
            targets = self._alias_targets()
            if len(targets) > 1:
                # no write index: every write through the alias would fail, and searches
                # would count pages twice
                raise SearchError(
                    f"alias {self.alias!r} at {self.url} points at {len(targets)} indices "
                    f"({', '.join(targets)}): run `abhilekh reindex`, which builds one and switches to it",
                    transient=False,
                )
            if not targets:
                if not create:
                    return False
                self._create_first_index()
            elif self._stale(targets):
                self._switch_to_new_empty()
            self._ready = True
            return True

    def _create_first_index(self) -> None:
        """Create the alias's first index under the fixed first name, or use the one
        another process has just created (see ``_first_index_name``)."""
        first = _first_index_name(self.alias)
        try:
            self._create_index(first, with_alias=True)
        except ApiError as exc:
            if "already_exists" not in _reason(exc):
                raise
            # created with its alias in one step by the winner; if the alias was taken
            # off it since (someone dropped the alias), put it back
            if not self._alias_targets():
                self.client.indices.update_aliases(actions=[{"add": {"index": first, "alias": self.alias}}])
            self.client.cluster.health(index=first, wait_for_status="yellow", timeout="30s")

    def _stale(self, targets: list[str]) -> bool:
        mappings = self.client.indices.get_mapping(index=targets)
        for body in mappings.values():
            meta = body.get("mappings", {}).get("_meta", {})
            if (
                meta.get("schema_version") != SCHEMA_VERSION
                or meta.get("normalise_version") != NORMALISE_VERSION
            ):
                return True
        return False

    def _switch(self, new: str) -> None:
        """Point the alias at `new` only, atomically, and delete what it pointed at.

        Every removal must find its alias (``must_exist``): when another process
        switched in between, the action fails as a whole, and it is done again from
        what the alias points at now, so the alias never ends over two indices."""
        for _ in range(5):
            old = self._alias_targets()
            actions: list[dict[str, Any]] = [
                {"remove": {"index": i, "alias": self.alias, "must_exist": True}} for i in old if i != new
            ]
            actions.append({"add": {"index": new, "alias": self.alias}})
            try:
                self.client.indices.update_aliases(actions=actions)
            except NotFoundError:
                continue  # someone else switched meanwhile: look again
            for name in old:
                if name != new:
                    self.client.indices.delete(index=name, ignore_unavailable=True)
            return
        raise SearchError(
            f"could not switch {self.alias!r} at {self.url} to {new}: other processes keep "
            "switching it; run one `abhilekh reindex` at a time",
            transient=True,
        )

    def _switch_to_new_empty(self) -> None:
        new = _new_index_name(self.alias)
        self._create_index(new, with_alias=False)
        self._switch(new)

    def _after_bulk_load(self) -> dict[str, Any]:
        """The index settings a bulk load changed, back to this index's shape."""
        # "0-1" and the like: auto-expansion sets the number of replicas again at once
        return {
            "refresh_interval": None, "translog.durability": None,
            "auto_expand_replicas": self.index_settings.get("auto_expand_replicas", False),
            "number_of_replicas": self.index_settings.get("number_of_replicas", 0),
        }

    @staticmethod
    def _source(pg: IndexedPage) -> dict[str, Any]:
        """The ES document of a page."""
        return {
            "bundle_id": pg.bundle_id,
            "page": pg.page,
            "folded": pg.folded,
            "translit": pg.translit,
            "grams": pg.grams,
            "loose": pg.loose,
            "text": pg.text,
            "thana": pg.thana,
            "thana_key": pg.thana_key,
            "register": pg.register,
            "file_no": pg.file_no,
            "title": pg.title,
            "year": pg.year,
            "year_to": pg.year_to,
            "year_end": pg.year_end,
            "years": list(pg.years),
            "confidence": pg.confidence,
            "needs_review": pg.needs_review,
        }

    def _bulk(
        self,
        index: str,
        docs: Iterable[SearchDocument],
        alias: bool = False,
        ids: set[str] | None = None,
    ) -> int:
        """Index ``docs``; the number of distinct ids in ``ids`` (a set shared between
        calls, or a new one) afterwards."""
        ids = set() if ids is None else ids
        docs = docs if isinstance(docs, list) else list(docs)

        def actions(part: list[SearchDocument]) -> Iterator[dict[str, Any]]:
            for pg in indexed_pages(part):
                ids.add(pg.id)
                yield {"_op_type": "index", "_index": index, "_id": pg.id, "_source": self._source(pg)}

        # require_alias: writing through a vanished alias must fail, not auto-create a
        # plain index with guessed mappings under the alias's name
        extra = {"require_alias": True} if alias else {}

        def send(part: list[SearchDocument]) -> None:
            helpers.bulk(self.client, actions(part), chunk_size=BULK_CHUNK, max_retries=2, **extra)

        # Several bulk requests in flight: while ES indexes one chunk, the next is
        # encoded and on the wire (pages folded at ingest make encoding the client's
        # whole share). One thread for a small call.
        parts = [docs[i:i + BULK_CHUNK] for i in range(0, len(docs), BULK_CHUNK)]
        if len(parts) <= 1 or BULK_THREADS <= 1:
            for part in parts:
                send(part)
        else:
            with ThreadPoolExecutor(max_workers=BULK_THREADS, thread_name_prefix="es-bulk") as pool:
                for done in [pool.submit(send, part) for part in parts]:
                    done.result()
        return len(ids)

    # -- writing -----------------------------------------------------------------

    def index(self, docs: Iterable[SearchDocument]) -> int:
        """Add or replace pages by id (`<bundle_id>:<page>`); searchable on return."""
        unique = unique_pages(docs)
        if not unique:
            return 0
        with self._errors(f"indexing {len(unique)} page(s) into {self.alias!r}"):
            self._prepare(create=True)
            try:
                n = self._bulk(self.alias, unique, alias=True)
            except helpers.BulkIndexError as exc:
                if "index_not_found" not in str(exc.errors[:1]):
                    raise
                # the alias was dropped by someone else since we checked it: recreate
                self._ready = False
                self._prepare(create=True)
                n = self._bulk(self.alias, unique, alias=True)
            self.client.indices.refresh(index=self.alias)
        return n

    def rebuild(self, docs: Iterable[SearchDocument]) -> int:
        """Index `docs` into a NEW index, then switch the alias to it and drop the old one.

        Searches keep answering from the old index until the switch, which is atomic.
        Returns the number of distinct pages in the new index.
        """
        new = _new_index_name(self.alias)
        with self._errors(f"rebuilding {self.alias!r}"):
            if self.client.indices.exists(index=self.alias) and not self.client.indices.exists_alias(
                name=self.alias
            ):
                raise SearchError(
                    f"{self.alias!r} at {self.url} is a plain index, not an alias: delete it first",
                    transient=False,
                )
            self._create_index(new, with_alias=False)
            try:
                # A bulk load: nobody searches the new index before the switch, so no
                # periodic refreshes, no replicas to copy each page to (they are built
                # from the finished segments afterwards, faster) and the translog
                # fsynced every few seconds instead of after each request (a crash loses
                # only this unswitched index, which the next reindex builds again).
                # All three are put back before the switch.
                self.client.indices.put_settings(
                    index=new, settings={"index": _BULK_LOAD_SETTINGS}
                )
                seen: set[str] = set()
                batch: list[SearchDocument] = []
                for doc in docs:
                    batch.append(doc)
                    if len(batch) >= REBUILD_BATCH:
                        self._bulk(new, batch, ids=seen)
                        batch = []
                if batch:
                    self._bulk(new, batch, ids=seen)
                n = len(seen)
                self.client.indices.put_settings(
                    index=new, settings={"index": self._after_bulk_load()}
                )
                self.client.indices.refresh(index=new)
                self.client.indices.flush(index=new)  # the async translog made durable
                # the replicas (if any) allocated before the switch, as _create_index does
                self.client.cluster.health(index=new, wait_for_status="yellow", timeout="30s")
                with self._lock:
                    self._switch(new)
                    self._ready = True
            except BaseException:
                try:
                    self.client.indices.delete(index=new, ignore_unavailable=True)
                except Exception:  # noqa: BLE001 - the original error matters more
                    pass
                raise
        return n

    def delete_bundle(self, bundle_id: str) -> None:
        # The Maven server has no _delete_by_query: collect the ids, bulk-delete them.
        with self._errors(f"deleting bundle {bundle_id} from {self.alias!r}"):
            if not self._prepare(create=False):
                return
            hits = helpers.scan(
                self.client,
                index=self.alias,
                query={"query": {"term": {"bundle_id": bundle_id}}, "_source": False},
                size=1000,
            )
            actions = (
                {"_op_type": "delete", "_index": hit["_index"], "_id": hit["_id"]} for hit in hits
            )
            helpers.bulk(self.client, actions, chunk_size=BULK_CHUNK, raise_on_error=False)
            self.client.indices.refresh(index=self.alias)

    def clear(self) -> None:
        """Drop every page: an empty new index takes the alias, the old one is deleted."""
        with self._errors(f"clearing {self.alias!r}"), self._lock:
            if self.client.indices.exists(index=self.alias) and not self.client.indices.exists_alias(
                name=self.alias
            ):
                raise SearchError(f"{self.alias!r} at {self.url} is a plain index, not an alias", transient=False)
            self._switch_to_new_empty()
            self._ready = True

    def drop(self) -> None:
        """Delete the alias and every versioned index of it (tests; `clear` for users)."""
        with self._errors(f"dropping {self.alias!r}"), self._lock:
            names = set(self._alias_targets())
            found = self.client.indices.get(
                index=f"{self.alias}-v*", expand_wildcards="all", ignore_unavailable=True,
                allow_no_indices=True,
            )
            names.update(n for n in found if self._versioned.match(n))
            for name in sorted(names):
                self.client.indices.delete(index=name, ignore_unavailable=True)
            self._ready = False

    # -- reading -----------------------------------------------------------------

    def count(self, bundle_id: str | None = None) -> int:
        with self._errors(f"counting pages in {self.alias!r}"):
            if not self._prepare(create=False):
                return 0
            if bundle_id is None:
                return int(self.client.count(index=self.alias)["count"])
            return int(
                self.client.count(index=self.alias, query={"term": {"bundle_id": bundle_id}})["count"]
            )

    def generation(self) -> int | None:
        """None: no cheap, exact change counter here (refreshes, other nodes), so web
        results are not cached for Elasticsearch (it has a request cache of its own)."""
        return None

    def bundle_page_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        with self._errors(f"counting bundles in {self.alias!r}"):
            if not self._prepare(create=False):
                return out
            after: dict[str, Any] | None = None
            while True:
                composite: dict[str, Any] = {
                    "size": 1000,
                    "sources": [{"bundle_id": {"terms": {"field": "bundle_id"}}}],
                }
                if after:
                    composite["after"] = after
                resp = self.client.search(
                    index=self.alias, size=0, aggs={"bundles": {"composite": composite}}
                )
                agg = resp["aggregations"]["bundles"]
                for bucket in agg["buckets"]:
                    out[bucket["key"]["bundle_id"]] = int(bucket["doc_count"])
                after = agg.get("after_key")
                if not after or not agg["buckets"]:
                    break
        return dict(sorted(out.items()))

    @contextmanager
    def _engine(self) -> Iterator[_Engine | None]:
        with self._errors("searching"):
            yield _Engine(self) if self._prepare(create=False) else None

    def _window(self, limit: int, offset: int) -> int:
        # ES pages at most MAX_WINDOW deep; beyond that, totals and facets only.
        return max(0, min(limit, MAX_WINDOW - offset)) if offset < MAX_WINDOW else 0

    def _query(
        self, query: dict[str, Any], offset: int, size: int, sort: list[Any], facets: bool = True
    ) -> dict[str, Any]:
        """Hits, exact total and (with ``facets``) the facet aggregations of ``query``.

        Two searches in one ``_msearch`` round trip, run side by side by ES: the hits
        without counting every match (``track_total_hits: false`` lets Lucene skip
        pages that cannot reach the top ``offset + size``: the same top hits), and the
        exact total with the facets in a ``size: 0`` search, which scores nothing and
        which ES's shard request cache answers again until the next refresh.
        """
        searches: list[dict[str, Any]] = []
        if size:
            searches += [
                {"index": self.alias},
                {
                    "query": query,
                    "from": offset,
                    "size": size,
                    "sort": sort,
                    "track_total_hits": False,
                    "_source": {"excludes": _SOURCE_EXCLUDES},
                },
            ]
        count: dict[str, Any] = {"query": query, "size": 0, "track_total_hits": True}
        if facets:
            count["aggs"] = _FACET_AGGS
        searches += [{"index": self.alias, "request_cache": True}, count]
        resp = self.client.msearch(searches=searches)
        parts = resp["responses"]
        for part in parts:
            if "error" in part:
                raise SearchError(
                    f"searching: Elasticsearch at {self.url} answered {part.get('status')}: "
                    f"{_error_reason(part['error'])}",
                    transient=_transient_status(int(part.get("status") or 500)),
                )
        counted = parts[-1]
        return {
            "hits": {
                "hits": parts[0]["hits"]["hits"] if size else [],
                "total": counted["hits"]["total"],
            },
            "aggregations": counted.get("aggregations", {}),
        }

    # -- operations --------------------------------------------------------------

    def check(self) -> None:
        """Raise SearchError with the reason when this index cannot be used."""
        with self._errors("checking Elasticsearch"):
            try:
                health = self.client.cluster.health(timeout="5s")
            except ApiError as exc:
                reason = _reason(exc)
                if exc.meta.status in (400, 406) and "compatib" in reason.lower():
                    raise SearchError(
                        f"Elasticsearch at {self.url} does not speak the {CLIENT_MAJOR}.x API of "
                        f"this client ({reason}): run Elasticsearch {CLIENT_MAJOR}.x "
                        "(`scripts/services start`)",
                        transient=False,
                    ) from None
                raise
            nodes = self.client.nodes.info(metric="_none", filter_path="nodes.*.version")
            versions = sorted({n["version"] for n in nodes.get("nodes", {}).values()})
            wrong = [v for v in versions if int(v.split(".")[0]) != CLIENT_MAJOR]
            if wrong:
                raise SearchError(
                    f"Elasticsearch at {self.url} is version {', '.join(versions)}, but the "
                    f"client is {'.'.join(map(str, _client_version))}: the major versions must "
                    "match",
                    transient=False,
                )
            if health.get("status") == "red":
                raise SearchError(
                    f"Elasticsearch at {self.url} is red (some data unavailable): see its log"
                )
            if self.client.indices.exists(index=self.alias) and not self.client.indices.exists_alias(
                name=self.alias
            ):
                raise SearchError(
                    f"{self.alias!r} at {self.url} is a plain index, not an alias: delete it and "
                    "run `abhilekh reindex`",
                    transient=False,
                )
            targets = self._alias_targets()
            if targets and self._stale(targets):
                raise SearchError(
                    f"index {self.alias!r} at {self.url} was built by another version of the "
                    "text normaliser: run `abhilekh reindex`",
                    transient=False,
                )

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:  # noqa: BLE001 - closing must not fail
            pass

    def describe(self) -> str:
        return f"Elasticsearch index {self.alias!r} at {self.url}"

    def __enter__(self) -> ElasticIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_BROWSE_SORT: list[Any] = [{"bundle_id": "asc"}, {"page": "asc"}]
_RANK_SORT: list[Any] = [{"_score": "desc"}, *_BROWSE_SORT]


class _Engine:
    """``search.core.Engine`` on an Elasticsearch alias."""

    def __init__(self, index: ElasticIndex) -> None:
        self.index = index

    def browse(self, scope: Scope, limit: int, offset: int) -> Found:
        resp = self.index._query(query_dsl(ParsedQuery(), scope), offset if limit else 0, limit, _BROWSE_SORT)
        return _found(resp, browse=True)

    def match(
        self, parsed: ParsedQuery, scope: Scope, tier: Tier, limit: int, offset: int, facets: bool = True
    ) -> Found | None:
        query = query_dsl(parsed, scope) if tier is Tier.EXACT else tolerant_query_dsl(parsed, scope)
        if query is None:
            return None
        resp = self.index._query(query, offset if limit else 0, limit, _RANK_SORT, facets=facets)
        return _found(resp, browse=False)

    def terms_near(self, token: str, edits: int) -> list[str]:
        # The term suggester enumerates the indexed terms within max_edits (Lucene's
        # DirectSpellChecker: two edits only after the first character); no accuracy
        # or frequency cut, so search.core.nearest_terms sees what SQLite's vocab gives.
        with self.index._errors("suggesting"):
            resp = self.index.client.search(
                index=self.index.alias,
                size=0,
                suggest={"near": {"text": token, "term": {
                    "field": "folded", "analyzer": "whitespace", "suggest_mode": "always",
                    "max_edits": max(1, min(2, edits)), "prefix_length": 0, "min_word_length": 1,
                    "size": SUGGEST_SIZE, "max_inspections": 10, "accuracy": 0.0,
                    "max_term_freq": 1.0, "min_doc_freq": 0, "string_distance": "damerau_levenshtein",
                }}},
            )
        return [o["text"] for entry in resp.get("suggest", {}).get("near", []) for o in entry.get("options", [])]


def _found(resp: dict[str, Any], browse: bool) -> Found:
    rows = []
    for hit in resp["hits"]["hits"]:
        src = hit["_source"]
        rows.append(
            Row(
                bundle_id=src["bundle_id"],
                page=int(src["page"]),
                text=src.get("text", ""),
                metadata=BundleMetadata(
                    thana=src.get("thana", ""),
                    register=src.get("register", ""),
                    year=src.get("year"),
                    year_to=src.get("year_to"),
                    file_no=src.get("file_no", ""),
                    title=src.get("title", ""),
                ),
                confidence=float(src.get("confidence", 0.0)),
                needs_review=bool(src.get("needs_review", False)),
                score=0.0 if browse else float(hit.get("_score") or hit["sort"][0] or 0.0),
            )
        )
    return Found(rows, int(resp["hits"]["total"]["value"]), _facets(resp.get("aggregations", {})))


def _facets(aggs: dict[str, Any]) -> Facets:
    """ES terms aggregations as counts (``years`` holds every year of a page's range)."""
    facets = Facets()
    for b in aggs.get("thana", {}).get("buckets", []):
        facets.add_thana(str(b["key"]), int(b["doc_count"]))
    for b in aggs.get("register", {}).get("buckets", []):
        facets.add_register(str(b["key"]), int(b["doc_count"]))
    for b in aggs.get("year", {}).get("buckets", []):
        facets.add_year(int(b["key"]), int(b["doc_count"]))
    return facets


def _transient_status(status: int) -> bool:
    """Whether an HTTP answer may change on a retry: server trouble, timeouts, throttling.

    A 401/403 (refused credentials) or another 4xx (a request ES will always refuse) is
    not worth retrying."""
    return status >= 500 or status in (408, 429)


def _error_reason(error: Any) -> str:
    if isinstance(error, dict):
        kind = error.get("type", "")
        reason = error.get("reason", "")
        return f"{kind}: {reason}" if kind else str(reason)
    return str(error)


def _reason(exc: ApiError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    if isinstance(error, dict):
        kind = error.get("type", "")
        reason = error.get("reason", "")
        return f"{kind}: {reason}" if kind else str(reason)
    if isinstance(error, str):
        return error
    return str(exc.message)
