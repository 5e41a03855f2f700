"""Where a bundle's objects live and how its manifest reads and writes.

Layout (identical in every backend):
    bundles/<bundle_id>/manifest.json   written after the bundle's objects: "stored"
    bundles/<bundle_id>/document.pdf    the searchable access copy
    bundles/<bundle_id>/pages/<n>.json  text, words with boxes and confidences
    bundles/<bundle_id>/thumbs/<n>.jpg  small grayscale preview of page n (made at ingest;
                                        bundles stored before it have none)
    catalog/<bundle_id>.json            the bundle list: the manifest's own sha256, the
                                        bundle's metadata and sources; written last

Integrity that does not hang on one record. Every object's sha256 is recorded beside
it by the store (a sidecar, or S3 metadata) and checked on every read; a missing
record is itself an error (``ChecksumMissing``). The manifest records the sha256 of
every object of its bundle (``Manifest.objects``), and the bundle list records the
manifest's. So an object edited together with its sidecar still fails against its
manifest, a manifest edited together with its sidecar fails against the bundle list,
and a deleted manifest is known to be missing, not "never stored". Manifests written
before this (no ``objects``, no list entry) read as before; ``abhilekh verify
--repair`` records their checksums.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from abhilekh.records import BundleMetadata, PageText
from storage.base import IntegrityError, MissingObject, ObjectNotFound, ObjectStore

PREFIX = "bundles/"
CATALOG = "catalog/"


def manifest_key(bundle_id: str) -> str:
    return f"{PREFIX}{bundle_id}/manifest.json"


def pdf_key(bundle_id: str) -> str:
    return f"{PREFIX}{bundle_id}/document.pdf"


def page_key(bundle_id: str, page: int) -> str:
    return f"{PREFIX}{bundle_id}/pages/{page}.json"


def thumb_key(bundle_id: str, page: int) -> str:
    return f"{PREFIX}{bundle_id}/thumbs/{page}.jpg"


def catalog_key(bundle_id: str) -> str:
    return f"{CATALOG}{bundle_id}.json"


def object_name(bundle_id: str, key: str) -> str:
    """A key as named in the manifest's ``objects``: relative to the bundle's folder."""
    return key[len(f"{PREFIX}{bundle_id}/"):]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class SourceFile:
    name: str
    sha256: str
    bytes: int
    pages: int = 0  # pages read from it; 0 when it failed
    error: str | None = None  # why it was quarantined
    mtime_ns: int | None = None  # pinned at plan time (newer manifests)


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
    # object name ("document.pdf", "pages/1.json", "thumbs/1.jpg") -> sha256; empty in
    # manifests written before checksums were recorded here
    objects: dict[str, str] = field(default_factory=dict)
    # what `abhilekh verify --repair` rebuilt, and from what: {"object", "from", "at"}
    repairs: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> bytes:
        data = asdict(self)
        return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        data: dict[str, Any] = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        data["metadata"] = BundleMetadata.from_dict(data["metadata"])
        source_fields = {f.name for f in fields(SourceFile)}
        data["sources"] = [SourceFile(**{k: v for k, v in s.items() if k in source_fields}) for s in data["sources"]]
        manifest = cls(**data)
        if not isinstance(manifest.page_count, int) or manifest.page_count < 0:
            raise ValueError(f"page_count {manifest.page_count!r}")
        return manifest

    def expected_sha256(self, key: str) -> str | None:
        """The sha256 this manifest recorded for KEY (None: it predates recording)."""
        return self.objects.get(object_name(self.bundle_id, key))


@dataclass
class CatalogEntry:
    """One line of the bundle list: enough to know the manifest, and to rebuild it."""

    bundle_id: str
    manifest_sha256: str
    page_count: int
    metadata: BundleMetadata
    sources: list[SourceFile]
    created_at: str

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> CatalogEntry:
        data: dict[str, Any] = json.loads(raw)
        source_fields = {f.name for f in fields(SourceFile)}
        return cls(
            bundle_id=str(data["bundle_id"]),
            manifest_sha256=str(data["manifest_sha256"]),
            page_count=int(data["page_count"]),
            metadata=BundleMetadata.from_dict(data["metadata"]),
            sources=[SourceFile(**{k: v for k, v in s.items() if k in source_fields}) for s in data["sources"]],
            created_at=str(data.get("created_at", "")),
        )


def page_bytes(page: PageText) -> bytes:
    return json.dumps(page.to_dict(), ensure_ascii=False).encode("utf-8")


def save_page(store: ObjectStore, page: PageText) -> None:
    store.put(page_key(page.bundle_id, page.page), page_bytes(page), "application/json")


def read_object(store: ObjectStore, key: str, expected_sha256: str | None) -> bytes:
    """The object's bytes, checked by the store AND against the sha256 a record of ours
    holds for it (a manifest for its objects, the bundle list for manifests).

    A key such a record names but the store lacks is MissingObject (damage), not
    ObjectNotFound ("never there")."""
    try:
        data = store.get(key)
    except ObjectNotFound as exc:
        if expected_sha256 is None:
            raise
        raise MissingObject(f"{key} is missing ({exc})") from None
    if expected_sha256 is not None and sha256(data) != expected_sha256:
        raise IntegrityError(f"{key} differs from the sha256 its bundle recorded")
    return data


def load_page(store: ObjectStore, bundle_id: str, page: int, expected_sha256: str | None = None) -> PageText:
    key = page_key(bundle_id, page)
    raw = read_object(store, key, expected_sha256)
    try:
        text = PageText.from_dict(json.loads(raw))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise IntegrityError(f"{key} is not a readable page ({type(exc).__name__}: {exc})") from None
    if text.bundle_id != bundle_id or text.page != page:
        raise IntegrityError(f"{key} holds page {text.page} of bundle {text.bundle_id[:12]}, not page {page}")
    return text


def save_manifest(store: ObjectStore, manifest: Manifest) -> bytes:
    """Put the manifest; returns its bytes (their sha256 goes into the bundle list)."""
    raw = manifest.to_json()
    store.put(manifest_key(manifest.bundle_id), raw, "application/json")
    return raw


def catalog_entry_for(manifest: Manifest, raw: bytes) -> CatalogEntry:
    return CatalogEntry(manifest.bundle_id, sha256(raw), manifest.page_count, manifest.metadata,
                        manifest.sources, manifest.created_at)


def save_catalog_entry(store: ObjectStore, entry: CatalogEntry) -> None:
    store.put(catalog_key(entry.bundle_id), entry.to_json(), "application/json")


def load_catalog_entry(store: ObjectStore, bundle_id: str) -> CatalogEntry | None:
    """The bundle's entry in the bundle list; None when it has none."""
    key = catalog_key(bundle_id)
    try:
        raw = store.get(key)
    except ObjectNotFound:
        return None
    try:
        return CatalogEntry.from_json(raw)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise IntegrityError(f"{key} is not a readable bundle list entry ({type(exc).__name__}: {exc})") from None


