"""Opening the private SQLite files of access control (users, audit) the same careful way."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def open_private_db(path: Path, schema: str, *, foreign_keys: bool = False, busy_ms: int = 5000,
                    synchronous: str = "NORMAL") -> sqlite3.Connection:
    """WAL, autocommit, shared across threads behind the caller's lock; owner-only file.

    These files hold password hashes and who-looked-at-what: mode 0600 keeps other
    accounts on the machine out. `synchronous="FULL"` fsyncs the WAL on every commit
    (the audit log: a recorded view must survive a power cut); NORMAL may lose the last
    commits on power loss but never corrupts (sessions, throttling).
    """
    if synchronous not in ("NORMAL", "FULL"):
        raise ValueError(f"synchronous must be NORMAL or FULL, not {synchronous!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    if foreign_keys:
        db.execute("PRAGMA foreign_keys=ON")
    db.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    db.executescript(schema)
    try:
        path.chmod(0o600)
    except OSError:
        pass
    return db
