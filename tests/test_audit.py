"""The audit log: every search and page/PDF view recorded, append-only, exportable."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from abhilekh.settings import Settings, activate
from access.audit import AuditLog
from tests.test_web import (  # noqa: F401  (fixtures)
    CR,
    GD,
    anon,
    client,
    fast_hashing,
    home,
    login,
)


def _rows(home: Settings) -> list[dict]:
    log = AuditLog(home.audit_path)
    try:
        return [r.to_dict() for r in log.iter_all()]
    finally:
        log.close()


def test_search_and_views_are_recorded(anon: TestClient, home: Settings) -> None:
    login(anon, "ram")
    anon.get("/", params={"q": "धारा 379", "year": "2019"})
    anon.get("/api/search", params={"q": "रमेश"})
    anon.get(f"/bundles/{GD}/document.pdf", params={"page": 2})
    anon.get(f"/bundles/{GD}/pages/1")
    anon.get(f"/bundles/{CR}/document.pdf")  # refused: another station
    rows = _rows(home)
    by_action = {}
    for r in rows:
        by_action.setdefault(r["action"], []).append(r)
    assert [r["user"] for r in rows] == ["ram"] * len(rows)
    web, api = by_action["search"]
    assert web["query"] == "धारा 379" and json.loads(web["filters"]) == {"year": 2019, "via": "web"}
    assert web["target"] == f"{GD}:2" and web["detail"] == "total=1"
    assert api["query"] == "रमेश" and json.loads(api["filters"])["via"] == "api"
    assert by_action["view_pdf"][0]["target"] == f"{GD}:2"
    assert by_action["view_page"][0]["target"] == f"{GD}:1"
    assert by_action["denied"][0]["target"] == CR
    assert by_action["login"][0]["role"] == "officer"
    assert all(r["ip"] == "testclient" and r["at"].endswith("+00:00") for r in rows)


def test_failed_logins_are_recorded(anon: TestClient, home: Settings) -> None:
    anon.post("/api/login", json={"username": "ram", "password": "wrong-one"})
    assert [(r["user"], r["action"]) for r in _rows(home)] == [("ram", "login_failed")]


def test_audit_log_refuses_update_and_delete(client: TestClient, home: Settings) -> None:
    client.get("/", params={"q": "रमेश"})
    db = sqlite3.connect(home.audit_path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE audit SET user = 'someone-else'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("DELETE FROM audit")
    finally:
        db.close()
    assert len(_rows(home)) == 2  # login + search, untouched


def test_hash_chain_detects_tampering(client: TestClient, home: Settings) -> None:
    for q in ("रमेश", "धारा 379", "गश्त"):
        client.get("/", params={"q": q})
    log = AuditLog(home.audit_path)
    ok, n, last = log.verify()
    assert ok and n == 4 and len(last) == 64
    log.close()
    # Someone with the file drops the trigger and rewrites a query.
    db = sqlite3.connect(home.audit_path)
    db.execute("DROP TRIGGER audit_no_update")
    db.execute("UPDATE audit SET query = 'nothing to see' WHERE id = 3")
    db.commit()
    db.close()
    log = AuditLog(home.audit_path)  # (re-creates the trigger)
    assert log.verify() == (False, 3, "")
    log.close()


def test_admin_reads_the_log_paged(client: TestClient) -> None:
    for i in range(60):
        client.get("/api/search", params={"q": f"शब्द{i}"})
    html = client.get("/admin/audit").text
    assert "Audit log" in html and "लेखा-परीक्षा" in html
    assert html.count("<td data-label=\"#\">") == 50
    assert "शब्द59" in html and "शब्द0<" not in html  # newest first
    assert 'rel="next" href="/admin/audit?offset=50"' in html
    older = client.get("/admin/audit", params={"offset": 50}).text
    assert "शब्द0<" in older and older.count("<td data-label=\"#\">") >= 11
    only = client.get("/admin/audit", params={"action": "login"}).text
    assert only.count("<td data-label=\"#\">") == 1


def test_query_echo_in_audit_page_is_escaped(client: TestClient) -> None:
    client.get("/", params={"q": "<script>alert(3)</script>"})
    html = client.get("/admin/audit").text
    assert "<script>alert(3)" not in html and "&lt;script&gt;alert(3)" in html


def test_export_csv_and_json(client: TestClient) -> None:
    client.get("/", params={"q": "=HYPERLINK(\"http://x\")"})
    client.get(f"/bundles/{CR}/document.pdf", params={"page": 1})
    r = client.get("/admin/audit/export", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith("attachment")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    # Every row, the export itself included (it is recorded before the rows are read).
    assert [row["action"] for row in rows] == ["login", "search", "view_pdf", "export"]
    assert [row["user"] for row in rows] == ["admin"] * 4
    assert rows[1]["query"] == "'=HYPERLINK(\"http://x\")"  # a spreadsheet will not run it
    assert rows[2]["target"] == f"{CR}:1" and rows[3]["detail"] == "csv"
    data = client.get("/admin/audit/export", params={"format": "json"}).json()
    assert [d["action"] for d in data] == ["login", "search", "view_pdf", "export", "export"]
    assert data[2]["target"] == f"{CR}:1" and data[2]["user"] == "admin"


def test_cli_users_and_audit_export(home: Settings, tmp_path, request) -> None:
    from cli.app import app

    activate(home)
    request.addfinalizer(lambda: activate(None))
    runner = CliRunner()
    r = runner.invoke(app, ["users", "add", "chief", "--role", "admin", "--password-stdin"],
                      input="chief-pass-1\n")
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["users", "add", "lal", "--role", "officer", "--station", "कन्नौज",
                            "--station", "छिबरामऊ", "--password-stdin"], input="lal-pass-12\n")
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["users", "add", "lal", "--password-stdin"], input="lal-pass-12\n")
    assert r.exit_code != 0 and "exists" in r.output
    r = runner.invoke(app, ["users", "revoke", "lal", "कन्नौज"])
    assert r.exit_code == 0
    r = runner.invoke(app, ["users", "list", "--json"])
    users = {u["name"]: u for u in json.loads(r.output)}
    assert users["lal"]["stations"] == ["छिबरामऊ"] and users["chief"]["role"] == "admin"
    r = runner.invoke(app, ["users", "passwd", "lal", "--password-stdin"], input="new-pass-123\n")
    assert r.exit_code == 0
    from access.users import UserStore

    store = UserStore(home.users_path)
    assert store.verify("lal", "new-pass-123") is not None
    store.close()

    AuditLog(home.audit_path).record("lal", "officer", "search", query="रमेश")
    out = tmp_path / "audit.json"
    r = runner.invoke(app, ["audit", "export", "--format", "json", "--out", str(out)])
    assert r.exit_code == 0, r.output
    rows = json.loads(out.read_text(encoding="utf-8"))
    assert [r["query"] for r in rows if r["action"] == "search"] == ["रमेश"]
    assert any(r["action"] == "admin" and r["target"] == "lal" for r in rows)
    r = runner.invoke(app, ["audit", "verify"])
    assert r.exit_code == 0 and "intact" in r.output
