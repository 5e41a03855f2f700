"""Prefect's temporary API for one command, that dies with the command.

With no PREFECT_API_URL, Prefect starts a temporary API server of its own (uvicorn, in
a child process) and stops it at exit. A command killed with SIGKILL runs no exit
handler, so that server stayed behind: ~200 MB, parent 1, for good. Here the command
starts the same server itself (the same app factory and settings Prefect uses), with a
parent-death signal (Linux ``PR_SET_PDEATHSIG``): the kernel kills it the moment the
command dies, however it dies. The flows then talk to it through PREFECT_API_URL, as
they would to any server.

Set PREFECT_API_URL (a real `prefect server start`) and none of this happens.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from abhilekh.errors import AbhilekhError
from abhilekh.settings import Settings
from pipelines.prefect_env import configure_prefect
from pipelines.schedule import wait_for_api


class PrefectUnavailable(AbhilekhError):
    """Prefect's API (the temporary one we start, or PREFECT_API_URL) did not answer."""

    transient = True

_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """Runs in the child between fork and exec: SIGKILL when the parent goes away.

    If the parent is already gone (it died between fork and here), exit now."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def temporary_api(settings: Settings, timeout: float | None = None) -> Iterator[str | None]:
    """A temporary Prefect API for the duration of the block, unless PREFECT_API_URL is
    set; yields its URL (None when an API was configured). Enter it before Prefect is
    imported (Prefect reads PREFECT_API_URL at import). Raises PrefectUnavailable, with
    what to do next, when it does not answer within ``settings.prefect_start_timeout``."""
    timeout = settings.prefect_start_timeout if timeout is None else timeout
    if os.environ.get("PREFECT_API_URL"):
        yield None
        return
    configure_prefect(settings)
    # Found, not imported: Prefect reads PREFECT_API_URL once, when it is imported.
    spec = importlib.util.find_spec("prefect")
    if spec is None or not spec.origin:
        raise RuntimeError("prefect is not installed")
    app_dir = Path(spec.origin).parent.parent
    env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
           "PREFECT__SERVER_FINAL": "1"}
    log_path = Path(env["PREFECT_HOME"]) / "temporary-api.log"
    proc = None
    parent = os.getpid()
    for _ in range(3):  # a port taken between choosing and binding: choose again
        port = _free_port()
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--app-dir", str(app_dir),
                 "--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1",
                 "--port", str(port), "--log-level", "error", "--lifespan", "on"],
                env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                # the CLI's main thread, before any other thread is started
                preexec_fn=functools.partial(_die_with_parent, parent),
            )
        url = f"http://127.0.0.1:{port}/api"
        try:
            wait_for_api(url, timeout=timeout, proc=proc)
            break
        except RuntimeError:  # exited early (its port was taken): try another
            proc.wait()
            proc = None
            continue
        except TimeoutError:
            _stop(proc)
            raise PrefectUnavailable(
                f"Prefect's local API did not answer within {timeout:.0f} s (its first start "
                f"creates its database; a busy machine is slower). Nothing was ingested. Try "
                f"again, or allow longer with ABHILEKH_PREFECT_START_TIMEOUT=600, or point "
                f"PREFECT_API_URL at a running `prefect server` (docs/scheduling.md). "
                f"Its log: {log_path}") from None
        except BaseException:
            _stop(proc)
            raise
    if proc is None:
        raise PrefectUnavailable(f"Prefect's local API would not start; see {log_path}")
    os.environ["PREFECT_API_URL"] = url
    try:
        yield url
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()

