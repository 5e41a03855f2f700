"""One ingest of a bundle at a time on this machine: an flock per bundle id.

The lock file is ``$ABHILEKH_HOME/locks/<bundle_id>.lock``. ``flock`` locks belong to
the open file, so they also exclude other threads of the same process, and the kernel
drops them when the holder dies (``kill -9`` included): a crash never leaves a stale
lock behind.

Across machines the lock is not needed for correctness: object keys are derived from
the scans' content, puts are idempotent and index ids are deterministic, so two
machines ingesting the same bundle write the same objects and index the same ids and
end with one copy; the lock only saves the second one from OCR-ing it again.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from abhilekh.errors import AbhilekhError


class BundleBusy(AbhilekhError):
    """Another ingest of the same bundle holds its lock."""

    transient = True


class BundleLock:
    def __init__(self, locks_dir: Path, bundle_id: str) -> None:
        self.path = Path(locks_dir) / f"{bundle_id}.lock"
        self._fd: int | None = None

    def acquire(self, wait: float = 0.0, poll: float = 0.5) -> None:
        """Take the lock, waiting up to `wait` seconds; raise BundleBusy otherwise."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise BundleBusy(f"another ingest of bundle {self.path.stem[:12]} is running") from None
                time.sleep(poll)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> BundleLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
