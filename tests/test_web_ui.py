"""Issue 15: the page officers would choose, with the real app and its real index/store."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from abhilekh.settings import Settings
from tests.test_web import CR, GD, fast_hashing, home, login  # noqa: F401  (fixtures)
from web.app import create_app


@pytest.fixture
def admin(home: Settings):  # noqa: F811
    with TestClient(create_app(home)) as c:
        yield login(c, "admin")


def test_home_page_browses_before_any_search(admin: TestClient) -> None:
    html = admin.get("/").text
    # The filters already list what is stored, with counts of files (item 2).
    thana = re.search(r'<select name="thana">(.*?)</select>', html, re.S).group(1)
    assert "छिबरामऊ (1 " in thana and "कन्नौज (1 " in thana
    # The browse lists link to a filter-only search, which finds that station's pages.
    assert 'href="/?thana=%E0%A4%95%E0%A4%A8%E0%A5%8D%E0%A4%A8%E0%A5%8C%E0%A4%9C"' in html
    r = admin.get("/", params={"thana": "कन्नौज"})
    assert "<strong>25</strong>" in r.text
    # The list of files, sorted and paged.
    files = admin.get("/bundles", params={"sort": "pages"}).text
    assert files.index("अपराध रजिस्टर 2018") < files.index("जनरल डायरी 2019")
    assert admin.get("/bundles", params={"thana": "छिबरामऊ"}).text.count('class="title"') == 1


def test_back_to_search_keeps_query_filters_and_offset(admin: TestClient) -> None:
    html = admin.get("/", params={"q": "गश्त", "thana": "कन्नौज", "offset": "10"}).text
    link = re.search(r'<a class="open" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    page = admin.get(link).text
    back = re.search(r'<a id="back" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert back.startswith("/?") and "offset=10" in back
    assert "q=गश्त" in unquote(back.replace("+", " ")) and "thana=कन्नौज" in unquote(back)
    # next/previous page keep it too, and a foreign back link is dropped
    nxt = re.search(r'id="next-page" href="([^"]+)"', page)
    assert nxt is None or "back=" in nxt.group(1)
    evil = admin.get(f"/bundles/{GD}/pages/1", params={"back": "https://evil.example/"}).text
    assert 'id="back" href="/"' in evil


def test_offset_past_the_end_goes_to_the_last_page(admin: TestClient) -> None:
    r = admin.get("/", params={"q": "गश्त", "offset": "500"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("offset=20")
    html = admin.get(r.headers["location"]).text
    assert "(21–23)" in html and "3 / 3" in html


def test_filters_do_not_submit_themselves_and_links_are_named(admin: TestClient) -> None:
    html = admin.get("/", params={"q": "धारा 379"}).text
    assert "autosubmit" not in html and 'id="apply"' in html  # WCAG 3.2.2
    js = admin.get("/static/app.js").text
    assert "submit()" not in js
    for link in re.findall(r'<a class="thumb"[^>]*>', html):
        assert 'tabindex="-1"' in link and 'aria-hidden="true"' in link
    for link in re.findall(r'<a class="(?:open|pdf)"[^>]*>', html):
        assert "aria-label=" in link
    # The account bar (Log out) comes after the search form in the page.
    assert html.index('id="q"') < html.index('id="logout"')


def test_no_results_offers_a_way_out(admin: TestClient) -> None:
    html = admin.get("/", params={"q": "रमेश यादव", "thana": "कन्नौज"}).text
    assert 'id="no-results"' in html and 'id="remove-filters"' in html
    assert "— 1 " in html  # without the filter the words find one page
    html = admin.get("/", params={"q": "रमेश क्षक्षक्षत्र"}).text
    suggestion = re.search(r'id="suggestion" href="[^"]+">([^<]+)<', html)
    assert suggestion and suggestion.group(1) == "रमेश"


def test_examples_find_something(admin: TestClient) -> None:
    html = admin.get("/").text
    examples = re.findall(r'<p class="examples">(.*?)</p>', html, re.S)[0]
    links = re.findall(r'href="([^"]+)"', examples)
    assert links
    for link in links:
        assert "<strong>0</strong>" not in admin.get(link.replace("&amp;", "&")).text


def test_language_choice_is_remembered(admin: TestClient) -> None:
    r = admin.get("/lang", params={"to": "en", "next": "/?q=x"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/?q=x"
    html = admin.get("/").text
    assert '<html lang="en">' in html and "Search" in html and "खोजें" not in html
    admin.get("/lang", params={"to": "hi"})
    html = admin.get("/").text
    assert '<html lang="hi">' in html and "खोजें" in html and ">Search<" not in html and "/ Search" not in html
    admin.get("/lang", params={"to": "both"})
    html = admin.get("/").text
    assert "खोजें" in html and "/ Search" in html
    # never a redirect off the site
    assert admin.get("/lang", params={"to": "hi", "next": "//evil"}, follow_redirects=False).headers["location"] == "/"


def test_language_is_remembered_per_user_not_per_browser(home: Settings) -> None:  # noqa: F811
    """Issue 15: the choice goes with the user: another browser (no cookie) that logs in
    as that user reads their language; the log-in page, before anyone is known, reads
    only this browser's cookie; another user on the first browser keeps their own."""
    with TestClient(create_app(home)) as first:
        login(first, "admin")
        first.get("/lang", params={"to": "en"})
    with TestClient(create_app(home)) as fresh:  # a new browser: no language cookie
        assert "abhilekh_lang" not in fresh.cookies
        html = fresh.get("/login").text
        assert "लॉग-इन" in html and "/ Log in" in html  # nobody known yet: both languages
        login(fresh, "admin")
        html = fresh.get("/").text
        assert '<html lang="en">' in html and "खोजें" not in html
        assert "abhilekh_lang" not in fresh.cookies  # from the user, not a cookie
    with TestClient(create_app(home)) as shared:  # one browser, two users
        login(shared, "ram")
        shared.get("/lang", params={"to": "hi"})
        assert ">Search<" not in shared.get("/").text
        shared.cookies.delete("abhilekh_session")
        login(shared, "admin")  # the cookie says hi; the admin chose en
        html = shared.get("/").text
        assert '<html lang="en">' in html and "खोजें" not in html


