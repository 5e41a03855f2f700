"""The e-file tables as the service queries them. Alembic's revisions in migrations/
create them; tests/test_efiles_db.py checks the two agree, column for column."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, ForeignKey, Integer, MetaData, String, Table, Text

metadata = MetaData()

efiles = Table(
    "efiles", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("file_no", String(120), nullable=False, unique=True),
    Column("subject", Text, nullable=False),
    Column("station", String(200), nullable=False),
    Column("station_key", String(200), nullable=False),
    Column("category", String(200), nullable=False),
    Column("year_from", Integer),
    Column("year_to", Integer),
    Column("status", String(20), nullable=False),
    Column("holder", String(64), nullable=False),
    Column("sent_by", String(64)),
    Column("due_date", Date),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True)),
    Column("version", Integer, nullable=False),
)

parts = Table(
    "efile_parts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("efile_id", Integer, ForeignKey("efiles.id"), nullable=False),
    Column("bundle_id", String(64), nullable=False),
    Column("page_from", Integer),
    Column("page_to", Integer),
)

movements = Table(
    "efile_movements", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("efile_id", Integer, ForeignKey("efiles.id"), nullable=False),
    Column("action", String(20), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("to_user", String(64)),
    Column("remarks", Text, nullable=False),
    Column("due_date", Date),
    Column("status_after", String(20), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

notes = Table(
    "efile_notes", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("efile_id", Integer, ForeignKey("efiles.id"), nullable=False),
    Column("bundle_id", String(64)),
    Column("page", Integer),
    Column("author", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("corrects", Integer, ForeignKey("efile_notes.id")),
    Column("at", DateTime(timezone=True), nullable=False),
)

counters = Table(
    "efile_counters", metadata,
    Column("prefix", String(200), primary_key=True),
    Column("serial", Integer, nullable=False),
)

# Audit rows written in the same transaction as the change they record, then drained
# into the audit log (efiles/outbox.py): a crash leaves both or neither.
audit_outbox = Table(
    "efile_audit_outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("role", String(32), nullable=False),
    Column("ip", String(64), nullable=False),
    Column("action", String(40), nullable=False),
    Column("target", Text, nullable=False),
    Column("detail", Text, nullable=False),
    # An id is the row's identity in the audit log: SQLite must never reuse one after
    # the outbox is emptied (AUTOINCREMENT; PostgreSQL's sequences never do).
    sqlite_autoincrement=True,
)
