"""The append-only audit log: who searched for what, and who opened which page.

    $ABHILEKH_HOME/audit.sqlite3, table `audit`
    the chain key: ABHILEKH_AUDIT_KEY, else the file ABHILEKH_AUDIT_KEY_FILE
                   (default $ABHILEKH_HOME/audit.key, mode 0600; made once)
    anchors:       audit/anchors/<row>.json in the object store

Append-only three times over:
- the only write this module offers is `record()` (an INSERT), and SQLite triggers
  refuse every UPDATE and DELETE on the table, whoever runs them;
- each row carries ``hash = HMAC-SHA256(key, prev_hash + row)``, a chain from the first
  row, keyed with a key that is NOT in the database: someone who can write the SQLite
  file (dropping the triggers, editing a row, recomputing every hash after it) cannot
  make the chain fit again without the key. Keep the key file where the database's
  other writers cannot read it (ABHILEKH_AUDIT_KEY_FILE), or give it in the environment;
- every ``anchor_every`` rows the chain head (row id and hash) is written to the object
  store, a different system with its own credentials (MinIO), or at least other files:
  a chain rewritten even with the key, or a tail cut off, no longer meets its anchors.
  `abhilekh audit anchor` writes one now (from cron, say hourly).

`check()` / `abhilekh audit verify` checks the chain with the key and, given the store,
every anchor; it names the first row that no longer fits. Rows written before the chain
was keyed (``alg`` "sha256") stay verifiable as they were; the key file records how
many there were, so no later row can pass itself off as one of them.

Actions: search, view_pdf, view_bundle, view_page, login, login_failed, login_throttled,
logout, denied (a request outside the user's stations), export, admin (user changes).
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import hmac
import io
import json
import logging
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from access.db import open_private_db

if TYPE_CHECKING:
    from abhilekh.settings import Settings

GENESIS = "0" * 64
COLUMNS = ("id", "at", "user", "role", "ip", "action", "query", "filters", "target",
           "detail", "prev_hash", "hash")
KEYED = "hmac-sha256"
UNKEYED = "sha256"  # rows written before the chain was keyed
ANCHORS = "audit/anchors/"
log = logging.getLogger("abhilekh.audit")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    user TEXT NOT NULL,
    role TEXT NOT NULL,
    ip TEXT NOT NULL,
    action TEXT NOT NULL,
    query TEXT NOT NULL,
    filters TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS audit_user ON audit (user, id);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


class AnchorStore(Protocol):
    """Where anchors go: any object store (``storage.ObjectStore`` has these methods)."""

    def put(self, key: str, data: bytes, content_type: str = ...) -> bool: ...

    def get(self, key: str) -> bytes: ...

    def list(self, prefix: str = "") -> Iterator[str]: ...


@dataclass(frozen=True)
class ChainKey:
    key: bytes
    legacy_rows: int  # rows written before the chain was keyed (they keep plain sha256)


def load_key(key_file: Path, db_path: Path, from_env: str | None = None) -> ChainKey:
    """The chain key: FROM_ENV (ABHILEKH_AUDIT_KEY), else KEY_FILE, made once (0600) and
    recording how many rows the log already had (those were written unkeyed)."""
    if from_env:
        legacy = _read_key_file(key_file).legacy_rows if key_file.exists() else 0
        return ChainKey(from_env.encode("utf-8"), legacy)
    if key_file.exists():
        return _read_key_file(key_file)
    key_file.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps({"key": secrets.token_hex(32), "legacy_rows": _count_rows(db_path),
                       "created": datetime.now(UTC).isoformat(timespec="seconds")}).encode()
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return _read_key_file(key_file)
    with os.fdopen(fd, "wb") as f:
        f.write(body)
        f.flush()
        os.fsync(f.fileno())
    return _read_key_file(key_file)


def _read_key_file(path: Path) -> ChainKey:
    data = json.loads(path.read_text(encoding="utf-8"))
    return ChainKey(str(data["key"]).encode("utf-8"), int(data.get("legacy_rows", 0)))


def _count_rows(db_path: Path) -> int:
    if not db_path.exists():
        return 0
    db = sqlite3.connect(db_path)
    try:
        row = db.execute("SELECT max(id) FROM audit").fetchone()
        return int(row[0] or 0)
    except sqlite3.Error:
        return 0
    finally:
        db.close()


def key_for(settings: Settings) -> ChainKey:
    return load_key(settings.audit_key_file or settings.home / "audit.key", settings.audit_path,
                    settings.audit_key)


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: str
    user: str
    role: str
    ip: str
    action: str
    query: str
    filters: str  # JSON object
    target: str  # "<bundle_id>:<page>", "<bundle_id>", hits shown, a user name …
    detail: str
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in COLUMNS}



def _row_hash(prev_hash: str, fields: tuple, key: bytes | None = None) -> str:
    payload = json.dumps([prev_hash, *fields], ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if key is None:
        return hashlib.sha256(payload).hexdigest()
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


@dataclass
class ChainCheck:
    """What `check` found: the chain, and (given the store) its anchors."""

    ok: bool
    rows: int  # rows checked
    last_hash: str
    broken_at: int | None = None  # id of the first row that does not fit
    problem: str = ""
    legacy_rows: int = 0  # rows from before the chain was keyed
    anchors: int = 0  # anchors checked against the chain
    last_anchor: int | None = None  # row id of the newest anchor
    notes: list[str] = field(default_factory=list)


def _fields(user: str, role: str, action: str, ip: str, query: str, filters: dict[str, Any] | None,
            target: str, detail: str) -> tuple[str, ...]:
    at = datetime.now(UTC).isoformat(timespec="milliseconds")
    filters_json = json.dumps(
        {k: v for k, v in (filters or {}).items() if v not in (None, "")},
        ensure_ascii=False, sort_keys=True,
    )
    return (at, user, role, ip, action, query, filters_json, target, detail)


class _Pending:
    """One row waiting for the writer thread, and who waits for it (a thread or a
    coroutine)."""

    __slots__ = ("error", "event", "fields", "future", "loop", "row_id")

    def __init__(self, fields: tuple[str, ...], loop: asyncio.AbstractEventLoop | None = None,
                 future: asyncio.Future[int] | None = None) -> None:
        self.fields = fields
        self.loop = loop
        self.future = future
        self.event = threading.Event()
        self.row_id: int | None = None
        self.error: BaseException | None = None

    def finish(self, row_id: int | None, error: BaseException | None) -> None:
        self.row_id, self.error = row_id, error
        if self.loop is not None and self.future is not None:
            try:
                self.loop.call_soon_threadsafe(_settle, self.future, row_id, error)
            except RuntimeError:  # the loop is closed: nobody waits any more
                pass
        self.event.set()

    def result(self) -> int:
        if self.error is not None:
            raise self.error
        assert self.row_id is not None
        return self.row_id


def _settle(future: asyncio.Future[int], row_id: int | None, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(row_id or 0)


class AuditLog:
    def __init__(self, path: Path, key: ChainKey | None = None, anchors: AnchorStore | None = None,
                 anchor_every: int = 100, group_commit: bool = False) -> None:
        """KEY: the chain key (default: ``audit.key`` beside the database, made once);
        ANCHORS: where the chain head goes every ANCHOR_EVERY rows (None: nowhere);
        GROUP_COMMIT: rows are appended by one writer thread, all rows waiting at that
        moment in one transaction (one fsync); ``record`` still returns only after its
        row's transaction is committed with synchronous=FULL, so no answered request
        loses its row to a crash (the web server's default, ABHILEKH_AUDIT_GROUP_COMMIT)."""
        self.path = Path(path)
        self._lock = threading.Lock()
        self._key = key or load_key(self.path.with_name("audit.key"), self.path)
        self._anchors = anchors
        self._anchor_every = max(1, anchor_every)
        # FULL: each append is fsynced before the request is answered (~0.4 ms here).
        self._db = open_private_db(self.path, _SCHEMA, busy_ms=10000, synchronous="FULL")
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(audit)")}
        if "alg" not in columns:  # added with the keyed chain; earlier rows were plain sha256
            try:
                self._db.execute(f"ALTER TABLE audit ADD COLUMN alg TEXT NOT NULL DEFAULT '{UNKEYED}'")
            except sqlite3.OperationalError as exc:  # another process added it meanwhile
                if "duplicate column" not in str(exc):
                    raise
        self._group = group_commit
        self._cond = threading.Condition()
        self._waiting: list[_Pending] = []
        self._closing = False
        self._writer: threading.Thread | None = None
        if group_commit:
            self._writer = threading.Thread(target=self._write_loop, name="abhilekh-audit", daemon=True)
            self._writer.start()

    @classmethod
    def for_settings(cls, settings: Settings, anchors: AnchorStore | None = None,
                     group_commit: bool = False) -> AuditLog:
        return cls(settings.audit_path, key_for(settings), anchors, settings.audit_anchor_every, group_commit)

    def close(self) -> None:
        if self._writer is not None:
            with self._cond:
                self._closing = True
                self._cond.notify()
            self._writer.join()  # the rows still waiting are written first
        with self._lock:
            self._db.close()

    def record(
        self,
        user: str,
        role: str,
        action: str,
        *,
        ip: str = "",
        query: str = "",
        filters: dict[str, Any] | None = None,
        target: str = "",
        detail: str = "",
    ) -> int:
        """Append one row; returns its id, once the row is committed (durable). The only
        way rows get into the log."""
        fields = _fields(user, role, action, ip, query, filters, target, detail)
        if not self._group:
            return self._append([fields])[0]
        pending = _Pending(fields)
        self._enqueue(pending)
        pending.event.wait()
        return pending.result()

    async def record_async(
        self,
        user: str,
        role: str,
        action: str,
        *,
        ip: str = "",
        query: str = "",
        filters: dict[str, Any] | None = None,
        target: str = "",
        detail: str = "",
    ) -> int:
        """``record`` for an async route: the event loop is not held while the row is
        written; the route resumes once its row is committed (as ``record``)."""
        fields = _fields(user, role, action, ip, query, filters, target, detail)
        if not self._group:
            return await asyncio.to_thread(self._append_one, fields)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        pending = _Pending(fields, loop, future)
        self._enqueue(pending)
        return await future

    def _append_one(self, fields: tuple[str, ...]) -> int:
        return self._append([fields])[0]

    def _enqueue(self, pending: _Pending) -> None:
        with self._cond:
            if self._closing:
                raise RuntimeError("the audit log is closed")
            self._waiting.append(pending)
            self._cond.notify()

    def _write_loop(self) -> None:
        """The writer thread: everything that queued while the last commit was being
        fsynced goes into the next transaction (no added delay: a lone row is written
        at once)."""
        while True:
            with self._cond:
                while not self._waiting and not self._closing:
                    self._cond.wait()
                if not self._waiting:
                    return
                batch, self._waiting = self._waiting, []
            try:
                ids = self._append([p.fields for p in batch])
            except BaseException as exc:  # noqa: BLE001 - each waiting request gets the error
                for p in batch:
                    p.finish(None, exc)
            else:
                for p, row_id in zip(batch, ids, strict=True):
                    p.finish(row_id, None)

    def _append(self, rows: list[tuple[str, ...]]) -> list[int]:
        """Insert `rows` in one transaction, chained in order; their ids."""
        ids: list[tuple[int, str]] = []
        with self._lock:
            # BEGIN IMMEDIATE: several processes (web workers, the CLI) may append at
            # once; the write lock makes "read the last hash, insert" one step.
            self._db.execute("BEGIN IMMEDIATE")
            try:
                last = self._db.execute(
                    "SELECT hash FROM audit ORDER BY id DESC LIMIT 1"
                ).fetchone()
                prev = last[0] if last else GENESIS
                for fields in rows:
                    digest = _row_hash(prev, fields, self._key.key)
                    cur = self._db.execute(
                        "INSERT INTO audit (at, user, role, ip, action, query, filters, target,"
                        " detail, prev_hash, hash, alg) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                        (*fields, prev, digest, KEYED),
                    )
                    ids.append((int(cur.lastrowid or 0), digest))
                    prev = digest
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        for row_id, digest in ids:
            if self._anchors is not None and row_id % self._anchor_every == 0:
                try:
                    self._put_anchor(row_id, digest)
                except Exception as exc:  # noqa: BLE001 - the row is recorded; the next anchor (or `audit anchor`) covers it
                    log.warning("could not write the audit anchor of row %d: %s", row_id, exc)
        return [row_id for row_id, _ in ids]

    def _put_anchor(self, row_id: int, digest: str) -> None:
        assert self._anchors is not None
        body = json.dumps({"row": row_id, "hash": digest, "alg": KEYED,
                           "at": datetime.now(UTC).isoformat(timespec="seconds")}).encode()
        self._anchors.put(f"{ANCHORS}{row_id:012d}.json", body, "application/json")

    def anchor(self) -> tuple[int, str] | None:
        """Write an anchor of the chain head now; (row id, hash), or None when empty."""
        if self._anchors is None:
            raise RuntimeError("no store to anchor the audit chain in")
        with self._lock:
            last = self._db.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        if last is None:
            return None
        self._put_anchor(int(last[0]), str(last[1]))
        return int(last[0]), str(last[1])

    def count(self, user: str | None = None, action: str | None = None) -> int:
        where, args = self._where(user, action)
        with self._lock:
            return self._db.execute(f"SELECT count(*) FROM audit{where}", args).fetchone()[0]

    @staticmethod
    def _where(user: str | None, action: str | None) -> tuple[str, list]:
        clauses, args = [], []
        if user:
            clauses.append("user = ?")
            args.append(user)
        if action:
            clauses.append("action = ?")
            args.append(action)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), args

    def page(
        self, limit: int = 50, offset: int = 0, user: str | None = None,
        action: str | None = None,
    ) -> list[AuditRow]:
        """Newest first."""
        where, args = self._where(user, action)
        with self._lock:
            rows = self._db.execute(
                f"SELECT {', '.join(COLUMNS)} FROM audit{where} ORDER BY id DESC LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
        return [AuditRow(*r) for r in rows]

    def iter_all(self, since: str | None = None) -> Iterator[AuditRow]:
        """Oldest first, in chunks (exports of any size)."""
        for row, _alg in self._iter_with_alg(since):
            yield row

    def _iter_with_alg(self, since: str | None = None) -> Iterator[tuple[AuditRow, str]]:
        last_id = 0
        while True:
            with self._lock:
                rows = self._db.execute(
                    f"SELECT {', '.join(COLUMNS)}, alg FROM audit WHERE id > ?"
                    + (" AND at >= ?" if since else "")
                    + " ORDER BY id LIMIT 1000",
                    [last_id, since] if since else [last_id],
                ).fetchall()
            if not rows:
                return
            for r in rows:
                yield AuditRow(*r[:-1]), str(r[-1])
            last_id = rows[-1][0]

    def verify(self) -> tuple[bool, int, str]:
        """(intact, rows checked, last hash); on a break, (False, id of the bad row, "")."""
        found = self.check()
        if not found.ok:
            return False, found.broken_at or 0, ""
        return True, found.rows, found.last_hash

    def check(self, anchors: AnchorStore | None = None) -> ChainCheck:
        """The chain, row by row, with the key; then every anchor in ANCHORS (default:
        the store this log anchors in) against the row it names."""
        legacy = self._key.legacy_rows
        prev = GENESIS
        n = 0
        hashes: dict[int, str] = {}
        last_id = 0
        for row, alg in self._iter_with_alg():
            fields = (row.at, row.user, row.role, row.ip, row.action, row.query, row.filters,
                      row.target, row.detail)
            if alg != KEYED and row.id > legacy:
                return ChainCheck(False, n, "", row.id, f"row {row.id} claims to be from before the chain was "
                                  f"keyed (only rows up to {legacy} are)", legacy)
            if row.prev_hash != prev or row.hash != _row_hash(prev, fields, self._key.key if alg == KEYED else None):
                return ChainCheck(False, n, "", row.id, f"row {row.id} does not fit the chain (altered, or rows "
                                  "before it removed or inserted)", legacy)
            prev = row.hash
            n += 1
            hashes[row.id] = row.hash
            last_id = row.id
        found = ChainCheck(True, n, prev, legacy_rows=min(legacy, n))
        store = anchors if anchors is not None else self._anchors
        if store is None:
            found.notes.append("anchors not checked (no store given)")
            return found
        for name in sorted(k for k in store.list(ANCHORS) if k.endswith(".json")):
            try:
                anchor = json.loads(store.get(name))
                row_id, digest = int(anchor["row"]), str(anchor["hash"])
            except Exception as exc:  # noqa: BLE001 - a damaged anchor is itself a finding
                return ChainCheck(False, n, "", None, f"anchor {name} cannot be read ({exc})", found.legacy_rows,
                                  found.anchors)
            found.anchors += 1
            found.last_anchor = row_id
            if row_id > last_id:
                return ChainCheck(False, n, "", last_id + 1, f"rows after {last_id} were removed: an anchor in the "
                                  f"store records row {row_id}", found.legacy_rows, found.anchors, row_id)
            if hashes.get(row_id) != digest:
                return ChainCheck(False, n, "", row_id, f"row {row_id} differs from its anchor in the store: the "
                                  "chain was rewritten", found.legacy_rows, found.anchors, row_id)
        return found


def _cell(value: Any) -> Any:
    """Keep a spreadsheet from running a query typed as =FORMULA (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(rows: Iterator[AuditRow]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(getattr(row, c)) for c in COLUMNS])
        if buf.tell() > 64_000:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def to_json(rows: Iterator[AuditRow]) -> Iterator[str]:
    """A JSON array, streamed."""
    yield "["
    first = True
    for row in rows:
        yield ("\n" if first else ",\n") + json.dumps(row.to_dict(), ensure_ascii=False)
        first = False
    yield "\n]\n"
