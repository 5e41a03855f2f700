"""`abhilekh schedule`: register the nightly deployment on a Prefect server and serve it.

Prefect's temporary local API (what `abhilekh ingest` uses when nothing is configured)
never runs schedules, so scheduling needs a real server:
  * PREFECT_API_URL set (e.g. http://prefect-host:4200/api): that server is used;
  * otherwise a local `prefect server start` is launched on 127.0.0.1 (`--port`,
    default 4200) with its SQLite database in $ABHILEKH_HOME/prefect, and stopped
    when `abhilekh schedule` stops.
This process then serves the deployment `nightly-ingest/nightly` (``flows.serve_nightly``):
it polls the server and runs each scheduled (or manually triggered) run as a child
process. This module only manages the server; it never imports the flows.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from abhilekh.settings import Settings

DEPLOYMENT = "nightly"
FLOW = "nightly-ingest"
DEFAULT_CRON = "0 1 * * *"
DEFAULT_TIMEZONE = "Asia/Kolkata"


def api_healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(api_url.rstrip("/") + "/health", timeout=timeout) as r:
            return r.status == 200
    except Exception:  # noqa: BLE001 - not up yet
        return False


def wait_for_api(api_url: str, timeout: float = 180.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if api_healthy(api_url):
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"prefect server exited with code {proc.returncode}")
        time.sleep(0.5)
    raise TimeoutError(f"no Prefect API at {api_url} after {timeout:.0f} s")


def prefect_bin() -> str:
    here = Path(sys.executable).with_name("prefect")
    return str(here) if here.exists() else (shutil.which("prefect") or "prefect")


def start_local_server(
    settings: Settings,
    port: int,
    log_path: Path | None = None,
    prefect_home: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> tuple[str, subprocess.Popen]:
    """`prefect server start` on 127.0.0.1:port; its SQLite database in PREFECT_HOME
    (the one in force, else $ABHILEKH_HOME/prefect)."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    if prefect_home is not None:
        env["PREFECT_HOME"] = str(prefect_home)
    env.setdefault("PREFECT_HOME", str(settings.prefect_home))
    Path(env["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    env.update(extra_env or {})
    env.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1",
               PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT="false")
    log_path = log_path or Path(env["PREFECT_HOME"]) / "server.log"
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        [prefect_bin(), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        wait_for_api(url, proc=proc)
    except BaseException:
        stop_server(proc)
        raise
    return url, proc


def stop_server(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