def load_manifest(store: ObjectStore, bundle_id: str, require_listed: bool = True) -> Manifest | None:
    """The bundle's manifest, checked; None when the bundle was never stored.

    Raises IntegrityError (naming the reason) when the manifest does not parse, when
    its bytes differ from the sha256 the bundle list recorded, when the bundle list
    names it but it is gone (MissingObject), or when a manifest that records its
    objects' checksums is not in the bundle list (an interrupted ingest, or someone
    who replaced the manifest and took it off the list: `abhilekh verify` says which;
    ``require_listed=False`` lets the ingest that finishes the listing read it).
    """
    key = manifest_key(bundle_id)
    entry = load_catalog_entry(store, bundle_id)
    try:
        raw = store.get(key)
    except ObjectNotFound:
        if entry is None:
            return None
        raise MissingObject(f"{key} is missing, but the bundle list has bundle {bundle_id[:12]} "
                            f"({entry.page_count} pages)") from None
    if entry is not None and sha256(raw) != entry.manifest_sha256:
        raise IntegrityError(f"{key} differs from the sha256 the bundle list recorded for it")
    try:
        manifest = Manifest.from_json(raw)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise IntegrityError(f"{key} is not a readable manifest ({type(exc).__name__}: {exc})") from None
    if manifest.bundle_id != bundle_id:
        raise IntegrityError(f"{key} is the manifest of another bundle ({manifest.bundle_id[:12]})")
    if entry is None and manifest.objects and require_listed:
        raise IntegrityError(f"{key} is not in the bundle list ({catalog_key(bundle_id)} is missing)")
    return manifest


def stored_bundle_ids(store: ObjectStore) -> list[str]:
    """Bundles with a manifest or an entry in the bundle list, in order.

    A bundle listed but without its manifest is included: reading it raises
    MissingObject, so the damage is reported instead of the bundle vanishing."""
    ids = {
        key[len(PREFIX) : -len("/manifest.json")]
        for key in store.list(PREFIX)
        if key.endswith("/manifest.json")
    }
    ids |= {key[len(CATALOG) : -len(".json")] for key in store.list(CATALOG) if key.endswith(".json")}
    return sorted(ids)


def bundle_object_keys(manifest: Manifest) -> list[str]:
    """Every object key the manifest accounts for (its own key excluded)."""
    prefix = f"{PREFIX}{manifest.bundle_id}/"
    if manifest.objects:
        return [prefix + name for name in sorted(manifest.objects)]
    # older manifests: the layout says what must be there (thumbnails are optional)
    return [page_key(manifest.bundle_id, n) for n in range(1, manifest.page_count + 1)] + (
        [pdf_key(manifest.bundle_id)] if manifest.page_count else []
    )
