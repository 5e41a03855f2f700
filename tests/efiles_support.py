"""The workflow database of the e-file tests, on SQLite and on the real PostgreSQL.

Each test gets an empty database: a fresh SQLite file, or a schema of its own in the
PostgreSQL that `scripts/services` runs (ABHILEKH_DATABASE_URL), dropped afterwards,
so tests never see each other's files. The PostgreSQL half is skipped only when
ABHILEKH_DATABASE_URL is unset (a developer without `scripts/services start pg`);
scripts/test sets it and ABHILEKH_REQUIRE_SERVERS=1, so there a missing server fails.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from abhilekh.settings import Settings

BACKENDS = ["sqlite", "postgresql"]


def pg_url_or_skip() -> str:
    url = os.environ.get("ABHILEKH_DATABASE_URL")
    if not url:
        message = ("PostgreSQL half skipped: ABHILEKH_DATABASE_URL is unset "
                   "(`scripts/services start pg`, then `eval \"$(scripts/services env)\"`)")
        if os.environ.get("ABHILEKH_REQUIRE_SERVERS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return url


def _with_search_path(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


def workflow_settings(backend: str, home: Path, base: Settings | None = None) -> Iterator[Settings]:
    """Settings (`base`'s, else the defaults at `home`) whose workflow database is empty
    and private to one test."""
    settings = base or Settings(home=home)
    if backend == "sqlite":
        yield settings.model_copy(update={"database_url": None})  # not the environment's PostgreSQL
        return
    import psycopg

    url = pg_url_or_skip()
    schema = f"efiles_test_{secrets.token_hex(6)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield settings.model_copy(update={"database_url": _with_search_path(url, schema)})
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=BACKENDS)
def wf_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    yield from workflow_settings(request.param, tmp_path)


VERAPDF_DIR = Path(os.environ.get("ABHILEKH_CACHE", str(Path.home() / ".cache" / "abhilekh"))) / "verapdf"


def verapdf(*pdfs: Path) -> tuple[int, str]:
    """veraPDF's PDF/A-2b verdict on PDFS (exit code, output), with the checker that
    scripts/verapdf/build caches. Missing: a skip for a developer, a failure in CI."""
    import shutil
    import subprocess

    classes = VERAPDF_DIR / "classes" / "Validate.class"
    if not classes.exists() or shutil.which("java") is None:
        message = (f"veraPDF checker missing ({classes} or java): run scripts/install "
                   "(it calls scripts/verapdf/build)")
        if os.environ.get("ABHILEKH_REQUIRE_SERVERS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    result = subprocess.run(
        ["java", "-cp", f"{VERAPDF_DIR / 'classes'}:{VERAPDF_DIR / 'lib'}/*", "Validate", "--flavour", "2b",
         *map(str, pdfs)],
        capture_output=True, text=True, timeout=300,
    )
    return result.returncode, result.stdout + result.stderr
