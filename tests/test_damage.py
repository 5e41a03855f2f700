"""One damaged object must never take the rest down, and must never pass silently
(issue 17, items 1, 2 and 5), on the embedded backends and on the real servers.

Two bundles are OCR'd once for the module (real Tesseract); each test stores them in
its own backends, damages one object the way a disk, an operator or an attacker would,
and runs the maintenance commands.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines import maintenance
from search import open_index
from storage import open_store
from storage.bundles import manifest_key, page_key, pdf_key, thumb_key
from tests.fixtures.stored import damage, ocr_once, store_bundle_from


@pytest.fixture(scope="module")
def caches(tmp_path_factory):
    root = tmp_path_factory.mktemp("damage")
    a = ocr_once(root / "letters-a", root / "home-a", seed=71, pages=2, station="तिर्वा", thana="Tirwa")
    b = ocr_once(root / "letters-b", root / "home-b", seed=72, pages=2, station="छिबरामऊ", thana="Chhibramau")
    return a, b


@pytest.fixture
def stored(backend_settings, caches):
    a, b = caches
    store_bundle_from(a, backend_settings)
    store_bundle_from(b, backend_settings)
    return backend_settings, a.bundle_id, b.bundle_id


def _indexed(settings) -> dict[str, int]:
    index = open_index(settings)
    try:
        return index.bundle_page_counts()
    finally:
        index.close()


def _clear_index(settings) -> None:
    index = open_index(settings)
    try:
        index.clear()
    finally:
        index.close()


def _search(settings, q: str) -> set[tuple[str, int]]:
    index = open_index(settings)
    try:
        return {(h.bundle_id, h.page) for h in index.search(q, limit=50).hits}
    finally:
        index.close()


def test_reindex_with_a_page_gone_keeps_every_other_page_and_names_it(stored):
    """Item 1: one deleted page JSON (and its checksum) used to leave 0 pages indexed."""
    settings, a, b = stored
    damage(settings, page_key(a, 1), "delete")
    result = maintenance.reindex(settings)
    assert _indexed(settings) == {a: 1, b: 2}
    assert result.pages == 3
    assert [(d.bundle_id, d.what) for d in result.damaged] == [(a, page_key(a, 1))]
    assert "missing" in result.damaged[0].reason


def test_a_failed_rebuild_leaves_the_old_index_serving(stored):
    """The new index is built beside the old one; a rebuild that dies half-way changes nothing."""
    settings, a, b = stored
    from abhilekh.records import BundleMetadata, SearchDocument

    def dies():
        yield SearchDocument("other", 1, "x", BundleMetadata())
        raise RuntimeError("the store went away")

    index = open_index(settings)
    try:
        with pytest.raises(RuntimeError):
            index.rebuild(dies())
        assert index.bundle_page_counts() == {a: 2, b: 2}
        assert index.count() == 4
    finally:
        index.close()


def test_reconcile_goes_past_a_damaged_bundle(stored):
    """Item 1: reconcile stopped at the damaged bundle, so later bundles stayed unindexed."""
    settings, a, b = stored
    damage(settings, page_key(a, 1), "delete")
    _clear_index(settings)
    report = maintenance.reconcile_report(settings)
    assert _indexed(settings) == {a: 1, b: 2}
    assert [(d.bundle_id, d.what) for d in report.damaged] == [(a, page_key(a, 1))]


def test_status_and_reconcile_name_a_corrupt_manifest_and_go_on(stored):
    """Item 2: one corrupt manifest ended `status --json` and `reconcile` in a traceback."""
    settings, a, b = stored
    damage(settings, manifest_key(a), "rewrite", b"{not json")
    counts = maintenance.status(settings)
    assert counts["bundles"] == 1 and counts["pages_stored"] == 2
    assert counts["bundles_damaged"] == 1
    assert counts["damaged"][0]["bundle_id"] == a and "manifest" in counts["damaged"][0]["reason"]
    json.dumps(counts)  # what `status --json` prints
    _clear_index(settings)
    report = maintenance.reconcile_report(settings)
    assert _indexed(settings) == {b: 2}
    assert [d.bundle_id for d in report.damaged] == [a]


def test_an_edited_page_without_its_checksum_is_not_indexed(stored):
    """Item 5: edit pages/1.json, delete its checksum, reconcile: the edit was served."""
    settings, a, b = stored
    store = open_store(settings)
    page = json.loads(store.get(page_key(a, 1)))
    page["text"] = "zzqtamper " + page["text"]
    damage(settings, page_key(a, 1), "replace", json.dumps(page, ensure_ascii=False).encode())
    _clear_index(settings)
    report = maintenance.reconcile_report(settings)
    assert _search(settings, "zzqtamper") == set()
    assert [(d.bundle_id, d.what) for d in report.damaged] == [(a, page_key(a, 1))]
    assert _indexed(settings) == {a: 1, b: 2}


def test_an_edited_page_with_a_fixed_checksum_is_caught_by_its_manifest(stored):
    """Someone who also rewrites the checksum record is caught by the sha256 the manifest
    recorded for the page (and the manifest's own in the bundle list)."""
    settings, a, b = stored
    store = open_store(settings)
    page = json.loads(store.get(page_key(a, 2)))
    page["text"] = "zzqtamper " + page["text"]
    damage(settings, page_key(a, 2), "rewrite", json.dumps(page, ensure_ascii=False).encode())
    result = maintenance.reindex(settings)
    assert _search(settings, "zzqtamper") == set()
    assert [(d.bundle_id, d.what) for d in result.damaged] == [(a, page_key(a, 2))]


def test_ingesting_the_same_scans_again_repairs_the_stored_copy(stored, caches):
    """Item 1: after the damage a new ingest said "NOT stored" on every rerun."""
    from pipelines import bundle as steps
    from pipelines.batch import BundleRequest, ingest_bundles

    settings, a, b = stored
    cache = caches[0]
    damage(settings, page_key(a, 1), "delete")
    damage(settings, pdf_key(a), "delete")

    def store_fn(plan, pages):
        return steps.store_bundle(plan, pages, settings, open_store(settings))

    def index_fn(manifest, pages):
        index = open_index(settings)
        try:
            return steps.index_bundle(manifest, pages, index, settings)
        finally:
            index.close()

    class Done:
        def __init__(self, value):
            self.value = value

        def result(self):
            return self.value

    [report] = ingest_bundles([BundleRequest(str(cache.path), cache.metadata.to_dict())], settings,
                              lambda job: Done(steps.run_page(job, settings)), store_fn, index_fn)
    assert report.stored and report.ok, report
    assert report.repaired and "pages/1.json" in report.repaired[0]
    store = open_store(settings)
    assert json.loads(store.get(page_key(a, 1)))["page"] == 1
    assert store.get(pdf_key(a))[:5] == b"%PDF-"
    assert _indexed(settings) == {a: 2, b: 2}


def test_doctor_names_the_damage(stored):
    """Item 1: `doctor` said "All good" with a page gone."""
    from rich.console import Console

    from cli.doctor import run_checks

    settings, a, b = stored
    damage(settings, page_key(a, 1), "delete")
    console = Console(record=True, width=200)
    ok = run_checks(settings, console)
    out = console.export_text()
    assert not ok
    assert a[:12] in out and "pages/1.json" in out and "All good" not in out


def test_verify_names_every_kind_and_repair_rebuilds_what_it_can(stored):
    """`abhilekh verify` checks every object against its recorded sha256 and says what can
    be rebuilt from what; `--repair` rebuilds a page JSON from the PDF's text layer, a
    thumbnail from the PDF, and a manifest from its pages and the bundle list."""
    from pipelines.verify import verify_store

    settings, a, b = stored
    store = open_store(settings)
    original = json.loads(store.get(page_key(a, 1)))
    damage(settings, page_key(a, 1), "delete")
    damage(settings, thumb_key(a, 2), "overwrite", b"\xff\xd8 not a thumbnail")
    damage(settings, manifest_key(b), "delete")
    damage(settings, page_key(b, 2), "drop-checksum")

    found = verify_store(settings)
    kinds = {(d.bundle_id, d.key): d.kind for d in found.damage}
    assert kinds == {
        (a, page_key(a, 1)): "missing",
        (a, thumb_key(a, 2)): "checksum mismatch",
        (b, manifest_key(b)): "missing",
        (b, page_key(b, 2)): "no recorded checksum",
    }
    assert {d.key: d.rebuild_from for d in found.damage}[page_key(a, 1)] == "the PDF's text layer"

    fixed = verify_store(settings, repair=True)
    assert {(d.bundle_id, d.key) for d in fixed.repaired} == set(kinds)
    assert verify_store(settings).damage == []
    rebuilt = json.loads(store.get(page_key(a, 1)))
    words = {w for w in original["text"].split() if len(w) > 3}
    assert len(words & set(rebuilt["text"].split())) >= len(words) // 2
    from storage.bundles import load_manifest

    manifest = load_manifest(store, b)
    assert manifest is not None and manifest.metadata.thana == "Chhibramau" and manifest.page_count == 2
    maintenance.reindex(settings)
    assert _indexed(settings) == {a: 2, b: 2}
    assert (b, 1) in _search(settings, "Chhibramau")


def test_verify_command_exits_non_zero_on_damage(stored, tmp_path: Path):
    from typer.testing import CliRunner

    from abhilekh.settings import activate
    from cli.app import app

    settings, a, b = stored
    damage(settings, pdf_key(a), "overwrite", b"%PDF-1.4 truncated")
    activate(settings)
    try:
        result = CliRunner().invoke(app, ["verify"])
    finally:
        activate(None)
    assert result.exit_code == 1, result.output
    assert a[:12] in result.output and "document.pdf" in result.output
