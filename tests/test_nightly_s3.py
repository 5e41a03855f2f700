"""The nightly inbox on a MinIO prefix, against the real server: complete, incomplete and
bad bundles; sources copied to archive/ or quarantine/ and only then deleted; a rerun
after a crash mid-move finishes the move without a second copy or a lost source."""

from __future__ import annotations

import io
import json
import time
import uuid
from datetime import date
from pathlib import Path

import pytest

from storage import open_store
from storage.bundles import stored_bundle_ids
from tests.conftest import make_settings
from tests.fixtures.pagegen import make_bundle


@pytest.fixture
def s3_settings(request, tmp_path: Path):
    """MinIO store + an index (SQLite unless the test asks for "elastic" through
    ``indirect``), and an inbox bucket of its own (all removed afterwards)."""
    index_kind = getattr(request, "param", "sqlite")
    base = make_settings(tmp_path / "home", store="minio", index=index_kind)
    inbox_bucket = f"inbox-{uuid.uuid4().hex[:10]}"
    settings = base.model_copy(update={"inbox_s3_prefix": f"{inbox_bucket}/scans/in", "inbox": tmp_path / "none"})
    from storage.s3 import S3Store

    inbox_store = S3Store.from_settings(settings.model_copy(update={"s3_bucket": inbox_bucket}))
    inbox_store.client.make_bucket(inbox_bucket)
    yield settings, inbox_store
    inbox_store.remove_bucket()
    S3Store.from_settings(settings).remove_bucket()
    if index_kind == "elastic":
        from search.elastic import ElasticIndex

        with ElasticIndex.from_settings(settings) as idx:
            idx.drop()


def _upload_folder(client, bucket: str, prefix: str, folder: Path) -> None:
    for f in sorted(folder.rglob("*")):
        if f.is_file():
            data = f.read_bytes()
            client.put_object(bucket, prefix + f.relative_to(folder).as_posix(), io.BytesIO(data), len(data))


def _page_bundle(path: Path, seed: int) -> Path:
    make_bundle(path, seed=seed, pages=1, kind="letter", profile="clean", station="छिबरामऊ", year=2019)
    (path / "truth.json").unlink()
    return path


class _Day:
    """Stands in for ``datetime.date`` in pipelines.nightly: today is one fixed day."""

    def __init__(self, iso: str) -> None:
        self.iso = iso

    def today(self) -> date:
        return date.fromisoformat(self.iso)


def _keys(inbox_store, prefix: str = "") -> list[str]:
    return list(inbox_store.list(prefix))


def _read(inbox_store, key: str) -> bytes:
    """An inbox object as uploaded: scanners record no sha256 with it, so the store's own
    (verified) get refuses it, rightly; read it raw."""
    response = inbox_store.client.get_object(inbox_store.bucket, key)
    try:
        return response.read()
    finally:
        response.close()
        response.release_conn()


