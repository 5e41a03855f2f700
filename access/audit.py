"""The append-only audit log: who searched for what, and who opened which page.

    $ABHILEKH_HOME/audit.sqlite3, table `audit`

Append-only twice over:
- the only write this module offers is `record()` (an INSERT), and SQLite triggers
  refuse every UPDATE and DELETE on the table, whoever runs them;
- each row carries `hash = sha256(prev_hash + row)`, a chain from the first row. Someone
  who edits the file directly (dropping the triggers first) breaks the chain, and
  `verify()` / `abhilekh audit verify` names the first row that no longer fits. Keep
  the last hash somewhere else (it is printed by `verify`) to detect a cut-off tail too.

Actions: search, view_pdf, view_bundle, view_page, login, login_failed, login_throttled,
logout, denied (a request outside the user's stations), export, admin (user changes).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from access.db import open_private_db

GENESIS = "0" * 64
COLUMNS = ("id", "at", "user", "role", "ip", "action", "query", "filters", "target",
           "detail", "prev_hash", "hash")

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


def _row_hash(prev_hash: str, fields: tuple) -> str:
    payload = json.dumps([prev_hash, *fields], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        # FULL: each append is fsynced before the request is answered (~0.4 ms here).
        self._db = open_private_db(self.path, _SCHEMA, busy_ms=10000, synchronous="FULL")

    def close(self) -> None:
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
        """Append one row; returns its id. The only way rows get into the log."""
        at = datetime.now(UTC).isoformat(timespec="milliseconds")
        filters_json = json.dumps(
            {k: v for k, v in (filters or {}).items() if v not in (None, "")},
            ensure_ascii=False, sort_keys=True,
        )
        fields = (at, user, role, ip, action, query, filters_json, target, detail)
        with self._lock:
            # BEGIN IMMEDIATE: several processes (web workers, the CLI) may append at
            # once; the write lock makes "read the last hash, insert" one step.
            self._db.execute("BEGIN IMMEDIATE")
            try:
                last = self._db.execute(
                    "SELECT hash FROM audit ORDER BY id DESC LIMIT 1"
                ).fetchone()
                prev = last[0] if last else GENESIS
                cur = self._db.execute(
                    "INSERT INTO audit (at, user, role, ip, action, query, filters, target,"
                    " detail, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (*fields, prev, _row_hash(prev, fields)),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return int(cur.lastrowid or 0)

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
        last_id = 0
        while True:
            with self._lock:
                rows = self._db.execute(
                    f"SELECT {', '.join(COLUMNS)} FROM audit WHERE id > ?"
                    + (" AND at >= ?" if since else "")
                    + " ORDER BY id LIMIT 1000",
                    [last_id, since] if since else [last_id],
                ).fetchall()
            if not rows:
                return
            for r in rows:
                yield AuditRow(*r)
            last_id = rows[-1][0]

    def verify(self) -> tuple[bool, int, str]:
        """(intact, rows checked, last hash); on a break, (False, id of the bad row, "")."""
        prev = GENESIS
        n = 0
        for row in self.iter_all():
            fields = (row.at, row.user, row.role, row.ip, row.action, row.query, row.filters,
                      row.target, row.detail)
            if row.prev_hash != prev or row.hash != _row_hash(prev, fields):
                return False, row.id, ""
            prev = row.hash
            n += 1
        return True, n, prev


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
