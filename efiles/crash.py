"""A test hook for the crash tests: die with SIGKILL at a named point.

The same switch as pipelines/crashpoints.py (``ABHILEKH_TEST_CRASH_AT=point:N``: the
Nth pass through the point kills the process, no cleanup), for this room's points:

``efile_change``  a change, its movement and its audit outbox row are written, not committed
``efile_commit``  that transaction is committed, the audit log not yet written
``audit_drain``   one outbox row is in the audit log, the outbox not yet emptied

Unset (always, outside tests) it costs one dictionary lookup per point.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

ENV = "ABHILEKH_TEST_CRASH_AT"
_counts: Counter[str] = Counter()


def reached(point: str) -> None:
    spec = os.environ.get(ENV)
    if not spec:
        return
    for item in spec.split(","):
        name, _, n = item.strip().partition(":")
        if name == point:
            _counts[point] += 1
            if _counts[point] == int(n or 1):
                os.kill(os.getpid(), signal.SIGKILL)
