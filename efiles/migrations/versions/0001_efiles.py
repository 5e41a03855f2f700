"""e-files: the file, the bundles (or page ranges) it holds, movements, notes, number counters

Revision ID: 0001
Revises:
Create Date: 2026-12-02

Movements and notes are immutable once written (a correction is a new note): a trigger
refuses UPDATE and DELETE on them in both databases, so not even a bug or a hand-typed
SQL statement can rewrite a file's history.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

IMMUTABLE = ("efile_movements", "efile_notes")


def upgrade() -> None:
    op.create_table(
        "efiles",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("file_no", sa.String(120), nullable=False, unique=True),
        sa.Column("subject", sa.Text, nullable=False, server_default=""),
        sa.Column("station", sa.String(200), nullable=False, server_default=""),
        sa.Column("station_key", sa.String(200), nullable=False, server_default=""),
        sa.Column("category", sa.String(200), nullable=False, server_default=""),
        sa.Column("year_from", sa.Integer, nullable=True),
        sa.Column("year_to", sa.Integer, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("sent_by", sa.String(64), nullable=True),
        sa.Column("due_date", sa.Date, nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.CheckConstraint("status IN ('open', 'in movement', 'parked', 'closed')", name="efiles_status"),
    )
    op.create_index("efiles_holder_status", "efiles", ["holder", "status"])
    op.create_index("efiles_station_status", "efiles", ["station_key", "status"])
    op.create_table(
        "efile_parts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("efile_id", sa.Integer, sa.ForeignKey("efiles.id"), nullable=False, index=True),
        sa.Column("bundle_id", sa.String(64), nullable=False, index=True),
        sa.Column("page_from", sa.Integer, nullable=True),  # None, None: the whole bundle
        sa.Column("page_to", sa.Integer, nullable=True),
    )
    op.create_table(
        "efile_movements",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("efile_id", sa.Integer, sa.ForeignKey("efiles.id"), nullable=False, index=True),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("to_user", sa.String(64), nullable=True),
        sa.Column("remarks", sa.Text, nullable=False, server_default=""),
        sa.Column("due_date", sa.Date, nullable=True),
        sa.Column("status_after", sa.String(20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("efile_movements_actor", "efile_movements", ["actor", "action"])
    op.create_table(
        "efile_notes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("efile_id", sa.Integer, sa.ForeignKey("efiles.id"), nullable=False, index=True),
        sa.Column("bundle_id", sa.String(64), nullable=True),  # with page: a note on that page
        sa.Column("page", sa.Integer, nullable=True),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("corrects", sa.Integer, sa.ForeignKey("efile_notes.id"), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "efile_counters",
        sa.Column("prefix", sa.String(200), primary_key=True),
        sa.Column("serial", sa.Integer, nullable=False),
    )
    dialect = op.get_bind().dialect.name
    for table in IMMUTABLE:
        if dialect == "sqlite":
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
        elif dialect == "postgresql":
            op.execute(
                f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN RAISE EXCEPTION '{table} is append-only'; END $$"
            )
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
            )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in IMMUTABLE:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
    for table in ("efile_counters", "efile_notes", "efile_movements", "efile_parts", "efiles"):
        op.drop_table(table)
