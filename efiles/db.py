"""The workflow database: one SQLAlchemy engine, transactions that serialise writers,
Alembic migrations run on open.

SQLite (a file in ABHILEKH_HOME) by default, so zero servers stays true; PostgreSQL
when ABHILEKH_DATABASE_URL is set (production: several web servers of a district
share it). This module knows nothing of e-files: it is the part users, log-in
throttling and the audit log can move onto later (their tables become further
Alembic revisions; the module can then be promoted to the ground floor, since it only
needs the settings).

Writers
    SQLite: every write transaction starts with ``BEGIN IMMEDIATE`` (takes the write
    lock first, waits up to ``busy_timeout``), so a read-check-write inside it cannot
    interleave with another writer's. PostgreSQL: callers lock the rows they change
    with ``SELECT ... FOR UPDATE`` (``Database.for_update`` says whether to). Readers
    (``Database.read``) start a plain deferred transaction and never wait on a writer
    (WAL on SQLite, MVCC on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from abhilekh.errors import AbhilekhError
from abhilekh.settings import Settings

__all__ = ["Database", "DatabaseDown", "database_url", "open_database"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_MS = 10_000
MIGRATION_LOCK = 0x61626869  # "abhi": the advisory lock migrations take on PostgreSQL


class DatabaseDown(AbhilekhError):
    """The workflow database cannot be reached (transient: the server may come back)."""

    transient = True


def database_url(settings: Settings) -> str:
    """ABHILEKH_DATABASE_URL with psycopg 3 as the driver, else the SQLite file's URL."""
    if not settings.database_url:
        return f"sqlite:///{settings.workflow_db_path}"
    url = make_url(settings.database_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")  # psycopg 3; SQLAlchemy would pick psycopg2
    return url.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling off: we say BEGIN ourselves (below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # a saved movement survives a power cut
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    conn.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """An engine on the workflow database, migrated to the newest schema."""

    def __init__(self, url: str) -> None:
        self.url = url
        kwargs: dict[str, Any] = {}
        if url.startswith("sqlite"):
            path = make_url(url).database
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_MS / 1000}
        else:
            kwargs["pool_pre_ping"] = True  # a restarted server's dead connections are replaced
            kwargs["connect_args"] = {"connect_timeout": 10}
        self.engine: Engine = create_engine(url, **kwargs)
        self.dialect = self.engine.dialect.name
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
            if path and path != ":memory:":
                self._private(Path(path))

    @staticmethod
    def _private(path: Path) -> None:
        # Who holds which file, and every remark: owner-only, like users.sqlite3.
        try:
            path.touch(exist_ok=True)
            path.chmod(0o600)
        except OSError:
            pass

    @property
    def for_update(self) -> bool:
        """Whether row locks are taken with FOR UPDATE (SQLite locks the whole file instead)."""
        return self.dialect != "sqlite"

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed when the block ends, rolled back on error."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise DatabaseDown(_down_message(self, exc)) from exc

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One read-only transaction that never waits on a writer."""
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(sqlite_begin="DEFERRED")
                with conn.begin():
                    yield conn
        except OperationalError as exc:
            raise DatabaseDown(_down_message(self, exc)) from exc

    def upgrade(self) -> str:
        """Bring the schema to the newest Alembic revision; returns that revision."""
        from alembic import command

        config = alembic_config()
        try:
            with self.engine.begin() as conn:
                if self.dialect == "postgresql":
                    # Several web workers start at once: one migrates, the others wait
                    # here and then find nothing left to do. (SQLite: BEGIN IMMEDIATE.)
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
        except OperationalError as exc:
            raise DatabaseDown(_down_message(self, exc)) from exc
        return self.revision() or ""

    def revision(self) -> str | None:
        """The schema revision the database is at (None: never migrated)."""
        try:
            with self.read() as conn:
                if not inspect(conn).has_table("alembic_version"):
                    return None
                row = conn.exec_driver_sql("SELECT version_num FROM alembic_version").first()
        except SQLAlchemyError as exc:
            raise DatabaseDown(_down_message(self, exc)) from exc
        return str(row[0]) if row else None

    def describe(self) -> str:
        """The URL without its password, for messages."""
        return make_url(self.url).render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()


def _down_message(db: Database, exc: Exception) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (f"कार्य-प्रवाह डेटाबेस उपलब्ध नहीं / workflow database unavailable "
            f"({db.describe()}): {first}")


def alembic_config() -> Any:
    """Alembic's configuration, built in code (no alembic.ini to lose)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def open_database(settings: Settings, *, migrate: bool = True) -> Database:
    """The workflow database of `settings`, migrated to the newest schema unless told not to."""
    db = Database(database_url(settings))
    if migrate:
        try:
            db.upgrade()
        except BaseException:
            db.close()
            raise
    return db
