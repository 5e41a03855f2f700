"""Alembic's environment: migrations run on the connection efiles/db.py hands over
(``config.attributes["connection"]``), inside its transaction, never from an ini file."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only `Database.upgrade` runs migrations
    raise RuntimeError("run migrations through efiles.db.Database.upgrade (abhilekh db upgrade)")
context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
