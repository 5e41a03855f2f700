"""Keeping the derived index true to storage: reindex, reconcile, status.

Damage is isolated to what is damaged: a bundle whose manifest cannot be read is
skipped, a page that cannot be read is left out of the index, and each is reported by
bundle id and reason while everything else goes on (``abhilekh verify --repair``
rebuilds what can be rebuilt). Only transient errors (a server that is down) stop a
run: they are not damage, and the same command run again finishes the job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from abhilekh.records import PageText, SearchDocument
from abhilekh.settings import Settings
from pipelines.bundle import (
    Damage,
    current_entries,
    damage_reason,
    documents_for,
    entry_documents,
    load_pages_isolated,
)
from search import SearchError, SearchIndex, open_index
from search.entries import EntryDocument, EntryIndex, open_entries
from storage import open_store
from storage.base import ObjectStore, StorageError
from storage.bundles import Manifest, load_manifest, manifest_key, pdf_key, stored_bundle_ids


@dataclass
class MaintenanceReport:
    """What a reindex or reconcile did, and the damage it went past."""

    pages: int = 0  # reindex: pages in the new index
    fixed: list[str] = field(default_factory=list)  # bundles (re-)indexed
    damaged: list[Damage] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)  # in the index, not in storage
    entries: int = 0  # reindex: register entries of the stored bundles
    entries_rebuilt: list[str] = field(default_factory=list)  # reindex: bundles whose entries.json was made again
    entries_indexed: list[str] = field(default_factory=list)  # reconcile: bundles whose entries were indexed again

    def to_dict(self) -> dict[str, Any]:
        return {"pages": self.pages, "fixed": self.fixed, "damaged": [d.to_dict() for d in self.damaged],
                "orphans": self.orphans, "entries": self.entries, "entries_rebuilt": self.entries_rebuilt,
                "entries_indexed": self.entries_indexed}


def read_manifest(store: ObjectStore, bundle_id: str, damaged: list[Damage]) -> Manifest | None:
    """The bundle's manifest, or None with the damage noted (None too when not stored)."""
    try:
        return load_manifest(store, bundle_id)
    except StorageError as exc:
        if exc.transient:
            raise
        damaged.append(Damage(bundle_id, manifest_key(bundle_id), damage_reason(exc)))
        return None


def stored_documents(store: ObjectStore, damaged: list[Damage], bundle_ids: list[str] | None = None,
                     on_pages: Callable[[Manifest, list[PageText]], None] | None = None) -> Iterator[SearchDocument]:
    """The index documents of every intact page in storage; the damage is noted.
    ON_PAGES sees each bundle's intact pages as they are read (reindex: entries)."""
    for bundle_id in bundle_ids if bundle_ids is not None else stored_bundle_ids(store):
        manifest = read_manifest(store, bundle_id, damaged)
        if manifest is None:
            continue
        pages, broken = load_pages_isolated(store, manifest)
        damaged.extend(broken)
        if on_pages is not None:
            on_pages(manifest, pages)
        yield from documents_for(manifest, pages)


def reindex(settings: Settings, console: Console | None = None) -> MaintenanceReport:
    """Build a new index from storage alone, beside the old one, and switch to it only
    once it is complete (searches answer from the old index until then, and a rebuild
    that fails leaves it as it was). Damaged bundles and pages are skipped and named.

    Bundles stored by an ingest while the rebuild ran were written to the old index;
    a reconcile pass after the switch indexes them."""
    store, index = open_store(settings), _index_to_rebuild(settings, console)
    report = MaintenanceReport()

    docs: list[EntryDocument] = []

    def entries_of(manifest: Manifest, pages: list[PageText]) -> None:
        # entries.json made again where the extractor's version changed (or it is missing)
        found, rebuilt = current_entries(store, manifest.bundle_id, pages, settings)
        docs.extend(entry_documents(manifest.metadata, found))
        if rebuilt:
            report.entries_rebuilt.append(manifest.bundle_id)

    try:
        report.pages = index.rebuild(stored_documents(store, report.damaged, on_pages=entries_of))
    finally:
        index.close()
    entries = _entries_to_rebuild(settings, console)
    try:
        report.entries = entries.rebuild(docs)
    finally:
        entries.close()
    after = reconcile_report(settings, console=None, quiet_damage=True)
    report.fixed, report.orphans = after.fixed, after.orphans
    if after.fixed:
        index = open_index(settings)
        try:
            report.pages = index.count()
        finally:
            index.close()
    _print_damage(report.damaged, console)
    return report


def _index_to_rebuild(settings: Settings, console: Console | None) -> SearchIndex:
    """The index to rebuild. An embedded index file that does not even open (damaged on
    disk) is moved aside and a new one started: the index is derived, storage has it all."""
    try:
        return open_index(settings)
    except SearchError as exc:
        path = settings.index_path
        if settings.es_url or exc.transient or not path.exists():
            raise  # a server's index, or a file that is only busy: not damage
        aside = path.with_name(f"{path.name}.damaged-{datetime.now(UTC).strftime('%Y%m%d%H%M%S')}")
        path.rename(aside)
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        if console:
            console.print(f"[yellow]the index file does not open ({escape(str(exc))}); moved to "
                          f"{escape(str(aside))}, building a new one[/]")
        return open_index(settings)


