"""Where a bundle's objects live and how its manifest reads and writes.

Layout (identical in every backend):
    bundles/<bundle_id>/manifest.json   written last: its presence means "stored"
    bundles/<bundle_id>/document.pdf    the searchable access copy
    bundles/<bundle_id>/pages/<n>.json  text, words with boxes and confidences
    bundles/<bundle_id>/thumbs/<n>.jpg  small grayscale preview of page n (made at ingest;
                                        bundles stored before it have none)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from abhilekh.records import BundleMetadata, PageText
from storage.base import ObjectNotFound, ObjectStore

PREFIX = "bundles/"


def manifest_key(bundle_id: str) -> str:
    return f"{PREFIX}{bundle_id}/manifest.json"


def pdf_key(bundle_id: str) -> str:
    return f"{PREFIX}{bundle_id}/document.pdf"


def page_key(bundle_id: str, page: int) -> str:
    return f"{PREFIX}{bundle_id}/pages/{page}.json"


def thumb_key(bundle_id: str, page: int) -> str:
    return f"{PREFIX}{bundle_id}/thumbs/{page}.jpg"


@dataclass
class SourceFile:
    name: str
    sha256: str
    bytes: int
    pages: int = 0  # pages read from it; 0 when it failed
    error: str | None = None  # why it was quarantined


@dataclass
class Manifest:
    bundle_id: str
    metadata: BundleMetadata
    sources: list[SourceFile]
    page_count: int
    page_confidence: list[float]  # index i is page i+1
    needs_review: list[int]  # 1-based pages to rescan or key in by hand
    versions: dict[str, str]
    created_at: str
    errors: list[dict[str, str]] = field(default_factory=list)  # {"file", "reason"}

    def to_json(self) -> bytes:
        data = asdict(self)
        return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        data: dict[str, Any] = json.loads(raw)
        data["metadata"] = BundleMetadata.from_dict(data["metadata"])
        data["sources"] = [SourceFile(**s) for s in data["sources"]]
        return cls(**data)


def save_page(store: ObjectStore, page: PageText) -> None:
    raw = json.dumps(page.to_dict(), ensure_ascii=False).encode("utf-8")
    store.put(page_key(page.bundle_id, page.page), raw, "application/json")


def load_page(store: ObjectStore, bundle_id: str, page: int) -> PageText:
    return PageText.from_dict(json.loads(store.get(page_key(bundle_id, page))))


def save_manifest(store: ObjectStore, manifest: Manifest) -> None:
    store.put(manifest_key(manifest.bundle_id), manifest.to_json(), "application/json")


def load_manifest(store: ObjectStore, bundle_id: str) -> Manifest | None:
    try:
        return Manifest.from_json(store.get(manifest_key(bundle_id)))
    except ObjectNotFound:
        return None


def stored_bundle_ids(store: ObjectStore) -> list[str]:
    """Bundles whose manifest exists, i.e. completely stored."""
    return [
        key[len(PREFIX) : -len("/manifest.json")]
        for key in store.list(PREFIX)
        if key.endswith("/manifest.json")
    ]