@pytest.mark.parametrize("s3_settings", ["sqlite", "elastic"], indirect=True)
def test_s3_inbox_ingests_complete_bundles_and_moves_their_objects(s3_settings, prefect_api, active, tmp_path):
    import flows
    from search import open_index

    settings, inbox_store = s3_settings
    active(settings)
    client, bucket = inbox_store.client, inbox_store.bucket
    pre = "scans/in/"
    good = tmp_path / "src" / "GD-2019"
    (truth,) = make_bundle(good, seed=51, pages=1, kind="letter", profile="clean", station="छिबरामऊ", year=2019)
    (good / "truth.json").unlink()
    (good / "bundle.yaml").write_text("thana: Chhibramau\nregister: General Diary\nyear: 2019\n", encoding="utf-8")
    (good / ".ready").write_text("")
    _upload_folder(client, bucket, pre + "GD-2019/", good)
    partial = _page_bundle(tmp_path / "src" / "still-copying", seed=52)  # no marker, just written
    _upload_folder(client, bucket, pre + "still-copying/", partial)
    bad = tmp_path / "src" / "broken"
    bad.mkdir()
    (bad / "page1.jpg").write_bytes(b"")
    (bad / ".ready").write_text("")
    _upload_folder(client, bucket, pre + "broken/", bad)
    client.put_object(bucket, "elsewhere/other/page1.png", io.BytesIO(b"x"), 1)  # outside the prefix: not ours

    days = {date.today().isoformat()}  # the run files everything under its own day
    result = flows.run_nightly(settle_minutes=30)
    days.add(date.today().isoformat())
    by_name = {r["name"]: r for r in result["bundles"]}
    assert set(by_name) == {"GD-2019", "broken"}, result
    assert by_name["GD-2019"]["ok"] and by_name["GD-2019"]["metadata"]["register"] == "General Diary"
    assert not by_name["broken"]["stored"] and "empty" in json.dumps(by_name["broken"]["failures"]).lower()
    assert result["archived"] == ["GD-2019"] and result["quarantined"] == ["broken"]
    assert result["waiting"] == [f"s3://{bucket}/{pre}still-copying"]
    assert result["inbox_s3_error"] is None

    today = by_name["GD-2019"]["moved_to"].removeprefix(f"s3://{bucket}/archive/").split("/")[0]
    assert today in days
    # The good bundle's objects, byte for byte, under archive/<date>/GD-2019/; none left in the inbox.
    archived = _keys(inbox_store, f"archive/{today}/GD-2019/")
    assert sorted(k.rsplit("/", 1)[1] for k in archived) == sorted(p.name for p in good.iterdir())
    for f in good.iterdir():
        assert _read(inbox_store, f"archive/{today}/GD-2019/{f.name}") == f.read_bytes()
    assert by_name["GD-2019"]["moved_to"] == f"s3://{bucket}/archive/{today}/GD-2019/"
    # The bad one in quarantine with its reason; the partial one untouched; the stranger untouched.
    assert _keys(inbox_store, f"quarantine/inbox/{today}/broken/") == [
        f"quarantine/inbox/{today}/broken/.ready", f"quarantine/inbox/{today}/broken/page1.jpg"]
    reason = _read(inbox_store, f"quarantine/inbox/{today}/broken.reason.txt").decode("utf-8")
    assert "page1.jpg" in reason
    assert sorted(_keys(inbox_store, pre)) == sorted(pre + "still-copying/" + p.name for p in partial.iterdir())
    assert _keys(inbox_store, "elsewhere/") == ["elsewhere/other/page1.png"]
    # Stored once, in the store's bucket; the local download copies are gone.
    store = open_store(settings)
    assert set(stored_bundle_ids(store)) == {by_name["GD-2019"]["bundle_id"]}
    # Indexed, in the index configured (Elasticsearch or SQLite): found by a name on the page.
    with open_index(settings) as index:
        assert index.bundle_page_counts() == {by_name["GD-2019"]["bundle_id"]: 1}
        hits = index.search(f'"{truth.entries[0].names[0]}"').hits
        assert [(h.bundle_id, h.page) for h in hits] == [(by_name["GD-2019"]["bundle_id"], 1)]
        assert hits[0].metadata.register == "General Diary"
    assert not any((settings.work_dir / "inbox-s3").glob("*"))
    data = json.loads(Path(result["report_json"]).read_text(encoding="utf-8"))
    assert data["waiting"] == result["waiting"]

    # The next night the partial bundle has a marker: it is taken; nothing else is redone.
    client.put_object(bucket, pre + "still-copying/.ready", io.BytesIO(b""), 0)
    second = flows.run_nightly(settle_minutes=30)
    assert second["ok"] and [r["name"] for r in second["bundles"]] == ["still-copying"]
    assert _keys(inbox_store, pre) == []
    assert len(stored_bundle_ids(store)) == 2
    with open_index(settings) as index:
        assert index.bundle_page_counts() == {r["bundle_id"]: 1 for r in [by_name["GD-2019"], *second["bundles"]]}


