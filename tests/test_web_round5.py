"""Issue 15 round 5: the page view's fast paths keep their behaviour (ETag/304 on the
large image, review edits seen at once by every worker, the audit row durable before
the response), and the audit log's group commit keeps the chain."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
import threading
from pathlib import Path

from fastapi.testclient import TestClient

from abhilekh.settings import Settings
from access.audit import AuditLog
from access.review import ReviewStore, review_path
from tests.test_web import GD, fast_hashing, home, login  # noqa: F401  (fixtures)
from web.app import create_app


def _rows(settings: Settings, action: str) -> list[tuple[str, str]]:
    """The audit rows of ACTION, read by a fresh connection (what a crash would leave)."""
    db = sqlite3.connect(settings.audit_path)
    try:
        return db.execute("SELECT target, query FROM audit WHERE action = ?", (action,)).fetchall()
    finally:
        db.close()


def test_large_image_etag_304_and_a_new_etag_after_a_new_render(home: Settings) -> None:  # noqa: F811
    with TestClient(create_app(home)) as c:
        login(c, "admin")
        first = c.get(f"/bundles/{GD}/pages/1/large.jpg")  # rendered now
        again = c.get(f"/bundles/{GD}/pages/1/large.jpg")  # the rendered file, read on the event loop
        assert first.status_code == again.status_code == 200
        assert first.content == again.content and first.headers["etag"] == again.headers["etag"]
        assert again.headers["etag"] == '"' + hashlib.sha256(again.content).hexdigest()[:32] + '"'
        assert again.headers["cache-control"] == "private, max-age=3600"
        r = c.get(f"/bundles/{GD}/pages/1/large.jpg", headers={"If-None-Match": f'"x", {again.headers["etag"]}'})
        assert r.status_code == 304 and r.content == b"" and r.headers["etag"] == again.headers["etag"]
        # the file rendered anew (other bytes, a later mtime): a new ETag, the old one gets 200
        path = Path(home.thumbs_dir) / GD / "1-1600.jpg"
        path.write_bytes(path.read_bytes() + b"\0")
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
        r = c.get(f"/bundles/{GD}/pages/1/large.jpg", headers={"If-None-Match": again.headers["etag"]})
        assert r.status_code == 200 and r.headers["etag"] != again.headers["etag"]


def test_a_correction_by_another_worker_shows_on_the_next_view(home: Settings) -> None:  # noqa: F811
    with TestClient(create_app(home)) as c:
        login(c, "admin")
        assert 'id="corrected-by"' not in c.get(f"/bundles/{GD}/pages/1").text  # "none" now in memory
        other = ReviewStore(review_path(home.home))  # another worker process's connection
        try:
            other.save(GD, 1, "सुधरा हुआ पाठ", "reviewer2")
        finally:
            other.close()
        page = c.get(f"/bundles/{GD}/pages/1").text
        assert 'id="corrected-by"' in page and "reviewer2" in page


def test_review_store_sees_its_own_and_others_saves() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        a, b = ReviewStore(Path(tmp) / "r.sqlite3"), ReviewStore(Path(tmp) / "r.sqlite3")
        try:
            assert a.latest("x" * 64, 1) is None and b.latest("x" * 64, 1) is None
            a.save("x" * 64, 1, "one", "ram")
            assert a.latest("x" * 64, 1).version == 1  # type: ignore[union-attr]
            assert b.latest("x" * 64, 1).version == 1  # type: ignore[union-attr]
            b.save("x" * 64, 1, "two", "sita")
            assert a.latest("x" * 64, 1).text == "two"  # type: ignore[union-attr]
        finally:
            a.close()
            b.close()


def test_audit_row_is_committed_before_the_response(home: Settings) -> None:  # noqa: F811
    assert home.audit_group_commit  # the web server's default
    with TestClient(create_app(home)) as c:
        login(c, "admin")
        assert c.get(f"/bundles/{GD}/pages/1", params={"q": "गश्त"}).status_code == 200
        assert (f"{GD}:1", "गश्त") in _rows(home, "view_page")
        assert c.get("/", params={"q": "गश्त"}).status_code == 200
        assert any(q == "गश्त" for _, q in _rows(home, "search"))


def test_group_commit_keeps_the_chain_and_every_row(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite3", group_commit=True)
    ids: list[int] = []

    def sync_rows(n: int) -> None:
        for i in range(25):
            ids.append(log.record(f"u{n}", "officer", "search", query=f"q{i}"))

    async def async_rows() -> list[int]:
        return list(await asyncio.gather(*(log.record_async("a", "officer", "view_page", target=str(i))
                                           for i in range(50))))

    threads = [threading.Thread(target=sync_rows, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    ids += asyncio.run(async_rows())
    for t in threads:
        t.join()
    try:
        assert sorted(ids) == list(range(1, 151))  # every caller got its own committed row
        assert log.count() == 150 and log.check().ok
    finally:
        log.close()
    plain = AuditLog(tmp_path / "audit.sqlite3")  # the CLI's way, on the same file
    try:
        assert plain.record("cli", "admin", "export") == 151 and plain.check().ok
    finally:
        plain.close()
