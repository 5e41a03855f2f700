"""storage/: the system of record (a local directory, or MinIO / any S3)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.base import ChecksumMissing, IntegrityError, MissingObject, ObjectNotFound, ObjectStore, StorageError

if TYPE_CHECKING:
    from abhilekh.settings import Settings

__all__ = [
    "ChecksumMissing", "IntegrityError", "MissingObject", "ObjectNotFound", "ObjectStore", "StorageError",
    "open_store",
]


def open_store(settings: Settings) -> ObjectStore:
    """The store the settings point at: MinIO when an S3 endpoint is set, else local."""
    if settings.s3_endpoint:
        from storage.s3 import S3Store

        return S3Store.from_settings(settings)
    from storage.local import LocalStore

    return LocalStore(settings.store_dir)
