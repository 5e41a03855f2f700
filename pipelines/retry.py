"""Retry transient store and index errors with exponential backoff.

Transient: the server could not be reached, timed out or answered 5xx — anything
raised as StorageError or SearchError except a missing object or a failed checksum,
which retrying cannot fix.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from search.base import SearchError
from storage.base import IntegrityError, ObjectNotFound, StorageError

T = TypeVar("T")
log = logging.getLogger("abhilekh.retry")

TRANSIENT = (StorageError, SearchError, ConnectionError, TimeoutError)
PERMANENT = (ObjectNotFound, IntegrityError)


def with_retries(fn: Callable[[], T], what: str, attempts: int = 4, backoff: float = 1.0) -> T:
    """Call fn; on a transient error wait backoff·2^k (±25 %) and try again."""
    attempts = max(1, attempts)
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except PERMANENT:
            raise
        except TRANSIENT as exc:
            if attempt == attempts:
                raise
            delay = backoff * (2 ** (attempt - 1)) * random.uniform(0.75, 1.25)
            log.warning("%s failed (%s); retry %d of %d in %.1f s", what, exc, attempt, attempts - 1, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")
