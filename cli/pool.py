"""`abhilekh batch --pool NAME`: submit a manifest to a Prefect work pool and follow it.

The backlog is printed as one line whenever it changes (queued / running / done /
failed, pages per minute across workers), so a log file of the command reads as well
as a terminal does.
"""

from __future__ import annotations

import os
import time

from rich.console import Console
from rich.markup import escape

from abhilekh.settings import get_settings
from pipelines.batch import BundleRequest
from pipelines.report import BundleReport


def batch_in_pool(requests: list[BundleRequest], pool: str, limit: int | None, console: Console,
                  timeout: float | None = None) -> tuple[list[BundleReport], float]:
    """Submit one flow run per bundle to POOL, follow them to the end, return their reports."""
    from pipelines import pool as work_pool

    settings = get_settings()
    started = time.monotonic()
    api = os.environ.get("PREFECT_API_URL", "")
    run_ids = work_pool.submit(requests, pool, limit if limit is not None else settings.pool_concurrency)
    console.print(f"{len(run_ids)} bundle(s) queued in work pool {escape(pool)} at {escape(api)}; workers: "
                  f"`prefect worker start --pool {escape(pool)}` on each machine")
    last: list[object] = []

    def show(p: work_pool.PoolProgress) -> None:
        line = (p.queued, p.running, p.done, p.failed, p.restarted)
        if line == tuple(last):
            return
        last[:] = line
        workers = ", ".join(f"{escape(w)}: {n}" for w, n in sorted(p.workers.items())) or "-"
        again = f", {p.restarted} restarted" if p.restarted else ""
        console.print(f"queued {p.queued}  running {p.running}  done {p.done}  failed {p.failed}{again}  "
                      f"{p.pages} page(s), {p.pages_per_minute:.1f} pages/min  (bundles per worker: {workers})")

    _progress, reports, finals = work_pool.watch(run_ids, pool, settings, on_progress=show, timeout=timeout)
    return work_pool.bundle_reports(requests, run_ids, reports, finals), time.monotonic() - started
