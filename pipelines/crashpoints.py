"""A test hook for crash/resume tests: die with SIGKILL at a named point.

``ABHILEKH_TEST_CRASH_AT=store:2`` makes the process kill itself (``kill -9``, no
cleanup, no ``finally``) the second time it passes the ``store`` point. Several points
may be given, comma-separated. Points:

``ocr``      a page's OCR result has been written to the work directory
``store``    one object has been put in the store (and read back and verified)
``index``    one chunk of pages has been written to the index
``done``     a bundle is stored and indexed, before its work files are removed

Unset (always, outside tests) it costs one dictionary lookup per point.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter

ENV = "ABHILEKH_TEST_CRASH_AT"

_counts: Counter[str] = Counter()
_lock = threading.Lock()


def reached(point: str) -> None:
    spec = os.environ.get(ENV)
    if not spec:
        return
    targets = {}
    for item in spec.split(","):
        name, _, n = item.strip().partition(":")
        if name:
            targets[name] = int(n or 1)
    if point not in targets:
        return
    with _lock:
        _counts[point] += 1
        hit = _counts[point] == targets[point]
    if hit:
        os.kill(os.getpid(), signal.SIGKILL)
