"""The SQLite engine's statements, timed one by one, for a load-bench home's queries (issue 15).

    .venv/bin/python bench/load_bench.py --seconds 5 --mode search --home /tmp/web/home   # builds the home once
    .venv/bin/python bench/search_engine_sql.py --home /tmp/web/home [--scoped] [--n 400]

Draws --n queries at random (seed 1) from the home's plan.json (each officer's names,
crime numbers, sections and villages), runs each through the engine as a search page
does (`search.core._with_fuzzy_tier`, 10 hits), scoped to one station with --scoped (as
an officer's search is) or to every station, after 50 warm-up searches; prints the wall
time per search and each SQL statement's share (its first 60 characters, how many times
a search runs it). Run it from a worktree with PYTHONPATH=<worktree> to measure another
commit; alternate before and after, the machine's speed drifts.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class _TimedCursor:
    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows

    def fetchall(self) -> list[Any]:
        return self.rows

    def fetchmany(self, n: int) -> list[Any]:
        return self.rows[:n]

    def close(self) -> None:
        pass

    def __iter__(self):  # noqa: ANN204
        return iter(self.rows)


class _TimedConnection:
    """Times each statement with the fetching of its rows (as many as the engine reads)."""

    def __init__(self, db: sqlite3.Connection, spent: collections.Counter[str], runs: collections.Counter[str],
                 one_pass_max: int) -> None:
        self.db, self.spent, self.runs, self.one_pass_max = db, spent, runs, one_pass_max

    def execute(self, sql: str, args: Any = ()) -> _TimedCursor:
        t = time.perf_counter()
        cur = self.db.execute(sql, args)
        # the one-pass statement is read only up to ONE_PASS_MAX + 1 rows
        rows = cur.fetchmany(self.one_pass_max + 1) if "c.combo FROM pages_fts" in sql else cur.fetchall()
        cur.close()
        key = " ".join(sql.split())[:60]
        self.spent[key] += time.perf_counter() - t
        self.runs[key] += 1
        return _TimedCursor(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--home", type=Path, required=True, help="a home built by bench/load_bench.py --home")
    ap.add_argument("--n", type=int, default=400, help="searches timed (default 400)")
    ap.add_argument("--scoped", action="store_true", help="scope each search to one station, as an officer's")
    a = ap.parse_args(argv)

    import search.sqlite as engine_module
    from search.core import Scope, _with_fuzzy_tier
    from search.query import parse_query
    from search.sqlite import SqliteIndex

    plan = json.loads((a.home / "plan.json").read_text(encoding="utf-8"))
    queries = [q for officer in plan.values() for q in officer]
    with sqlite3.connect(a.home / "index.sqlite3") as db:
        station = db.execute("SELECT thana_key FROM pages ORDER BY rowid LIMIT 1").fetchone()[0]
    scope = Scope(thana_keys=(station,)) if a.scoped else Scope()
    rng = random.Random(1)
    sample = [rng.choice(queries) for _ in range(a.n)]
    spent: collections.Counter[str] = collections.Counter()
    runs: collections.Counter[str] = collections.Counter()
    index = SqliteIndex(a.home / "index.sqlite3")
    matches = 0
    with index._engine() as eng:
        eng.db = _TimedConnection(eng.db, spent, runs, getattr(engine_module, "ONE_PASS_MAX", 0))  # type: ignore[assignment]
        for q in sample[:50]:
            _with_fuzzy_tier(eng, parse_query(q), scope, 10, 0)
        spent.clear()
        runs.clear()
        started = time.perf_counter()
        for q in sample:
            matches += _with_fuzzy_tier(eng, parse_query(q), scope, 10, 0).total
        wall = time.perf_counter() - started
    index.close()
    print(f"{a.n} searches, {'one station' if a.scoped else 'every station'}: "
          f"{wall / a.n * 1e3:.2f} ms a search, {matches / a.n:.0f} matches on average")
    print("| ms a search | runs a search | statement |")
    print("|---:|---:|---|")
    for key, seconds in spent.most_common():
        print(f"| {seconds / a.n * 1e3:.3f} | {runs[key] / a.n:.2f} | `{key}` |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
