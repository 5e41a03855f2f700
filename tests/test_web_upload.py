"""Issue 15: an operator's upload goes through the CLI's ingest pipeline in the
background (a real `abhilekh batch` run: Prefect, Tesseract, the store and index), and
survives the server stopping mid-way."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from abhilekh.settings import Settings
from tests.test_web import fast_hashing, home, login  # noqa: F401  (fixtures)
from web.app import create_app


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def test_only_operators_and_admins_upload(home: Settings) -> None:  # noqa: F811
    with TestClient(create_app(home)) as c:
        login(c, "ram")  # an officer
        assert c.get("/upload").status_code == 403
    with TestClient(create_app(home)) as c:
        login(c, "admin")
        assert c.get("/upload").status_code == 200


def test_upload_facts_are_checked_bilingually(home: Settings) -> None:  # noqa: F811
    from access.users import UserStore

    users = UserStore(home.users_path)
    users.grant("op", ["छिबरामऊ"])
    users.close()
    with TestClient(create_app(home)) as c:
        login(c, "op")
        html = c.get("/upload").text
        assert '<option value="छिबरामऊ"' in html and "कन्नौज" not in html.split('id="thana"')[1].split("</select>")[0]
        r = c.post("/upload", data={"csrf": _csrf(html), "thana": "कन्नौज", "register": "", "year": "19x8"},
                   files=[("files", ("notes.txt", b"hello", "text/plain"))])
        assert r.status_code == 400
        for text in ("थाना कन्नौज आपको नहीं दिया गया है", "Station कन्नौज is not granted to you",
                     "वर्ष 1998 या", "Write the year", "Not scans: notes.txt", "ये फ़ाइलें स्कैन नहीं हैं"):
            assert text in r.text
        assert not (home.home / "uploads").exists() or not any((home.home / "uploads").iterdir())


def test_upload_is_ingested_and_survives_a_restart(home: Settings, tmp_path: Path) -> None:  # noqa: F811
    from tests.fixtures.pagegen import make_page, save_image

    png = tmp_path / "page.png"
    img, truth = make_page(7, "register", dpi=300, profile="light")
    save_image(img, png, dpi=300)
    with TestClient(create_app(home)) as c:
        login(c, "admin")
        html = c.get("/upload").text
        r = c.post("/upload", data={"csrf": _csrf(html), "thana": "छिबरामऊ", "register": "पत्राचार",
                                    "year": "2021", "title": "अपलोड परीक्षण"},
                   files=[("files", ("page.png", png.read_bytes(), "image/png")),
                          ("files", ("broken.png", b"\x89PNG\r\n\x1a\n not really", "image/png"))],
                   follow_redirects=False)
        assert r.status_code == 303
        status_url = r.headers["location"]
        assert json.loads(c.get(status_url + "/status.json").text)["state"] in ("queued", "running")
        time.sleep(3)  # let it start; leaving the block stops the server mid-ingest
    with TestClient(create_app(home)) as c:  # the server again: the job is run again
        login(c, "admin")
        deadline = time.monotonic() + 400
        while True:
            view = c.get(status_url + "/status.json").json()
            if view["state"] in ("done", "failed") or time.monotonic() > deadline:
                break
            time.sleep(2)
        assert view["state"] == "done", view
        assert view["pages"] == 1 and view["indexed"] == 1 and view["bundle_id"]
        failure = view["failures"][0]
        assert failure["file"].startswith("broken.png") and failure["hindi"] and failure["english"]
        page = c.get(status_url).text
        assert 'id="job-failures"' in page and f'/bundles/{view["bundle_id"]}' in page
        # the uploaded page is in the store and the index: listed, and found by a name on it
        c.app.state.catalog.refresh()
        assert "अपलोड परीक्षण" in c.get("/bundles").text
        name = truth.entries[0].names[0]
        found = c.get("/", params={"q": name, "register": "पत्राचार"}).text
        assert f"/bundles/{view['bundle_id']}/pages/1" in found, name


def _serve(settings: Settings, port: int, log: Path) -> subprocess.Popen[bytes]:
    """`abhilekh serve` as a process of its own (its own process group, so SIGKILL ends
    it the way a power cut or an OOM kill would: no shutdown code runs)."""
    from web.uploads import settings_env

    exe = Path(sys.executable).with_name("abhilekh")
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port), "--workers", "1"],
                            env=settings_env(settings), stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, log.read_text()
        time.sleep(0.3)
    raise AssertionError("the server did not start: " + log.read_text())


def _kill(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    proc.wait(timeout=30)


def _session(port: int) -> tuple[httpx.Client, str]:
    from tests.test_web import PASSWORDS

    c = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    assert c.post("/api/login", json={"username": "admin", "password": PASSWORDS["admin"]}).status_code == 200
    return c, _csrf(c.get("/upload").text)


def test_resumable_upload_survives_a_killed_server(home: Settings, tmp_path: Path) -> None:  # noqa: F811
    """Issue 15: half the chunks sent, the server SIGKILLed, started again: the offset it
    reports is exactly what was acknowledged, the rest is sent, the bundle ingests with
    every page."""
    from tests.fixtures.pagegen import make_page, save_image

    port = 9291
    scans = []
    for n, kind in enumerate(("register", "letter"), start=1):
        img, truth = make_page(20 + n, kind, dpi=300, profile="light")
        save_image(img, tmp_path / f"page{n}.png", dpi=300)
        scans.append((tmp_path / f"page{n}.png").read_bytes())
    chunk = 64 * 1024
    log = tmp_path / "server.log"
    proc = _serve(home, port, log)
    try:
        c, csrf = _session(port)
        h = {"X-CSRF-Token": csrf}
        r = c.post("/upload/resumable", headers=h, json={
            "thana": "कन्नौज", "register": "पत्राचार", "year": "2020", "title": "खंडों में अपलोड",
            "files": [{"name": f"page{n}.png", "size": len(b)} for n, b in enumerate(scans, start=1)]})
        assert r.status_code == 201, r.text
        job = r.json()
        urls = [f["url"] for f in job["files"]]
        # without the CSRF header a chunk is refused
        assert c.patch(urls[0], headers={"Upload-Offset": "0"}, content=b"x").status_code == 403

        def send(i: int, start: int, stop: int) -> None:
            for offset in range(start, stop, chunk):
                piece = scans[i][offset:min(offset + chunk, stop)]
                r = c.patch(urls[i], content=piece, headers={
                    **h, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})
                assert r.status_code == 204 and int(r.headers["upload-offset"]) == offset + len(piece), r.text

        send(0, 0, len(scans[0]))
        half = (len(scans[1]) // 2 // chunk) * chunk
        assert half > 0
        send(1, 0, half)
        assert c.post(f"/upload/{job['id']}/finish", headers=h).status_code == 409  # not all there yet
        c.close()
        _kill(proc)  # SIGKILL mid-upload

        proc = _serve(home, port, log)
        c, csrf = _session(port)  # the session survived too (server-side, in SQLite)
        h = {"X-CSRF-Token": csrf}
        assert int(c.head(urls[0], headers=h).headers["upload-offset"]) == len(scans[0])
        at = int(c.head(urls[1], headers=h).headers["upload-offset"])
        assert at == half
        # a chunk sent again at a stale offset is refused with where the file stands
        stale = c.patch(urls[1], content=scans[1][:chunk], headers={**h, "Upload-Offset": "0"})
        assert stale.status_code == 409 and int(stale.headers["upload-offset"]) == half
        send(1, at, len(scans[1]))
        r = c.post(f"/upload/{job['id']}/finish", headers=h)
        assert r.status_code == 200 and r.json()["state"] == "queued", r.text
        deadline = time.monotonic() + 600
        while True:
            view = c.get(f"/upload/{job['id']}/status.json").json()
            if view["state"] in ("done", "failed") or time.monotonic() > deadline:
                break
            time.sleep(2)
        assert view["state"] == "done", (view, log.read_text()[-3000:])
        assert view["pages"] == 2 and view["indexed"] == 2 and not view["failures"], view
        stored = home.home / "uploads" / job["id"] / "scans"
        assert [(stored / f"page{n}.png").read_bytes() == b for n, b in enumerate(scans, start=1)] == [True, True]
        c.close()
    finally:
        _kill(proc, signal.SIGTERM)
