"""`abhilekh db` and `abhilekh efile`: the workflow database and the e-files in it.

The terminal acts as the login name given with --as (default: the operating-system
user); it sees every station unless --station limits it, like an admin on the web.
"""

from __future__ import annotations

import typer
from rich.markup import escape

from abhilekh.settings import get_settings
from cli.output import console

db_app = typer.Typer(
    help=(
        "The workflow database (e-files): SQLite file $ABHILEKH_HOME/workflow.sqlite3, or the "
        "PostgreSQL of ABHILEKH_DATABASE_URL. Migrations also run whenever a command or the "
        "web page opens it.\n\n"
        "कार्य-प्रवाह डेटाबेस: स्कीमा अद्यतन स्वतः होता है; `abhilekh db upgrade` उसे अभी करता है।"
    ),
    no_args_is_help=True,
)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the schema to the newest revision (Alembic), then print it."""
    from efiles.db import Database, database_url

    db = Database(database_url(get_settings()))
    try:
        before = db.revision()
        after = db.upgrade()
    finally:
        db.close()
    said = "already at" if before == after else f"{before or 'empty'} ->"
    console.print(f"स्कीमा / schema {escape(said)} {escape(after)} ({escape(db.describe())})")


@db_app.command("status")
def db_status() -> None:
    """Which database, and the schema revision it is at (without migrating)."""
    from efiles.db import Database, database_url

    db = Database(database_url(get_settings()))
    try:
        revision = db.revision()
    finally:
        db.close()
    console.print(f"{escape(db.describe())}: {escape(revision or 'not migrated / स्कीमा नहीं बना')}")
