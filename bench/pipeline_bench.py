"""Whole-pipeline throughput against OCR alone, and Prefect's per-task overhead.

    .venv/bin/python bench/pipeline_bench.py [--pages 32] [--bundles 4] [--no-servers] [--jobs N] [--noop 200]

* OCR alone: `ingest.process.process_page` (read page → clean → OCR → PDF page) on every
  page in a pool of N threads — the floor the pipeline cannot beat.
* Pipeline: the `ingest-batch` flow through Prefect (plan, per-page tasks, work files,
  store with read-back verification, PDF assembly, manifest, index) on the same pages
  and the same N, embedded backends; and MinIO + Elasticsearch too when
  ABHILEKH_S3_ENDPOINT / ABHILEKH_ES_URL are set. Prefect's API start-up is paid once
  before timing (a warm-up flow), as in a long-running worker.
* Prefect overhead: a flow mapping `--noop` no-op tasks on a thread pool, per task.
* OCR alone again at the end; the floor is the mean of both runs (load drifts).
* Where the time goes: per-stage wall and CPU (pipelines/timing.py), how long the OCR
  workers sat idle at the start and the end, and CPU seconds per page by process
  (this one, Tesseract, Prefect's API, MinIO, Elasticsearch): on a shared machine the
  CPU per page is the steadier comparison.

Prints a Markdown table. Pages are generated (tests/fixtures/pagegen.py, profile
"light") into a cache under /tmp so reruns compare like with like.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
WORK = Path(tempfile.mkdtemp(prefix="abhilekh-pipeline-bench-"))
os.environ.setdefault("PREFECT_HOME", str(WORK / "prefect"))
for k, v in {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1", "PREFECT_LOGGING_LEVEL": "ERROR",
             "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
             # a fresh Prefect home migrates its database first: slow on a loaded machine
             "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300"}.items():
    os.environ.setdefault(k, v)


def make_pages(n_pages: int, n_bundles: int) -> list[Path]:
    from tests.fixtures.pagegen import make_bundle

    cache = Path(tempfile.gettempdir()) / f"abhilekh-bench-bundles-{n_pages}-{n_bundles}"
    bundles = [cache / f"bundle-{b}" for b in range(n_bundles)]
    per = [n_pages // n_bundles + (1 if b < n_pages % n_bundles else 0) for b in range(n_bundles)]
    if not (cache / ".complete").exists():
        shutil.rmtree(cache, ignore_errors=True)
        for b, (d, n) in enumerate(zip(bundles, per)):
            make_bundle(d, seed=700 + b, pages=n, kind="register" if b % 2 else "letter", profile="light", year=2019)
            (d / "truth.json").unlink()
        (cache / ".complete").touch()
    return bundles


def ocr_alone(bundles: list[Path], settings, jobs: int, label: str = "OCR alone") -> tuple[int, float]:
    from ingest.load import read_page
    from ingest.process import process_page

    files = [f for d in bundles for f in sorted(d.glob("page*.png"))]

    from pipelines import timing

    def one(f: Path) -> None:
        with timing.stage("ocr.read"):
            page = read_page(f, 1, settings)
        with timing.stage("ocr.process"):
            process_page(page.image, page.dpi, settings)

    timing.reset()
    started = time.perf_counter()
    with cpu_meter(label), ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, files))
    seconds = time.perf_counter() - started
    PROFILES[label] = (started, seconds, timing.snapshot())
    return len(files), seconds


def pipeline(bundles: list[Path], settings, label: str) -> tuple[int, float]:
    import flows
    from abhilekh.settings import activate
    from pipelines import timing
    from pipelines.batch import BundleRequest

    activate(settings)
    try:
        timing.reset()
        started = time.perf_counter()
        with cpu_meter(label):
            reports = flows.run_ingest_batch([BundleRequest(str(d), {"title": d.name}) for d in bundles])
        seconds = time.perf_counter() - started
        PROFILES[label] = (started, seconds, timing.snapshot())
    finally:
        activate(None)
    bad = [r for r in reports if not r["ok"]]
    if bad:
        raise SystemExit(f"{label}: bundles failed: {bad}")
    return sum(r["pages"] for r in reports), seconds


PROFILES: dict[str, tuple[float, float, dict]] = {}
CPU: dict[str, dict[str, float]] = {}
PAGES: dict[str, int] = {}


def _proc_cpu(pid: int) -> float:
    """utime + stime of a live process, in seconds (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _live_children() -> list[int]:
    me = str(os.getpid())
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if stat.read_text().rsplit(")", 1)[1].split()[1] == me:
                kids.append(int(stat.parent.name))
        except (OSError, IndexError):
            continue
    return kids


def _server_pids() -> dict[str, int]:
    """MinIO and Elasticsearch of `scripts/services`, when their pid files are found."""
    root = Path(os.environ.get("ABHILEKH_SERVICES_DIR", ""))
    out = {}
    for name, f in (("MinIO", "minio/minio.pid"), ("Elasticsearch", "es/es.pid")):
        try:
            out[name] = int((root / f).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return out


class cpu_meter:
    """CPU seconds spent during a run: this process, its finished children (Tesseract),
    its live children (Prefect's temporary API server), MinIO and Elasticsearch. Unlike
    wall time, CPU per page hardly moves when other work loads the machine."""

    def __init__(self, label: str) -> None:
        self.label = label

    def _read(self) -> dict[str, float]:
        import resource

        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = {"bench process (Python)": own.ru_utime + own.ru_stime,
               "Tesseract (finished children)": kids.ru_utime + kids.ru_stime,
               "Prefect API (live children)": sum(_proc_cpu(p) for p in _live_children())}
        out |= {name: _proc_cpu(pid) for name, pid in _server_pids().items()}
        return out

    def __enter__(self) -> cpu_meter:
        self.before = self._read()
        return self

    def __exit__(self, *exc) -> None:
        after = self._read()
        CPU[self.label] = {k: after[k] - self.before.get(k, 0.0) for k in after}


def print_profiles(jobs: int) -> None:
    """Per-stage wall and CPU seconds, and how busy the OCR workers were."""
    print()
    print("Per-stage totals (wall = summed over threads; cpu = that thread's own CPU, "
          "Tesseract's child processes not included):")
    print()
    print("| run | stage | calls | wall s | cpu s |")
    print("|---|---|---:|---:|---:|")
    for label, (_, _, stages) in PROFILES.items():
        for name in sorted(stages):
            st = stages[name]
            print(f"| {label} | {name} | {st['calls']} | {st['wall']:.2f} | {st['cpu']:.2f} |")
    print()
    print("CPU seconds per page, by process (robust against other load on the machine):")
    print()
    names = sorted({k for v in CPU.values() for k in v})
    print("| run | " + " | ".join(names) + " | total | × OCR alone |")
    print("|---|" + "---:|" * (len(names) + 2))
    base = None
    for label, parts in CPU.items():
        pages = PAGES.get(label, 1)
        total = sum(parts.values()) / pages
        base = base or total  # the first OCR-alone run
        print(f"| {label} | " + " | ".join(f"{parts.get(k, 0.0) / pages:.2f}" for k in names)
              + f" | {total:.2f} | {total / base:.2f} |")
    print()
    print("| run | seconds | first OCR starts after | after last OCR ends | OCR workers busy |")
    print("|---|---:|---:|---:|---:|")
    for label, (started, seconds, stages) in PROFILES.items():
        ocr = stages.get("ocr.process")
        if not ocr:
            continue
        busy = (ocr["wall"] + stages.get("ocr.read", {}).get("wall", 0.0)) / (jobs * seconds)
        print(f"| {label} | {seconds:.1f} | {ocr['first'] - started:.1f} s | {started + seconds - ocr['last']:.1f} s "
              f"| {100 * busy:.0f} % |")


def prefect_overhead(n: int, jobs: int) -> tuple[float, float]:
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE
    from prefect.task_runners import ThreadPoolTaskRunner

    @task(cache_policy=NO_CACHE)
    def noop(i: int) -> int:
        return i

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=jobs))
    def mapped(k: int) -> int:
        return sum(f.result() for f in noop.map(range(k)))

    @flow
    def empty() -> None:
        return None

    empty()  # warm
    t = time.perf_counter()
    empty()
    flow_cost = time.perf_counter() - t
    t = time.perf_counter()
    mapped(n)
    total = time.perf_counter() - t
    return flow_cost, (total - flow_cost) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=32)  # about 10 minutes in all on 2 cores
    ap.add_argument("--bundles", type=int, default=4)
    ap.add_argument("--no-servers", action="store_true", help="embedded backends only, even if servers are set")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--noop", type=int, default=200)
    args = ap.parse_args()

    from abhilekh.settings import Settings

    base = dict(ocr_jobs=args.jobs, es_url=None, s3_endpoint=None)
    bundles = make_pages(args.pages, args.bundles)
    print(f"{args.pages} pages in {args.bundles} bundles, {args.jobs} OCR jobs, {os.cpu_count()} cores; "
          f"load average before: {os.getloadavg()[0]:.1f}", file=sys.stderr)

    flow_cost, per_task = prefect_overhead(args.noop, args.jobs)  # also warms Prefect's API up
    rows = []
    n, s = ocr_alone(bundles, Settings(home=WORK / "ocr", **base), args.jobs)
    first_floor = 60 * n / s
    for label in ("OCR alone", "OCR alone, again", "pipeline, embedded", "pipeline, MinIO + ES"):
        PAGES[label] = n
    rows.append(("OCR alone (process_page, thread pool)", n, s, first_floor, os.getloadavg()[0]))
    n, s = pipeline(bundles, Settings(home=WORK / "embedded", **base), "embedded")
    rows.append(("pipeline via Prefect, embedded store + SQLite", n, s, 60 * n / s, os.getloadavg()[0]))
    PROFILES["pipeline, embedded"] = PROFILES.pop("embedded")
    CPU["pipeline, embedded"] = CPU.pop("embedded")
    if not args.no_servers and os.environ.get("ABHILEKH_S3_ENDPOINT") and os.environ.get("ABHILEKH_ES_URL"):
        import uuid

        unique = uuid.uuid4().hex[:8]
        real = Settings(home=WORK / "servers", **(base | {
            "es_url": os.environ["ABHILEKH_ES_URL"], "es_index": f"bench-{unique}",
            "s3_endpoint": os.environ["ABHILEKH_S3_ENDPOINT"], "s3_access_key": os.environ.get("ABHILEKH_S3_ACCESS_KEY"),
            "s3_secret_key": os.environ.get("ABHILEKH_S3_SECRET_KEY"), "s3_bucket": f"bench-{unique}"}))
        try:
            n, s = pipeline(bundles, real, "servers")
            rows.append(("pipeline via Prefect, MinIO + Elasticsearch", n, s, 60 * n / s, os.getloadavg()[0]))
            PROFILES["pipeline, MinIO + ES"] = PROFILES.pop("servers")
            CPU["pipeline, MinIO + ES"] = CPU.pop("servers")
        finally:
            from search import open_index
            from storage.s3 import S3Store

            S3Store.from_settings(real).remove_bucket()
            idx = open_index(real)
            idx.drop()  # type: ignore[attr-defined]
            idx.close()

    # OCR alone once more at the end: other work on the machine drifts, and the mean of
    # a run before and a run after is a fairer floor than either.
    n, s = ocr_alone(bundles, Settings(home=WORK / "ocr2", **base), args.jobs, "OCR alone, again")
    rows.append(("OCR alone, again (after the pipelines)", n, s, 60 * n / s, os.getloadavg()[0]))
    floor = (first_floor + 60 * n / s) / 2

    print(f"| run | pages | seconds | pages/min | × OCR alone (mean of both, {floor:.1f} pages/min) "
          "| load average at its end |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, n, s, rate, load in rows:
        print(f"| {label} | {n} | {s:.1f} | {rate:.1f} | {rate / floor:.2f} | {load:.1f} |")
    print()
    print(f"Prefect: an empty flow run costs {flow_cost * 1000:.0f} ms; a mapped no-op task "
          f"{per_task * 1000:.1f} ms each ({args.noop} tasks, {args.jobs} threads). "
          f"Load average after: {os.getloadavg()[0]:.1f}.")
    print_profiles(args.jobs)
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