def _entries_to_rebuild(settings: Settings, console: Console | None) -> EntryIndex:
    """The entries index to rebuild; an embedded file that does not open is moved aside
    like the page index's (it is derived)."""
    try:
        return open_entries(settings)
    except SearchError as exc:
        path = settings.index_path.with_name(settings.index_path.stem + "-entries.sqlite")
        if settings.es_url or exc.transient or not path.exists():
            raise
        aside = path.with_name(f"{path.name}.damaged-{datetime.now(UTC).strftime('%Y%m%d%H%M%S')}")
        path.rename(aside)
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        if console:
            console.print(f"[yellow]the entries index does not open ({escape(str(exc))}); moved to "
                          f"{escape(str(aside))}, building a new one[/]")
        return open_entries(settings)


def _print_damage(damaged: list[Damage], console: Console | None) -> None:
    if not console or not damaged:
        return
    console.print(f"[red]{len(damaged)} damaged object(s) left out of the index:[/]")
    for d in damaged:
        console.print(f"  [red]✗[/] {d.bundle_id[:12]} {escape(d.what)}: {escape(d.reason)}")


def reconcile(settings: Settings, console: Console | None = None) -> list[str]:
    """Index every stored bundle that is missing, short or stale in the index; the
    bundles indexed (``reconcile_report`` also says what was damaged)."""
    return reconcile_report(settings, console).fixed


def reconcile_report(settings: Settings, console: Console | None = None,
                     quiet_damage: bool = False) -> MaintenanceReport:
    """Index every stored bundle that is missing, short or stale in the index.

    A bundle is stale when the index holds a different number of its pages than its
    intact stored pages; it is then re-indexed (with extra pages removed first). Ids
    are deterministic, so re-indexing never duplicates. Bundles found in the index but
    not in storage are left alone and reported (a wrongly configured store must not
    empty the index). A damaged bundle is reported and passed by, never a reason to
    stop: its intact pages are indexed.
    """
    from pipelines.bundle import index_bundle
    from pipelines.retry import with_retries

    store, index = open_store(settings), open_index(settings)
    report = MaintenanceReport()
    try:
        indexed = with_retries(index.bundle_page_counts, "reading the index", settings.retry_attempts,
                               settings.retry_backoff_seconds)
        stored = stored_bundle_ids(store)
        for bundle_id in stored:
            manifest = read_manifest(store, bundle_id, report.damaged)
            if manifest is None:
                continue
            if indexed.get(bundle_id, 0) == manifest.page_count:
                continue  # complete: not read again (verify checks what is at rest)
            pages, broken = load_pages_isolated(store, manifest)
            report.damaged.extend(broken)
            if indexed.get(bundle_id, 0) == len(pages):
                continue  # every intact page is indexed; the damage is reported
            if indexed.get(bundle_id, 0) > len(pages):
                index.delete_bundle(bundle_id)  # damaged pages must not stay findable
            index_bundle(manifest, pages, index, settings)
            report.fixed.append(bundle_id)
            if console:
                console.print(f"indexed {bundle_id[:12]} ({len(pages)} of {manifest.page_count} pages)")
        _reconcile_entries(store, settings, stored, report, console)
        report.orphans = sorted(set(indexed) - set(stored))
        if report.orphans and console:
            console.print(f"[yellow]{len(report.orphans)} bundle(s) are in the index but not in storage: "
                          f"{', '.join(b[:12] for b in report.orphans[:10])}[/]")
    finally:
        index.close()
    if not quiet_damage:
        _print_damage(report.damaged, console)
    return report


def _reconcile_entries(store: ObjectStore, settings: Settings, stored: list[str], report: MaintenanceReport,
                       console: Console | None) -> None:
    """Index the stored entries.json of bundles the entries index has none of (an index
    file lost, an ingest killed between its steps); pages are not read."""
    from pipelines.bundle import load_entries

    try:
        entries = open_entries(settings)
    except SearchError as exc:
        if exc.transient:
            raise
        if console:  # the pages are served regardless; reindex rebuilds the entries index
            console.print(f"[yellow]entries index: {escape(str(exc))}[/]")
        return
    try:
        have = entries.bundle_counts()
        # Only bundles with no entries indexed are read (a bundle's entries go in at once).
        for bundle_id in (b for b in stored if b not in have):
            found = load_entries(store, bundle_id)
            if found is None or not found.entries:
                continue
            manifest = read_manifest(store, bundle_id, report.damaged)
            if manifest is None:
                continue
            entries.index_bundle(bundle_id, entry_documents(manifest.metadata, found))
            report.entries_indexed.append(bundle_id)
            if console:
                console.print(f"indexed the {len(found.entries)} entries of {bundle_id[:12]}")
    finally:
        entries.close()