def test_users_file_of_an_older_release_gains_the_language_column(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    from access.users import UserError, UserStore

    path = tmp_path / "users.sqlite3"
    db = sqlite3.connect(path)
    db.executescript("""CREATE TABLE users (name TEXT PRIMARY KEY, role TEXT NOT NULL CHECK (role IN
        ('officer', 'operator', 'admin')), password_hash TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL);
        INSERT INTO users VALUES ('old', 'officer', 'x', 0, 0);""")
    db.close()
    users = UserStore(path)
    assert users.get("old").lang == ""  # type: ignore[union-attr]
    assert users.set_lang("old", "hi").lang == "hi"
    with pytest.raises(UserError):
        users.set_lang("old", "fr")
    users.close()
    users = UserStore(path)  # opened again: nothing to add, the choice kept
    assert users.get("old").lang == "hi"  # type: ignore[union-attr]
    users.close()


def test_large_page_image_for_the_viewer_with_etag(admin: TestClient) -> None:
    page = admin.get(f"/bundles/{GD}/pages/1").text
    assert f'src="/bundles/{GD}/pages/1/large.jpg"' in page and 'id="zoom-view"' in page
    r = admin.get(f"/bundles/{GD}/pages/1/large.jpg")
    assert r.status_code == 200 and r.content[:3] == b"\xff\xd8\xff"
    import io

    from PIL import Image
    assert max(Image.open(io.BytesIO(r.content)).size) == 1600  # not the 200-px preview
    again = admin.get(f"/bundles/{GD}/pages/1/large.jpg", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304


def test_large_image_keeps_the_station_scope(home: Settings) -> None:  # noqa: F811
    with TestClient(create_app(home)) as c:
        login(c, "ram")  # छिबरामऊ only
        assert c.get(f"/bundles/{CR}/pages/1/large.jpg").status_code == 403


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def test_users_page_grants_only_known_stations_as_spelt(home: Settings) -> None:  # noqa: F811
    from abhilekh.records import BundleMetadata
    from access.users import UserStore
    from storage.bundles import Manifest, SourceFile, save_manifest
    from storage.local import LocalStore

    # a station stored in Latin letters, to grant in another case
    save_manifest(LocalStore(home.store_dir), Manifest(
        bundle_id="ab" * 32, metadata=BundleMetadata(thana="Tirwa", register="GD", year=2020),
        sources=[SourceFile("a.tif", "2" * 64, 10, pages=1)], page_count=1, page_confidence=[90.0],
        needs_review=[], versions={}, created_at="2024-01-01T00:00:00+00:00"))
    with TestClient(create_app(home)) as c:
        login(c, "admin")
        html = c.get("/admin/users").text
        # one form per action, stations ticked from a list
        assert 'value="grant"' in html and 'value="revoke"' in html and 'value="password"' in html
        assert 'name="stations" value="Tirwa"' in html
        r = c.post("/admin/users", data={"csrf": _csrf(html), "action": "grant", "name": "ram", "stations": "Tirvaa"})
        assert r.status_code == 400
        assert "अज्ञात थाना: Tirvaa" in r.text and "unknown station Tirvaa" in r.text
        r = c.post("/admin/users", data={"csrf": _csrf(html), "action": "grant", "name": "ram", "stations": "tirwa"})
        assert r.status_code == 200 and "थाना दिया" in r.text and "stations granted" in r.text
        r = c.post("/admin/users", data={"csrf": _csrf(html), "action": "password", "name": "ram", "password": "x"})
        assert r.status_code == 400 and "पासवर्ड में कम से कम" in r.text
    users = UserStore(home.users_path)
    try:
        assert sorted(users.get("ram").stations) == ["Tirwa", "छिबरामऊ"]
    finally:
        users.close()


def test_audit_page_titles_local_time_and_filtered_export(admin: TestClient) -> None:
    admin.get(f"/bundles/{GD}/pages/1")
    admin.get("/", params={"q": "धारा 379"})
    html = admin.get("/admin/audit", params={"action": "view_page"}).text
    assert "जनरल डायरी 2019" in html and f'title="{GD}:1"' in html
    assert f">{GD}" not in html  # never the 64 characters on screen
    assert " IST</time>" in html and " UTC</span>" in html
    csv_link = re.search(r'id="export-csv" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "action=view_page" in csv_link
    body = admin.get(csv_link).text
    lines = body.strip().splitlines()
    assert len(lines) >= 2 and all(",view_page," in line for line in lines[1:])
    data = admin.get(csv_link.replace("format=csv", "format=json")).json()
    assert data and {d["action"] for d in data} == {"view_page"}


def test_quarantined_file_reasons_are_bilingual(home: Settings) -> None:  # noqa: F811
    from storage.bundles import load_manifest, save_manifest
    from storage.local import LocalStore

    store = LocalStore(home.store_dir)
    m = load_manifest(store, GD)
    m.errors = [{"file": "truth.json", "reason": "unsupported file type: it is JSON text, not a scan; "
                 "supply TIFF, JPEG, PNG or a scanned PDF"}]
    save_manifest(store, m)
    with TestClient(create_app(home)) as c:
        login(c, "ram")
        html = c.get(f"/bundles/{GD}").text
        assert "असमर्थित फ़ाइल प्रकार: यह JSON text है" in html and "unsupported file type" in html


def test_review_queue_correction_changes_what_search_finds(home: Settings) -> None:  # noqa: F811
    from access.review import ReviewStore, review_path

    with TestClient(create_app(home)) as c:
        login(c, "ram")  # छिबरामऊ: GD page 2 is flagged for review (42 %)
        queue = c.get("/review").text
        assert f'href="/review/{GD}/2"' in queue and "42%" in queue
        assert f"/review/{CR}/" not in queue  # another station's pages are not listed
        form = c.get(f"/review/{GD}/2").text
        assert f'src="/bundles/{GD}/pages/2/large.jpg"' in form and 'name="line"' in form
        assert c.get("/", params={"q": "भैंस"}).text.count('<li class="hit') == 0
        r = c.post(f"/review/{GD}/2", data={"csrf": _csrf(form), "line": ["मु0अ0सं0 123/2019 धारा 379",
                                                                          "भैंस चोरी की सूचना"]},
                   follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/bundles/{GD}/pages/2?saved=1"
        # at once in the search, and the words OCR read are gone from this page
        html = c.get("/", params={"q": "भैंस"}).text
        assert html.count('<li class="hit') == 1 and f"/bundles/{GD}/pages/2" in html
        assert c.get("/", params={"q": "मोटरसाइकिल"}).text.count('<li class="hit') == 0
        page = c.get(r.headers["location"]).text
        assert 'id="corrected-by"' in page and "ram" in page and 'id="saved"' in page
        assert "✓" in c.get("/review").text
        # an officer of another station may not correct it
        c.post("/api/logout")
    with TestClient(create_app(home)) as c:
        login(c, "admin")
        log = c.get("/admin/audit", params={"action": "correct"}).text
        assert "version 1" in log
    store = ReviewStore(review_path(home.home))
    try:
        assert [v.reviewer for v in store.history(GD, 2)] == ["ram"]
    finally:
        store.close()


def test_review_is_station_scoped_and_refuses_empty_text(home: Settings) -> None:  # noqa: F811
    with TestClient(create_app(home)) as c:
        login(c, "ram")
        assert c.get(f"/review/{CR}/1").status_code == 403
        form = c.get(f"/review/{GD}/1").text
        assert c.post(f"/review/{CR}/1", data={"csrf": _csrf(form), "line": "x"}).status_code == 403
        r = c.post(f"/review/{GD}/1", data={"csrf": _csrf(form), "line": ["", " "]})
        assert r.status_code == 400 and "ख़ाली" in r.text


def test_reindex_keeps_corrections(home: Settings) -> None:  # noqa: F811
    """What `abhilekh reindex` rebuilds from storage, with the corrections applied."""
    from abhilekh.records import SearchDocument
    from access.review import ReviewStore, corrected_documents, review_path
    from tests.test_web import CHHIBRAMAU

    store = ReviewStore(review_path(home.home))
    try:
        store.save(GD, 2, "पहला", "ram")
        store.save(GD, 2, "दूसरा सुधार", "sita")
        docs = [SearchDocument(GD, 1, "ocr one", CHHIBRAMAU, 90.0),
                SearchDocument(GD, 2, "ocr two", CHHIBRAMAU, 42.0, needs_review=True)]
        out = list(corrected_documents(docs, store))
    finally:
        store.close()
    assert out[0] == docs[0]
    assert out[1].text == "दूसरा सुधार" and not out[1].needs_review and out[1].confidence == 100.0


def test_rebuilt_index_gets_the_corrections_back(home: Settings) -> None:  # noqa: F811
    """`abhilekh reindex` rebuilds from storage (OCR's text), then web.corrections.reapply."""
    from abhilekh.records import SearchFilters
    from access.review import ReviewStore, review_path
    from search.sqlite import SqliteIndex
    from tests.test_web import _docs
    from web.corrections import reapply

    store = ReviewStore(review_path(home.home))
    try:
        store.save(GD, 2, "भैंस चोरी", "ram")
    finally:
        store.close()
    index = SqliteIndex(home.index_path)
    try:
        index.rebuild(_docs())  # what storage holds: OCR's reading
        assert index.search("भैंस", SearchFilters()).total == 0
        assert reapply(home) == 1
        hits = index.search("भैंस", SearchFilters()).hits
        assert [(h.bundle_id, h.page) for h in hits] == [(GD, 2)]
        assert index.search("मोटरसाइकिल", SearchFilters()).total == 0
    finally:
        index.close()


def test_review_list_and_export_on_the_command_line(home: Settings, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    import json as jsonlib

    from typer.testing import CliRunner

    from access.review import ReviewStore, review_path
    from cli.app import app

    store = ReviewStore(review_path(home.home))
    try:
        store.save(GD, 2, "पहला सुधार", "ram")
        store.save(GD, 2, "दूसरा सुधार", "sita")
    finally:
        store.close()
    # The command reads the settings in force: activate this home's (embedded store,
    # no servers) rather than the environment's, which under scripts/test names MinIO
    # and Elasticsearch and is cached for the process by an earlier test.
    monkeypatch.setattr("abhilekh.settings._active", home)  # as activate(home); undone after the test
    runner = CliRunner()
    listed = runner.invoke(app, ["review", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = jsonlib.loads(listed.output)
    assert [(r["bundle_id"], r["page"], r["corrected_by"], r["version"]) for r in rows] == [(GD, 2, "sita", 2)]
    exported = runner.invoke(app, ["review", "export", "--all"])
    assert [c["text"] for c in jsonlib.loads(exported.output)] == ["पहला सुधार", "दूसरा सुधार"]


def test_saved_searches_are_per_user(home: Settings) -> None:  # noqa: F811
    with TestClient(create_app(home)) as c:
        login(c, "ram")
        html = c.get("/", params={"q": "रमेश", "thana": "छिबरामऊ"}).text
        r = c.post("/saved", data={"csrf": _csrf(html), "name": "रमेश छिबरामऊ",
                                   "url": re.search(r'name="url" value="([^"]+)"', html).group(1).replace("&amp;", "&")},
                   follow_redirects=False)
        assert r.status_code == 303 and "saved=1" in r.headers["location"]
        home_page = c.get("/").text
        link = re.search(r'<section class="saved".*?<a href="([^"]+)">रमेश छिबरामऊ</a>', home_page, re.S)
        assert link and "thana=" in link.group(1)
        # only this site's search page may be saved
        c.post("/saved", data={"csrf": _csrf(html), "name": "evil", "url": "https://evil.example/"})
        assert "evil" not in c.get("/").text
    with TestClient(create_app(home)) as c:
        login(c, "sita")
        assert "रमेश छिबरामऊ" not in c.get("/").text


DEVANAGARI = re.compile("[\u0900-\u097f]")


def test_every_error_is_in_both_languages(home: Settings) -> None:  # noqa: F811
    """Issue 15: the framework's own refusals (a wrong method, a malformed parameter,
    a wrong content type) and an unexpected failure read in Hindi and English, on pages
    and in the API, instead of FastAPI's English JSON."""
    app = create_app(home)

    def boom() -> None:  # a route that fails the way a bug would
        raise RuntimeError("something broke")

    app.add_api_route("/boom", boom)
    app.add_api_route("/api/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        login(c, "admin")
        checks = [
            (c.put("/"), 405, "Method not allowed"),
            (c.get("/api/search", params={"q": "x", "limit": "many"}), 422, "not valid"),
            (c.post("/api/search", content=b"q=x", headers={"content-type": "text/plain"}), 405, ""),
            (c.post("/api/login", content=b"x", headers={"content-type": "text/plain"}), 415, "Content-Type"),
            (c.get("/api/nothing-here"), 404, "not found"),
            (c.get("/boom"), 500, "tell the administrator"),
            (c.get("/api/boom"), 500, "tell the administrator"),
        ]
        for r, status, english in checks:
            assert r.status_code == status, (r.request.url, r.status_code, r.text[:200])
            text = r.json()["detail"] if r.request.url.path.startswith("/api/") else r.text
            assert DEVANAGARI.search(str(text)), (r.request.url, text)
            assert english.lower() in str(text).lower(), (r.request.url, text)
        assert "something broke" not in c.get("/boom").text  # the traceback is logged, not shown


def test_audit_page_names_actions_and_roles_in_both_languages(admin: TestClient) -> None:
    admin.get("/", params={"q": "धारा 379"})
    html = admin.get("/admin/audit").text
    assert "लॉग-इन" in html and "logged in" in html and 'title="login"' in html
    assert "(व्यवस्थापक / admin)" in html
    admin.get("/lang", params={"to": "en"})
    html = admin.get("/admin/audit").text
    assert "logged in" in html and "लॉग-इन" not in html.split("<tbody>")[1]


def test_users_page_refusals_are_in_both_languages(admin: TestClient) -> None:
    page = admin.get("/admin/users").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    for data, hindi in (({"action": "nonsense", "name": "ram"}, "अज्ञात कार्य"),
                        ({"action": "grant", "name": "ram"}, "कम से कम एक थाना चुनें"),
                        ({"action": "add", "name": "UPPER CASE!", "password": "x"}, "उपयोगकर्ता नाम")):
        r = admin.post("/admin/users", data={"csrf": csrf, **data})
        assert r.status_code == 400 and hindi in r.text, (data, r.text[-500:])


def test_catalog_reloads_once_when_many_ask_at_the_same_moment(home: Settings) -> None:  # noqa: F811
    """Under load the catalog's lapse made every concurrent search read every manifest
    (searches of 10 s). Now one thread reloads; the others get the previous lines."""
    import threading
    import time

    from storage.local import LocalStore
    from web.catalog import Catalog

    class CountingStore(LocalStore):  # the real store, counting the listings it is asked for
        listings = 0

        def list(self, *args, **kwargs):  # type: ignore[no-untyped-def, override]
            CountingStore.listings += 1
            time.sleep(0.2)  # a slow store: the threads below overlap
            return super().list(*args, **kwargs)

    store = CountingStore(home.store_dir)
    catalog = Catalog(ttl=0.5)
    assert len(catalog.all(store)) == 2
    per_load = CountingStore.listings
    time.sleep(0.6)  # lapsed
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(len(catalog.all(store)))) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [2] * 12
    assert CountingStore.listings == 2 * per_load, CountingStore.listings  # one reload, not twelve


@pytest.mark.parametrize("path", ["/entries", "/efiles", "/efiles/pendency", "/bundles"])
def test_every_page_reads_the_chosen_language(admin: TestClient, path: str) -> None:
    """Labels come from template globals that read the page's language, so pages whose
    template (or an included part) once imported the label macro without the context
    no longer show both languages to an officer who chose one."""
    admin.get("/lang", params={"to": "en"})
    html = admin.get(path).text
    assert '<span class="en only" lang="en">' in html
    assert '<span class="hi">' not in html
    admin.get("/lang", params={"to": "hi"})
    html = admin.get(path).text
    assert '<span class="hi">' in html and 'lang="en">/ ' not in html and '"en only"' not in html
