"""The embedded object store: a directory with the same key layout as the bucket."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from storage.base import ChecksumMissing, IntegrityError, ObjectNotFound, StorageError

# The sha256 of each object lives beside it, as S3 keeps it in object metadata.
_SIDECAR = ".sha256"


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        parts = [p for p in key.split("/") if p]
        if not parts or any(p in (".", "..") or p.endswith(_SIDECAR) for p in parts):
            raise StorageError(f"invalid object key: {key!r}", transient=False)
        return self.root.joinpath(*parts)

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> bool:
        path = self._path(key)
        digest = hashlib.sha256(data).hexdigest()
        sidecar = path.with_name(path.name + _SIDECAR)
        if path.exists() and sidecar.exists() and sidecar.read_text().strip() == digest:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write the checksum first, then the object: a reader that finds the object
        # always finds a checksum, and a crash leaves at worst a stale sidecar that the
        # next put overwrites.
        atomic_write(sidecar, digest.encode())
        atomic_write(path, data)
        return True

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ObjectNotFound(f"no object {key!r} in {self.root}") from None
        sidecar = path.with_name(path.name + _SIDECAR)
        try:
            expected = sidecar.read_text().strip()
        except FileNotFoundError:
            expected = ""
        if not expected:
            # Every put writes the sidecar before the object, so an object without one
            # was not written by us as it is: never pass it on as if it were verified.
            raise ChecksumMissing(f"object {key!r} in {self.root} has no recorded sha256 "
                                  f"({sidecar.name} is missing)", data=data)
        if hashlib.sha256(data).hexdigest() != expected:
            raise IntegrityError(f"object {key!r} in {self.root} fails its sha256 check")
        return data

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> Iterator[str]:
        keys = []
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if name.endswith(_SIDECAR) or name.startswith(".tmp-"):
                    continue
                key = Path(dirpath, name).relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        yield from sorted(keys)

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        path.with_name(path.name + _SIDECAR).unlink(missing_ok=True)

    def link(self, key: str, expires_seconds: int = 900) -> str:
        return self._path(key).resolve().as_uri()

    def describe(self) -> str:
        return f"local directory {self.root}"

    def check(self) -> None:
        if not self.root.is_dir() or not os.access(self.root, os.W_OK | os.X_OK):
            raise StorageError(f"{self.root} is not a directory this user can write to", transient=False)


def atomic_write(path: Path, data: bytes) -> None:
    """Write so that a crash leaves either the old file or the new one, never half.

    Also the pipelines' work directory uses it: a page file there is whole or absent."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
