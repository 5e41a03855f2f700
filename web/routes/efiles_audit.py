"""The e-files' audit outbox drained into the audit log (efiles/outbox.py): the web's
and the CLI's one way to write the audit rows of e-file changes.

Each audit row carries its outbox id in ``filters`` (``{"outbox": "<id>"}``), which is
how a row already written is known again after a crash.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

from access.audit import AuditLog
from efiles.db import DatabaseDown
from efiles.outbox import OutboxRow
from efiles.service import EFiles

__all__ = ["drain_into"]

log = logging.getLogger(__name__)


def drain_into(service: EFiles, audit: AuditLog) -> int:
    """Move the outbox into `audit`; returns how many rows were written. A database
    that is down leaves the rows where they are, for the next drain."""

    def record(row: OutboxRow) -> None:
        audit.record(row.actor, row.role, row.action, ip=row.ip, target=row.target, detail=row.detail,
                     filters={"outbox": str(row.id)})

    def recorded_since(at: datetime) -> Iterator[int]:
        since = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).isoformat(timespec="milliseconds")
        for row in audit.iter_all(since=since):
            if row.action.startswith("efile_") and '"outbox"' in row.filters:
                value = json.loads(row.filters).get("outbox")
                if isinstance(value, str) and value.isdigit():
                    yield int(value)

    try:
        return service.drain_audit(record, recorded_since)
    except DatabaseDown as exc:
        log.warning("audit outbox not drained (%s); the next change or start drains it", exc)
        return 0
