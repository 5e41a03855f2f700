"""`abhilekh verify [--repair]`: walk the store, check every object against its recorded
sha256, say exactly what is damaged and what it can be rebuilt from; rebuild it.

What is checked, per bundle (``storage/bundles.py`` says where each record lives):
  * the manifest: present, its sidecar (or S3 metadata) sha256, the sha256 the bundle
    list recorded for it, that it parses;
  * every object the manifest lists (its ``objects``; for older manifests, what the
    layout requires): present, its own recorded sha256, the manifest's sha256 for it,
    and for a page record that it parses and is the page it should be;
  * objects under the bundle that no record accounts for (reported, left alone).

What can be rebuilt, and from what:
  page JSON     the work files of an unfinished cleanup, else the PDF's text layer
                (words and boxes; each word gets the page's mean confidence)
  thumbnail     the PDF (the same function ingest uses)
  PDF           the work files, if they are still there; otherwise only a new ingest of
                the same scans makes it again (it repairs the stored copy)
  manifest      its pages and the bundle list (metadata, sources); without a bundle-list
                entry the metadata is unknown, and that is said
  bundle list   the manifest, once every object it records verifies

Repairs are recorded in the manifest (``repairs``), whose new sha256 goes into the
bundle list.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from abhilekh import __version__
from abhilekh.records import BundleMetadata, PageText
from abhilekh.settings import Settings
from storage import open_store
from storage.base import ChecksumMissing, IntegrityError, MissingObject, ObjectNotFound, ObjectStore, StorageError
from storage.bundles import (
    PREFIX,
    CatalogEntry,
    Manifest,
    SourceFile,
    catalog_key,
    load_catalog_entry,
    manifest_key,
    object_name,
    page_bytes,
    pdf_key,
    read_object,
    sha256,
    stored_bundle_ids,
)

FROM_TEXT_LAYER = "the PDF's text layer"
FROM_WORK = "the work files"
FROM_PDF = "the PDF"
FROM_PAGES = "its pages and the bundle list"
FROM_PAGES_ONLY = "its pages (its metadata is lost: no bundle-list entry)"
FROM_MANIFEST = "the manifest, whose objects verify"
FROM_RECORD = "its bytes, which match the sha256 its manifest recorded"
REINGEST = ""  # nothing in the store: only a new ingest of the same scans makes it again

_PAGE = re.compile(r"^pages/(\d+)\.json$")
_THUMB = re.compile(r"^thumbs/(\d+)\.jpg$")


@dataclass
class Finding:
    bundle_id: str
    key: str
    kind: str  # missing | checksum mismatch | no recorded checksum | unreadable | not listed
    reason: str
    rebuild_from: str = ""  # "" : cannot be rebuilt from the store

    def to_dict(self) -> dict[str, str]:
        return {"bundle_id": self.bundle_id, "key": self.key, "kind": self.kind, "reason": self.reason,
                "rebuild_from": self.rebuild_from}


@dataclass
class VerifyReport:
    bundles: int = 0
    objects: int = 0  # objects read and checked
    damage: list[Finding] = field(default_factory=list)  # what is wrong now
    repaired: list[Finding] = field(default_factory=list)  # what --repair fixed
    notes: list[Finding] = field(default_factory=list)  # not damage: unfinished, older, extra

    @property
    def ok(self) -> bool:
        return not self.damage

    def to_dict(self) -> dict[str, Any]:
        return {"bundles": self.bundles, "objects": self.objects, "ok": self.ok,
                "damage": [f.to_dict() for f in self.damage], "repaired": [f.to_dict() for f in self.repaired],
                "notes": [f.to_dict() for f in self.notes]}


def classify(exc: BaseException) -> str:
    if isinstance(exc, ObjectNotFound | MissingObject):
        return "missing"
    if isinstance(exc, ChecksumMissing):
        return "no recorded checksum"
    if isinstance(exc, IntegrityError):
        return "unreadable" if "not a readable" in str(exc) or " holds page " in str(exc) else "checksum mismatch"
    return "unreadable"


def verify_store(settings: Settings, repair: bool = False,
                 progress: Callable[[str], None] | None = None) -> VerifyReport:
    """Check every stored bundle (and, with ``repair``, rebuild what can be rebuilt)."""
    store = open_store(settings)
    report = VerifyReport()
    keys_by_bundle: dict[str, set[str]] = {}
    for key in store.list(PREFIX):
        bundle_id, _, rest = key[len(PREFIX):].partition("/")
        keys_by_bundle.setdefault(bundle_id, set()).add(rest)
    ids = sorted(set(stored_bundle_ids(store)) | set(keys_by_bundle))
    for bundle_id in ids:
        if progress:
            progress(bundle_id)
        _BundleCheck(store, settings, bundle_id, keys_by_bundle.get(bundle_id, set()), report).run(repair)
    return report


class _BundleCheck:
    def __init__(self, store: ObjectStore, settings: Settings, bundle_id: str, present: set[str],
                 report: VerifyReport) -> None:
        self.store, self.settings, self.bundle_id = store, settings, bundle_id
        self.present, self.report = present, report
        self.found: list[Finding] = []
        self.entry: CatalogEntry | None = None
        self.manifest: Manifest | None = None
        self.trusted = False  # the manifest verified: its object checksums count
        self.objects: dict[str, str | None] = {}
        self.intact: dict[str, bytes] = {}  # key -> bytes that match the manifest, checksum record lost

    # -- checking ------------------------------------------------------------------

    def note(self, key: str, kind: str, reason: str, rebuild_from: str = "") -> None:
        self.found.append(Finding(self.bundle_id, key, kind, reason, rebuild_from))

    def run(self, repair: bool) -> None:
        self._check_entry()
        self._check_manifest()
        if self.manifest is None and self.entry is None:
            if self.present:
                self.report.notes.append(Finding(
                    self.bundle_id, manifest_key(self.bundle_id), "incomplete",
                    f"{len(self.present)} object(s) but no manifest: an ingest that did not finish; run it again"))
            return
        self.report.bundles += 1
        self._check_objects()
        older = self.trusted and self.entry is None and self.manifest is not None and not self.manifest.objects
        if repair and (self.found or older):
            self._repair()
        else:
            self.report.damage.extend(self.found)

    def _check_entry(self) -> None:
        key = catalog_key(self.bundle_id)
        try:
            self.entry = load_catalog_entry(self.store, self.bundle_id)
            self.report.objects += self.entry is not None
        except StorageError as exc:
            if exc.transient:
                raise
            self.note(key, classify(exc), str(exc), FROM_MANIFEST)

    def _check_manifest(self) -> None:
        key = manifest_key(self.bundle_id)
        rebuild = FROM_PAGES if self.entry is not None else FROM_PAGES_ONLY
        try:
            raw = self.store.get(key)
        except ObjectNotFound:
            if self.entry is not None:
                self.note(key, "missing", f"{key} is missing; the bundle list has it ({self.entry.page_count} pages)",
                          rebuild)
            return
        except StorageError as exc:
            if exc.transient:
                raise
            self.note(key, classify(exc), str(exc), rebuild)
            raw = None
        self.report.objects += 1
        if raw is None:
            return
        try:
            manifest = Manifest.from_json(raw)
            if manifest.bundle_id != self.bundle_id:
                raise ValueError(f"it is the manifest of bundle {manifest.bundle_id[:12]}")
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            self.note(key, "unreadable", f"{key} is not a readable manifest ({exc})", rebuild)
            return
        self.manifest = manifest
        if self.entry is not None and sha256(raw) != self.entry.manifest_sha256:
            self.note(key, "checksum mismatch", f"{key} differs from the sha256 the bundle list recorded", rebuild)
            return
        self.trusted = True
        if self.entry is None and manifest.objects:
            self.note(catalog_key(self.bundle_id), "not listed",
                      f"the bundle list has no entry for {self.bundle_id[:12]} (an ingest stopped between the "
                      "manifest and the list, or the manifest was replaced)", FROM_MANIFEST)
        elif self.entry is None:
            self.report.notes.append(Finding(self.bundle_id, key, "older",
                                             "stored before object checksums were recorded in the manifest; "
                                             "`abhilekh verify --repair` records them"))

    def expected(self) -> dict[str, str | None]:
        """Object name -> the sha256 our records hold for it (None: only the sidecar's)."""
        m = self.manifest if self.trusted else None
        if m is not None and m.objects:
            return dict(m.objects)
        count = m.page_count if m is not None else (self.entry.page_count if self.entry else 0)
        names: dict[str, str | None] = {f"pages/{n}.json": None for n in range(1, count + 1)}
        if count:
            names["document.pdf"] = None
        names.update({n: None for n in self.present if _THUMB.match(n)})
        return names

    def _check_objects(self) -> None:
        self.objects = self.expected()
        for name, expected in sorted(self.objects.items(), key=lambda kv: _order(kv[0])):
            key = f"{PREFIX}{self.bundle_id}/{name}"
            try:
                data = read_object(self.store, key, expected)
                self.report.objects += 1
                page = _PAGE.match(name)
                if page:
                    self._parse_page(key, data, int(page.group(1)))
            except StorageError as exc:
                if exc.transient:
                    raise
                kind = classify(exc)
                reason = f"{key}: {exc}" if kind != "missing" else f"{key} is missing"
                rebuild = self._rebuild_from(name)
                found = getattr(exc, "data", None)
                if isinstance(exc, ChecksumMissing) and found is not None and expected and sha256(found) == expected:
                    # the bytes are the ones the manifest recorded: only the record is lost
                    self.intact[key] = found
                    rebuild = FROM_RECORD
                self.note(key, kind, reason, rebuild)
        accounted = set(self.objects) | {"manifest.json"}
        for name in sorted(self.present - accounted):
            self.report.notes.append(Finding(self.bundle_id, f"{PREFIX}{self.bundle_id}/{name}", "unexpected",
                                             "no record of this bundle accounts for it; left alone"))

    def _parse_page(self, key: str, data: bytes, n: int) -> None:
        try:
            page = PageText.from_dict(json.loads(data))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise IntegrityError(f"{key} is not a readable page ({exc})") from None
        if page.bundle_id != self.bundle_id or page.page != n:
            raise IntegrityError(f"{key} holds page {page.page} of bundle {page.bundle_id[:12]}")

    def _work(self, name: str) -> bool:
        return (self.settings.work_dir / self.bundle_id / name).is_file()

    def _rebuild_from(self, name: str) -> str:
        page = _PAGE.match(name)
        pdf_ok = not any(f.key == pdf_key(self.bundle_id) for f in self.found)
        if page:
            if self._work(f"{page.group(1)}.json"):
                return FROM_WORK
            return FROM_TEXT_LAYER if pdf_ok else REINGEST
        if _THUMB.match(name):
            return FROM_PDF if pdf_ok else REINGEST
        if name == "document.pdf":
            count = self._page_count()
            if count and all(self._work(f"{n}.pdf") for n in range(1, count + 1)):
                return FROM_WORK
        return REINGEST

    def _page_count(self) -> int:
        if self.manifest is not None:
            return self.manifest.page_count
        return self.entry.page_count if self.entry else 0

    # -- repairing -----------------------------------------------------------------

    def _repair(self) -> None:
        """Rebuild what can be rebuilt, in the order the records depend on each other:
        the PDF, then pages and thumbnails from it, then the manifest, then the list."""
        pending = sorted(self.found, key=lambda f: _repair_order(f, self.bundle_id))
        fixed: dict[str, str] = {}
        repairs: list[dict[str, str]] = []
        manifest_damaged = False
        for finding in pending:
            if finding.key in (manifest_key(self.bundle_id), catalog_key(self.bundle_id)):
                manifest_damaged = manifest_damaged or finding.key == manifest_key(self.bundle_id)
                continue
            data = self._rebuilt(finding) if finding.rebuild_from else None
            if data is None:
                self.report.damage.append(finding)
                continue
            from pipelines.bundle import put_verified

            content = "application/json" if finding.key.endswith(".json") else (
                "application/pdf" if finding.key.endswith(".pdf") else "image/jpeg")
            fixed[object_name(self.bundle_id, finding.key)] = put_verified(
                self.store, finding.key, data, content, self.settings)
            repairs.append({"object": object_name(self.bundle_id, finding.key), "from": finding.rebuild_from,
                            "at": _now()})
            self.report.repaired.append(finding)
        listing = [f for f in pending if f.key in (manifest_key(self.bundle_id), catalog_key(self.bundle_id))]
        if manifest_damaged or self.manifest is None:
            manifest = self._manifest_from_pages()
            if manifest is None:
                self.report.damage.extend(listing)
                return
            manifest.repairs.append({"object": "manifest.json", "from": listing[0].rebuild_from if listing else
                                     FROM_PAGES, "at": _now()})
            manifest.repairs.extend(repairs)
            self._write_manifest(manifest)
            self.report.repaired.extend(listing)
            return
        if fixed or listing or not self.manifest.objects:
            from pipelines.maintenance import record_objects

            current = self._current_objects() if not self.manifest.objects else {}
            record_objects(self.store, self.manifest, {**current, **fixed}, self.settings, repairs)
            self.report.repaired.extend(listing)

    def _rebuilt(self, finding: Finding) -> bytes | None:
        name = object_name(self.bundle_id, finding.key)
        work = self.settings.work_dir / self.bundle_id
        try:
            if finding.rebuild_from == FROM_RECORD:
                return self.intact[finding.key]
            if finding.rebuild_from == FROM_WORK:
                if name == "document.pdf":
                    from ingest.pdf import assemble

                    count = self._page_count()
                    title = self.manifest.metadata.title if self.manifest else ""
                    return assemble([(work / f"{n}.pdf").read_bytes() for n in range(1, count + 1)], title=title)
                n = int(_PAGE.match(name).group(1))  # type: ignore[union-attr]
                return (work / f"{n}.json").read_bytes()
            if finding.rebuild_from == FROM_TEXT_LAYER:
                return page_bytes(self._page_from_pdf(int(_PAGE.match(name).group(1))))  # type: ignore[union-attr]
            if finding.rebuild_from == FROM_PDF:
                from pipelines.maintenance import _render_thumbnails

                n = int(_THUMB.match(name).group(1))  # type: ignore[union-attr]
                return next(iter(_render_thumbnails(self.store, self.bundle_id, [n], self._pdf_sha())))[1]
        except (OSError, RuntimeError, StorageError, StopIteration, ValueError) as exc:
            if isinstance(exc, StorageError) and exc.transient:
                raise
            finding.reason += f"; rebuilding from {finding.rebuild_from} failed: {exc}"
        return None

    def _pdf_sha(self) -> str | None:
        return self.manifest.expected_sha256(pdf_key(self.bundle_id)) if self.manifest and self.trusted else None

    def _page_from_pdf(self, n: int) -> PageText:
        from ingest.pdftext import read_text_layer

        m = self.manifest if self.trusted else None
        confidence = m.page_confidence[n - 1] if m and n <= len(m.page_confidence) else 0.0
        layer = read_text_layer(read_object(self.store, pdf_key(self.bundle_id), self._pdf_sha()), n, confidence)
        source, source_page = _source_of(n, m.sources if m else (self.entry.sources if self.entry else []))
        return PageText(
            bundle_id=self.bundle_id, page=n, source=source, source_page=source_page, text=layer.text,
            confidence=confidence, needs_review=bool(m and n in m.needs_review), width=layer.width,
            height=layer.height, dpi=layer.dpi, words=layer.words,
        )

    def _current_objects(self) -> dict[str, str]:
        """sha256 of every object of an older bundle, read and verified by the store."""
        out: dict[str, str] = {}
        for name in self.expected():
            key = f"{PREFIX}{self.bundle_id}/{name}"
            if self.store.exists(key):
                out[name] = sha256(self.store.get(key))
        return out

    def _manifest_from_pages(self) -> Manifest | None:
        """A manifest rebuilt from the bundle's (verified) pages and its bundle-list entry."""
        pages: list[PageText] = []
        for name in sorted((n for n in self.present if _PAGE.match(n)), key=_order):
            try:
                raw = self.store.get(f"{PREFIX}{self.bundle_id}/{name}")
                pages.append(PageText.from_dict(json.loads(raw)))
            except (StorageError, ValueError, TypeError, KeyError):
                continue
        count = self.entry.page_count if self.entry else len(pages)
        numbers = sorted(p.page for p in pages)
        if not pages or numbers != list(range(1, count + 1)):
            return None
        pages.sort(key=lambda p: p.page)
        entry = self.entry
        manifest = Manifest(
            bundle_id=self.bundle_id,
            metadata=entry.metadata if entry else BundleMetadata(),
            sources=entry.sources if entry else _sources_from(pages),
            page_count=count,
            page_confidence=[p.confidence for p in pages],
            needs_review=[p.page for p in pages if p.needs_review],
            versions={"abhilekh": __version__, "rebuilt": "from its pages"},
            created_at=entry.created_at if entry else _now(),
            errors=[{"file": f"{p.source} (page {p.source_page})", "reason": p.ocr_error} for p in pages
                    if p.ocr_error],
        )
        self.present |= {"manifest.json"}
        manifest.objects = {}
        for name in self.expected_from(count):
            key = f"{PREFIX}{self.bundle_id}/{name}"
            if self.store.exists(key):
                manifest.objects[name] = sha256(self.store.get(key))
        return manifest

    def expected_from(self, count: int) -> list[str]:
        names = [f"pages/{n}.json" for n in range(1, count + 1)] + ["document.pdf"]
        return names + [f"thumbs/{n}.jpg" for n in range(1, count + 1)]

    def _write_manifest(self, manifest: Manifest) -> None:
        from pipelines.bundle import list_bundle, put_verified

        raw = manifest.to_json()
        put_verified(self.store, manifest_key(self.bundle_id), raw, "application/json", self.settings)
        list_bundle(self.store, manifest, raw, self.settings)


def _order(name: str) -> tuple[int, int, str]:
    for rank, pattern in enumerate((_PAGE, _THUMB)):
        m = pattern.match(name)
        if m:
            return (rank, int(m.group(1)), name)
    return (2, 0, name)


def _repair_order(f: Finding, bundle_id: str) -> int:
    if f.key == pdf_key(bundle_id):
        return 0
    if f.key in (manifest_key(bundle_id), catalog_key(bundle_id)):
        return 3
    return 1


def _source_of(n: int, sources: list[SourceFile]) -> tuple[str, int]:
    seen = 0
    for s in sources:
        if s.error or not s.pages:
            continue
        if n <= seen + s.pages:
            return s.name, n - seen
        seen += s.pages
    return "", 0


def _sources_from(pages: list[PageText]) -> list[SourceFile]:
    counts: dict[str, int] = {}
    for p in pages:
        counts[p.source] = max(counts.get(p.source, 0), p.source_page)
    return [SourceFile(name=name, sha256="", bytes=0, pages=n) for name, n in counts.items()]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
