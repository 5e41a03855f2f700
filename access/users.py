"""Users, roles, station grants, sessions and log-in throttling, in one SQLite file.

    $ABHILEKH_HOME/users.sqlite3
        users           name, role, argon2id hash, disabled, lang (the pages'
                        language the user chose: hi, en, both; '' = not chosen; added
                        to older files by `_migrate`)
        grants          name -> station (thana, as stored in bundle metadata)
        sessions        sha256(session token) -> name, expiry (server-side: log-out and
                        disabling a user end the session at once)
        login_*         log-in throttling and known browsers (access/throttle.py)

Roles
    officer   search and view the stations granted to them
    operator  ingest and review (on the web: search and view their granted stations,
              which review needs)
    admin     everything, every station; users and the audit log. There is always
              at least one active admin: the last one can be neither demoted nor
              disabled.

Station values are compared the way the index compares its `thana` filter
(``abhilekh.records.station_key``: `strip().casefold()`), so "Chhibramau " and
"chhibramau" are one station.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from abhilekh.errors import AbhilekhError
from abhilekh.records import station_key
from access.db import open_private_db

__all__ = ["HASHER", "ROLES", "User", "UserError", "UserStore", "check_name", "check_password", "station_key"]

ROLES = ("officer", "operator", "admin")
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-@")
MIN_PASSWORD = 8

# argon2-cffi's defaults (RFC 9106 low-memory profile: argon2id, 64 MiB, t=3).
# Tests swap in a cheaper one; production keeps this.
HASHER = PasswordHasher()


class UserError(AbhilekhError, ValueError):
    """A user operation that cannot be done; the message says why."""

    exit_code = 2  # the command asked for something that cannot be


@dataclass(frozen=True)
class User:
    name: str
    role: str
    stations: tuple[str, ...] = ()  # as granted (display form)
    disabled: bool = False
    lang: str = ""  # the pages' language the user chose ("" = none yet)
    station_keys: frozenset[str] = field(default=frozenset(), compare=False)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def can_search(self) -> bool:
        return self.role in ROLES and not self.disabled

    def may_see(self, thana: str | None) -> bool:
        """Whether this user may see a bundle whose metadata says `thana`."""
        if self.disabled:
            return False
        if self.is_admin:
            return True
        key = station_key(thana)
        return bool(key) and key in self.station_keys


_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('officer', 'operator', 'admin')),
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS grants (
    name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    station TEXT NOT NULL,
    station_key TEXT NOT NULL,
    PRIMARY KEY (name, station_key)
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_name ON sessions (name);
"""
# (log-in throttling has its own tables in the same file: access/throttle.py)

LANGS = ("hi", "en", "both")

# Columns added after the first release: (column, its definition). A file made by an
# older release gets them on first open; existing rows take the default.
_ADDED_COLUMNS = [("lang", "TEXT NOT NULL DEFAULT ''")]


