"""Content-derived identities: the same scans always get the same bundle id."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def bundle_id_for(source_hashes: Iterable[str]) -> str:
    """sha256 over the sources' sha256s in page order.

    Names are left out on purpose: renaming scans must not make a second copy.
    """
    digest = hashlib.sha256()
    for h in source_hashes:
        digest.update(h.encode("ascii"))
        digest.update(b"\n")
    return digest.hexdigest()
