"""`abhilekh serve --workers N`: state that requests share lives outside the processes.

Sessions, log-in failures and the audit chain are in SQLite; cookies and CSRF tokens
derive from the secret key file. These tests run real processes, not threads.
"""

from __future__ import annotations

import multiprocessing
import os
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
        yield base
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


def test_two_workers_share_sessions_throttling_and_the_audit_chain(served: str,
                                                                   home: Settings) -> None:
    with _fresh(served) as c:
        r = c.post("/api/login", json={"username": "ram", "password": PASSWORDS["ram"]})
        assert r.status_code == 200
        cookies = c.cookies

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

    assert views(24) == [200] * 24  # whichever worker answers knows the session

    # CSRF: the token one worker put in the page is accepted by the other.
    with _fresh(served, cookies) as c:
        page = c.get("/").text
    token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    for _ in range(4):
        with _fresh(served, cookies) as c:
            assert c.post("/logout", data={"csrf": "wrong"}).status_code == 403
    with _fresh(served, cookies) as c:
        assert c.post("/logout", data={"csrf": token}, follow_redirects=False).status_code == 303
    # Logged out on one worker = logged out on all.
    with _fresh(served, cookies) as c:
        assert c.get("/api/search", params={"q": "x"}).status_code == 401

    # Throttling counts failures made on any worker.
    codes = []
    for _ in range(home.login_max_failures + 2):
        with _fresh(served) as c:
            codes.append(c.post("/api/login", json={"username": "sita", "password": "nope-nope"})
                         .status_code)
    assert codes[: home.login_max_failures] == [401] * home.login_max_failures
    assert codes[home.login_max_failures :] == [429, 429]

    log = AuditLog(home.audit_path)
    try:
        intact, rows, _ = log.verify()
        assert intact and rows >= 24 + 1 + 1 + home.login_max_failures + 2
        assert log.count("ram", "view_pdf") == 24
    finally:
        log.close()
