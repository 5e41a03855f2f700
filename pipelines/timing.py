"""Per-stage wall and CPU time, process-wide: where a batch's time goes.

Always on (a perf_counter and a thread_time per stage call, nothing per word), so
the pipeline bench can print a breakdown of the very code operators run. CPU time
is the calling thread's own (time.thread_time); Tesseract runs in a child process,
so an OCR stage's CPU is mostly its wait — its wall time is what counts there.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_totals: dict[str, list[float]] = {}  # stage -> [calls, wall, cpu, first start, last end]


@contextmanager
def stage(name: str) -> Iterator[None]:
    wall, cpu = time.perf_counter(), time.thread_time()
    try:
        yield
    finally:
        dw, dc = time.perf_counter() - wall, time.thread_time() - cpu
        with _lock:
            row = _totals.setdefault(name, [0, 0.0, 0.0, wall, 0.0])
            row[0] += 1
            row[1] += dw
            row[2] += dc
            row[3] = min(row[3], wall)
            row[4] = max(row[4], wall + dw)


def snapshot() -> dict[str, dict[str, float]]:
    """{stage: {calls, wall, cpu, first, last}} since the last reset (first/last: perf_counter)."""
    with _lock:
        return {k: {"calls": int(v[0]), "wall": v[1], "cpu": v[2], "first": v[3], "last": v[4]}
                for k, v in _totals.items()}


def reset() -> None:
    with _lock:
        _totals.clear()