def status(settings: Settings) -> dict[str, Any]:
    """Counts from storage and the index (and the quarantine folder); damaged bundles
    are counted and named, not a reason to stop."""
    store, index = open_store(settings), open_index(settings)
    try:
        bundles = pages = review = 0
        damaged: list[Damage] = []
        for bundle_id in stored_bundle_ids(store):
            manifest = read_manifest(store, bundle_id, damaged)
            if manifest is None:
                continue
            bundles += 1
            pages += manifest.page_count
            review += len(manifest.needs_review)
        qdir = settings.quarantine_dir
        with_files = sum(1 for p in qdir.glob("*") if p.is_dir() and _is_bundle_id(p.name)) if qdir.exists() else 0
        rejected = qdir / "inbox"
        whole = sum(1 for p in rejected.glob("*/*") if not p.name.endswith(".reason.txt")) if rejected.exists() else 0
        return {
            "bundles": bundles,
            "pages_stored": pages,
            "pages_indexed": index.count(),
            "pages_flagged": review,
            "pages_to_review": review,
            "bundles_quarantined": whole,
            "bundles_with_quarantined_files": with_files,
            "bundles_damaged": len({d.bundle_id for d in damaged}),
            "damaged": [{"bundle_id": d.bundle_id, "reason": f"{d.what}: {d.reason}"} for d in damaged],
        }
    finally:
        index.close()


def _is_bundle_id(name: str) -> bool:
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


def backfill_thumbnails(settings: Settings, console: Console | None = None) -> int:
    """Store the ingest-time thumbnails of bundles stored before thumbnails existed.

    Each page missing `thumbs/<n>.jpg` is rendered from the stored (verified) PDF in
    grey and made into a thumbnail by the same function ingest uses. Until then the web
    renders such pages on first view, one `pdftoppm` each. Returns thumbnails stored.
    """
    from pipelines.bundle import put_verified
    from storage.bundles import object_name, thumb_key

    store = open_store(settings)
    made = 0
    for bundle_id in stored_bundle_ids(store):
        manifest = read_manifest(store, bundle_id, [])
        if manifest is None or manifest.page_count == 0:
            continue
        missing = [n for n in range(1, manifest.page_count + 1)
                   if not store.exists(thumb_key(bundle_id, n))
                   and (not manifest.objects or object_name(bundle_id, thumb_key(bundle_id, n)) not in manifest.objects)]
        if not missing:
            continue
        added: dict[str, str] = {}
        try:
            for n, data in _render_thumbnails(store, bundle_id, missing, manifest.expected_sha256(pdf_key(bundle_id))):
                added[object_name(bundle_id, thumb_key(bundle_id, n))] = put_verified(
                    store, thumb_key(bundle_id, n), data, "image/jpeg", settings)
                made += 1
        except StorageError as exc:  # a damaged PDF: reported here, `verify` says more
            if exc.transient:
                raise
            if console:
                console.print(f"[red]thumbnails for {bundle_id[:12]} not made: {escape(str(exc))}[/]")
        if added and manifest.objects:
            record_objects(store, manifest, added, settings)
        if console and added:
            console.print(f"thumbnails for {bundle_id[:12]}: {len(added)} page(s)")
    return made


def record_objects(store: ObjectStore, manifest: Manifest, objects: dict[str, str], settings: Settings,
                   repairs: list[dict[str, str]] | None = None) -> Manifest:
    """Write the manifest again with these object checksums (and repairs) recorded, and
    its new sha256 in the bundle list."""
    from pipelines.bundle import list_bundle, put_verified

    manifest.objects = {**manifest.objects, **objects}
    manifest.repairs = [*manifest.repairs, *(repairs or [])]
    raw = manifest.to_json()
    put_verified(store, manifest_key(manifest.bundle_id), raw, "application/json", settings)
    list_bundle(store, manifest, raw, settings)
    return manifest


# Rendering resolution for backfilled thumbnails: A4 at 75 dpi is ~620 px wide, enough
# for INTER_AREA to scale down to the 300 px ingest makes.
_BACKFILL_DPI = 75


def _render_thumbnails(store: ObjectStore, bundle_id: str, pages: list[int],
                       pdf_sha256: str | None = None) -> Iterator[tuple[int, bytes]]:
    import subprocess
    import tempfile
    from pathlib import Path

    import cv2

    from ingest.thumbnail import make_thumbnail
    from storage.bundles import read_object

    with tempfile.TemporaryDirectory(prefix="abhilekh-thumbs-") as tmp:
        pdf = Path(tmp) / "document.pdf"
        pdf.write_bytes(read_object(store, pdf_key(bundle_id), pdf_sha256))
        for n in pages:
            out = Path(tmp) / f"p{n}"
            subprocess.run(["pdftoppm", "-gray", "-r", str(_BACKFILL_DPI), "-f", str(n),
                            "-l", str(n), "-singlefile", str(pdf), str(out)],
                           check=True, capture_output=True, timeout=120)
            image = cv2.imread(f"{out}.pgm", cv2.IMREAD_GRAYSCALE)
            if image is None:
                raise RuntimeError(f"pdftoppm made no image of page {n} of {bundle_id}")
            yield n, make_thumbnail(image)
