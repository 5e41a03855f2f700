"""The production object store: a MinIO (or any S3) bucket, through the `minio` SDK.

Same keys and the same promises as storage.local.LocalStore: each object's sha256 is
recorded when it is written (here in its user metadata, `x-amz-meta-sha256`) and
checked on every read; writing the same bytes again is a no-op.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

import certifi
import urllib3
from minio import Minio
from minio.deleteobjects import DeleteObject
from minio.error import InvalidResponseError, MinioException, S3Error, ServerError
from urllib3.exceptions import HTTPError as Urllib3Error

from storage.base import ChecksumMissing, IntegrityError, ObjectNotFound, StorageError

if TYPE_CHECKING:
    from abhilekh.settings import Settings

_SHA_META = "sha256"  # stored as the header x-amz-meta-sha256
_SHA_HEADER = "x-amz-meta-sha256"
# Objects above this size go up in parts of this size (S3 allows 5 MiB to 5 GiB).
PART_SIZE = 16 * 1024 * 1024
# S3 signatures are valid for at most seven days.
_MAX_LINK_SECONDS = 7 * 24 * 3600
_NOT_FOUND = {"NoSuchKey", "NoSuchBucket", "ResourceNotFound", "NoSuchObject"}
_AUTH = {
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
}
_START_HINT = "is it running? `scripts/services start`, then `eval \"$(scripts/services env)\"`"


class S3Store:
    def __init__(
        self,
        endpoint: str,
        access_key: str | None,
        secret_key: str | None,
        bucket: str = "abhilekh",
        secure: bool = False,
        region: str = "us-east-1",
        timeout: float = 30.0,
    ) -> None:
        self.endpoint = _strip_scheme(endpoint)
        self.bucket = bucket
        self.secure = secure or endpoint.startswith("https://")
        # Fail fast when the server is down (the SDK's default retries for minutes),
        # but ride out a brief hiccup.
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=5.0, read=timeout),
            retries=urllib3.Retry(
                total=2, backoff_factor=0.2, status_forcelist=(500, 502, 503, 504)
            ),
            maxsize=10,
            cert_reqs="CERT_REQUIRED" if self.secure else "CERT_NONE",
            ca_certs=certifi.where() if self.secure else None,
        )
        # The region is fixed so that no call (presigning included) has to ask the
        # server for the bucket's location first.
        self.client = Minio(
            self.endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=self.secure,
            region=region,
            http_client=http,
        )
        self._bucket_ready = False

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Store:
        if not settings.s3_endpoint:
            raise StorageError("ABHILEKH_S3_ENDPOINT is not set: no S3 store configured", transient=False)
        return cls(
            endpoint=settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            bucket=settings.s3_bucket,
            secure=settings.s3_secure,
        )

    # ------------------------------------------------------------------ helpers

    @property
    def url(self) -> str:
        return f"{'https' if self.secure else 'http'}://{self.endpoint}"

    def _key(self, key: str) -> str:
        """The same keys LocalStore accepts, spelled the same way."""
        parts = [p for p in key.split("/") if p]
        if not parts or any(p in (".", "..") or p.endswith(".sha256") for p in parts):
            raise StorageError(f"invalid object key: {key!r}", transient=False)
        return "/".join(parts)

    @contextmanager
    def _errors(self, doing: str):
        """Turn SDK and network failures into StorageError saying what to do."""
        try:
            yield
        except StorageError:
            raise
        except S3Error as e:
            if e.code in _NOT_FOUND:
                raise ObjectNotFound(
                    f"{doing}: not found in bucket {self.bucket!r} at {self.url}"
                ) from None
            if e.code in _AUTH:
                raise StorageError(
                    f"{doing}: MinIO at {self.url} refused the credentials ({e.code}): "
                    "check ABHILEKH_S3_ACCESS_KEY and ABHILEKH_S3_SECRET_KEY "
                    "(`scripts/services env` prints the local ones)",
                    transient=False,  # waiting does not make a wrong password right
                ) from None
            raise StorageError(f"{doing}: MinIO at {self.url} said {e.code}: {e.message}") from e
        except (ServerError, InvalidResponseError) as e:
            raise StorageError(
                f"{doing}: MinIO at {self.url} answered with an error ({e}); "
                "is ABHILEKH_S3_ENDPOINT really an S3 server?"
            ) from e
        except (Urllib3Error, OSError) as e:
            raise StorageError(
                f"{doing}: cannot reach MinIO at {self.url}: {_START_HINT} ({type(e).__name__})"
            ) from None
        except MinioException as e:
            raise StorageError(f"{doing}: MinIO at {self.url}: {e}") from e

    def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        with self._errors(f"creating bucket {self.bucket!r}"):
            if not self.client.bucket_exists(self.bucket):
                try:
                    # private by default: no policy is ever set on it
                    self.client.make_bucket(self.bucket)
                except S3Error as e:
                    if e.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise
        self._bucket_ready = True

    def _stored_sha256(self, key: str) -> str | None:
        """The recorded sha256 of `key`, '' when it has none, None when it is absent."""
        try:
            with self._errors(f"checking {key!r}"):
                stat = self.client.stat_object(self.bucket, key)
        except ObjectNotFound:
            return None
        return (stat.metadata or {}).get(_SHA_HEADER, "") or ""

    # ------------------------------------------------------------------ ObjectStore

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> bool:
        key = self._key(key)
        digest = hashlib.sha256(data).hexdigest()
        self._ensure_bucket()
        if self._stored_sha256(key) == digest:
            return False
        with self._errors(f"writing {key!r}"):
            self.client.put_object(
                self.bucket,
                key,
                io.BytesIO(data),
                length=len(data),
                content_type=content_type,
                metadata={_SHA_META: digest},
                part_size=PART_SIZE,
            )
        return True

    def get(self, key: str) -> bytes:
        key = self._key(key)
        with self._errors(f"reading {key!r}"):
            response = self.client.get_object(self.bucket, key)
            try:
                data = response.read()
                expected = response.headers.get(_SHA_HEADER)
            finally:
                response.close()
                response.release_conn()
        if not expected:
            # every put records it; an object without it was written by something else
            raise ChecksumMissing(
                f"object {key!r} in bucket {self.bucket!r} at {self.url} has no recorded sha256 "
                f"({_SHA_HEADER} metadata is missing)",
                data=data,
            )
        if hashlib.sha256(data).hexdigest() != expected:
            raise IntegrityError(
                f"object {key!r} in bucket {self.bucket!r} at {self.url} fails its sha256 check"
            )
        return data

    def exists(self, key: str) -> bool:
        return self._stored_sha256(self._key(key)) is not None

    def list(self, prefix: str = "") -> Iterator[str]:
        with self._errors(f"listing {prefix!r}"):
            try:
                keys = [
                    obj.object_name
                    for obj in self.client.list_objects(
                        self.bucket, prefix=prefix or None, recursive=True
                    )
                    if obj.object_name and not obj.is_dir
                ]
            except S3Error as e:
                if e.code != "NoSuchBucket":
                    raise
                keys = []
        yield from sorted(keys)

    def delete(self, key: str) -> None:
        key = self._key(key)
        try:
            with self._errors(f"deleting {key!r}"):
                self.client.remove_object(self.bucket, key)
        except ObjectNotFound:
            pass

    def link(self, key: str, expires_seconds: int = 900) -> str:
        """A presigned GET URL, valid for `expires_seconds` (1 s to 7 days)."""
        key = self._key(key)
        seconds = max(1, min(int(expires_seconds), _MAX_LINK_SECONDS))
        with self._errors(f"signing a link to {key!r}"):
            return self.client.presigned_get_object(
                self.bucket, key, expires=timedelta(seconds=seconds)
            )

    def describe(self) -> str:
        return f"S3 bucket {self.bucket!r} at {self.url}"

    # ------------------------------------------------------------------ operations

    def check(self) -> None:
        """Raise StorageError saying what is wrong: unreachable, credentials, no bucket."""
        with self._errors("checking the store"):
            found = self.client.bucket_exists(self.bucket)
        if not found:
            raise StorageError(
                f"bucket {self.bucket!r} does not exist at {self.url}: it is created by the "
                "first ingest; check ABHILEKH_S3_BUCKET if you expected stored bundles",
                transient=False,
            )

    def remove_bucket(self) -> None:
        """Delete every object and then the bucket itself (tests, teardown)."""
        with self._errors(f"removing bucket {self.bucket!r}"):
            if not self.client.bucket_exists(self.bucket):
                return
            names = [
                DeleteObject(obj.object_name)
                for obj in self.client.list_objects(self.bucket, recursive=True)
                if obj.object_name
            ]
            for error in self.client.remove_objects(self.bucket, names):
                raise StorageError(f"could not delete {error.name!r}: {error.message}")
            self.client.remove_bucket(self.bucket)
        self._bucket_ready = False


def _strip_scheme(endpoint: str) -> str:
    """The SDK wants host:port; accept a pasted http(s):// URL too."""
    for scheme in ("http://", "https://"):
        if endpoint.startswith(scheme):
            endpoint = endpoint[len(scheme) :]
    return endpoint.rstrip("/")
