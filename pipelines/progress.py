"""A tiny progress channel from page tasks to whoever is watching (the CLI).

Prefect parameters must be serialisable, so a callback cannot travel as one; page
tasks run in threads of the same process, so a process-wide listener does the job.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

Listener = Callable[[str, dict], None]

_listeners: list[Listener] = []
_lock = threading.Lock()


def subscribe(listener: Listener) -> Callable[[], None]:
    with _lock:
        _listeners.append(listener)

    def unsubscribe() -> None:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)

    return unsubscribe


def emit(event: str, **data) -> None:
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(event, data)