def _migrate(db: sqlite3.Connection) -> None:
    """Bring an older users file up to this schema (ALTER TABLE ADD COLUMN only, so an
    older release can still read it). Under BEGIN IMMEDIATE: several server workers
    opening the file at once add each column once."""
    db.execute("BEGIN IMMEDIATE")
    try:
        have = {row[1] for row in db.execute("PRAGMA table_info(users)")}
        for column, definition in _ADDED_COLUMNS:
            if column not in have:
                db.execute(f"ALTER TABLE users ADD COLUMN {column} {definition}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_name(name: str) -> str:
    name = (name or "").strip().lower()
    if not name or len(name) > 64 or not set(name) <= NAME_CHARS:
        raise UserError("a user name is 1-64 of a-z 0-9 . _ - @")
    return name


def check_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD:
        raise UserError(f"a password has at least {MIN_PASSWORD} characters")
    return password


class UserStore:
    """Thread-safe access to users.sqlite3 (one connection behind a lock)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = open_private_db(self.path, _SCHEMA, foreign_keys=True)
        _migrate(self._db)
        # A real hash to verify against when the user does not exist, so that
        # "no such user" and "wrong password" take the same time.
        self._dummy_hash = HASHER.hash(secrets.token_hex(16))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------ users

    def add(self, name: str, role: str, password: str, stations: Iterable[str] = ()) -> User:
        name = check_name(name)
        if role not in ROLES:
            raise UserError(f"role must be one of {', '.join(ROLES)}")
        hashed = HASHER.hash(check_password(password))
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO users (name, role, password_hash, created_at) VALUES (?,?,?,?)",
                    (name, role, hashed, time.time()),
                )
            except sqlite3.IntegrityError:
                raise UserError(f"user {name!r} exists already") from None
        if stations:
            self.grant(name, stations)
        return self.get(name)  # type: ignore[return-value]

    def get(self, name: str) -> User | None:
        with self._lock:
            row = self._db.execute(
                "SELECT name, role, disabled, lang FROM users WHERE name = ?", ((name or "").lower(),)
            ).fetchone()
            if row is None:
                return None
            grants = self._db.execute(
                "SELECT station, station_key FROM grants WHERE name = ? ORDER BY station",
                (row[0],),
            ).fetchall()
        return User(
            name=row[0],
            role=row[1],
            disabled=bool(row[2]),
            lang=row[3] if row[3] in LANGS else "",
            stations=tuple(g[0] for g in grants),
            station_keys=frozenset(g[1] for g in grants),
        )

    def _require(self, name: str) -> str:
        name = (name or "").strip().lower()
        if self.get(name) is None:
            raise UserError(f"no user {name!r}")
        return name

    def list(self) -> list[User]:
        with self._lock:
            names = [r[0] for r in self._db.execute("SELECT name FROM users ORDER BY name")]
        return [u for u in (self.get(n) for n in names) if u is not None]

    def grant(self, name: str, stations: Iterable[str]) -> User:
        name = self._require(name)
        rows = [(name, s.strip(), station_key(s)) for s in stations if station_key(s)]
        with self._lock:
            self._db.executemany(
                "INSERT OR IGNORE INTO grants (name, station, station_key) VALUES (?,?,?)", rows
            )
        return self.get(name)  # type: ignore[return-value]

    def revoke(self, name: str, stations: Iterable[str]) -> User:
        name = self._require(name)
        with self._lock:
            self._db.executemany(
                "DELETE FROM grants WHERE name = ? AND station_key = ?",
                [(name, station_key(s)) for s in stations],
            )
        return self.get(name)  # type: ignore[return-value]

    def set_role(self, name: str, role: str) -> User:
        """Change a user's role; the last active admin cannot stop being one."""
        name = self._require(name)
        if role not in ROLES:
            raise UserError(f"role must be one of {', '.join(ROLES)}")
        with self._lock, self._keeping_an_admin(name, demoting=role != "admin"):
            self._db.execute("UPDATE users SET role = ? WHERE name = ?", (role, name))
        return self.get(name)  # type: ignore[return-value]

    @contextmanager
    def _keeping_an_admin(self, name: str, demoting: bool) -> Iterator[None]:
        """One write transaction in which NAME's change is refused if it would leave no
        active admin (checked and changed at once: two admins demoting each other from
        two server workers cannot both pass)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            if demoting:
                others = self._db.execute(
                    "SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0 AND name != ?", (name,)
                ).fetchone()[0]
                target = self._db.execute(
                    "SELECT role = 'admin' AND disabled = 0 FROM users WHERE name = ?", (name,)
                ).fetchone()
                if target and target[0] and others == 0:
                    raise UserError(f"{name!r} is the last active admin: make another user an admin first "
                                    "(`abhilekh users role NAME admin`), so someone can still manage users")
            yield
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def set_lang(self, name: str, lang: str) -> User:
        """Remember the language NAME reads the pages in (hi, en or both)."""
        if lang not in LANGS:
            raise UserError(f"language must be one of {', '.join(LANGS)}")
        name = self._require(name)
        with self._lock:
            self._db.execute("UPDATE users SET lang = ? WHERE name = ?", (lang, name))
        return self.get(name)  # type: ignore[return-value]

    def set_password(self, name: str, password: str) -> None:
        name = self._require(name)
        hashed = HASHER.hash(check_password(password))
        with self._lock:
            self._db.execute("UPDATE users SET password_hash = ? WHERE name = ?", (hashed, name))
            self._db.execute("DELETE FROM sessions WHERE name = ?", (name,))

    def set_disabled(self, name: str, disabled: bool = True) -> User:
        """Disable (ending the user's sessions) or enable a user; the last active admin
        cannot be disabled."""
        name = self._require(name)
        with self._lock, self._keeping_an_admin(name, demoting=disabled):
            self._db.execute(
                "UPDATE users SET disabled = ? WHERE name = ?", (int(disabled), name)
            )
            if disabled:
                self._db.execute("DELETE FROM sessions WHERE name = ?", (name,))
        return self.get(name)  # type: ignore[return-value]

    def verify(self, name: str, password: str) -> User | None:
        """The user if the password is right and the user is enabled, else None."""
        with self._lock:
            row = self._db.execute(
                "SELECT name, password_hash, disabled FROM users WHERE name = ?",
                ((name or "").strip().lower(),),
            ).fetchone()
        hashed = row[1] if row else self._dummy_hash
        try:
            HASHER.verify(hashed, password or "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None or row[2]:
            return None
        if HASHER.check_needs_rehash(hashed):
            with self._lock:
                self._db.execute(
                    "UPDATE users SET password_hash = ? WHERE name = ?",
                    (HASHER.hash(password), row[0]),
                )
        return self.get(row[0])

    # ------------------------------------------------------------ sessions

    def new_session(self, name: str, hours: float) -> str:
        token = secrets.token_urlsafe(32)
        now = time.time()
        with self._lock:
            self._db.execute("DELETE FROM sessions WHERE expires_at < ?", (now,))
            self._db.execute(
                "INSERT INTO sessions (token_hash, name, created_at, expires_at) VALUES (?,?,?,?)",
                (_token_hash(token), name, now, now + hours * 3600),
            )
        return token

    def session_user(self, token: str) -> User | None:
        with self._lock:
            row = self._db.execute(
                "SELECT s.name FROM sessions s JOIN users u ON u.name = s.name"
                " WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled = 0",
                (_token_hash(token), time.time()),
            ).fetchone()
        return self.get(row[0]) if row else None

    def end_session(self, token: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM sessions WHERE token_hash = ?", (_token_hash(token),))
