"""Every ObjectStore backend keeps the same promises (LocalStore and S3Store/MinIO)."""

from __future__ import annotations

import hashlib
import io
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from storage.base import IntegrityError, ObjectNotFound, StorageError


def _tamper(store, key: str, data: bytes) -> None:
    """Replace an object's bytes behind the store's back, keeping the old checksum."""
    from storage.local import LocalStore

    if isinstance(store, LocalStore):
        store._path(key).write_bytes(data)
        return
    # S3: overwrite through the raw client, carrying over the stale sha256 metadata
    old = store.client.stat_object(store.bucket, key).metadata["x-amz-meta-sha256"]
    store.client.put_object(
        store.bucket, key, io.BytesIO(data), len(data), metadata={"sha256": old}
    )


def _fetch(url: str) -> bytes:
    if url.startswith("file://"):
        from urllib.parse import unquote, urlparse

        return Path(unquote(urlparse(url).path)).read_bytes()
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def test_put_get_round_trip(store):
    data = "मु0अ0सं0 123/2019 धारा 379".encode()
    assert store.put("bundles/b1/pages/1.json", data, "application/json") is True
    assert store.get("bundles/b1/pages/1.json") == data
    assert store.exists("bundles/b1/pages/1.json")
    assert not store.exists("bundles/b1/pages/2.json")


def test_put_is_idempotent(store):
    assert store.put("bundles/b1/manifest.json", b"{}") is True
    assert store.put("bundles/b1/manifest.json", b"{}") is False
    # different bytes under the same key are written
    assert store.put("bundles/b1/manifest.json", b'{"a": 1}') is True
    assert store.get("bundles/b1/manifest.json") == b'{"a": 1}'


def test_tampered_object_fails_its_checksum(store):
    store.put("bundles/b1/document.pdf", b"%PDF-1.7 original")
    _tamper(store, "bundles/b1/document.pdf", b"%PDF-1.7 tampered")
    with pytest.raises(IntegrityError):
        store.get("bundles/b1/document.pdf")
    # put trusts the recorded checksum (that is what makes it cheap), so a repair
    # deletes the damaged object first
    assert store.put("bundles/b1/document.pdf", b"%PDF-1.7 original") is False
    store.delete("bundles/b1/document.pdf")
    assert store.put("bundles/b1/document.pdf", b"%PDF-1.7 original") is True
    assert store.get("bundles/b1/document.pdf") == b"%PDF-1.7 original"


def test_list_is_sorted_and_prefixed(store):
    keys = [
        "bundles/b2/pages/10.json",
        "bundles/b1/pages/2.json",
        "bundles/b1/manifest.json",
        "bundles/b1/pages/1.json",
        "other/x.txt",
    ]
    for key in keys:
        store.put(key, key.encode())
    assert list(store.list("bundles/b1/")) == [
        "bundles/b1/manifest.json",
        "bundles/b1/pages/1.json",
        "bundles/b1/pages/2.json",
    ]
    assert list(store.list()) == sorted(keys)
    assert list(store.list("bundles/none/")) == []


def test_delete(store):
    store.put("bundles/b1/pages/1.json", b"x")
    store.delete("bundles/b1/pages/1.json")
    assert not store.exists("bundles/b1/pages/1.json")
    assert list(store.list("bundles/")) == []
    store.delete("bundles/b1/pages/1.json")  # deleting twice is fine
    with pytest.raises(ObjectNotFound):
        store.get("bundles/b1/pages/1.json")


def test_missing_key_is_object_not_found(store):
    with pytest.raises(ObjectNotFound):
        store.get("bundles/nothing/manifest.json")
    assert list(store.list()) == []


@pytest.mark.parametrize("key", ["", "/", "a/../b", "./a", "a/b.sha256"])
def test_invalid_keys_are_refused(store, key):
    with pytest.raises(StorageError):
        store.put(key, b"x")


def test_link_opens_the_object(store):
    data = b"%PDF-1.7 access copy"
    store.put("bundles/b1/document.pdf", data, "application/pdf")
    url = store.link("bundles/b1/document.pdf", expires_seconds=60)
    assert _fetch(url) == data
    assert store.describe()


def test_s3_link_expires(store, store_kind):
    if store_kind != "minio":
        pytest.skip("local links are file paths; they do not expire")
    store.put("bundles/b1/document.pdf", b"%PDF short-lived")
    url = store.link("bundles/b1/document.pdf", expires_seconds=1)
    assert "X-Amz-Expires=1" in url
    time.sleep(2.5)
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        _fetch(url)
    assert excinfo.value.code == 403


def test_big_object_round_trip(store):
    # above the multipart threshold of S3Store (16 MiB)
    data = os.urandom(1024 * 1024) * 20 + b"tail"
    assert store.put("bundles/big/document.pdf", data, "application/pdf") is True
    assert store.put("bundles/big/document.pdf", data, "application/pdf") is False
    back = store.get("bundles/big/document.pdf")
    assert hashlib.sha256(back).digest() == hashlib.sha256(data).digest()


def test_manifest_helpers_work_on_every_store(store):
    from abhilekh.records import BundleMetadata
    from storage.bundles import Manifest, load_manifest, save_manifest, stored_bundle_ids

    manifest = Manifest(
        bundle_id="abc123",
        metadata=BundleMetadata(thana="कोतवाली", register="GD", year=1998),
        sources=[],
        page_count=0,
        page_confidence=[],
        needs_review=[],
        versions={},
        created_at="2026-01-01T00:00:00Z",
    )
    assert load_manifest(store, "abc123") is None
    save_manifest(store, manifest)
    assert load_manifest(store, "abc123") == manifest
    assert stored_bundle_ids(store) == ["abc123"]


# ---------------------------------------------------------------- S3-only failures


def test_s3_unreachable_says_what_to_do():
    from storage.s3 import S3Store

    store = S3Store("127.0.0.1:9", "k", "s", bucket="nowhere")
    with pytest.raises(StorageError, match="cannot reach MinIO .*scripts/services start"):
        store.get("bundles/x/manifest.json")
    with pytest.raises(StorageError, match="cannot reach MinIO"):
        store.check()


def test_s3_bad_credentials_and_missing_bucket(store, store_kind):
    if store_kind != "minio":
        pytest.skip("credentials and buckets exist only in MinIO; the local directory store has neither")
    from storage.s3 import S3Store

    wrong = S3Store(store.endpoint, "nobody", "wrong-secret", bucket=store.bucket)
    with pytest.raises(StorageError, match="refused the credentials"):
        wrong.check()
    # the fixture's bucket does not exist until the first write
    with pytest.raises(StorageError, match="does not exist"):
        store.check()
    store.put("bundles/b1/manifest.json", b"{}")
    store.check()
