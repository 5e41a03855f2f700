"""Scheduling for real: a `prefect server start` on a free loopback port, `abhilekh
schedule` serving the nightly deployment against it, the cron and time zone read back
from the server, runs scheduled, and one run triggered through the API ingesting the
inbox."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from abhilekh.settings import Settings
from tests.fixtures.pagegen import make_bundle

BIN = Path(sys.executable).with_name("abhilekh")
CRON, TZ = "0 1 * * *", "Asia/Kolkata"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, check, timeout: float, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"{what}: the serving process exited ({proc.returncode})")
        time.sleep(1)
    pytest.fail(f"timed out waiting for {what}")


def call(api: httpx.Client, method: str, url: str, **kw) -> httpx.Response:
    """One API call, retried on 503 (SQLite busy under load), as Prefect's own client does."""
    for attempt in range(10):
        r = api.request(method, url, **kw)
        if r.status_code != 503:
            return r
        time.sleep(1 + attempt)
    return r


@pytest.fixture
def prefect_server(tmp_path):
    from pipelines.schedule import start_local_server, stop_server

    home = tmp_path / "prefect-server"
    url, proc = start_local_server(
        Settings(home=home), free_port(), prefect_home=home,
        extra_env={"PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5"},
    )
    yield url
    stop_server(proc)


def test_schedule_registers_the_nightly_deployment_and_serves_its_runs(prefect_server, tmp_path):
    home, inbox = tmp_path / "home", tmp_path / "inbox"
    make_bundle(inbox / "GD-2021", seed=61, pages=1, kind="letter", profile="clean", station="तिर्वा", year=2021)
    (inbox / "GD-2021" / "truth.json").unlink()
    (inbox / "GD-2021" / "bundle.yaml").write_text("thana: Tirwa\nregister: General Diary\nyear: 2021\n")
    (inbox / "GD-2021" / ".ready").touch()

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ABHILEKH_", "PREFECT_"))}
    env.update(ABHILEKH_HOME=str(home), PREFECT_API_URL=prefect_server, PREFECT_HOME=str(home / "prefect"),
               PREFECT_LOGGING_LEVEL="WARNING", DO_NOT_TRACK="1", COLUMNS="200", PYTHONIOENCODING="utf-8")
    log = open(tmp_path / "schedule.log", "w")
    serving = subprocess.Popen(
        [str(BIN), "schedule", "--cron", CRON, "--timezone", TZ, "--inbox", str(inbox)],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    api = httpx.Client(base_url=prefect_server, timeout=30)
    try:
        def deployment():
            r = call(api, "GET", "/deployments/name/nightly-ingest/nightly")
            return r.json() if r.status_code == 200 else None

        dep = wait_for("the deployment", deployment, 120, serving)
        (sched,) = dep["schedules"]
        assert sched["schedule"]["cron"] == CRON and sched["schedule"]["timezone"] == TZ
        assert sched["active"]
        assert dep["parameters"]["inbox"] == str(inbox.resolve())

        def scheduled_runs():
            r = call(api, "POST", "/flow_runs/filter", json={
                "flow_runs": {"deployment_id": {"any_": [dep["id"]]}, "state": {"type": {"any_": ["SCHEDULED"]}}},
                "sort": "EXPECTED_START_TIME_ASC", "limit": 10})
            r.raise_for_status()
            return [run for run in r.json() if run.get("auto_scheduled")] or None

        runs = wait_for("scheduled runs", scheduled_runs, 60)
        for run in runs:
            start = datetime.fromisoformat(run["expected_start_time"].replace("Z", "+00:00")).astimezone(ZoneInfo(TZ))
            assert (start.hour, start.minute) == (1, 0), start  # 01:00 in Kolkata = 19:30 UTC

        # Trigger one run now, through the API, and let the serving process execute it.
        r = call(api, "POST", f"/deployments/{dep['id']}/create_flow_run", json={"parameters": {}})
        r.raise_for_status()
        run_id = r.json()["id"]

        def finished():
            state = call(api, "GET", f"/flow_runs/{run_id}").json()["state"]
            return state if state["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") else None

        state = wait_for("the triggered run", finished, 400, serving)
        assert state["type"] == "COMPLETED", (state, (tmp_path / "schedule.log").read_text()[-3000:])
    finally:
        os.killpg(serving.pid, signal.SIGINT)
        try:
            serving.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(serving.pid, signal.SIGKILL)
            serving.wait()
        api.close()
        log.close()

    # The inbox was ingested: stored, indexed, archived, reported.
    from pipelines.maintenance import status

    settings = Settings(home=home, es_url=None, s3_endpoint=None)
    counts = status(settings)
    assert counts["bundles"] == 1 and counts["pages_stored"] == 1 and counts["pages_indexed"] == 1
    assert not list(inbox.iterdir())
    assert [p.name for p in settings.archive_dir.glob("*/*")] == ["GD-2021"]
    assert list(settings.reports_dir.glob("nightly-*.html"))
