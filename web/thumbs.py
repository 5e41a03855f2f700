"""The searchable PDF and page thumbnails, read from the store for the bundle routes.

A bundle stored before thumbnails were made at ingest has none in the store: its page
previews are rendered here with pdftoppm on first view, once per page (a lock per page
and one per bundle's PDF copy, so parallel requests wait rather than render twice).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
import tempfile
import threading
from pathlib import Path

from storage.base import IntegrityError, ObjectNotFound, ObjectStore, StorageError
from storage.bundles import pdf_key, read_object, thumb_key
from web.errors import PageError, store_down


def read_pdf(store: ObjectStore, bundle_id: str, expected_sha256: str | None = None) -> bytes:
    """The bundle's PDF, checked against its sidecar and (given) its manifest's sha256.
    Called for bundles whose manifest exists: a missing PDF is damage, said as such."""
    try:
        return read_object(store, pdf_key(bundle_id), expected_sha256)
    except ObjectNotFound:
        raise PageError(
            500,
            "इस फ़ाइल का PDF भंडार में नहीं है, व्यवस्थापक को सूचित करें",
            "This bundle's PDF is missing from the store; tell the administrator (`abhilekh verify` "
            "names what is damaged, and ingesting the same scans again makes it anew)",
        ) from None
    except IntegrityError:
        raise PageError(
            500,
            "यह PDF क्षतिग्रस्त है, व्यवस्थापक को सूचित करें",
            "This PDF fails its integrity check; tell the administrator",
        ) from None
    except StorageError as exc:
        raise store_down(exc) from None


def stored_thumbnail(store: ObjectStore, bundle_id: str, page: int) -> bytes | None:
    """The thumbnail ingest stored, or None for a bundle stored before that."""
    try:
        return store.get(thumb_key(bundle_id, page))
    except ObjectNotFound:
        return None
    except IntegrityError:
        return None  # a damaged preview is re-rendered from the (verified) PDF
    except StorageError as exc:
        raise store_down(exc) from None


def etag_of(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


LARGE_SIZE = 1600  # px, the longer side of the viewer's page image


class RenderedThumbnails:
    """Previews rendered from the PDF, cached under ``ABHILEKH_HOME/thumbs``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        # path -> (mtime_ns, size, etag): the rendition's ETag is its bytes' sha256,
        # hashed once per file, not on every view (~0.3 ms of a 2.5 ms page-view budget
        # for a 1600-px JPEG). A re-rendered file has a new mtime and is hashed again.
        self._etags: dict[Path, tuple[int, int, str]] = {}

    def path(self, bundle_id: str, page: int, size: int = 200) -> Path:
        return self.root / bundle_id / (f"{page}.jpg" if size == 200 else f"{page}-{size}.jpg")

    def read_rendered(self, bundle_id: str, page: int, size: int = 200) -> tuple[bytes, str] | None:
        """The rendition's bytes and ETag if it is already rendered, else None: a read
        of a local file (in the page cache once viewed), cheap enough for the event loop."""
        try:
            return self._read(self.path(bundle_id, page, size))
        except FileNotFoundError:
            return None

    def read(self, store: ObjectStore, bundle_id: str, page: int, size: int = 200) -> tuple[bytes, str]:
        """The rendition's bytes and its ETag (quoted)."""
        return self._read(self.file(store, bundle_id, page, size))

    def _read(self, path: Path) -> tuple[bytes, str]:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            data = fh.read()
        known = self._etags.get(path)
        if known is not None and known[:2] == (st.st_mtime_ns, st.st_size):
            return data, known[2]
        tag = etag_of(data)
        with self._guard:
            if len(self._etags) > 65536:
                self._etags.clear()
            self._etags[path] = (st.st_mtime_ns, st.st_size, tag)
        return data, tag

    def _lock(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    def file(self, store: ObjectStore, bundle_id: str, page: int, size: int = 200) -> Path:
        """Page `page` as a JPEG whose longer side is `size` px (200: the preview;
        LARGE_SIZE: the viewer's rendition, big enough to read a register's hand-written
        cells when zoomed)."""
        path = self.path(bundle_id, page, size)
        if path.exists():
            return path
        with self._lock(f"{bundle_id}:{page}:{size}"):
            if path.exists():
                return path
            path.parent.mkdir(parents=True, exist_ok=True)
            # One verified copy of the PDF per bundle next to its thumbnails, so each
            # further page costs one pdftoppm run, not a store read.
            src = path.parent / "document.pdf"
            with self._lock(bundle_id):
                if not src.exists():
                    tmp_pdf = path.parent / f".{secrets.token_hex(6)}.pdf"
                    tmp_pdf.write_bytes(read_pdf(store, bundle_id))
                    tmp_pdf.replace(src)
            with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
                out = Path(tmp) / "out"
                try:
                    subprocess.run(
                        ["pdftoppm", "-jpeg", "-jpegopt", f"quality={70 if size <= 200 else 80}",
                         "-f", str(page), "-l", str(page), "-scale-to", str(size), "-singlefile",
                         str(src), str(out)],
                        check=True, capture_output=True, timeout=60,
                    )
                except (OSError, subprocess.SubprocessError):
                    raise PageError(503, "पूर्वावलोकन नहीं बन सका",
                                    "Could not render the page preview") from None
                Path(f"{out}.jpg").replace(path)
        with self._guard:
            self._locks.pop(f"{bundle_id}:{page}:{size}", None)
        return path
