"""Where a search page's CPU goes, in-process, one request at a time (issue 15).

    .venv/bin/python bench/load_bench.py --seconds 5 --mode search --home /tmp/web/home   # builds the home once
    ABHILEKH_SEARCH_CACHE=0 .venv/bin/python bench/search_page_cpu.py --home /tmp/web/home

Runs the real app (`web.app.create_app`) through Starlette's TestClient on a home that
`bench/load_bench.py --home` built (its plan.json holds each officer's queries), logs in
as one officer, warms up on 20 queries, then asks --n searches drawn from that officer's
queries and prints the process CPU per request (TestClient's own work included, ~1.5 ms)
and the thread CPU of each step: the engine's SQL (`_with_fuzzy_tier`), the snippets
(`hits`), the template's render, the hits' register entries, the audit record, the
station catalogue. The load bench gives the server's CPU under 20 officers; this gives
the split of one request without the run-to-run spread of a loaded 2-core machine.
Run it from a worktree with PYTHONPATH=<worktree> to measure another commit.
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from abhilekh.settings import Settings  # noqa: E402

PASSWORD = "load-bench-pass-1"  # bench/load_bench.py's accounts


def _timed(acc: collections.Counter[str], owner: Any, name: str, label: str) -> None:
    """Wrap ``owner.name`` so its thread CPU adds up under ``label``."""
    fn = getattr(owner, name)
    if fn.__code__.co_flags & 0x80:  # a coroutine function

        @functools.wraps(fn)
        async def wrapped_async(*a: Any, **k: Any) -> Any:
            t = time.thread_time()
            try:
                return await fn(*a, **k)
            finally:
                acc[label] += time.thread_time() - t

        setattr(owner, name, wrapped_async)
        return

    @functools.wraps(fn)
    def wrapped(*a: Any, **k: Any) -> Any:
        t = time.thread_time()
        try:
            return fn(*a, **k)
        finally:
            acc[label] += time.thread_time() - t

    setattr(owner, name, wrapped)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, required=True, help="a home built by bench/load_bench.py --home")
    ap.add_argument("--user", default="officer00")
    ap.add_argument("--n", type=int, default=400, help="searches timed")
    args = ap.parse_args()
    plan_file = args.home / "plan.json"
    if not plan_file.exists():
        print(f"{plan_file} is missing: build the home first with bench/load_bench.py --home {args.home}",
              file=sys.stderr)
        return 2
    from fastapi.testclient import TestClient

    import search.core
    import web.routes.entries
    import web.routes.search
    from web.app import create_app
    from web.catalog import Catalog

    acc: collections.Counter[str] = collections.Counter()
    _timed(acc, search.core, "_with_fuzzy_tier", "engine (SQL): _with_fuzzy_tier")
    _timed(acc, search.core, "hits", "snippets: search.core.hits")
    _timed(acc, web.routes.search, "render", "template: render")
    _timed(acc, web.routes.entries, "hit_entries", "register entries of the hits")
    _timed(acc, web.routes.search, "audit_search_async", "audit record (event loop part)")
    _timed(acc, Catalog, "counts", "station catalogue")
    queries = json.loads(plan_file.read_text())[args.user]
    rng = random.Random(3)
    app = create_app(Settings(home=args.home, es_url=None, s3_endpoint=None))
    with TestClient(app) as client:
        r = client.post("/api/login", json={"username": args.user, "password": PASSWORD})
        if r.status_code != 200:
            print(f"log-in as {args.user} failed: {r.status_code}", file=sys.stderr)
            return 2
        for q in rng.sample(queries, min(20, len(queries))):
            client.get("/", params={"q": q})
        acc.clear()
        sample = [rng.choice(queries) for _ in range(args.n)]
        t0 = time.process_time()
        size = 0
        for q in sample:
            r = client.get("/", params={"q": q})
            r.raise_for_status()
            size += len(r.content)
        cpu = (time.process_time() - t0) / args.n * 1000
    print(f"{args.n} searches as {args.user}: {cpu:.2f} ms CPU per request (process), "
          f"HTML {size / args.n / 1024:.1f} KiB a page")
    print("| step | ms CPU per search page |\n|---|---:|")
    for label, seconds in acc.most_common():
        print(f"| {label} | {seconds / args.n * 1000:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
