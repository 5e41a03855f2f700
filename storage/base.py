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
    """An object's bytes no longer match the sha256 recorded when it was written."""

    transient = False


class ObjectStore(Protocol):
    """Keys are '/'-separated paths, laid out identically in every backend."""

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> bool:
        """Store `data` durably under `key`, recording its sha256.

        Idempotent: the same bytes under the same key are not written again.
        Returns True when bytes were written, False when they were already there.
        """
        ...

    def get(self, key: str) -> bytes:
        """Return the bytes, verified against the stored sha256."""
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
