"""Issue 11: near hits said to be near, and "did you mean" for a query that finds nothing.

Both backends (the ``index`` fixture), through ``SearchIndex.search`` only, and the
command's output (``cli.quick.print_results``) and the JSON API's shape.
"""

from __future__ import annotations

import json

from abhilekh.records import BundleMetadata, SearchDocument, SearchFilters
from cli.quick import NEAR_LABEL, print_results

MD = BundleMetadata(thana="Saurikh", register="अपराध रजिस्टर", year=2013, title="रजिस्टर")
OTHER = BundleMetadata(thana="Tirwa", register="अपराध रजिस्टर", year=2013, title="रजिस्टर")

PAGES = [
    SearchDocument("e", 1, "इंजन नं0 HA10EJ0444777 चेसिस नं0 MBLHA10AUUR81501 वादी रमेश यादव", MD),  # read right
    SearchDocument("e", 2, "इंजन नं0 HAIOEJ0444777 चेसिस नं0 MBLHATOAUUR81501", MD),  # misread
    SearchDocument("e", 3, "अभि0- सुरेन्द्र कुशवाहा निवासी ग्राम जलालाबाद थाना सौरिख", MD),
    SearchDocument("e", 4, "The Case Diary of Jalalabad is being maintained as per rules.", MD),
    SearchDocument("t", 1, "अभि0- महेन्द्र प्रताप निवासी ग्राम बरौली थाना तिर्वा", OTHER),
]


def ids(results) -> list[str]:
    return [f"{h.bundle_id}:{h.page}" for h in results.hits]


def test_a_hit_found_only_through_ocr_tolerance_is_marked_near(index):
    index.index(PAGES)
    r = index.search("HA10EJ0444777")
    assert ids(r) == ["e:1", "e:2"]
    assert [h.near for h in r.hits] == [False, True]
    assert r.hits[0].to_dict()["near"] is False and r.hits[1].to_dict()["near"] is True
    assert not any(h.near for h in index.search("रमेश यादव").hits)


def test_a_misspelt_word_that_finds_nothing_gets_the_indexed_spelling(index):
    index.index(PAGES)
    r = index.search("जलालाबात")  # द typed as त: beyond what OCR tolerance allows
    assert r.total == 0
    assert r.did_you_mean == "जलालाबाद"
    assert index.search(r.did_you_mean).total == 2
    # Latin too, from the index's own Latin words
    r = index.search("Jalalabat")
    assert r.total == 0 and r.did_you_mean == "jalalabad"
    # only the word that finds nothing is replaced; the others are kept as typed
    r = index.search("सुरेन्द्र कुशवाबा")
    assert r.total == 0 and r.did_you_mean == "सुरेन्द्र कुशवाहा"
    r = index.search("Case Diari")
    assert r.total == 0 and r.did_you_mean == "Case diary"


def test_no_suggestion_when_something_is_found_or_nothing_is_near(index):
    index.index(PAGES)
    assert index.search("जलालाबाद").did_you_mean is None  # found: no suggestion
    assert index.search("कानपुर").did_you_mean is None  # nothing within edits
    assert index.search("448/2023").did_you_mean is None  # numbers are not respelt
    # each word finds pages alone, never together: no word to respell
    assert index.search("महेन्द्र कुशवाहा").total == 0
    assert index.search("महेन्द्र कुशवाहा").did_you_mean is None


def test_the_suggestion_must_find_pages_the_user_may_see(index):
    index.index(PAGES)
    # प्रताप is only in Tirwa's pages: a Saurikh user is not pointed at it
    assert index.search("प्रताव").did_you_mean == "प्रताप"
    assert index.search("प्रताव", SearchFilters(stations=("Saurikh",))).did_you_mean is None


def test_the_command_says_near_and_did_you_mean(index, capsys):
    index.index(PAGES)
    print_results(index.search("HA10EJ0444777"), as_json=False)
    out = capsys.readouterr().out
    blocks = out.split("\n\n")
    assert NEAR_LABEL not in blocks[1] and NEAR_LABEL in blocks[2]
    print_results(index.search("HA10EJ0444777"), as_json=True)
    assert [h["near"] for h in json.loads(capsys.readouterr().out)] == [False, True]
    print_results(index.search("जलालाबात"), as_json=True)
    captured = capsys.readouterr()
    assert json.loads(captured.out) == []
    assert json.loads(captured.err) == {"did_you_mean": "जलालाबाद"}
