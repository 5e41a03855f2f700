"""Entries on the web: /api/entries (JSON, CSV, XLSX) inside the user's stations, and a
search hit on a register showing its entry."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from abhilekh.records import PageText, Word
from abhilekh.settings import Settings
from search.entries import EntryDocument, open_entries
from storage.bundles import save_page
from storage.local import LocalStore
from tests.test_web import CHHIBRAMAU, CR, GD, KANNAUJ, anon, client, fast_hashing, home, login  # noqa: F401

ENTRIES = [
    EntryDocument(GD, 2, 1, "row", [10, 100, 2000, 300],
                  {"crime_no": "123/2019", "sections": "379", "act": "IPC", "station": "छिबरामऊ",
                   "complainant.name": "रमेश यादव", "vehicle": "UP78AB1234", "outcome": "charge_sheet"},
                  {}, {}, CHHIBRAMAU),
    EntryDocument(GD, 2, 2, "row", [10, 300, 2000, 500],
                  {"crime_no": "124/2019", "sections": "323,504", "act": "IPC", "station": "छिबरामऊ",
                   "complainant.name": "श्याम लाल"}, {}, {}, CHHIBRAMAU),
    EntryDocument(CR, 1, 1, "row", [10, 100, 2000, 300],
                  {"crime_no": "7/2018", "sections": "379", "act": "IPC", "station": "कन्नौज",
                   "accused.name": "सुरेश कुमार"}, {}, {}, KANNAUJ),
]


@pytest.fixture(autouse=True)
def with_entries(home: Settings) -> None:  # noqa: F811
    idx = open_entries(home)
    try:
        idx.rebuild(ENTRIES)
    finally:
        idx.close()
    # the page record the viewer boxes from
    words = [Word("123/2019", 150, 120, 200, 40, 90.0, 1), Word("रमेश", 900, 120, 120, 40, 90.0, 1)]
    save_page(LocalStore(home.store_dir), PageText(GD, 2, "gd-001.tif", 2, "123/2019 रमेश", 90.0, False, 2480, 3508,
                                                   300, words=words))


def test_api_lists_and_filters_entries(client: TestClient) -> None:  # noqa: F811
    r = client.get("/api/entries", params={"section": "379"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 2 and body["facets"]["section"]["379"] == 2
    # bundle, page, row order
    want = [e.values["crime_no"] for e in sorted(ENTRIES, key=lambda e: (e.bundle_id, e.page, e.index))
            if "379" in e.values["sections"].split(",")]
    assert [e["values"]["crime_no"] for e in body["entries"]] == want
    assert client.get("/api/entries", params={"crime_year": 2019, "thana": "Chhibramau"}).json()["total"] == 2
    assert client.get("/api/entries", params={"outcome": "charge_sheet"}).json()["total"] == 1
    assert client.get("/api/entries", params={"outcome": "nonsense"}).status_code == 422


def test_station_scope_applies_to_entries(anon: TestClient) -> None:  # noqa: F811
    ram = login(anon, "ram")  # officer of छिबरामऊ only
    body = ram.get("/api/entries", params={"section": "379"}).json()
    assert body["total"] == 1 and body["entries"][0]["bundle_id"] == GD
    assert ram.get("/api/entries", params={"thana": "कन्नौज"}).json()["total"] == 0


def test_export_keeps_devanagari(client: TestClient) -> None:  # noqa: F811
    r = client.get("/api/entries", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    text = r.content.decode("utf-8-sig")
    assert "रमेश यादव" in text and "मु0अ0सं0 / Crime No." in text and text.count("\n") == 4
    x = client.get("/api/entries", params={"format": "xlsx", "section": "379"})
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(x.content)).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert len(values) == 3 and any("सुरेश कुमार" in (v or "") for row in values for v in row if isinstance(v, str))


def test_a_search_hit_shows_its_entry(client: TestClient) -> None:  # noqa: F811
    html = client.get("/", params={"q": "123/2019"}).text
    assert '<table class="entries">' in html
    block = html.split('<table class="entries">', 1)[1].split("</table>", 1)[0]
    assert "123/2019" in block and "रमेश यादव" in block
    assert "124/2019" not in block  # the page's other entry does not match the query
    # a query no entry shares a word with shows none
    assert '<table class="entries">' not in client.get("/", params={"q": "गश्त"}).text


def test_the_viewer_boxes_the_entry_row(client: TestClient) -> None:  # noqa: F811
    html = client.get("/", params={"q": "123/2019"}).text
    link = html.split('<table class="entries">', 1)[1].split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert link.endswith("&entry=1")
    page = client.get(link).text
    # the entry's box (10, 100)-(2000, 300), not only the lines holding the query's words
    assert '<rect class="row-box" x="10" y="100" width="1990" height="200">' in page


def test_the_entries_page_charts_counts_with_links(client: TestClient) -> None:  # noqa: F811
    html = client.get("/entries").text
    assert "रजिस्टर प्रविष्टियाँ" in html and "Register entries" in html
    # one bar per section, its number beside it, the bar a link to its entries
    assert html.count('<rect class="bar"') >= 4  # sections 379, 323, 504 + years + stations + outcome
    assert 'href="/entries?section=379"' in html
    narrowed = client.get("/entries", params={"section": "379"}).text
    assert "123/2019" in narrowed and "7/2018" in narrowed and "124/2019" not in narrowed
    assert 'href="/api/entries?section=379&amp;format=xlsx"' in narrowed


def test_the_entries_page_counts_inside_the_users_stations(anon: TestClient) -> None:  # noqa: F811
    html = login(anon, "ram").get("/entries", params={"section": "379"}).text  # छिबरामऊ only
    assert "123/2019" in html and "7/2018" not in html
    assert "कन्नौज" not in html.split('<div class="charts">', 1)[1]


def test_a_damaged_entries_index_costs_the_search_page_nothing(home: Settings) -> None:  # noqa: F811
    from fastapi.testclient import TestClient as Client

    from web.app import create_app

    path = home.index_path.with_name(home.index_path.stem + "-entries.sqlite")
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"not a database" * 100)
    with Client(create_app(home)) as c:
        login(c, "admin")
        r = c.get("/", params={"q": "123/2019"})
        assert r.status_code == 200 and '<li class="hit' in r.text and '<table class="entries">' not in r.text
        api = c.get("/api/entries")
        assert api.status_code == 503 and "reindex" in api.json()["detail"]
