"""Capacity plan for the state's backlog, from measured numbers (issue 14).

Every input below is a measurement from a bench in this repository, with its date and
the machine it ran on, or a stated vendor guideline where nothing of ours measures it
(marked GUIDELINE). Change the parameters, not the measurements::

    .venv/bin/python bench/capacity.py                       # Uttar Pradesh defaults
    .venv/bin/python bench/capacity.py --pages-per-station 50000 --months 18

It prints the plan as a markdown table (docs/capacity.md is its output plus words).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Measured:
    value: float
    unit: str
    source: str


MEASURED = {
    # docs/benchmarks.md, pipeline bench, 2026-11-29 quiet-machine run: OCR alone
    # 28.7 and 32.2 pages/min, the whole pipeline 29.9-31.9, on 2 cores.
    "pages_per_min_per_2core": Measured(30.5, "pages/min", "bench/pipeline_bench.py 2026-11-29, 2 cores, mean of OCR alone"),
    "cpu_s_per_page": Measured(3.8, "CPU s/page", "bench/pipeline_bench.py 2026-11-29, pipeline MinIO + ES"),
    # 2026-12-02: 3 register + 3 letter pages (tests/fixtures/pagegen, 300 dpi, clean)
    # ingested for real: page JSON 36.7 kB (words, boxes, the fold) + PDF 27.8 kB +
    # thumbnail 12.9 kB per page. Clean synthetic PNGs compress far better than real
    # scans (their PDF carries the cleaned image): pass --store-bytes-per-page for those.
    "store_bytes_per_page": Measured(77_540, "bytes/page", "store of 6 pages ingested 2026-12-02"),
    # bench/search_bench.py --pages 100000 --skip-sqlite --index-only, 2026-12-02:
    # 669 MB primary store for 100,000 pages (50 segments, not force-merged).
    # bench/search_bench.py --steps 50000,...,1000000, 2026-12-02: 2,557 MB primaries
    # at 300,000 pages (not force-merged; 6.5 kB a page at 50k, 7.8 at 100k, 8.9 at 200k)
    # Measured at 1M (third attempt, 2026-12-02 19:09-20:19, ES alone): 7,739 MB
    # primaries at 1,000,000 pages (7.3 kB a page at 300k, 7.1 at 600k in that run).
    "es_bytes_per_page": Measured(7739e6 / 1_000_000, "bytes/page", "bench/search_bench.py --steps 2026-12-02 19:09, 1M pages"),
    # ES process CPU (node stats process.cpu.total_in_millis) per pre-folded page,
    # bench/search_bench.py --pages 5000 --skip-sqlite --index-only [--bulk-path rebuild],
    # 2026-12-02 06:45-07:05, 4 rounds at load 15-43: index() 0.46-1.05 ms, rebuild()
    # 0.50-0.64 ms; the highest of the clean rounds taken (0.85). The figure before,
    # 2.7 ms, was indexing.index_time_in_millis: thread time, waiting included.
    "es_index_ms_per_page": Measured(0.85, "ES CPU ms/page", "ES node stats, bench/search_bench.py 2026-12-02, 5,000 pages"),
    # bench/search_bench.py --steps ..., 2026-12-02: the embedded index (SQLite FTS5
    # with the second-tier fields) at 300,000 pages, for a station that runs offline
    # ...measured to 1M on 2026-12-03 07:03-08:33: 16,795 MB at 1,000,000 pages.
    "sqlite_bytes_per_page": Measured(16795e6 / 1_000_000, "bytes/page", "bench/search_bench.py --steps 2026-12-03 07:03, 1M pages"),
    "fold_ms_per_page": Measured(4.0, "ms/page", "bench/search_bench.py 2026-12-02, 100k pages, one thread, load 2-7"),
    # pre-folded pages, three bulk requests in flight, one ES node on the same 2 cores
    "es_bulk_pages_per_s": Measured(1806, "pages/s", "bench/search_bench.py 2026-12-02, 100k pages, load 2-7"),
}
GUIDELINE = {
    "shard_gb": 40.0,  # Elastic: keep shards between 10 and 50 GB
    "shards_per_heap_gb": 20.0,  # Elastic: at most 20 shards per GB of heap
    "minio_raw_factor": 2.0,  # MinIO erasure on 4 drives, default parity EC:2 -> half usable
}


def plan(stations: int, pages_per_station: int, months: float, replicas: int, store_bytes: float,
         machine_hours_per_day: float = 24.0) -> list[tuple[str, str, str]]:
    m = MEASURED
    pages = stations * pages_per_station
    rate = m["pages_per_min_per_2core"].value
    machine_days = pages / rate / 60 / machine_hours_per_day
    days = months * 30.4
    workers = math.ceil(machine_days / days)
    store_tb = pages * store_bytes / 1e12
    raw_tb = store_tb * GUIDELINE["minio_raw_factor"]
    index_gb = pages * m["es_bytes_per_page"].value / 1e9
    primaries = max(1, math.ceil(index_gb / GUIDELINE["shard_gb"]))
    total_shards = primaries * (1 + replicas)
    heap_gb = float(max(1, math.ceil(total_shards / GUIDELINE["shards_per_heap_gb"])))
    # ES must keep up with the OCR workers: pages/s arriving against ES CPU per page.
    arriving = workers * rate / 60
    es_cores = arriving * m["es_index_ms_per_page"].value / 1000 * (1 + replicas)
    # rebuild() loads primaries only (no replicas, bench/search_bench.py --bulk-path rebuild)
    reindex_core_h = pages * m["es_index_ms_per_page"].value / 1000 / 3600
    return [
        ("backlog", f"{pages:,} pages", f"{stations:,} stations × {pages_per_station:,}"),
        ("OCR machine-days (2-core)", f"{machine_days:,.0f}", f"at {rate} pages/min ({m['pages_per_min_per_2core'].source})"),
        (f"2-core workers to finish in {months:g} months", f"{workers:,}", "work pool, `prefect worker start` each"),
        ("object store (usable)", f"{store_tb:,.1f} TB", f"{store_bytes / 1e3:,.0f} kB/page"),
        ("object store (raw disks, MinIO EC:2 on 4)", f"{raw_tb:,.1f} TB", "GUIDELINE ×2"),
        ("index (primaries)", f"{index_gb:,.0f} GB", f"{m['es_bytes_per_page'].value / 1e3:.1f} kB/page ({m['es_bytes_per_page'].source})"),
        ("primary shards", f"{primaries:,}", f"≤ {GUIDELINE['shard_gb']:.0f} GB each (GUIDELINE)"),
        (f"shards with {replicas} replica(s)", f"{total_shards:,}", ""),
        ("Elasticsearch heap (cluster)", f"{heap_gb:,.0f} GB", f"≤ {GUIDELINE['shards_per_heap_gb']:.0f} shards per GB (GUIDELINE)"),
        ("ES indexing CPU to keep up", f"{es_cores:,.2f} cores", f"{arriving:,.1f} pages/s from the workers × "
         f"{m['es_index_ms_per_page'].value} ms × {1 + replicas} copies"),
        ("a full reindex: ES CPU", f"{reindex_core_h:,.1f} core-hours",
         f"{m['es_index_ms_per_page'].value} ms/page ({m['es_index_ms_per_page'].source}); replicas built after"),
        ("a full reindex on 2 free ES cores", f"{reindex_core_h / 2:,.1f} hours", "the reindex spread over more nodes' cores scales down"),
        (f"embedded index (SQLite) per {pages_per_station:,}-page station", f"{pages_per_station * m['sqlite_bytes_per_page'].value / 1e9:,.2f} GB",
         f"{m['sqlite_bytes_per_page'].value / 1e3:.1f} kB/page ({m['sqlite_bytes_per_page'].source})"),
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stations", type=int, default=1500)
    ap.add_argument("--pages-per-station", type=int, default=20_000)
    ap.add_argument("--months", type=float, default=12.0)
    ap.add_argument("--replicas", type=int, default=1)
    ap.add_argument("--store-bytes-per-page", type=float, default=MEASURED["store_bytes_per_page"].value)
    args = ap.parse_args(argv)
    rows = plan(args.stations, args.pages_per_station, args.months, args.replicas, args.store_bytes_per_page)
    print("| figure | value | from |\n|---|---:|---|")
    for name, value, source in rows:
        print(f"| {name} | {value} | {source} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
