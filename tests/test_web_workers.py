"""`abhilekh serve --workers N`: state that requests share lives outside the processes.

Sessions, log-in failures and the audit chain are in SQLite; cookies and CSRF tokens
derive from the secret key file. These tests run real processes, not threads.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from abhilekh.settings import Settings
from access.audit import AuditLog
from tests.test_web import GD, PASSWORDS, fast_hashing, home  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]


def _append(path: str, worker: int, rows: int) -> None:
    log = AuditLog(Path(path))

    def many(thread: int) -> None:
        for i in range(rows):
            log.record(f"u{worker}", "officer", "search", query=f"{worker}-{thread}-{i}")

    threads = [threading.Thread(target=many, args=(t,)) for t in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()


def test_audit_chain_verifies_after_appends_from_several_processes(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite3"
    AuditLog(path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append, args=(str(path), w, 100)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    log = AuditLog(path)
    try:
        intact, rows, last = log.verify()
        assert intact, f"chain breaks at row {rows}"
        assert rows == 4 * 2 * 100 and len(last) == 64
        # Every append landed once: no lost or doubled rows.
        queries = {r.query for r in log.iter_all()}
        assert len(queries) == 800
    finally:
        log.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (from /proc: no psutil needed)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return sorted(out)


def _workers(parent: int) -> list[int]:
    """uvicorn's worker processes under the serve process (multiprocessing spawns them)."""
    found = []
    for pid in _children(parent):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "spawn_main" in cmdline and "resource_tracker" not in cmdline:
            found.append(pid)
    return found


class Served(str):
    """The base URL of `abhilekh serve --workers 2`, and its two worker processes."""

    workers: list[int]

    @contextlib.contextmanager
    def only(self, worker: int):
        """Requests made inside are answered by `worker`: the other one is stopped
        (SIGSTOP) and so accepts nothing on the shared socket until it is continued.
        Kept to a request or two, well inside uvicorn's 5 s health-check wait."""
        others = [w for w in self.workers if w != worker]
        for w in others:
            os.kill(w, signal.SIGSTOP)
        try:
            yield
        finally:
            for w in others:
                os.kill(w, signal.SIGCONT)


@pytest.fixture
def served(home: Settings):  # noqa: F811
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ABHILEKH_ES_", "ABHILEKH_S3_"))}
    env.update(ABHILEKH_HOME=str(home.home), ABHILEKH_HOST="127.0.0.1")
    proc = subprocess.Popen(
        [sys.executable, "-c", "from cli.app import app; app()", "serve",
         "--workers", "2", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read().decode()[-2000:]
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "serve did not come up"
            time.sleep(0.2)
        while len(workers := _workers(proc.pid)) < 2:  # the second may still be starting
            assert time.monotonic() < deadline, f"serve started {len(workers)} worker(s), not 2"
            time.sleep(0.2)
        served = Served(base)
        served.workers = workers
        yield served
        # No worker was replaced meanwhile (a stopped one kept too long would have been).
        assert _workers(proc.pid) == workers
    finally:
        proc.terminate()
        try:
            out = proc.communicate(timeout=20)[0].decode()
        except subprocess.TimeoutExpired:
            proc.kill()
            out = proc.communicate()[0].decode()
    assert "Started parent process" in out and out.count("Started server process") == 2, out


def _fresh(base: str, cookies: httpx.Cookies | None = None) -> httpx.Client:
    # One connection per client: the kernel hands new connections to either worker.
    return httpx.Client(base_url=base, cookies=cookies, timeout=10,
                        headers={"Connection": "close"})


def test_two_workers_share_sessions_throttling_and_the_audit_chain(served: Served,
                                                                   home: Settings) -> None:
    a, b = served.workers
    # Logged in on worker a; worker b knows the session.
    with served.only(a), _fresh(served) as c:
        r = c.post("/api/login", json={"username": "ram", "password": PASSWORDS["ram"]})
        assert r.status_code == 200
        cookies = c.cookies
    with served.only(b), _fresh(served, cookies) as c:
        assert c.get(f"/bundles/{GD}/document.pdf", params={"page": 1}).status_code == 200

    def views(n: int) -> list[int]:
        codes: list[int] = []

        def one() -> None:
            with _fresh(served, cookies) as c:
                codes.append(c.get(f"/bundles/{GD}/document.pdf", params={"page": 1}).status_code)

        threads = [threading.Thread(target=one) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return codes

    assert views(24) == [200] * 24  # both running, side by side

    # CSRF: the token worker b put in the page is accepted by worker a.
    with served.only(b), _fresh(served, cookies) as c:
        page = c.get("/").text
    token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    for worker in (a, b):
        with served.only(worker), _fresh(served, cookies) as c:
            assert c.post("/logout", data={"csrf": "wrong"}).status_code == 403
    with served.only(a), _fresh(served, cookies) as c:
        assert c.post("/logout", data={"csrf": token}, follow_redirects=False).status_code == 303
    # Logged out on worker a = logged out on worker b.
    with served.only(b), _fresh(served, cookies) as c:
        assert c.get("/api/search", params={"q": "x"}).status_code == 401

    # Throttling counts failures made on either worker: alternate them, then both refuse.
    codes = []
    for i in range(home.login_max_failures):
        with served.only((a, b)[i % 2]), _fresh(served) as c:
            codes.append(c.post("/api/login", json={"username": "sita", "password": "nope-nope"})
                         .status_code)
    assert codes == [401] * home.login_max_failures
    for worker in (a, b):
        with served.only(worker), _fresh(served) as c:
            r = c.post("/api/login", json={"username": "sita", "password": PASSWORDS["sita"]})
            assert r.status_code == 429, (worker, r.text)

    log = AuditLog(home.audit_path)
    try:
        intact, rows, _ = log.verify()
        assert intact and rows >= 1 + 25 + 1 + home.login_max_failures + 2
        assert log.count("ram", "view_pdf") == 25
    finally:
        log.close()
