"""the audit outbox: audit rows written in the change's own transaction

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

Each movement, opening and note writes its audit row here in the same transaction, and
efiles/outbox.py moves the rows into the audit log afterwards (idempotently, by id), so
a crash between the two leaves both or neither.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "efile_audit_outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        # The id names the row in the audit log: SQLite must never reuse one once the
        # outbox is emptied (AUTOINCREMENT); PostgreSQL's sequence never does.
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("efile_audit_outbox")
