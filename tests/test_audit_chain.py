"""An audit chain that someone who can write the SQLite file cannot rewrite (issue 17,
item 6): HMAC with a key outside the database, anchors of the chain head in the object
store, and `abhilekh audit verify` checking both. Anchors on both stores."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from abhilekh.settings import Settings, activate
from tests.conftest import make_settings
from tests.test_web import (  # noqa: F401  (fixtures)
    anon,
    client,
    fast_hashing,
    home,
    login,
)


def _verify(settings: Settings):
    from cli.app import app

    activate(settings)
    try:
        return CliRunner().invoke(app, ["audit", "verify"])
    finally:
        activate(None)


def _unkeyed(prev: str, row: dict) -> str:
    fields = [row[c] for c in ("at", "user", "role", "ip", "action", "query", "filters", "target", "detail")]
    payload = json.dumps([prev, *fields], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _rewrite(path: Path, change, hash_fn=_unkeyed, extra_sql: str = "") -> None:
    """What the issue's probe did: drop the triggers, edit rows, recompute every hash."""
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    db.execute("DROP TRIGGER audit_no_update")
    db.execute("DROP TRIGGER audit_no_delete")
    if extra_sql:
        db.execute(extra_sql)
    prev = "0" * 64
    for row in [dict(r) for r in db.execute("SELECT * FROM audit ORDER BY id")]:
        row = change(row)
        digest = hash_fn(prev, row)
        db.execute("UPDATE audit SET query = ?, prev_hash = ?, hash = ? WHERE id = ?",
                   (row["query"], prev, digest, row["id"]))
        prev = digest
    db.commit()
    db.close()


def test_a_rewritten_unkeyed_chain_is_caught(client: TestClient, home: Settings) -> None:
    for q in ("रमेश", "धारा 379", "गश्त"):
        client.get("/", params={"q": q})
    assert _verify(home).exit_code == 0

    def hide(row: dict) -> dict:
        if row["query"] == "धारा 379":
            row["query"] = "nothing to see"
        return row

    _rewrite(home.audit_path, hide)
    result = _verify(home)
    assert result.exit_code == 1, result.output
    assert "row 1" in result.output  # the first row already fails the keyed hash


def test_rows_cannot_claim_to_be_from_before_the_key(client: TestClient, home: Settings) -> None:
    client.get("/", params={"q": "रमेश"})
    # every row turned into an "old, unkeyed" one, chain recomputed without the key
    _rewrite(home.audit_path, lambda r: r, extra_sql="UPDATE audit SET alg = 'sha256'")
    result = _verify(home)
    assert result.exit_code == 1 and "before the chain was keyed" in result.output


@pytest.fixture
def anchored(tmp_path: Path, store_kind: str):
    from access.audit import AuditLog
    from storage import open_store

    settings = make_settings(tmp_path / "home", store=store_kind).model_copy(update={"audit_anchor_every": 2})
    store = open_store(settings)
    log = AuditLog.for_settings(settings, anchors=store)
    for i in range(7):
        log.record("ram", "officer", "search", query=f"q{i}")
    log.close()
    yield settings, store
    if store_kind == "minio":
        store.remove_bucket()


def _keyed(settings: Settings):
    import hmac

    key = json.loads((settings.home / "audit.key").read_text())["key"].encode()

    def digest(prev: str, row: dict) -> str:
        fields = [row[c] for c in ("at", "user", "role", "ip", "action", "query", "filters", "target", "detail")]
        payload = json.dumps([prev, *fields], ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return hmac.new(key, payload, hashlib.sha256).hexdigest()

    return digest


def test_anchors_are_in_the_store_and_verify(anchored) -> None:
    settings, store = anchored
    assert sorted(store.list("audit/anchors/")) == [f"audit/anchors/{n:012d}.json" for n in (2, 4, 6)]
    result = _verify(settings)
    assert result.exit_code == 0, result.output
    assert "3 anchor(s)" in result.output and "row 6" in result.output


def test_a_chain_rewritten_even_with_the_key_misses_its_anchors(anchored) -> None:
    settings, _ = anchored

    def hide(row: dict) -> dict:
        if row["query"] == "q3":
            row["query"] = "q-nothing"
        return row

    _rewrite(settings.audit_path, hide, _keyed(settings))
    result = _verify(settings)
    assert result.exit_code == 1
    assert "row 4 differs from its anchor" in result.output


def test_a_cut_off_tail_is_caught_by_the_anchors(anchored) -> None:
    settings, _ = anchored
    db = sqlite3.connect(settings.audit_path)
    db.execute("DROP TRIGGER audit_no_delete")
    db.execute("DELETE FROM audit WHERE id >= 5")
    db.commit()
    db.close()
    result = _verify(settings)
    assert result.exit_code == 1 and "rows after 4 were removed" in result.output


def test_audit_anchor_command_anchors_the_head(anchored) -> None:
    from cli.app import app

    settings, store = anchored
    activate(settings)
    try:
        result = CliRunner().invoke(app, ["audit", "anchor"])
    finally:
        activate(None)
    assert result.exit_code == 0 and "row 7" in result.output
    assert "audit/anchors/000000000007.json" in set(store.list("audit/anchors/"))


def test_an_old_unkeyed_log_keeps_verifying_and_goes_on_keyed(tmp_path: Path) -> None:
    """A log written before the key: its rows stay as they were, new rows are keyed."""
    from access.audit import AuditLog

    path = tmp_path / "audit.sqlite3"
    db = sqlite3.connect(path)
    db.executescript("""CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,
        user TEXT NOT NULL, role TEXT NOT NULL, ip TEXT NOT NULL, action TEXT NOT NULL, query TEXT NOT NULL,
        filters TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE);""")
    prev = "0" * 64
    for i in range(3):
        row = {"at": f"2024-01-0{i + 1}", "user": "ram", "role": "officer", "ip": "", "action": "search",
               "query": f"old{i}", "filters": "{}", "target": "", "detail": ""}
        digest = _unkeyed(prev, row)
        db.execute("INSERT INTO audit (at, user, role, ip, action, query, filters, target, detail, prev_hash, hash)"
                   " VALUES (:at,:user,:role,:ip,:action,:query,:filters,:target,:detail,:prev,:hash)",
                   {**row, "prev": prev, "hash": digest})
        prev = digest
    db.commit()
    db.close()
    log = AuditLog(path)
    try:
        log.record("ram", "officer", "search", query="new")
        found = log.check()
        assert found.ok and found.rows == 4 and found.legacy_rows == 3, found
    finally:
        log.close()
