"""Retry transient errors with exponential backoff.

Which errors are transient is said where they are raised (``abhilekh.errors``): a
server that could not be reached, timed out or answered 5xx is; a missing object, a
failed checksum, refused credentials or a wrong server version is not, and retrying
those would only keep the operator from the message. Python's own ConnectionError and
TimeoutError (raised by code outside our error tree) count as transient too.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from abhilekh.errors import AbhilekhError

T = TypeVar("T")
log = logging.getLogger("abhilekh.retry")


def is_transient(exc: BaseException) -> bool:
    """Would the same call perhaps succeed in a while?"""
    if isinstance(exc, AbhilekhError):
        return exc.transient
    return isinstance(exc, (ConnectionError, TimeoutError))


def with_retries(fn: Callable[[], T], what: str, attempts: int = 4, backoff: float = 1.0) -> T:
    """Call fn; on a transient error wait backoff·2^k (±25 %) and try again."""
    attempts = max(1, attempts)
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as exc:
            if not is_transient(exc) or attempt == attempts:
                raise
            delay = backoff * (2 ** (attempt - 1)) * random.uniform(0.75, 1.25)
            log.warning("%s failed (%s); retry %d of %d in %.1f s", what, exc, attempt, attempts - 1, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")
