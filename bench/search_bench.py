"""Search benchmark (issue 3): Elasticsearch vs the embedded SQLite FTS5 index.

Builds N pages of realistic police-record text (``bench/_corpus_text.py``: register rows
and letters from the test vocabulary, bundles with thana / register / year metadata;
seeded, deterministic), indexes the SAME pages into

- Elasticsearch: ``search.open_index(Settings(es_url=..., es_index="bench-..."))`` i.e.
  ``ElasticIndex``, through its public ``index()`` in batches;
- the embedded index: ``SqliteIndex`` in a temporary file, through ``index()`` too;

and times bulk indexing (pages/s). Then it runs a seeded mix of queries (Devanagari
names, Latin-script names, crime numbers, sections, quoted phrases, name + thana/year
filters) through each backend's public ``search(query, filters, limit=10)`` (so the
times include parsing and folding the query, the engine, facets and our snippet
building), after a warm-up, interleaving the backends query by query so that load
from other work on the machine hits both alike. A "naive" row runs a plain
``LIKE '%word%'`` scan over a SQLite table of the raw text (the obvious alternative:
no folding, no ranking) on a subset of the queries.

Where the time goes is measured in place, by wrapping module functions (nothing in
``search/`` is changed): Python folding at index time (``search.normalise.index_fields``:
fold + transliterate + notation tokens + pair keys), ES bulk requests and refreshes, SQLite's statements; at query
time parse/fold, engine (ES ``took`` vs client round trip; SQLite top-k / facets / text
statements), snippets. When a target is missed, a cProfile sample of the missed part is
printed too.

Usage::

    eval "$(scripts/services env)"          # ABHILEKH_ES_URL
    .venv/bin/python -m bench.search_bench                 # 100,000 pages
    .venv/bin/python -m bench.search_bench --quick         # 10,000 pages
    .venv/bin/python -m bench.search_bench --pages 5000 --queries 200 --skip-es

Targets (issue 3): Elasticsearch bulk >= 2,000 pages/s and p95 <= 50 ms; embedded
p95 <= 100 ms. The bench ES index and the temporary SQLite files are deleted at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import os
import platform
import pstats
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from abhilekh.records import SearchDocument, SearchFilters  # noqa: E402
from abhilekh.settings import Settings  # noqa: E402
from bench._corpus_text import Facts, corpus  # noqa: E402
from search import open_index  # noqa: E402

TARGET_ES_RATE = 2000.0  # pages/s
TARGET_ES_P95 = 50.0  # ms
TARGET_SQLITE_P95 = 100.0  # ms
KINDS = ("name", "latin", "crime_no", "section", "phrase", "filtered")
KIND_SHARE = {"name": 0.2, "latin": 0.2, "crime_no": 0.18, "section": 0.12, "phrase": 0.15, "filtered": 0.15}
COMMON_PHRASES = (
    "अज्ञात चोर", "पुरानी रंजिश", "जान से मारने की धमकी", "कच्ची शराब", "तमंचा 315 बोर",
    "Case Diary", "Charge sheet submitted", "नक्शा नजरी", "लाठी-डण्डों से", "दहेज की माँग",
    "मोबाइल फोन", "रात्रि में नकबजनी", "आरोप पत्र प्रेषित",
)
FACT_EVERY = 20  # keep the case facts of every 20th page as query material


# ----------------------------------------------------------------------------- timing


class Acc:
    """Accumulated seconds and calls of a wrapped function."""

    def __init__(self) -> None:
        self.t = 0.0
        self.n = 0
        self.extra = 0.0  # e.g. ES "took" (server ms) summed

    def reset(self) -> None:
        self.t = 0.0
        self.n = 0
        self.extra = 0.0


def _timed(fn: Callable, acc: Acc, on_result: Callable | None = None) -> Callable:
    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            result = fn(*args, **kwargs)
        finally:
            acc.t += time.perf_counter() - t0
            acc.n += 1
        if on_result is not None:
            on_result(result)
        return result

    return wrapper


@contextmanager
def patched(obj: object, name: str, acc: Acc, on_result: Callable | None = None) -> Iterator[None]:
    """Wrap ``obj.name`` with a timer for the duration (module global or attribute)."""
    original = getattr(obj, name)
    setattr(obj, name, _timed(original, acc, on_result))
    try:
        yield
    finally:
        setattr(obj, name, original)


class TimedConnection:
    """Stands in for SqliteIndex._db: times each statement by what it does."""

    def __init__(self, db: sqlite3.Connection, accs: dict[str, Acc]) -> None:
        self._real = db
        self.accs = accs

    def execute(self, sql: str, *args):
        kind = "sql_topk" if "bm25" in sql else "sql_facets" if "GROUP BY" in sql else "sql_other"
        t0 = time.perf_counter()
        try:
            return self._real.execute(sql, *args)
        finally:
            acc = self.accs[kind]
            acc.t += time.perf_counter() - t0
            acc.n += 1

    def __getattr__(self, name: str):
        return getattr(self._real, name)


@contextmanager
def transport_timers(client, accs: dict[str, Acc]) -> Iterator[None]:
    """Time every HTTP request of an ES client by endpoint (bulk / refresh / search).

    ``helpers.bulk`` works on ``client.options()``, a copy sharing the transport, so the
    transport is where all requests can be seen. The time includes JSON encoding and
    decoding; for searches the server's own ``took`` is summed into ``extra``.
    """
    transport = client.transport
    original = transport.perform_request

    def wrapper(method, target, **kwargs):
        kind = ("bulk_http" if "/_bulk" in target else "refresh" if "/_refresh" in target
                else "engine" if ("/_search" in target or "/_msearch" in target) else "other_http")
        t0 = time.perf_counter()
        try:
            resp = original(method, target, **kwargs)
        finally:
            acc = accs.setdefault(kind, Acc())
            acc.t += time.perf_counter() - t0
            acc.n += 1
        if kind == "engine" and isinstance(resp.body, dict):
            accs[kind].extra += float(resp.body.get("took", 0.0))
        return resp

    transport.perform_request = wrapper
    try:
        yield
    finally:
        transport.perform_request = original


def pct(values: list[float], p: float) -> float:
    """Percentile with linear interpolation (values in any order)."""
    if not values:
        return float("nan")
    s = sorted(values)
    if len(s) == 1:
        return s[0]
    k = (len(s) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def fmt_ms(x: float) -> str:
    return "-" if x != x else (f"{x:.1f}" if x < 100 else f"{x:.0f}")


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), sep, *(line(r) for r in rows)])


# ----------------------------------------------------------------------------- queries


@dataclass
class Query:
    kind: str
    text: str
    filters: SearchFilters | None = None


def make_queries(facts: list[Facts], n: int, seed: int) -> list[Query]:
    """A seeded mix of query kinds, drawn from cases that are in the corpus."""
    rng = random.Random(seed * 7919 + 17)
    counts = {k: max(1, round(n * share)) for k, share in KIND_SHARE.items()}
    out: list[Query] = []
    deva_digits = str.maketrans("0123456789", "०१२३४५६७८९")
    for kind, count in counts.items():
        for _ in range(count):
            f = rng.choice(facts)
            i = rng.randrange(len(f.names))
            if kind == "name":
                out.append(Query(kind, f.names[i]))
            elif kind == "latin":
                own = set(f.names_latin[i].split())
                pool = [v for v in f.variants if own & set(v.split())]  # "Saleem Qureshi"
                text = rng.choice(pool) if pool and rng.random() < 0.3 else f.names_latin[i]
                out.append(Query(kind, text if rng.random() < 0.7 else text.lower()))
            elif kind == "crime_no":
                r = rng.random()
                if r < 0.45:
                    text = f.crime_no
                elif r < 0.9:
                    text = f"मु0अ0सं0 {f.crime_no}"
                else:
                    text = f"मु०अ०सं० {f.crime_no.translate(deva_digits)}"
                out.append(Query(kind, text))
            elif kind == "section":
                out.append(Query(kind, f"धारा {rng.choice(f.sections)}"))
            elif kind == "phrase":
                r = rng.random()
                if r < 0.5 and len(f.names[i].split()) > 1:
                    text = f.names[i]
                elif r < 0.75:
                    text = f.village if len(f.village.split()) > 1 else f"{f.village} थाना"
                    if len(f.village.split()) == 1:
                        text = f"नि0 {f.village}"
                else:
                    text = rng.choice(COMMON_PHRASES)
                out.append(Query(kind, f'"{text}"'))
            elif kind == "filtered":
                if rng.random() < 0.5:
                    out.append(Query(kind, f.names[i], SearchFilters(thana=f.station)))
                else:
                    out.append(Query(kind, f.names_latin[i], SearchFilters(year=f.year)))
    rng.shuffle(out)
    return out


# ----------------------------------------------------------------------------- backends


@dataclass
class Backend:
    name: str
    index: object
    rate: float = float("nan")  # pages/s
    index_seconds: float = float("nan")
    index_parts: dict[str, float] = field(default_factory=dict)  # seconds by part
    lat: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # kind -> ms
    parts: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # part -> ms per query
    totals: list[int] = field(default_factory=list)
    query_accs: dict[str, Acc] = field(default_factory=dict)

    def all_lat(self) -> list[float]:
        return [x for v in self.lat.values() for x in v]


def batched(docs: list[SearchDocument], size: int) -> Iterator[list[SearchDocument]]:
    for i in range(0, len(docs), size):
        yield docs[i : i + size]


def index_sqlite(b: Backend, docs: list[SearchDocument], batch: int) -> None:
    import search.page as page_mod  # both backends fold through search.page

    idx = b.index
    accs = {k: Acc() for k in ("fold", "translit", "sql_topk", "sql_facets", "sql_other")}
    with ExitStack() as st:
        st.enter_context(patched(page_mod, "index_fields", accs["fold"]))
        t0 = time.perf_counter()
        for chunk in batched(docs, batch):
            idx.index(chunk)
        b.index_seconds = time.perf_counter() - t0
    b.rate = len(docs) / b.index_seconds
    fold_t = accs["fold"].t + accs["translit"].t
    b.index_parts = {
        "python folding (index_fields)": fold_t,
        "SQLite inserts (FTS5) + commit + rest": b.index_seconds - fold_t,
    }


def index_elastic(b: Backend, docs: list[SearchDocument], batch: int) -> None:
    import search.page as page_mod

    idx = b.index
    accs = {k: Acc() for k in ("fold", "translit", "bulk_http", "refresh", "other_http")}
    client = idx.client

    es_cpu0 = _es_cpu_ms(client)
    with ExitStack() as st:
        st.enter_context(patched(page_mod, "index_fields", accs["fold"]))
        st.enter_context(transport_timers(client, accs))
        t0 = time.perf_counter()
        c0 = time.process_time()
        if BULK_PATH == "rebuild":
            idx.rebuild(docs)
        else:
            for chunk in batched(docs, batch):
                idx.index(chunk)
        b.index_seconds = time.perf_counter() - t0
        client_cpu = time.process_time() - c0
    b.rate = len(docs) / b.index_seconds
    # CPU per page stands up to other load on the machine where pages/s does not: the
    # client's (this process, all threads) and Elasticsearch's (its node stats; every
    # node of the cluster, so nothing else should index meanwhile)
    es_cpu = _es_cpu_ms(client) - es_cpu0
    print(f"  CPU per page: client {1000 * client_cpu / len(docs):.3f} ms, Elasticsearch {es_cpu / len(docs):.3f} ms "
          f"(both: {2000 / max(1e-9, 1000 * client_cpu / len(docs) + es_cpu / len(docs)):,.0f} pages/s on 2 free cores); "
          f"path {BULK_PATH}, JSON {'stdlib' if STDLIB_JSON else 'orjson'}", flush=True)
    fold_t = accs["fold"].t + accs["translit"].t
    b.index_parts = {
        "python folding (index_fields)": fold_t,
        "bulk HTTP round trips (ES indexing + JSON + transport)": accs["bulk_http"].t,
        "refresh after each index() call": accs["refresh"].t,
        "other requests (alias/health checks)": accs["other_http"].t,
        "rest (source dicts, helpers.bulk action encoding, dedup)": b.index_seconds
        - fold_t
        - accs["bulk_http"].t
        - accs["refresh"].t
        - accs["other_http"].t,
    }


BULK_PATH = "index"  # or "rebuild" (--bulk-path)
STDLIB_JSON = False  # --stdlib-json: the client's encoder as before issue 14


def _es_cpu_ms(client) -> float:
    stats = client.nodes.stats(metric="process")
    return float(sum(n["process"]["cpu"]["total_in_millis"] for n in stats["nodes"].values()))


@contextmanager
def query_timers(b: Backend) -> Iterator[dict[str, Acc]]:
    """Wrap the query path of one backend; yields the accumulators."""
    accs = {k: Acc() for k in ("parse", "snippet", "engine", "sql_topk", "sql_facets", "sql_other", "other_http")}
    with ExitStack() as st:
        import search.core
        import search.results

        if b.name == "sqlite":
            import search.sqlite as sq

            idx = b.index
            # the engine's part of a search: every ranked (exact and fuzzy) SQL round
            st.enter_context(patched(sq._Engine, "match", accs["engine"]))
            real_db = idx._db
            idx._db = TimedConnection(real_db, accs)
            st.callback(setattr, idx, "_db", real_db)
        else:
            st.enter_context(transport_timers(b.index.client, accs))
        st.enter_context(patched(search.core, "check_query", accs["parse"]))
        st.enter_context(patched(search.results, "make_snippet", accs["snippet"]))
        yield accs


def run_query(b: Backend, q: Query, accs: dict[str, Acc] | None) -> float:
    if accs is not None:
        for a in accs.values():
            a.reset()
    t0 = time.perf_counter()
    res = b.index.search(q.text, q.filters, limit=10)
    ms = (time.perf_counter() - t0) * 1000.0
    if accs is not None:
        b.lat[q.kind].append(ms)
        b.totals.append(res.total)
        parts = b.parts
        parts["total"].append(ms)
        parts["parse+fold query"].append(accs["parse"].t * 1000)
        parts["snippets (10 hits)"].append(accs["snippet"].t * 1000)
        if b.name == "sqlite":
            parts["engine: top-k bm25 statement"].append(accs["sql_topk"].t * 1000)
            parts["engine: facets GROUP BY statement"].append(accs["sql_facets"].t * 1000)
            parts["engine: tie-break + hit rows/text statements"].append(accs["sql_other"].t * 1000)
            rest = ms - (accs["parse"].t + accs["snippet"].t + accs["engine"].t) * 1000
        else:
            parts["engine: ES took (server)"].append(accs["engine"].extra)
            parts["round trip - took (HTTP, JSON in client)"].append(accs["engine"].t * 1000 - accs["engine"].extra)
            rest = ms - (accs["parse"].t + accs["snippet"].t + accs["engine"].t) * 1000
        parts["rest (DSL/SQL building, hits, facets shaping)"].append(rest)
    return ms


# ----------------------------------------------------------------------------- naive baseline


def build_naive(path: Path, docs: list[SearchDocument]) -> sqlite3.Connection:
    db = sqlite3.connect(str(path))
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("CREATE TABLE raw (rowid INTEGER PRIMARY KEY, bundle_id TEXT, page INTEGER, thana TEXT, year INTEGER, text TEXT)")
    db.executemany(
        "INSERT INTO raw (bundle_id, page, thana, year, text) VALUES (?, ?, ?, ?, ?)",
        ((d.bundle_id, d.page, d.metadata.thana, d.metadata.year, d.text) for d in docs),
    )
    db.commit()
    return db


def naive_query(db: sqlite3.Connection, q: Query) -> tuple[float, int]:
    """Every typed word (or the quoted phrase) as LIKE '%...%', all matches counted."""
    text = q.text
    if text.startswith('"') and text.endswith('"'):
        patterns = [text.strip('"')]
    else:
        patterns = text.split()
    where = " AND ".join("text LIKE ?" for _ in patterns)
    args: list = [f"%{p}%" for p in patterns]
    if q.filters is not None and q.filters.thana:
        where += " AND thana = ?"
        args.append(q.filters.thana)
    if q.filters is not None and q.filters.year is not None:
        where += " AND year = ?"
        args.append(q.filters.year)
    t0 = time.perf_counter()
    rows = db.execute(f"SELECT rowid, bundle_id, page FROM raw WHERE {where}", args).fetchall()
    top = [(r[1], r[2]) for r in rows[:10]]
    del top
    return (time.perf_counter() - t0) * 1000.0, len(rows)


# ----------------------------------------------------------------------------- profile


def profile_text(fn: Callable[[], None], top: int = 14) -> str:
    pr = cProfile.Profile()
    pr.enable()
    fn()
    pr.disable()
    out = io.StringIO()
    stats = pstats.Stats(pr, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
    # keep the table, drop the preamble
    start = next((i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls")), 0)
    return "\n".join(lines[max(0, start - 1) :])


# ----------------------------------------------------------------------------- main



def _close_backends(backends, *, keep: bool, tmp: Path) -> None:
    """Drop the bench's Elasticsearch index (unless kept), close every index, remove tmp."""
    for b in backends:
        if b.name == "elasticsearch" and not keep:
            try:
                b.index.drop()  # type: ignore[attr-defined]
            except Exception as exc:  # noqa: BLE001
                print(f"could not drop the bench ES index: {exc}", file=sys.stderr)
        b.index.close()  # type: ignore[attr-defined]
    if not keep:
        shutil.rmtree(tmp, ignore_errors=True)

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=100_000)
    ap.add_argument("--quick", action="store_true", help="10,000 pages (overrides --pages)")
    ap.add_argument("--queries", type=int, default=400)
    ap.add_argument("--warmup", type=int, default=40, help="queries run per backend before measuring")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=2000, help="pages per index() call")
    ap.add_argument("--skip-es", action="store_true")
    ap.add_argument("--es-url", default=os.environ.get("ABHILEKH_ES_URL"))
    ap.add_argument("--naive-queries", type=int, default=40, help="queries for the LIKE baseline (0: skip)")
    ap.add_argument("--no-profile", action="store_true", help="no cProfile sample on a missed target")
    ap.add_argument("--keep", action="store_true", help="keep the ES index and temp files (debugging)")
    ap.add_argument("--fold-at-index", action="store_true",
                    help="fold inside index() as before issue 14 (default: fold once first, as ingest does)")
    ap.add_argument("--skip-sqlite", action="store_true")
    ap.add_argument("--index-only", action="store_true", help="time indexing only: no queries, no naive scan")
    ap.add_argument("--steps", default="",
                    help="growth mode: comma-separated page counts (e.g. 100000,300000,1000000); the corpus is "
                         "generated, folded and indexed step by step (never all in memory) and the same queries "
                         "are timed at each step on both backends and the naive scan, with the disk size of each")
    ap.add_argument("--fold-jobs", type=int, default=2, help="growth mode: processes folding pages (as ingest workers would)")
    ap.add_argument("--bulk-path", choices=("index", "rebuild"), default="index",
                    help="index(): batches of --batch pages, searchable after each (ingest's path); rebuild(): one bulk "
                         "load into a new index, switched in at the end (reindex's path)")
    ap.add_argument("--stdlib-json", action="store_true", help="encode bulk pages with the stdlib json (before issue 14)")
    args = ap.parse_args(argv)
    global BULK_PATH, STDLIB_JSON
    BULK_PATH, STDLIB_JSON = args.bulk_path, args.stdlib_json
    if args.steps:
        return growth(args, argv)
    pages = 10_000 if args.quick else args.pages
    if not args.skip_es and not args.es_url:
        print("no Elasticsearch: set ABHILEKH_ES_URL (scripts/services start; eval \"$(scripts/services env)\"),"
              " pass --es-url, or --skip-es", file=sys.stderr)
        return 2

    print(f"# search benchmark  {dt.datetime.now().isoformat(timespec='seconds')}")
    print(f"command: {' '.join([Path(sys.executable).name, '-m', 'bench.search_bench', *(argv if argv is not None else sys.argv[1:])])}")
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
          f"{_mem_gb():.0f} GB RAM, load avg {' '.join(f'{x:.1f}' for x in os.getloadavg())}; "
          f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}")

    # -- corpus ---------------------------------------------------------------------
    t0 = time.perf_counter()
    docs: list[SearchDocument] = []
    facts: list[Facts] = []
    for i, (doc, fs) in enumerate(corpus(pages, args.seed)):
        docs.append(doc)
        if i % FACT_EVERY == 0:
            facts.extend(fs)
    gen_s = time.perf_counter() - t0
    nbytes = sum(len(d.text.encode()) for d in docs)
    bundles = len({d.bundle_id for d in docs})
    print(f"corpus: {len(docs):,} pages in {bundles:,} bundles, {nbytes / 1e6:.0f} MB text "
          f"(mean {nbytes / len(docs) / 1000:.2f} KB/page), generated in {gen_s:.0f} s")
    fold_s = 0.0
    if not args.fold_at_index:
        # What ingest does (pipelines/bundle.store_bundle): each page folded once, the
        # fold kept with the page JSON; index() and every reindex reuse it.
        from dataclasses import replace

        from search.page import fold_record

        t0 = time.perf_counter()
        docs = [replace(d, index_fields=fold_record(d)) for d in docs]
        fold_s = time.perf_counter() - t0
        print(f"folded once (as at ingest): {1000 * fold_s / len(docs):.2f} ms/page, {fold_s:.0f} s in one thread; "
              "index() below reuses the folds")
    queries = make_queries(facts, args.queries, args.seed)
    warm = make_queries(facts, args.warmup, args.seed + 1000)
    kind_counts = {k: sum(q.kind == k for q in queries) for k in KINDS}
    print("queries: " + ", ".join(f"{k} {n}" for k, n in kind_counts.items()) + f"; warm-up {len(warm)}")

    tmp = Path(tempfile.mkdtemp(prefix="abhilekh-search-bench-"))
    backends: list[Backend] = []
    es_index = None
    missed: list[str] = []
    try:
        if not args.skip_sqlite:
            sq = open_index(Settings(home=tmp / "home", es_url=None))
            backends.append(Backend("sqlite", sq))
        if not args.skip_es:
            name = f"bench-{args.seed}-{os.getpid()}"
            es_index = open_index(Settings(home=tmp / "home", es_url=args.es_url, es_index=name))
            es_index.check()  # type: ignore[attr-defined]
            es_index.drop()  # type: ignore[attr-defined]
            if args.stdlib_json:
                from elasticsearch.serializer import JsonSerializer

                es_index.client.transport.serializers.serializers["application/json"] = JsonSerializer()  # type: ignore[attr-defined]
            backends.insert(0, Backend("elasticsearch", es_index))

        # -- indexing -------------------------------------------------------------------
        for b in backends:
            print(f"indexing {len(docs):,} pages into {b.name} (batches of {args.batch})…", flush=True)
            (index_elastic if b.name == "elasticsearch" else index_sqlite)(b, docs, args.batch)
            print(f"  {b.rate:,.0f} pages/s ({b.index_seconds:.0f} s); count = {b.index.count():,}", flush=True)
        if es_index is not None:
            segs = es_index.client.indices.segments(index=es_index.alias)  # type: ignore[attr-defined]
            nseg = sum(len(s["segments"]) for idx in segs["indices"].values() for sh in idx["shards"].values() for s in sh)
            store = es_index.client.indices.stats(index=es_index.alias, metric="store")  # type: ignore[attr-defined]
            size = store["_all"]["primaries"]["store"]["size_in_bytes"]
            print(f"  elasticsearch index: {size / 1e6:.0f} MB, {nseg} segments")
        files = {p.name: p.stat().st_size / 1e6 for p in sorted((tmp / "home").glob("index.sqlite3*"))}
        print("  sqlite index: " + ", ".join(f"{n} {mb:.0f} MB" for n, mb in files.items()))

        if args.index_only:
            return 0
        # -- queries --------------------------------------------------------------------
        for b in backends:
            for q in warm:
                run_query(b, q, None)
        timers = {}
        with ExitStack() as st:
            for b in backends:
                timers[b.name] = st.enter_context(query_timers(b))
            for qi, q in enumerate(queries):
                order = backends if qi % 2 == 0 else list(reversed(backends))
                for b in order:
                    run_query(b, q, timers[b.name])

        # parity: same totals for the same query
        if len(backends) == 2:
            diff = sum(a != c for a, c in zip(backends[0].totals, backends[1].totals))
            print(f"parity: {len(queries) - diff}/{len(queries)} queries give the same total in both backends")

        # -- naive ------------------------------------------------------------------------
        naive: dict[str, list[float]] = defaultdict(list)
        naive_hits: list[int] = []
        if args.naive_queries > 0:
            t0 = time.perf_counter()
            ndb = build_naive(tmp / "naive.sqlite3", docs)
            print(f"naive LIKE table built in {time.perf_counter() - t0:.0f} s; "
                  f"running {min(args.naive_queries, len(queries))} queries…", flush=True)
            step = max(1, len(queries) // max(1, args.naive_queries))
            for q in queries[::step][: args.naive_queries]:
                ndb.execute("SELECT 1").fetchall()
                ms, n = naive_query(ndb, q)
                naive[q.kind].append(ms)
                naive_hits.append(n)
            ndb.close()

        # -- report ------------------------------------------------------------------------
        print()
        print(f"## Results: {len(docs):,} pages, {len(queries)} queries (limit=10, facets on), seed {args.seed}")
        print()
        rows = []
        for b in backends:
            lat = b.all_lat()
            rows.append([
                "Elasticsearch 9.3.2" if b.name == "elasticsearch" else "SQLite FTS5 (embedded)",
                f"{b.rate:,.0f}", fmt_ms(pct(lat, 50)), fmt_ms(pct(lat, 95)), fmt_ms(pct(lat, 99)),
                fmt_ms(statistics.fmean(lat)),
                f"{statistics.median(b.totals):,.0f}",
            ])
        if naive:
            lat = [x for v in naive.values() for x in v]
            rows.append([f"naive LIKE scan ({len(lat)} queries)", "-", fmt_ms(pct(lat, 50)), fmt_ms(pct(lat, 95)),
                         fmt_ms(pct(lat, 99)), fmt_ms(statistics.fmean(lat)), f"{statistics.median(naive_hits):,.0f}"])
        print(table(["backend", "index pages/s", "p50 ms", "p95 ms", "p99 ms", "mean ms", "median total hits"], rows))
        print()
        print("p95 ms by query kind (n queries):")
        print()
        krows = []
        for k in KINDS:
            row = [f"{k} ({kind_counts[k]})"]
            for b in backends:
                row.append(fmt_ms(pct(b.lat[k], 95)))
            if naive:
                row.append(fmt_ms(pct(naive.get(k, []), 95)) + f" (n={len(naive.get(k, []))})")
            row.append(f"{statistics.median([t for q, t in zip(queries, backends[-1].totals) if q.kind == k]):,.0f}")
            krows.append(row)
        heads = ["kind", *[("Elasticsearch" if b.name == "elasticsearch" else "SQLite") for b in backends]]
        if naive:
            heads.append("naive LIKE")
        heads.append("median total hits")
        print(table(heads, krows))
        print()

        # targets
        verdicts = []
        for b in backends:
            p95 = pct(b.all_lat(), 95)
            if b.name == "elasticsearch":
                ok_rate = b.rate >= TARGET_ES_RATE
                ok_p95 = p95 <= TARGET_ES_P95
                verdicts.append(f"{'PASS' if ok_rate else 'MISS'}  Elasticsearch bulk {b.rate:,.0f} pages/s (target >= {TARGET_ES_RATE:,.0f})")
                verdicts.append(f"{'PASS' if ok_p95 else 'MISS'}  Elasticsearch p95 {p95:.1f} ms (target <= {TARGET_ES_P95:.0f})")
                if not ok_rate:
                    missed.append("es_rate")
                if not ok_p95:
                    missed.append("es_p95")
            else:
                ok = p95 <= TARGET_SQLITE_P95
                verdicts.append(f"{'PASS' if ok else 'MISS'}  embedded (SQLite) p95 {p95:.1f} ms (target <= {TARGET_SQLITE_P95:.0f})")
                if not ok:
                    missed.append("sqlite_p95")
        print("\n".join(verdicts))
        print()

        # breakdowns
        for b in backends:
            print(f"indexing time, {b.name} ({b.index_seconds:.0f} s):")
            for part, s in b.index_parts.items():
                print(f"  {part:<58} {s:7.1f} s  {100 * s / b.index_seconds:5.1f} %")
        print()
        for b in backends:
            print(f"query time, {b.name}: mean / p95 ms per query of each part (all kinds)")
            for part, vals in b.parts.items():
                print(f"  {part:<50} {statistics.fmean(vals):7.2f}  {pct(vals, 95):7.2f}")
            worst = max(KINDS, key=lambda k: pct(b.lat[k], 95))
            qs = [i for i, q in enumerate(queries) if q.kind == worst]
            print(f"  slowest kind: {worst}; its mean parts:")
            for part, vals in b.parts.items():
                print(f"    {part:<48} {statistics.fmean(vals[i] for i in qs):7.2f}")
        print()

        if missed and not args.no_profile:
            sample = queries[:: max(1, len(queries) // 60)]
            for b in backends:
                if (b.name == "sqlite" and "sqlite_p95" in missed) or (b.name == "elasticsearch" and "es_p95" in missed):
                    print(f"cProfile of {len(sample)} queries on {b.name} (cumulative):")
                    print(profile_text(lambda b=b: [b.index.search(q.text, q.filters, limit=10) for q in sample]))
                    print()
            if "es_rate" in missed and es_index is not None:
                part = docs[:2000]
                print("cProfile of index() of 2,000 pages into Elasticsearch (cumulative):")
                print(profile_text(lambda: es_index.index(part)))
                print()
    finally:
        _close_backends(backends, keep=args.keep, tmp=tmp)
        if args.keep:
            print(f"kept {tmp}")
    return 0


# ----------------------------------------------------------------------------- growth mode


def _fold_chunk(docs: list[SearchDocument]) -> list[dict[str, str]]:
    from search.page import fold_record

    return [fold_record(d) for d in docs]


def _dir_mb(paths: list[Path]) -> float:
    return sum(p.stat().st_size for p in paths if p.exists()) / 1e6


def growth(args: argparse.Namespace, argv: list[str] | None) -> int:
    """Index up to each step's page count, then time the same queries at that size.

    The queries are drawn from the cases of the first step's pages, so every step asks
    the same questions of a larger index. Pages are made, folded (in ``--fold-jobs``
    processes, as ingest folds once per page) and indexed one step at a time and then
    dropped, so 1M pages need no 1M-page list in memory. A line per step is printed as
    soon as it is measured: a run stopped early still leaves its finished steps."""
    from concurrent.futures import ProcessPoolExecutor
    from dataclasses import replace

    steps = sorted({int(x.replace("_", "")) for x in args.steps.split(",") if x.strip()})
    if not args.skip_es and not args.es_url:
        print("no Elasticsearch: set ABHILEKH_ES_URL, pass --es-url, or --skip-es", file=sys.stderr)
        return 2
    print(f"# search benchmark, growth  {dt.datetime.now().isoformat(timespec='seconds')}")
    print(f"command: {' '.join([Path(sys.executable).name, '-m', 'bench.search_bench', *(argv if argv is not None else sys.argv[1:])])}")
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
          f"{_mem_gb():.0f} GB RAM, load avg {' '.join(f'{x:.1f}' for x in os.getloadavg())}; "
          f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="abhilekh-search-growth-", dir=os.environ.get("ABHILEKH_BENCH_TMP")))
    backends: list[Backend] = []
    gen = corpus(steps[-1], args.seed)
    made = 0
    facts: list[Facts] = []
    queries: list[Query] = []
    warm: list[Query] = []
    rows: list[list[str]] = []
    ndb = sqlite3.connect(str(tmp / "naive.sqlite3"))
    ndb.execute("PRAGMA journal_mode = WAL")
    ndb.execute("CREATE TABLE raw (rowid INTEGER PRIMARY KEY, bundle_id TEXT, page INTEGER, thana TEXT, year INTEGER, text TEXT)")
    heads = ["pages", "backend", "index pages/s (this step)", "p50 ms", "p95 ms", "p99 ms", "median hits",
             "disk MB", "MB per 1M pages"]
    try:
        if not args.skip_es:
            name = f"bench-growth-{args.seed}-{os.getpid()}"
            es_index = open_index(Settings(home=tmp / "home", es_url=args.es_url, es_index=name))
            es_index.check()  # type: ignore[attr-defined]
            es_index.drop()  # type: ignore[attr-defined]
            backends.append(Backend("elasticsearch", es_index))
        if not args.skip_sqlite:
            backends.append(Backend("sqlite", open_index(Settings(home=tmp / "home", es_url=None))))
        with ProcessPoolExecutor(max_workers=max(1, args.fold_jobs)) as folders:
            for step in steps:
                t_step = time.perf_counter()
                part: list[SearchDocument] = []
                for doc, fs in gen:
                    part.append(doc)
                    if made % FACT_EVERY == 0 and not queries:
                        facts.extend(fs)
                    made += 1
                    if made >= step:
                        break
                gen_s = time.perf_counter() - t_step
                t0 = time.perf_counter()
                chunks = [part[i:i + 1000] for i in range(0, len(part), 1000)]
                folded = [f for out in folders.map(_fold_chunk, chunks) for f in out]
                part = [replace(d, index_fields=f) for d, f in zip(part, folded)]
                del folded, chunks
                fold_s = time.perf_counter() - t0
                print(f"step {step:,}: {len(part):,} new pages made in {gen_s:.0f} s, folded in {fold_s:.0f} s "
                      f"({args.fold_jobs} processes)", flush=True)
                for b in backends:
                    (index_elastic if b.name == "elasticsearch" else index_sqlite)(b, part, args.batch)
                    print(f"  {b.name}: {b.rate:,.0f} pages/s ({b.index_seconds:.0f} s); count {b.index.count():,}",  # type: ignore[attr-defined]
                          flush=True)
                ndb.executemany(
                    "INSERT INTO raw (bundle_id, page, thana, year, text) VALUES (?, ?, ?, ?, ?)",
                    ((d.bundle_id, d.page, d.metadata.thana, d.metadata.year, d.text) for d in part),
                )
                ndb.commit()
                del part
                if not queries:
                    queries = make_queries(facts, args.queries, args.seed)
                    warm = make_queries(facts, args.warmup, args.seed + 1000)
                    print("queries (from the first step's cases, the same at every step): "
                          + ", ".join(f"{k} {sum(q.kind == k for q in queries)}" for k in KINDS), flush=True)
                # -- sizes -------------------------------------------------------------
                sizes: dict[str, float] = {}
                for b in backends:
                    if b.name == "elasticsearch":
                        client = b.index.client  # type: ignore[attr-defined]
                        client.indices.refresh(index=b.index.alias)  # type: ignore[attr-defined]
                        st = client.indices.stats(index=b.index.alias, metric="store")  # type: ignore[attr-defined]
                        sizes[b.name] = st["_all"]["primaries"]["store"]["size_in_bytes"] / 1e6
                    else:
                        sizes[b.name] = _dir_mb(sorted((tmp / "home").glob("index.sqlite3*")))
                ndb.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                sizes["naive"] = _dir_mb(sorted(tmp.glob("naive.sqlite3*")))
                # -- queries -----------------------------------------------------------
                for b in backends:
                    b.lat, b.parts, b.totals = defaultdict(list), defaultdict(list), []
                    for q in warm:
                        run_query(b, q, None)
                with ExitStack() as st_:
                    timers = {b.name: st_.enter_context(query_timers(b)) for b in backends}
                    for qi, q in enumerate(queries):
                        for b in (backends if qi % 2 == 0 else list(reversed(backends))):
                            run_query(b, q, timers[b.name])
                nlat: list[float] = []
                nhits: list[int] = []
                stride = max(1, len(queries) // max(1, args.naive_queries))
                for q in queries[::stride][: args.naive_queries]:
                    ms, n = naive_query(ndb, q)
                    nlat.append(ms)
                    nhits.append(n)
                parity = ""
                if len(backends) == 2:
                    same = sum(a == c for a, c in zip(backends[0].totals, backends[1].totals))
                    parity = f"; parity {same}/{len(queries)} same totals"
                for b in backends:
                    lat = b.all_lat()
                    rows.append([f"{made:,}", b.name, f"{b.rate:,.0f}", fmt_ms(pct(lat, 50)), fmt_ms(pct(lat, 95)),
                                 fmt_ms(pct(lat, 99)), f"{statistics.median(b.totals):,.0f}", f"{sizes[b.name]:,.0f}",
                                 f"{sizes[b.name] * 1e6 / made:,.0f}"])
                if nlat:
                    rows.append([f"{made:,}", f"naive LIKE scan ({len(nlat)} queries)", "-", fmt_ms(pct(nlat, 50)),
                                 fmt_ms(pct(nlat, 95)), fmt_ms(pct(nlat, 99)), f"{statistics.median(nhits):,.0f}",
                                 f"{sizes['naive']:,.0f}", f"{sizes['naive'] * 1e6 / made:,.0f}"])
                print(f"  measured at {made:,} pages in {time.perf_counter() - t_step:.0f} s "
                      f"(load avg {' '.join(f'{x:.1f}' for x in os.getloadavg())}){parity}", flush=True)
                print(table(heads, rows[-(len(backends) + (1 if nlat else 0)):]), flush=True)
        print()
        print(f"## Growth: {len(queries)} queries (limit=10, facets on), seed {args.seed}, "
              f"{dt.datetime.now().isoformat(timespec='minutes')}")
        print()
        print(table(heads, rows))
    finally:
        ndb.close()
        _close_backends(backends, keep=args.keep, tmp=tmp)
    return 0


def _mem_gb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        return float("nan")


if __name__ == "__main__":
    sys.exit(main())
