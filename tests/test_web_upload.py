"""Issue 15: an operator's upload goes through the CLI's ingest pipeline in the
background (a real `abhilekh batch` run: Prefect, Tesseract, the store and index), and
survives the server stopping mid-way."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

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
