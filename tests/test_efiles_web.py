"""E-files on the web page (web/routes/efiles.py): the real app, store, users and audit
log; the workflow database on SQLite and the real PostgreSQL."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from abhilekh.settings import Settings
from tests.efiles_support import BACKENDS, workflow_settings
from tests.test_web import CR, GD, PASSWORDS, fast_hashing, home  # noqa: F401  (fixtures)
from web.app import create_app


@pytest.fixture(params=BACKENDS)
def ef_home(request: pytest.FixtureRequest, home: Settings) -> Iterator[Settings]:  # noqa: F811
    yield from workflow_settings(request.param, home.home, base=home)


def _client(settings: Settings, name: str) -> TestClient:
    c = TestClient(create_app(settings))
    c.__enter__()
    r = c.post("/api/login", json={"username": name, "password": PASSWORDS[name]})
    assert r.status_code == 200, r.text
    return c


@pytest.fixture
def people(ef_home: Settings) -> Iterator[dict[str, TestClient]]:
    clients = {name: _client(ef_home, name) for name in ("admin", "ram", "sita")}
    yield clients
    for c in clients.values():
        c.__exit__(None, None, None)


def _csrf(c: TestClient) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', c.get("/efiles").text)
    assert match
    return match.group(1)


def _version(html: str) -> str:
    match = re.search(r'data-version="(\d+)"', html)
    assert match
    return match.group(1)


def _post(c: TestClient, path: str, **data: str):
    return c.post(path, data={"csrf": _csrf(c), **data}, follow_redirects=False)


def _open(c: TestClient, bundle: str) -> str:
    r = _post(c, "/efiles/open", bundle=bundle)
    assert r.status_code == 303, r.text
    return r.headers["location"]


def _act(c: TestClient, file_no: str, action: str, version: str | None = None, **extra: str):
    if version is None:
        version = _version(c.get("/efiles/file", params={"no": file_no}).text)
    return _post(c, "/efiles/act", no=file_no, action=action, version=version, **extra)


def test_open_send_receive_note_park_close_reopen_on_the_web(people):
    admin, ram = people["admin"], people["ram"]
    url = _open(admin, GD)
    assert url == "/efiles/file?no=GD-12"  # the number on the bundle's cover (its metadata)
    assert _open(admin, GD) == url  # one e-file per bundle
    page = admin.get(url).text
    assert "जनरल डायरी 2019" in page and "छिबरामऊ" in page and 'id="send-form"' in page
    assert '<option value="ram">' in page and '<option value="op">' not in page  # op cannot see छिबरामऊ

    r = _act(admin, "GD-12", "send", to="ram", remarks="पृष्ठ 2 की जाँच करें", due="2026-12-31")
    assert r.status_code == 303 and r.headers["location"].endswith("done=send")
    inbox = ram.get("/efiles").text
    assert "GD-12" in inbox and "संचलन में" in inbox
    assert "GD-12" in admin.get("/efiles?box=sent").text
    assert "GD-12" not in admin.get("/efiles").text

    assert _act(ram, "GD-12", "receive").status_code == 303
    noted = _post(ram, "/efiles/note", no="GD-12", text="पृष्ठ 2 पर हस्ताक्षर नहीं", page=f"{GD}:2")
    assert noted.status_code == 303
    assert _post(ram, "/efiles/note", no="GD-12", text="x", page=f"{GD}:3").status_code == 404  # GD has 2 pages
    assert _act(ram, "GD-12", "park", remarks="गवाह बाहर").status_code == 303
    assert "GD-12" in ram.get("/efiles?box=parked").text
    assert _act(ram, "GD-12", "unpark").status_code == 303
    assert _act(ram, "GD-12", "close", remarks="निस्तारित").status_code == 303
    assert "GD-12" in ram.get("/efiles?box=closed").text
    assert _act(ram, "GD-12", "reopen", remarks="").status_code == 400  # a reason is required
    assert _act(ram, "GD-12", "reopen", remarks="नया साक्ष्य").status_code == 303

    page = admin.get(url).text
    history = page.split('id="history"')[1]
    for action in ("open", "send", "receive", "park", "unpark", "close", "reopen"):
        assert f"<td>{action}</td>" in history
    assert "पृष्ठ 2 की जाँच करें" in history and "2026-12-31" in history
    assert "पृष्ठ 2 पर हस्ताक्षर नहीं" in page and f'href="/bundles/{GD}/pages/2"' in page
    assert 'id="send-form"' not in page  # admin is no longer the holder

    audited = [(r.user, r.action, r.target) for r in ram.app.state.audit.iter_all()]
    for action in ("efile_receive", "efile_note", "efile_park", "efile_close", "efile_reopen"):
        assert ("ram", action, "GD-12") in audited, action
    assert ("admin", "efile_send", "GD-12") in audited and ("admin", "efile_open", "GD-12") in audited


def test_an_officer_never_sees_another_stations_file(people):
    admin, ram = people["admin"], people["ram"]
    _open(admin, CR)  # कन्नौज: ram has छिबरामऊ only
    assert "CR-7" in admin.get("/efiles?box=all").text
    assert "CR-7" not in ram.get("/efiles?box=all").text
    assert ram.get("/efiles/file", params={"no": "CR-7"}).status_code == 404
    for path, data in (("/efiles/act", {"no": "CR-7", "action": "park", "version": "1"}),
                       ("/efiles/note", {"no": "CR-7", "text": "x"})):
        assert _post(ram, path, **data).status_code == 404
    assert _post(ram, "/efiles/open", bundle=CR).status_code == 403
    assert "CR-7" not in ram.get("/efiles/pendency").text
    assert "CR-7" not in ram.get("/efiles/pendency.csv").text
    assert "CR-7" in people["sita"].get("/efiles/pendency").text  # sita has both stations
    # and the admin cannot hand it to someone who may not see it
    refused = _act(admin, "CR-7", "send", to="ram", remarks="देखें")
    assert refused.status_code == 400 and "may not see station" in refused.text
    assert ("ram", "denied", "CR-7") in [(r.user, r.action, r.target) for r in ram.app.state.audit.iter_all()]


def test_a_page_out_of_date_cannot_act(people):
    admin = people["admin"]
    _open(admin, GD)
    stale = _version(admin.get("/efiles/file", params={"no": "GD-12"}).text)
    assert _post(admin, "/efiles/note", no="GD-12", text="पहले यह").status_code == 303
    r = _act(admin, "GD-12", "send", version=stale, to="ram", remarks="देखें")
    assert r.status_code == 409 and "changed meanwhile" in r.text and "इस बीच बदल चुकी" in r.text
    assert "GD-12" not in people["ram"].get("/efiles").text


def test_pendency_page_and_csv(people):
    admin = people["admin"]
    _open(admin, GD)
    _open(admin, CR)
    _act(admin, "GD-12", "send", to="sita", remarks="आख्या दें")
    html = admin.get("/efiles/pendency").text
    # oldest first, counted from when the holder got it: GD-12 reached sita after CR-7 was opened
    assert html.index("CR-7") < html.index("GD-12")
    assert "sita" in html and "अधिकारीवार" in html
    r = admin.get("/efiles/pendency.csv", params={"station": "कन्नौज"})
    assert r.headers["content-type"].startswith("text/csv") and r.text.startswith("\ufeffstation,holder,file_no")
    assert "CR-7" in r.text and "GD-12" not in r.text


def test_a_database_that_is_down_gives_a_clear_page_and_the_rest_works(home):  # noqa: F811
    down = home.model_copy(update={"database_url": "postgresql://abhilekh:x@127.0.0.1:9/abhilekh"})
    c = _client(down, "ram")
    try:
        r = c.get("/efiles")
        assert r.status_code == 503
        assert "कार्य-प्रवाह डेटाबेस उपलब्ध नहीं" in r.text and "nothing saved is lost" in r.text
        assert c.get("/", params={"q": "रमेश"}).status_code == 200  # search goes on
    finally:
        c.__exit__(None, None, None)


def test_export_for_e_office_holds_pdfs_metadata_notes_and_movements(people):
    import hashlib
    import io
    import json
    import zipfile

    import pikepdf

    from efiles.model import Actor, Part

    admin = people["admin"]
    _open(admin, GD)
    _post(admin, "/efiles/note", no="GD-12", text="प्रथम टिप्पणी")
    _act(admin, "GD-12", "send", to="ram", remarks="आख्या दें")
    service = admin.app.state.workflow.get()
    service.open(Actor("admin"), subject="अपराध रजिस्टर के पृष्ठ 3-5", station="कन्नौज", file_no="CR-7/A",
                 parts=[Part(CR, 3, 5)])

    r = admin.get("/efiles/export", params={"no": "GD-12"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert 'filename="GD-12.zip"' in r.headers["content-disposition"]
    z = zipfile.ZipFile(io.BytesIO(r.content))
    meta = json.loads(z.read("metadata.json"))
    assert meta["efile"]["file_no"] == "GD-12" and meta["efile"]["station"] == "छिबरामऊ"
    for name, digest in meta["sha256"].items():
        assert hashlib.sha256(z.read(name)).hexdigest() == digest, name
    assert [n["text"] for n in json.loads(z.read("notes.json"))] == ["प्रथम टिप्पणी"]
    assert [m["action"] for m in json.loads(z.read("movements.json"))] == ["open", "send"]
    assert "आख्या दें" in z.read("movements.csv").decode()
    assert "GD-12" in z.read("metadata.csv").decode()
    assert meta["pdf"] == "GD-12.pdf" and meta["pdf_standard"] == "PDF/A-2b"
    with pikepdf.open(io.BytesIO(z.read("GD-12.pdf"))) as pdf:  # 2 pages, then the appendix
        assert len(pdf.pages) == 2 + meta["documents"][-1]["pages"]
        assert pdf.open_metadata()["dc:identifier"] == "GD-12"

    split = zipfile.ZipFile(io.BytesIO(admin.get("/efiles/export", params={"no": "CR-7/A"}).content))
    part = json.loads(split.read("metadata.json"))["documents"][0]
    assert (part["page_from"], part["page_to"], part["pages"], part["pdf_first_page"]) == (3, 5, 3, 1)
    assert people["ram"].get("/efiles/export", params={"no": "CR-7/A"}).status_code == 404


def test_the_json_api_moves_notes_and_keeps_to_the_stations(people):
    admin, ram = people["admin"], people["ram"]
    _open(admin, GD)
    _open(admin, CR)
    paths = admin.get("/openapi.json").json()["paths"]
    assert {"/api/efiles", "/api/efiles/file", "/api/efiles/act", "/api/efiles/note", "/api/efiles/pendency"} <= set(paths)
    assert admin.post("/api/efiles/act", data={"no": "GD-12", "action": "receive"}).status_code == 415  # JSON only

    shown = admin.get("/api/efiles/file", params={"no": "GD-12"}).json()
    sent = admin.post("/api/efiles/act", json={"no": "GD-12", "action": "send", "to": "ram", "remarks": "देखें",
                                               "version": shown["version"], "due": "2026-12-31"})
    assert sent.status_code == 200 and sent.json()["holder"] == "ram" and sent.json()["due_date"] == "2026-12-31"
    again = admin.post("/api/efiles/act", json={"no": "GD-12", "action": "send", "to": "sita", "remarks": "x",
                                                "version": shown["version"]})
    assert again.status_code == 409 and "changed meanwhile" in again.json()["detail"]
    assert [f["file_no"] for f in ram.get("/api/efiles").json()] == ["GD-12"]
    note = ram.post("/api/efiles/note", json={"no": "GD-12", "text": "Noted / देखा", "page": f"{GD}:1"})
    assert note.status_code == 200 and note.json()["page"] == 1
    detail = ram.get("/api/efiles/file", params={"no": "GD-12"}).json()
    assert [m["action"] for m in detail["history"]] == ["open", "send"] and detail["notes"][0]["text"] == "Noted / देखा"

    assert ram.get("/api/efiles/file", params={"no": "CR-7"}).status_code == 404
    assert "CR-7" not in [f["file_no"] for f in ram.get("/api/efiles", params={"box": "all"}).json()]
    assert ram.post("/api/efiles/act", json={"no": "CR-7", "action": "park"}).status_code == 404
    assert [r["file_no"] for r in ram.get("/api/efiles/pendency").json()] == ["GD-12"]
    assert {r["file_no"] for r in admin.get("/api/efiles/pendency").json()} == {"GD-12", "CR-7"}
    # the export through the API: the same zip as the file page's, inside the stations
    exported = ram.get("/api/efiles/export", params={"no": "GD-12"})
    assert exported.status_code == 200 and exported.headers["content-type"] == "application/zip"
    assert "GD-12.pdf" in zipfile.ZipFile(io.BytesIO(exported.content)).namelist()
    assert ram.get("/api/efiles/export", params={"no": "CR-7"}).status_code == 404
    assert "/api/efiles/export" in paths
