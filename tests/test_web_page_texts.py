"""The viewer's parsed pages/<n>.json, kept in memory (issue 15: page views <= 2.5 ms of
CPU): kept by the sha256 the manifest records for the page, so a re-ingest that stores
other bytes (and a manifest naming them) is read anew; without a recorded sha256 the
page is trusted from memory for MANIFEST_TTL, as the manifest is."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from abhilekh.records import BundleMetadata, PageText, Word
from storage.bundles import Manifest, SourceFile, object_name, page_bytes, page_key, save_page, sha256
from storage.local import LocalStore
from web import runtime
from web.runtime import PageTexts

B = "c" * 64


def _page(word: str) -> PageText:
    return PageText(bundle_id=B, page=1, source="x.tif", source_page=1, text=word, confidence=90.0,
                    needs_review=False, width=100, height=100, words=[Word(word, 1, 1, 10, 10, 90.0, 0)])


def _manifest(recorded: PageText | None) -> Manifest:
    objects = {object_name(B, page_key(B, 1)): sha256(page_bytes(recorded))} if recorded else {}
    return Manifest(bundle_id=B, metadata=BundleMetadata(thana="कन्नौज"), sources=[SourceFile("x.tif", "0" * 64, 1)],
                    page_count=1, page_confidence=[90.0], needs_review=[], versions={},
                    created_at="2024-01-01T00:00:00+00:00", objects=objects)


def test_a_page_is_read_once_and_again_when_its_manifest_names_other_bytes(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalStore(tmp_path / "store")
    reads = []
    real_get = store.get
    monkeypatch.setattr(store, "get", lambda key: reads.append(key) or real_get(key))
    first, second = _page("रमेश"), _page("सुरेश")
    save_page(store, first)
    pages = PageTexts()
    assert pages.get(store, _manifest(first), 1).text == "रमेश"
    assert pages.get(store, _manifest(first), 1).text == "रमेश"
    assert len(reads) == 1  # the second view from memory
    save_page(store, second)  # a re-ingest stores other words, and a manifest naming them
    assert pages.get(store, _manifest(second), 1).text == "सुरेश"
    # no sha256 recorded (a bundle stored before manifests did): trusted for the TTL only
    assert pages.get(store, _manifest(None), 1).text == "सुरेश"
    save_page(store, dataclasses.replace(first))
    assert pages.get(store, _manifest(None), 1).text == "सुरेश"
    monkeypatch.setattr(runtime, "MANIFEST_TTL", 0.0)
    assert pages.get(store, _manifest(None), 1).text == "रमेश"
