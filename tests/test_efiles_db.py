"""The workflow database layer (efiles/db.py), on SQLite and the real PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from abhilekh.settings import Settings
from efiles import schema
from efiles.db import Database, DatabaseDown, database_url, open_database
from tests.efiles_support import wf_settings  # noqa: F401  (fixture)


def test_sqlite_file_in_home_by_default(tmp_path):
    settings = Settings(home=tmp_path, database_url=None)
    assert database_url(settings) == f"sqlite:///{tmp_path / 'workflow.sqlite3'}"
    db = open_database(settings)
    try:
        assert (tmp_path / "workflow.sqlite3").stat().st_mode & 0o077 == 0  # owner only
    finally:
        db.close()


def test_postgresql_url_uses_psycopg3(tmp_path):
    settings = Settings(home=tmp_path, database_url="postgresql://u:p@127.0.0.1:1/d")
    assert database_url(settings) == "postgresql+psycopg://u:p@127.0.0.1:1/d"


def test_migrations_create_the_schema_once_and_match_the_tables(wf_settings):
    db = open_database(wf_settings)
    try:
        assert db.revision() == "0002"
        assert db.upgrade() == "0002"  # a second start-up finds nothing to do
        with db.read() as conn:
            found = inspect(conn)
            for table in schema.metadata.sorted_tables:
                columns = {c["name"] for c in found.get_columns(table.name)}
                assert columns == {c.name for c in table.columns}, table.name
    finally:
        db.close()


def test_history_tables_refuse_update_and_delete(wf_settings):
    db = open_database(wf_settings)
    try:
        with db.write() as conn:
            conn.execute(text(
                "INSERT INTO efiles (file_no, subject, station, station_key, category, status, holder, "
                "created_by, created_at, updated_at, version) VALUES "
                "('X/1', '', '', '', '', 'open', 'a', 'a', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1)"))
            conn.execute(text(
                "INSERT INTO efile_notes (efile_id, author, text, at) "
                "SELECT id, 'a', 'पहली टिप्पणी', CURRENT_TIMESTAMP FROM efiles"))
        for statement in ("UPDATE efile_notes SET text = 'changed'", "DELETE FROM efile_notes"):
            with pytest.raises(DBAPIError, match="append-only"):
                with db.write() as conn:
                    conn.execute(text(statement))
        with db.read() as conn:
            assert conn.execute(text("SELECT text FROM efile_notes")).scalar_one() == "पहली टिप्पणी"
    finally:
        db.close()


def test_a_database_that_is_down_is_named(tmp_path):
    # A port nothing listens on: the error names the database, not a traceback.
    db = Database("postgresql+psycopg://abhilekh:secret@127.0.0.1:9/abhilekh")
    try:
        with pytest.raises(DatabaseDown, match=r"workflow database unavailable \(postgresql\+psycopg://abhilekh:\*\*\*@127.0.0.1:9"):
            db.upgrade()
    finally:
        db.close()
