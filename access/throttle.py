"""Log-in throttling that slows guessing down without locking anyone out.

    users.sqlite3, tables login_throttle (one row per user + client: consecutive
    failures, blocked until) and login_claims (password checks under way)

The key is a user name and a *client*: the browser's signed device cookie when it has
one for that user (web/routes/login.py sets it at each successful log-in), else its
address (behind a proxy, the address the proxy forwarded, when the proxy is one of
ABHILEKH_TRUSTED_PROXIES). So a guesser's failures slow down only the guesser: the
real user's own browser is a client of its own and is never refused because of them.

Per key, the first ``max_failures`` wrong passwords are free; each one after that
blocks the key for twice as long as the last (``backoff_seconds``, doubling, at most
``max_backoff_seconds``), with one try allowed between blocks. A right password clears
the key. Failures older than ``max_backoff_seconds`` are forgotten.

Simultaneous attempts. A burst of guesses must not all pass the check before any is
counted, so each attempt *claims* a check first, in one SQLite write transaction
(BEGIN IMMEDIATE: one at a time across threads and server workers). While claims are
under way beyond the allowance, an attempt waits for them to finish rather than being
refused: eight correct log-ins at once all succeed (they clear the key as they go),
forty wrong ones at once get exactly ``max_failures`` checks, the rest are refused
once those have failed. Claims of a process that died are ignored after
``CLAIM_EXPIRES`` seconds.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from access.db import open_private_db

CLAIM_EXPIRES = 60.0  # a password check never takes this long; a claim older is a dead process's
WAIT_POLL = 0.02  # seconds between looks while other checks of the same key are under way

_SCHEMA = """
CREATE TABLE IF NOT EXISTS login_throttle (
    name TEXT NOT NULL,
    client TEXT NOT NULL,
    failures INTEGER NOT NULL,
    blocked_until REAL NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (name, client)
);
CREATE TABLE IF NOT EXISTS login_claims (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    client TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS login_claims_key ON login_claims (name, client);
CREATE TABLE IF NOT EXISTS login_devices (
    name TEXT NOT NULL,
    token TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (name, token)
);
"""
DEVICES_PER_USER = 20  # browsers remembered per user (the oldest is forgotten)


@dataclass
class Attempt:
    """The throttle's answer to one log-in attempt: allowed (then report its outcome with
    ``succeeded`` or ``failed``), or refused for ``retry_after`` seconds."""

    allowed: bool
    retry_after: int = 0
    _throttle: LoginThrottle | None = None
    _claim: str = ""
    _key: tuple[str, str] = ("", "")

    def succeeded(self) -> None:
        if self._throttle is not None:
            self._throttle._finish(self._claim, self._key, ok=True)
            self._throttle = None

    def failed(self) -> None:
        if self._throttle is not None:
            self._throttle._finish(self._claim, self._key, ok=False)
            self._throttle = None


class LoginThrottle:
    def __init__(self, path: Path, max_failures: int = 5, backoff_seconds: float = 30.0,
                 max_backoff_seconds: float = 900.0, wait_seconds: float = 10.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.max_failures = max(1, max_failures)
        self.backoff = max(0.0, backoff_seconds)
        self.max_backoff = max(self.backoff, max_backoff_seconds)
        self.wait_seconds = wait_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._db = open_private_db(Path(path), _SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- devices: browsers a user has logged in from ---------------------------------

    def remember_device(self, name: str, token: str) -> None:
        """After a successful log-in: this browser (its device token) is NAME's."""
        name = (name or "").strip().lower()[:64]
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO login_devices (name, token, at) VALUES (?,?,?)",
                             (name, token, self._clock()))
            self._db.execute(
                "DELETE FROM login_devices WHERE name = ? AND token NOT IN"
                " (SELECT token FROM login_devices WHERE name = ? ORDER BY at DESC LIMIT ?)",
                (name, name, DEVICES_PER_USER),
            )

    def knows_device(self, name: str, token: str) -> bool:
        """Whether NAME has logged in from the browser holding TOKEN before. Only then is
        it a client of its own: a device token got by logging in as oneself is no
        fresh allowance of guesses at somebody else's password."""
        name = (name or "").strip().lower()[:64]
        with self._lock:
            return self._db.execute("SELECT 1 FROM login_devices WHERE name = ? AND token = ?",
                                    (name, token)).fetchone() is not None

    # -- attempts ------------------------------------------------------------------

    def begin(self, name: str, client: str) -> Attempt:
        """Claim a password check for NAME from CLIENT, waiting (up to ``wait_seconds``)
        while other checks of the same key decide whether there is room for it."""
        key = ((name or "").strip().lower()[:64], client[:200])
        deadline = time.monotonic() + self.wait_seconds
        while True:
            verdict, retry_after, claim = self._try_claim(key)
            if verdict == "allowed":
                return Attempt(True, 0, self, claim, key)
            if verdict == "refused" or time.monotonic() >= deadline:
                return Attempt(False, max(1, retry_after))
            time.sleep(WAIT_POLL)

    def _try_claim(self, key: tuple[str, str]) -> tuple[str, int, str]:
        now = self._clock()
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("DELETE FROM login_claims WHERE at < ?", (now - CLAIM_EXPIRES,))
                row = db.execute(
                    "SELECT failures, blocked_until, updated FROM login_throttle WHERE name = ? AND client = ?", key
                ).fetchone()
                failures, blocked_until = (0, 0.0)
                if row is not None and now - row[2] <= self.max_backoff + self.backoff:
                    failures, blocked_until = int(row[0]), float(row[1])
                under_way = db.execute(
                    "SELECT count(*) FROM login_claims WHERE name = ? AND client = ?", key
                ).fetchone()[0]
                if now < blocked_until:
                    verdict, retry = "refused", int(blocked_until - now + 0.999)
                elif failures + under_way < self.max_failures or (failures >= self.max_failures and not under_way):
                    verdict, retry = "allowed", 0
                else:
                    verdict, retry = "wait", int(self.backoff)
                claim = ""
                if verdict == "allowed":
                    claim = secrets.token_hex(8)
                    db.execute("INSERT INTO login_claims (id, name, client, at) VALUES (?,?,?,?)", (claim, *key, now))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return verdict, retry, claim

    def _finish(self, claim: str, key: tuple[str, str], ok: bool) -> None:
        now = self._clock()
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("DELETE FROM login_claims WHERE id = ?", (claim,))
                if ok:
                    db.execute("DELETE FROM login_throttle WHERE name = ? AND client = ?", key)
                else:
                    row = db.execute(
                        "SELECT failures, updated FROM login_throttle WHERE name = ? AND client = ?", key
                    ).fetchone()
                    fresh = row is not None and now - row[1] <= self.max_backoff + self.backoff
                    failures = (int(row[0]) if fresh else 0) + 1
                    over = failures - self.max_failures
                    blocked = now + min(self.max_backoff, self.backoff * 2 ** over) if over >= 0 else 0.0
                    db.execute(
                        "INSERT INTO login_throttle (name, client, failures, blocked_until, updated)"
                        " VALUES (?,?,?,?,?) ON CONFLICT (name, client) DO UPDATE SET"
                        " failures = excluded.failures, blocked_until = excluded.blocked_until,"
                        " updated = excluded.updated",
                        (*key, failures, blocked, now),
                    )
                    db.execute("DELETE FROM login_throttle WHERE updated < ?", (now - 7 * 86400,))
                db.execute("COMMIT")
            except sqlite3.Error:
                db.execute("ROLLBACK")
                raise
            except BaseException:
                db.execute("ROLLBACK")
                raise