def test_s3_rerun_after_a_crash_mid_move_finishes_it_and_never_overwrites_another_bundle(
    s3_settings, prefect_api, active, tmp_path, monkeypatch
):
    import flows
    import pipelines.nightly

    settings, inbox_store = s3_settings
    active(settings)
    client, bucket = inbox_store.client, inbox_store.bucket
    # The day the crashed run and the earlier bundle were filed under, fixed before the
    # run: the rerun must find them there even if it starts after midnight.
    today = date.today().isoformat()
    monkeypatch.setattr(pipelines.nightly, "date", _Day(today))
    # "letters": a crashed run stored it and copied one object to the archive before dying.
    letters = _page_bundle(tmp_path / "src" / "letters", seed=53)
    (letters / ".ready").write_text("")
    _upload_folder(client, bucket, "scans/in/letters/", letters)
    png = next(letters.glob("*.png"))
    client.copy_object(bucket, f"archive/{today}/letters/{png.name}",
                       __import__("minio.commonconfig", fromlist=["CopySource"]).CopySource(
                           bucket, f"scans/in/letters/{png.name}"))
    # "register": another bundle of that name was archived earlier today; it must survive.
    register = _page_bundle(tmp_path / "src" / "register", seed=54)
    (register / ".ready").write_text("")
    _upload_folder(client, bucket, "scans/in/register/", register)
    client.put_object(bucket, f"archive/{today}/register/page1.png", io.BytesIO(b"an older bundle"), 15)

    result = flows.run_nightly(settle_minutes=30)
    assert result["ok"], result
    assert sorted(result["archived"]) == ["letters", "register"]
    assert _keys(inbox_store, "scans/") == []
    # The crashed move is completed in place: no letters-2, each object once.
    assert sorted(_keys(inbox_store, f"archive/{today}/letters")) == sorted(
        f"archive/{today}/letters/{p.name}" for p in letters.iterdir())
    # The earlier "register" is untouched; this one went to register-2.
    assert _read(inbox_store, f"archive/{today}/register/page1.png") == b"an older bundle"
    assert sorted(_keys(inbox_store, f"archive/{today}/register-2/")) == sorted(
        f"archive/{today}/register-2/{p.name}" for p in register.iterdir())


def test_s3_completeness_rules_and_zip_bundles(s3_settings, tmp_path):
    from pipelines.s3inbox import S3Inbox, split_prefix

    settings, inbox_store = s3_settings
    client, bucket = inbox_store.client, inbox_store.bucket
    assert split_prefix("b") == ("b", "") and split_prefix("/b/x/y/") == ("b", "x/y/")
    with pytest.raises(ValueError):
        split_prefix("b/archive")
    pre = "scans/in/"
    for key, data in [(pre + "fresh/p1.png", b"x"), (pre + "marked/p1.png", b"x"), (pre + "marked/READY", b""),
                      (pre + "bundle.zip", b"PK\x05\x06" + b"\0" * 18), (pre + ".hidden/p1.png", b"x"),
                      (pre + "notes.txt", b"not a bundle"), (pre + "badmeta/p1.png", b"x"),
                      (pre + "badmeta/bundle.yaml", b"year: [unclosed\n"), (pre + "badmeta/.ready", b"")]:
        client.put_object(bucket, key, io.BytesIO(data), len(data))
    inbox = S3Inbox(settings)
    scan = inbox.scan(settle_minutes=30)
    assert [r.name for r in scan.complete] == ["marked"]
    assert sorted(scan.waiting) == ["bundle.zip", "fresh"]
    assert [n for n, _, _ in scan.unreadable] == ["badmeta"]
    later = inbox.scan(settle_minutes=30, now=time.time() + 3600)  # an hour on, everything has settled
    assert [r.name for r in later.complete] == ["bundle.zip", "fresh", "marked"]
    zipped = later.complete[0]
    assert Path(zipped.path).name == "bundle.zip" and Path(zipped.path).read_bytes().startswith(b"PK")
    assert zipped.metadata["title"] == "bundle"
