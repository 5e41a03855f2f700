"""The entries index: one behaviour in SQLite and Elasticsearch (filters, facets, scope)."""

from __future__ import annotations

from pathlib import Path

import pytest

from abhilekh.records import BundleMetadata
from search.entries import EntryDocument, EntryFilters, open_entries
from tests.conftest import make_settings

TIRWA = BundleMetadata(thana="Tirwa", register="FIR", year=2017)
KANNAUJ = BundleMetadata(thana="Kannauj", register="FIR", year=2019)


def _doc(bundle: str, page: int, index: int, meta: BundleMetadata, **values: str) -> EntryDocument:
    return EntryDocument(bundle, page, index, "row", [0, 10 * index, 100, 10 * index + 9], dict(values),
                         {k: v for k, v in values.items()}, {k: 0.9 for k in values}, meta)


DOCS = [
    _doc("a" * 64, 1, 1, TIRWA, crime_no="12/2017", sections="379,411", act="IPC", station="तिर्वा",
         **{"complainant.name": "रमेश यादव", "complainant.village": "मलिकपुर"}, outcome="charge_sheet", vehicle="UP74AB1234"),
    _doc("a" * 64, 1, 2, TIRWA, crime_no="13/2017", sections="323,504,506", act="IPC", station="तिर्वा",
         **{"complainant.name": "सुरेश"}, outcome="final_report"),
    _doc("a" * 64, 2, 1, TIRWA, crime_no="14/2018", sections="379", act="IPC", station="तिर्वा", outcome="charge_sheet"),
    _doc("b" * 64, 1, 1, KANNAUJ, crime_no="7/2017", sections="3/25", act="Arms Act", station="कोतवाली कन्नौज",
         **{"complainant.name": "रमेश"}),
]


@pytest.fixture
def entries(tmp_path: Path, index_kind: str):
    idx = open_entries(make_settings(tmp_path / "home", index=index_kind))
    idx.rebuild(DOCS)
    yield idx
    if index_kind == "elastic":
        idx.drop()  # type: ignore[attr-defined]
    idx.close()


def _ids(res) -> list[str]:
    return [e.id[-5:] for e in res.entries]


def test_filters_and_their_order(entries):
    assert entries.count() == 4
    got = entries.find(EntryFilters(section="379"))
    assert [(e.bundle_id[0], e.page, e.index) for e in got.entries] == [("a", 1, 1), ("a", 2, 1)]
    assert entries.find(EntryFilters(section="379", crime_year=2017)).total == 1
    # the station as printed (Devanagari) or typed in Latin letters, any case
    assert entries.find(EntryFilters(station="Tirwa")).total == 3
    assert entries.find(EntryFilters(station="तिर्वा", outcome="charge_sheet")).total == 2
    assert entries.find(EntryFilters(act="arms act")).total == 1
    assert entries.find(EntryFilters(village="Malikpur")).total == 1
    # words: each must be one of the entry's values, in either script
    assert entries.find(EntryFilters(words="रमेश")).total == 2
    assert entries.find(EntryFilters(words="Ramesh Yadav")).total == 1
    assert entries.find(EntryFilters(bundle_id="a" * 64, page=1)).total == 2


def test_facets_count_every_match(entries):
    res = entries.find(EntryFilters(station="Tirwa"), limit=1)
    assert res.total == 3 and len(res.entries) == 1
    assert res.facets["section"] == {"379": 2, "323": 1, "411": 1, "504": 1, "506": 1}
    assert res.facets["crime_year"] == {"2017": 2, "2018": 1}
    assert res.facets["outcome"] == {"charge_sheet": 2, "final_report": 1}
    assert res.facets["station"] == {"तिर्वा": 3}


def test_station_scope_applies(entries):
    assert entries.find(EntryFilters(stations=("kannauj",))).total == 1
    assert entries.find(EntryFilters(thana="Tirwa", stations=("kannauj",))).total == 0
    assert entries.find(EntryFilters(stations=())).total == 0


def test_entries_of_many_pages_in_one_call(entries):
    """A search's hits get their entries by one query (issue 15): per page, in row
    order, inside the asker's stations, the same entries ``find`` gives page by page."""
    a, b = "a" * 64, "b" * 64
    got = entries.on_pages([(a, 1), (b, 1), (a, 2), (a, 9), (a, 1)])
    assert {k: [e.index for e in v] for k, v in got.items()} == {(a, 1): [1, 2], (a, 2): [1], (b, 1): [1]}
    for (bundle, page), found in got.items():
        assert found == entries.find(EntryFilters(bundle_id=bundle, page=page)).entries
    assert set(entries.on_pages([(a, 1), (b, 1)], stations=("kannauj",))) == {(b, 1)}
    assert entries.on_pages([(a, 1)], stations=()) == {}
    assert [e.index for e in entries.on_pages([(a, 1)], per_page=1)[(a, 1)]] == [1]


def test_a_bundle_is_replaced_not_added_to(entries):
    entries.index_bundle("a" * 64, DOCS[:1])
    assert entries.count("a" * 64) == 1 and entries.count() == 2
    entries.delete_bundle("b" * 64)
    assert entries.count() == 1
    (doc,) = entries.find(EntryFilters()).entries
    assert doc == DOCS[0]  # the stored document comes back whole


def test_the_entries_command_lists_and_exports(tmp_path: Path):
    import csv
    import io
    import json

    from openpyxl import load_workbook

    from abhilekh.settings import Settings
    from tests.test_cli import run

    home = tmp_path / "home"
    idx = open_entries(Settings(home=home, es_url=None, s3_endpoint=None))
    try:
        idx.rebuild(DOCS)
    finally:
        idx.close()
    out = run(["entries", "--section", "379", "--crime-year", "2017", "--thana", "Tirwa", "--json"], home)
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["total"] == 1 and body["entries"][0]["values"]["crime_no"] == "12/2017"
    csv_path, xlsx_path = tmp_path / "e.csv", tmp_path / "e.xlsx"
    out = run(["entries", "--words", "रमेश", "--csv", str(csv_path), "--xlsx", str(xlsx_path)], home)
    assert out.returncode == 0, out.stderr
    rows = list(csv.reader(io.StringIO(csv_path.read_bytes().decode("utf-8-sig"))))
    assert len(rows) == 3 and rows[0][4] == "क्रम सं0 / Serial"
    assert {r[9] for r in rows[1:]} == {"रमेश यादव", "रमेश"}  # Devanagari intact
    sheet = [[c.value for c in r] for r in load_workbook(xlsx_path).active.iter_rows()]
    assert len(sheet) == 3 and sheet[0][4] == "क्रम सं0 / Serial"
    assert "रमेश यादव" in {c for r in sheet for c in r}
