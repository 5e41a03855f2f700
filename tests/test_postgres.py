"""PostgreSQL from Debian's package, run by scripts/services for the workflow state
(issue 12: e-files, users, audit). The suite's server is the one `scripts/services
env` names in ABHILEKH_DATABASE_URL; the lifecycle test starts a private one of its
own, in its own state directory, on a free port."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.servers

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "services"
REQUIRE_SERVERS = os.environ.get("ABHILEKH_REQUIRE_SERVERS") == "1"
DATABASE_URL = os.environ.get("ABHILEKH_DATABASE_URL")


def _missing(message: str) -> None:
    if REQUIRE_SERVERS:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def database_url() -> str:
    if not DATABASE_URL:
        _missing("PostgreSQL is not configured (ABHILEKH_DATABASE_URL unset): "
                 "`scripts/services start`, then `eval \"$(scripts/services env)\"`")
    return DATABASE_URL  # type: ignore[return-value]


def test_connects_as_abhilekh_and_keeps_hindi_text(database_url):
    import psycopg

    with psycopg.connect(database_url, connect_timeout=10) as conn:
        user, db, version, encoding, address, superuser = conn.execute(
            "SELECT current_user, current_database(), current_setting('server_version_num')::int, "
            "pg_encoding_to_char(encoding), host(inet_server_addr()), rolsuper "
            "FROM pg_database, pg_roles WHERE datname = current_database() AND rolname = current_user"
        ).fetchone()
        assert (user, db, encoding, address) == ("abhilekh", "abhilekh", "UTF8", "127.0.0.1")
        assert 150000 <= version < 160000, version  # Debian 12's postgresql is 15
        assert superuser is False  # the application's role owns its database, nothing more
        conn.execute("CREATE TEMP TABLE efile_probe (file_no text PRIMARY KEY, subject text)")
        subject = "मु0अ0सं0 123/2019 धारा 379 भादवि — थाना तिर्वा"
        conn.execute("INSERT INTO efile_probe VALUES (%s, %s)", ("SP/KNJ/PRO/2013/989", subject))
        assert conn.execute("SELECT subject FROM efile_probe WHERE file_no = %s",
                            ("SP/KNJ/PRO/2013/989",)).fetchone() == (subject,)


def test_wrong_password_is_refused(database_url):
    import psycopg

    wrong = re.sub(r"^(postgresql://[^:]+:)[^@]*@", r"\1not-the-password@", database_url)
    assert wrong != database_url
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong, connect_timeout=10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_installed() -> bool:
    return any(Path("/usr/lib/postgresql").glob("*/bin/postgres")) or bool(os.environ.get("ABHILEKH_PG_BIN"))


def test_script_starts_stops_by_pid_and_keeps_the_data():
    """start -> status -> a row written -> stop (the process is gone) -> start -> the row
    is still there -> stop. The server runs as its own user, never root."""
    if not _pg_installed():
        _missing("PostgreSQL is not installed (Debian package postgresql): run scripts/install")
    import psycopg

    # under /tmp, world-traversable: the PostgreSQL user must reach its data directory
    state = Path(tempfile.mkdtemp(prefix="abhilekh-pg-", dir="/tmp"))
    state.chmod(0o755)
    env = dict(os.environ, ABHILEKH_SERVICES_DIR=str(state), ABHILEKH_PG_PORT=str(_free_port()),
               ABHILEKH_PG_PASSWORD="lifecycle 'secret'/@:%")  # quoting and URL-escaping

    def services(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=300)
        assert result.returncode == 0, f"scripts/services {' '.join(args)}:\n{result.stdout}{result.stderr}"
        return result

    try:
        services("start", "pg")
        assert services("status", "pg").stdout.startswith("postgresql: running at 127.0.0.1:")
        url = re.search(r"^export ABHILEKH_DATABASE_URL=(.+)$", services("env").stdout, re.M).group(1)
        url = subprocess.run(["bash", "-c", f"printf %s {url}"], capture_output=True, text=True, check=True).stdout
        pid = int((state / "pg" / "postgres.pid").read_text())
        assert os.stat(f"/proc/{pid}").st_uid != 0, "PostgreSQL must not run as root"
        with psycopg.connect(url, connect_timeout=10) as conn:
            conn.execute("CREATE TABLE kept (note text)")
            conn.execute("INSERT INTO kept VALUES ('नोट सुरक्षित है')")

        services("stop", "pg")
        assert not Path(f"/proc/{pid}").exists()
        status = subprocess.run([str(SCRIPT), "status", "pg"], capture_output=True, text=True, env=env, timeout=60)
        assert status.returncode != 0 and "postgresql: stopped" in status.stdout

        services("start", "pg")
        with psycopg.connect(url, connect_timeout=10) as conn:
            assert conn.execute("SELECT note FROM kept").fetchall() == [("नोट सुरक्षित है",)]
    finally:
        subprocess.run([str(SCRIPT), "stop"], capture_output=True, env=env, timeout=300)
        shutil.rmtree(state, ignore_errors=True)
