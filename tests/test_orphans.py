"""kill -9 of an ingest must not leave Prefect's temporary API server running (issue
17, item 9): a real `abhilekh ingest` with no PREFECT_API_URL kills itself (SIGKILL,
no exit handlers) after its first page; no process of its Prefect home may survive."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.fixtures.pagegen import make_bundle

BIN = Path(sys.executable).with_name("abhilekh")


def processes_of(prefect_home: Path) -> list[int]:
    """Pids of processes whose environment names this Prefect home."""
    marker = f"PREFECT_HOME={prefect_home}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def test_kill_minus_nine_of_an_ingest_leaves_no_prefect_server(tmp_path):
    bundle = tmp_path / "letters"
    make_bundle(bundle, seed=41, pages=2, kind="letter", profile="clean", station="तिर्वा", year=2020)
    (bundle / "truth.json").unlink()
    home = tmp_path / "home"
    prefect_home = home / "prefect"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ABHILEKH_", "PREFECT_"))}
    env.update(ABHILEKH_HOME=str(home), PREFECT_HOME=str(prefect_home), ABHILEKH_TEST_CRASH_AT="ocr:1",
               PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1", PREFECT_LOGGING_LEVEL="WARNING",
               ABHILEKH_OCR_JOBS="1")
    proc = subprocess.run([str(BIN), "ingest", str(bundle), "--thana", "Tirwa"], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == -signal.SIGKILL, proc.stdout[-2000:] + proc.stderr[-3000:]
    left: list[int] = []
    for _ in range(100):  # the kernel delivers the parent-death signal at once; allow for slow reaping
        left = processes_of(prefect_home)
        if not left:
            break
        time.sleep(0.1)
    for pid in left:  # our own test's orphans: do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes of the killed ingest still running: {left}"
