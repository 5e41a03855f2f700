"""The viewer's rendition ETag: the sha256 of the bytes served, kept per file and
renewed when the file is rendered again (issue 15: no hashing on every view)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from storage.base import ObjectStore
from web.thumbs import LARGE_SIZE, RenderedThumbnails, etag_of


def _placed(root: Path, data: bytes) -> Path:
    path = root / "b1" / f"3-{LARGE_SIZE}.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_etag_is_the_served_bytes_hash_and_follows_a_re_render(tmp_path: Path) -> None:
    thumbs = RenderedThumbnails(tmp_path)
    store: ObjectStore = None  # type: ignore[assignment]  # never read: the file is there
    path = _placed(tmp_path, b"first rendition")
    data, tag = thumbs.read(store, "b1", 3, LARGE_SIZE)
    assert data == b"first rendition"
    assert tag == '"' + hashlib.sha256(data).hexdigest()[:32] + '"' == etag_of(data)
    assert thumbs.read(store, "b1", 3, LARGE_SIZE) == (data, tag)
    # Rendered again (another size of bytes, a later mtime): a new tag, not the memo.
    path.write_bytes(b"second, longer rendition")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    data2, tag2 = thumbs.read(store, "b1", 3, LARGE_SIZE)
    assert data2 == b"second, longer rendition" and tag2 == etag_of(data2) != tag
