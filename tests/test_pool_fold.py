"""Fold once at ingest (issue 14): a page's index fields are stored with its page JSON
and reused by every later index() and reindex — only while they are what folding would
give now (same folding code, same searchable text)."""

from __future__ import annotations

from dataclasses import replace

from abhilekh.records import BundleMetadata, PageText, SearchDocument
from search.page import FOLD_VERSION, fold_record, indexed_page

MD = BundleMetadata(thana="छिबरामऊ", register="Crime Register", year=1998, title="GD 1998")
DOC = SearchDocument("b" * 64, 1, "मु0अ0सं0 123/1998 धारा 379 भादवि रमेश पुत्र सुरेश UP 74 AB 1234", MD, 88.0)


def test_a_recorded_fold_gives_the_same_page_as_folding_now():
    rec = fold_record(DOC)
    assert rec["version"] == FOLD_VERSION
    assert indexed_page(replace(DOC, index_fields=rec)) == indexed_page(DOC)


def test_a_recorded_fold_is_reused_and_a_stale_one_is_not():
    rec = fold_record(DOC) | {"grams": "reused-marker"}
    assert indexed_page(replace(DOC, index_fields=rec)).grams == "reused-marker"  # reused, not refolded
    other_code = rec | {"version": "another-normaliser"}
    assert indexed_page(replace(DOC, index_fields=other_code)).grams == indexed_page(DOC).grams
    retitled = replace(DOC, metadata=replace(MD, title="GD 1999"), index_fields=rec)  # the text changed
    assert indexed_page(retitled).grams == indexed_page(replace(DOC, metadata=replace(MD, title="GD 1999"))).grams


def test_the_fold_travels_in_the_page_json_and_old_pages_read_back_unchanged():
    page = PageText("b" * 64, 1, "scan.png", 1, DOC.text, 88.0, False)
    assert "index_fields" not in page.to_dict()  # a page from before reads and writes the same bytes
    page.index_fields = fold_record(DOC)
    back = PageText.from_dict(page.to_dict())
    assert back.index_fields == page.index_fields


def test_ingest_stores_the_fold_with_each_page(settings, tmp_path):
    from pipelines import bundle as steps
    from storage import open_store
    from tests.fixtures.pagegen import make_bundle

    path = tmp_path / "b"
    make_bundle(path, seed=7, pages=1, kind="letter", profile="clean", dpi=150)
    (path / "truth.json").unlink()
    plan = steps.plan_bundle(path, MD, settings)
    pages = [steps.run_page(job, settings) for job in plan.jobs]
    store = open_store(settings)
    manifest = steps.store_bundle(plan, pages, settings, store)
    (stored,) = steps.load_stored_pages(store, manifest)
    (doc,) = steps.documents_for(manifest, [stored])
    assert stored.index_fields == fold_record(replace(doc, index_fields=None))
