"""scripts/services: the script that runs the real Elasticsearch, MinIO and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "services"
REQUIRE_SERVERS = os.environ.get("ABHILEKH_REQUIRE_SERVERS") == "1"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_script_is_executable_bash():
    assert os.access(SCRIPT, os.X_OK)
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


def test_unknown_command_prints_usage():
    result = run("frobnicate")
    assert result.returncode == 2
    assert "usage: scripts/services start|stop|status|env" in result.stderr


def test_env_prints_exports():
    result = run("env")
    assert result.returncode == 0
    names = {
        line.split("=", 1)[0].removeprefix("export ")
        for line in result.stdout.splitlines()
        if line.startswith("export ")
    }
    assert names == {
        "ABHILEKH_ES_URL",
        "ABHILEKH_S3_ENDPOINT",
        "ABHILEKH_S3_ACCESS_KEY",
        "ABHILEKH_S3_SECRET_KEY",
        "ABHILEKH_S3_BUCKET",
        "ABHILEKH_S3_SECURE",
        "ABHILEKH_DATABASE_URL",
    }


def test_status_reports_the_running_servers():
    es_url = os.environ.get("ABHILEKH_ES_URL")
    endpoint = os.environ.get("ABHILEKH_S3_ENDPOINT")
    if not es_url or not endpoint:
        message = "servers not configured: `scripts/services start` and `eval \"$(scripts/services env)\"`"
        if REQUIRE_SERVERS:
            pytest.fail(message)
        pytest.skip(message)
    database_url = os.environ.get("ABHILEKH_DATABASE_URL")
    result = run("status") if database_url else run("status", "es", "minio")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"elasticsearch: running at {es_url.rstrip('/')}" in result.stdout
    assert f"minio: running at http://{endpoint}" in result.stdout
    if database_url:
        port = database_url.rsplit(":", 1)[1].split("/")[0]
        assert f"postgresql: running at 127.0.0.1:{port}" in result.stdout
    # and `env` names the same servers the tests were pointed at
    env = run("env").stdout
    assert f"ABHILEKH_ES_URL={es_url.rstrip('/')}" in env
    assert f"ABHILEKH_S3_ENDPOINT={endpoint}" in env
    if database_url:
        assert f"ABHILEKH_DATABASE_URL={database_url}" in env
