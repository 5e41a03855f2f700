"""Entries at ingest and on reindex: entries.json beside the pages, the entries index,
a new extractor version rebuilding both (real OCR of one generated register page)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from abhilekh.records import BundleMetadata, PageText
from tests.conftest import make_settings
from tests.fixtures.pagegen import make_bundle


@pytest.fixture(scope="module")
def ocr_done(tmp_path_factory):
    """One register page, OCR'd once into a work directory (reused by every test)."""
    from abhilekh.settings import Settings
    from pipelines import bundle as steps

    base = tmp_path_factory.mktemp("entries-bundle")
    folder = base / "register"
    truth = make_bundle(folder, seed=1313, pages=1, kind="register", profile="clean", station="Tirwa", year=2017)
    (folder / "truth.json").unlink()
    settings = Settings(home=base / "home")
    meta = BundleMetadata(thana="Tirwa", register="FIR", year=2017, title="register")
    plan = steps.plan_bundle(folder, meta, settings)
    for job in plan.jobs:
        steps.run_page(job, settings)
    return folder, meta, plan.bundle_id, settings.work_dir / plan.bundle_id, truth[0]


def _ingest(ocr_done, settings):
    from pipelines import bundle as steps
    from search import open_index
    from storage import open_store

    folder, meta, bundle_id, work, _ = ocr_done
    shutil.copytree(work, settings.work_dir / bundle_id, dirs_exist_ok=True)
    plan = steps.plan_bundle(folder, meta, settings)
    pages: list[PageText] = [steps.run_page(job, settings) for job in plan.jobs]
    store = open_store(settings)
    manifest = steps.store_bundle(plan, pages, settings, store)
    idx = open_index(settings)
    try:
        steps.index_bundle(manifest, pages, idx, settings)
    finally:
        idx.close()
    return store, manifest


@pytest.fixture
def home_settings(tmp_path: Path, index_kind: str):
    s = make_settings(tmp_path / "home", index=index_kind)
    yield s
    if index_kind == "elastic":
        from search import open_index
        from search.entries import open_entries

        for idx in (open_index(s), open_entries(s)):
            idx.drop()  # type: ignore[attr-defined]
            idx.close()


def test_ingest_stores_and_indexes_the_entries(ocr_done, home_settings):
    from pipelines.bundle import entries_key, load_entries
    from search.entries import EntryFilters, open_entries

    store, manifest = _ingest(ocr_done, home_settings)
    truth = ocr_done[4]
    stored = load_entries(store, manifest.bundle_id)
    assert stored is not None and stored.bundle_id == manifest.bundle_id
    assert len(stored.entries) == len(truth.entries)
    assert [e.value("crime_no") for e in stored.entries] == [e.crime_no for e in truth.entries]
    # derived like the index: beside the pages, not among the manifest's objects
    assert entries_key(manifest.bundle_id) not in manifest.objects
    idx = open_entries(home_settings)
    try:
        got = idx.find(EntryFilters(crime_year=2017, thana="Tirwa"))
        assert got.total == len(truth.entries)
        assert got.entries[0].values["crime_no"] == truth.entries[0].crime_no
        sec = truth.entries[0].sections[0]
        assert idx.find(EntryFilters(section=sec)).total == sum(sec in e.sections for e in truth.entries)
        assert idx.find(EntryFilters(thana="Tirwa", stations=("kannauj",))).total == 0
    finally:
        idx.close()


def test_reindex_rebuilds_entries_of_another_extractor_version(ocr_done, home_settings, monkeypatch):
    from ingest import entries as extraction
    from pipelines.bundle import entries_key, load_entries
    from pipelines.maintenance import reindex
    from search.entries import open_entries

    store, manifest = _ingest(ocr_done, home_settings)
    key = entries_key(manifest.bundle_id)
    # as if an older extractor had written it: version 0, and no entries
    store.put(key, json.dumps({"bundle_id": manifest.bundle_id, "extractor_version": 0, "entries": []}).encode(),
              "application/json")
    idx = open_entries(home_settings)
    try:
        idx.rebuild([])
    finally:
        idx.close()
    report = reindex(home_settings)
    assert report.entries_rebuilt == [manifest.bundle_id]
    again = load_entries(store, manifest.bundle_id)
    assert again is not None and again.extractor_version == extraction.EXTRACTOR_VERSION
    assert len(again.entries) == len(ocr_done[4].entries) == report.entries
    # the current version is left as it is
    assert reindex(home_settings).entries_rebuilt == []
    # a missing entries.json is made again too
    store.delete(key)
    assert reindex(home_settings).entries_rebuilt == [manifest.bundle_id]
    monkeypatch.setattr(extraction, "EXTRACTOR_VERSION", extraction.EXTRACTOR_VERSION + 1)
    assert reindex(home_settings).entries_rebuilt == [manifest.bundle_id]


def test_reindex_moves_a_damaged_entries_file_aside(ocr_done, tmp_path):
    from pipelines.maintenance import reindex
    from search.entries import EntryFilters, open_entries

    settings = make_settings(tmp_path / "home")
    _ingest(ocr_done, settings)
    path = settings.index_path.with_name(settings.index_path.stem + "-entries.sqlite")
    assert path.exists()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"this is not a database" * 100)
    report = reindex(settings)
    assert report.entries == len(ocr_done[4].entries)
    assert list(path.parent.glob(path.name + ".damaged-*"))
    idx = open_entries(settings)
    try:
        assert idx.find(EntryFilters(crime_year=2017)).total == report.entries
    finally:
        idx.close()


def test_reconcile_indexes_entries_the_index_lost(ocr_done, home_settings):
    from pipelines.maintenance import reconcile_report
    from search.entries import open_entries

    _, manifest = _ingest(ocr_done, home_settings)
    idx = open_entries(home_settings)
    try:
        n = idx.count()
        assert n == len(ocr_done[4].entries)
        idx.rebuild([])  # the entries index lost, the page index intact
    finally:
        idx.close()
    report = reconcile_report(home_settings)
    assert report.fixed == [] and report.entries_indexed == [manifest.bundle_id]
    idx = open_entries(home_settings)
    try:
        assert idx.count() == n and idx.bundle_counts() == {manifest.bundle_id: n}
    finally:
        idx.close()
    assert reconcile_report(home_settings).entries_indexed == []  # nothing more to do
