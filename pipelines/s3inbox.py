"""The nightly inbox on a MinIO/S3 prefix: the same rules as the local folder.

``ABHILEKH_INBOX_S3_PREFIX=BUCKET/PREFIX`` (e.g. ``scans/inbox``; ``scans`` alone means
the whole bucket) names the inbox, on the S3 server of ``ABHILEKH_S3_ENDPOINT`` with
the same credentials. The bucket may differ from the store's ``ABHILEKH_S3_BUCKET``.

* A bundle is a "folder" directly under the prefix (``PREFIX/<name>/...``) or a
  ``PREFIX/<name>.zip`` object. Names starting with ``.`` are ignored.
* It is complete when ``PREFIX/<name>/.ready`` (or ``READY``) exists, or when none of
  its objects was modified for ``ABHILEKH_INBOX_SETTLE_MINUTES``.
* A complete bundle is downloaded to ``$ABHILEKH_HOME/work/inbox-s3/<name>`` and
  ingested through exactly the local path (same plan, same bundle id from content).
* Afterwards every object that was downloaded is COPIED (server-side, only if its ETag
  is still the one downloaded) to ``archive/<date>/<name>/`` (stored, no failures) or
  ``quarantine/inbox/<date>/<name>/`` plus ``quarantine/inbox/<date>/<name>.reason.txt``
  in the same bucket; each copy is checked; only then are the sources deleted.

Never lose a source: a source object is deleted only after the bundle's manifest is in
the store (or the bundle's reasons are written to quarantine) AND its copy is verified.
A crash anywhere leaves every source either still in the inbox or verified in its new
place; the rerun re-ingests nothing (content ids) and completes the move, reusing a
target that holds the same objects (never overwriting a different bundle of the same
name: that one gets ``<name>-2``). Objects added to a bundle after it was taken are not
moved; they stay in the inbox and show up as a bundle the next night.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

from abhilekh.settings import Settings
from pipelines.batch import BundleRequest, bundle_metadata_file, read_metadata_file

READY_MARKERS = (".ready", "READY")
_RESERVED = ("archive", "quarantine")  # our own prefixes, when the inbox is the whole bucket


@dataclass
class RemoteObject:
    key: str
    rel: str  # path inside the bundle ("" for a .zip bundle)
    etag: str
    size: int
    modified: float
    sha256: str = ""  # filled in by the download


@dataclass
class RemoteBundle:
    name: str
    objects: list[RemoteObject]
    local: Path  # where it was downloaded
    is_zip: bool = False

    @property
    def request_path(self) -> Path:
        return self.local / self.name if self.is_zip else self.local


@dataclass
class S3InboxScan:
    complete: list[BundleRequest] = field(default_factory=list)
    bundles: dict[str, RemoteBundle] = field(default_factory=dict)  # request path -> bundle
    waiting: list[str] = field(default_factory=list)
    unreadable: list[tuple[str, str, RemoteBundle]] = field(default_factory=list)


def split_prefix(value: str) -> tuple[str, str]:
    """'bucket/some/prefix' -> ('bucket', 'some/prefix/'); 'bucket' -> ('bucket', '')."""
    parts = [p for p in value.strip().strip("/").split("/") if p]
    if not parts or any(p in (".", "..") for p in parts):
        raise ValueError(f"ABHILEKH_INBOX_S3_PREFIX={value!r}: write it as BUCKET or BUCKET/PREFIX")
    prefix = "/".join(parts[1:])
    if prefix and prefix.split("/")[0] in _RESERVED:
        raise ValueError(f"ABHILEKH_INBOX_S3_PREFIX={value!r}: archive/ and quarantine/ are where bundles go "
                         "after ingest; choose another prefix for the inbox")
    return parts[0], (prefix + "/" if prefix else "")


class S3Inbox:
    """One inbox prefix on the configured S3 server."""

    def __init__(self, settings: Settings, value: str | None = None) -> None:
        from storage.s3 import S3Store

        value = value or settings.inbox_s3_prefix
        if not value:
            raise ValueError("no S3 inbox: ABHILEKH_INBOX_S3_PREFIX is not set")
        if not settings.s3_endpoint:
            raise ValueError("ABHILEKH_INBOX_S3_PREFIX needs ABHILEKH_S3_ENDPOINT (and its credentials)")
        self.settings = settings
        self.bucket, self.prefix = split_prefix(value)
        self.client = S3Store.from_settings(settings.model_copy(update={"s3_bucket": self.bucket})).client
        self.download_root = settings.work_dir / "inbox-s3"

    def describe(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{key or self.prefix}"

    # ------------------------------------------------------------------ scanning

    def _list(self, prefix: str) -> list[Any]:
        return [o for o in self.client.list_objects(self.bucket, prefix=prefix, recursive=True)
                if o.object_name and not o.is_dir]

    def _group(self) -> dict[str, tuple[bool, list[RemoteObject]]]:
        """name -> (is_zip, objects) for every candidate bundle under the prefix."""
        groups: dict[str, tuple[bool, list[RemoteObject]]] = {}
        for o in self._list(self.prefix):
            rest = o.object_name[len(self.prefix):]
            head, sep, tail = rest.partition("/")
            if not head or head.startswith(".") or (not self.prefix and head in _RESERVED):
                continue
            modified = o.last_modified.timestamp() if o.last_modified else time.time()
            obj = RemoteObject(o.object_name, tail, (o.etag or "").strip('"'), int(o.size or 0), modified)
            if sep:
                if not tail or tail.endswith("/"):
                    continue  # a "folder" placeholder object
                groups.setdefault(head, (False, []))[1].append(obj)
            elif head.casefold().endswith(".zip"):
                groups[head] = (True, [obj])
        return groups

    def scan(self, settle_minutes: float, now: float | None = None) -> S3InboxScan:
        now = time.time() if now is None else now
        scan = S3InboxScan()
        for name, (is_zip, objects) in sorted(self._group().items()):
            marked = not is_zip and any(o.rel in READY_MARKERS for o in objects)
            newest = max(o.modified for o in objects)
            if not marked and now - newest < settle_minutes * 60:
                scan.waiting.append(name)
                continue
            bundle = RemoteBundle(name, objects, self.download_root / name, is_zip)
            try:
                self.download(bundle)
            except Exception as exc:  # noqa: BLE001 - unsafe names, vanished objects: left in the inbox
                scan.unreadable.append((name, f"download failed: {type(exc).__name__}: {exc}", bundle))
                continue
            meta: dict[str, Any] = {}
            meta_file = None if is_zip else bundle_metadata_file(bundle.local)
            if meta_file is not None:
                try:
                    meta = read_metadata_file(meta_file)
                except Exception as exc:  # noqa: BLE001 - bad metadata quarantines the bundle
                    scan.unreadable.append((name, f"{meta_file.name}: {exc}", bundle))
                    continue
            meta.setdefault("title", PurePosixPath(name).stem)
            path = str(bundle.request_path.resolve())
            scan.complete.append(BundleRequest(path, meta, name))
            scan.bundles[path] = bundle
        return scan

    def download(self, bundle: RemoteBundle) -> None:
        """A fresh local copy of exactly the listed objects (a crashed run's half copy is dropped)."""
        shutil.rmtree(bundle.local, ignore_errors=True)
        bundle.local.mkdir(parents=True)
        root = bundle.local.resolve()
        for obj in bundle.objects:
            rel = bundle.name if bundle.is_zip else obj.rel
            target = (root / rel).resolve()
            if not target.is_relative_to(root) or target == root or ".." in PurePosixPath(rel).parts:
                raise ValueError(f"object {obj.key!r} would be written outside the bundle folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256()
            # match_etag: the bytes we ingest are the version we listed, and later move.
            headers: dict[str, str | list[str] | tuple[str]] | None = {"If-Match": f'"{obj.etag}"'} if obj.etag else None
            response = self.client.get_object(self.bucket, obj.key, request_headers=headers)
            try:
                with open(target, "wb") as out:
                    for chunk in response.stream(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
            finally:
                response.close()
                response.release_conn()
            if target.stat().st_size != obj.size:
                raise ValueError(f"object {obj.key!r}: got {target.stat().st_size} bytes, listed {obj.size}")
            obj.sha256 = digest.hexdigest()
            os.utime(target, (obj.modified, obj.modified))

    # ------------------------------------------------------------------ moving

    def _same(self, obj: RemoteObject, key: str) -> bool | None:
        """Does `key` hold obj's bytes? None when it does not exist."""
        from minio.error import S3Error

        try:
            st = self.client.stat_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                return None
            raise
        if int(st.size or 0) != obj.size:
            return False
        if (st.etag or "").strip('"') == obj.etag:
            return True
        if not obj.sha256:
            return False
        response = self.client.get_object(self.bucket, key)  # multipart copies change the ETag
        try:
            return hashlib.sha256(response.read()).hexdigest() == obj.sha256
        finally:
            response.close()
            response.release_conn()

    def _target_prefix(self, folder: str, bundle: RemoteBundle) -> str:
        """folder/<name>/ — or <name>-2/, ... when it holds a different bundle's objects."""
        base = PurePosixPath(bundle.name).stem if bundle.is_zip else bundle.name
        n = 1
        while True:
            name = base if n == 1 else f"{base}-{n}"
            target = f"{folder}{name}/"
            existing = {o.object_name for o in self._list(target)}
            reason_key = f"{folder}{name}.reason.txt"
            if not existing and not self._exists(reason_key):
                return target
            ours = {self._dest(target, bundle, o) for o in bundle.objects}
            # A crashed earlier move of these same objects: finish it in the same place.
            if existing <= ours and all(self._same(o, self._dest(target, bundle, o)) is not False
                                        for o in bundle.objects):
                return target
            n += 1

    def _exists(self, key: str) -> bool:
        from minio.error import S3Error

        try:
            self.client.stat_object(self.bucket, key)
            return True
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                return False
            raise

    @staticmethod
    def _dest(target: str, bundle: RemoteBundle, obj: RemoteObject) -> str:
        return target + (bundle.name if bundle.is_zip else obj.rel)

    def file_away(self, bundle: RemoteBundle, ok: bool, reasons: list[str], today: str | None = None) -> str:
        """Copy every source to archive/ or quarantine/, verify, then delete the sources."""
        from minio.commonconfig import CopySource

        today = today or date.today().isoformat()
        folder = f"archive/{today}/" if ok else f"quarantine/inbox/{today}/"
        target = self._target_prefix(folder, bundle)
        if not ok:
            import io

            text = ("\n".join(reasons) + "\n").encode("utf-8")
            self.client.put_object(self.bucket, target.rstrip("/") + ".reason.txt", io.BytesIO(text), len(text),
                                   content_type="text/plain; charset=utf-8")
        for obj in bundle.objects:
            dest = self._dest(target, bundle, obj)
            if self._same(obj, dest) is not True:
                self.client.copy_object(self.bucket, dest, CopySource(self.bucket, obj.key, match_etag=obj.etag or None))
                if self._same(obj, dest) is not True:
                    raise RuntimeError(f"copy of {obj.key!r} to {dest!r} does not match; the source is kept")
        # Every copy is verified: only now may the sources go.
        for obj in bundle.objects:
            self.client.remove_object(self.bucket, obj.key)
        return self.describe(target)

    @staticmethod
    def discard_download(bundle: RemoteBundle) -> None:
        """Drop the local copy (after the report has read its thumbnails from it)."""
        shutil.rmtree(bundle.local, ignore_errors=True)
