"""The object-store interface: the system of record, whatever backs it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from abhilekh.errors import AbhilekhError


class StorageError(AbhilekhError):
    """The store could not do what was asked; the message says what and why.

    Transient by default (the server was unreachable, slow or answered 5xx); raisers
    pass ``transient=False`` for what waiting cannot fix (refused credentials, a bad key).
    """

    transient = True


class ObjectNotFound(StorageError):
    transient = False


class IntegrityError(StorageError):
    """An object's bytes no longer match the sha256 recorded when it was written, or
    cannot be what its key says (a manifest that does not parse)."""

    transient = False


class ChecksumMissing(IntegrityError):
    """An object whose recorded sha256 is gone (the sidecar deleted, the S3 metadata
    stripped): it cannot be trusted, so it is not returned. Every put records one.

    ``data`` holds the bytes found, for a repair that can check them against another
    record (the sha256 the bundle's manifest holds for the object)."""

    def __init__(self, *args: object, data: bytes | None = None) -> None:
        super().__init__(*args)
        self.data = data


class MissingObject(IntegrityError):
    """An object the bundle's own records say exists is gone (a page its manifest lists,
    a manifest the bundle list names): damage, not "never stored"."""


class ObjectStore(Protocol):
    """Keys are '/'-separated paths, laid out identically in every backend."""

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> bool:
        """Store `data` durably under `key`, recording its sha256.

        Idempotent: the same bytes under the same key are not written again.
        Returns True when bytes were written, False when they were already there.
        """
        ...

    def get(self, key: str) -> bytes:
        """Return the bytes, verified against the stored sha256.

        Raises ObjectNotFound when there is no such object, IntegrityError when the bytes
        differ from the recorded sha256, ChecksumMissing when none is recorded."""
        ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str = "") -> Iterator[str]:
        """Every key under `prefix`, in lexical order."""
        ...

    def delete(self, key: str) -> None: ...

    def link(self, key: str, expires_seconds: int = 900) -> str:
        """Somewhere a person or a browser can open the object from."""
        ...

    def describe(self) -> str:
        """One line saying where the objects live, for humans."""
        ...

    def check(self) -> None:
        """Raise StorageError saying what is wrong when this store cannot be used."""
        ...
