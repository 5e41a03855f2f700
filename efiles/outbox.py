"""The audit outbox: a change's audit row is written with the change, then drained.

The audit log lives elsewhere (access/'s own database), so one transaction cannot hold
both. Instead the service writes the audit row into ``efile_audit_outbox`` inside the
change's transaction (a crash before the commit loses both, after it keeps both), and
``drain`` moves outbox rows into the audit log afterwards: after each change and when
the e-files are opened. Each audit row names its outbox id, and a row already in the
log (a crash between writing it and emptying the outbox) is not written again, so the
log gets every change exactly once. Drainers take the database's write lock, one at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from efiles import schema as t
from efiles.crash import reached
from efiles.db import Database
from efiles.model import Actor

__all__ = ["OutboxRow", "drain", "write_audit"]

# How far before the oldest outbox row the audit log is searched for rows already
# written (clocks of several web servers differ a little).
CLOCK_MARGIN = timedelta(hours=1)


@dataclass(frozen=True)
class OutboxRow:
    id: int
    at: datetime
    actor: str
    role: str
    ip: str
    action: str
    target: str
    detail: str


def write_audit(conn: Connection, actor: Actor, action: str, target: str, detail: str, at: datetime) -> None:
    """The audit row of a change, in the change's own transaction."""
    conn.execute(insert(t.audit_outbox).values(at=at, actor=actor.name, role=actor.role, ip=actor.ip[:64],
                                               action=action, target=target, detail=detail))


def drain(db: Database, record: Callable[[OutboxRow], None],
          recorded_since: Callable[[datetime], Iterable[int]]) -> int:
    """Move every outbox row into the audit log; returns how many were written now.

    ``record`` appends one row to the audit log; ``recorded_since`` gives the outbox ids
    of audit rows written at or after a time."""
    with db.write() as conn:
        query = select(t.audit_outbox).order_by(t.audit_outbox.c.id)
        if db.for_update:
            query = query.with_for_update()
        rows = [OutboxRow(*r) for r in conn.execute(query).all()]
        if not rows:
            return 0
        already = set(recorded_since(min(r.at for r in rows) - CLOCK_MARGIN))
        written = 0
        for row in rows:
            if row.id not in already:
                record(row)
                written += 1
                reached("audit_drain")
        conn.execute(delete(t.audit_outbox).where(t.audit_outbox.c.id <= rows[-1].id))
    return written
