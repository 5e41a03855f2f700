"""The page viewer boxes the query's words on the page image (from pages/<n>.json)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from fastapi.testclient import TestClient

from abhilekh.records import PageText, Word
from abhilekh.settings import Settings
from access.audit import AuditLog
from ingest.thumbnail import make_thumbnail
from storage.bundles import save_page, thumb_key
from storage.local import LocalStore
from tests.test_browser import _wait, browser, server  # noqa: F401  (fixtures)
from tests.test_web import GD, PASSWORDS, anon, client, fast_hashing, home, login  # noqa: F401

# Page 1 of GD: "वादी रमेश यादव ..." as OCR'd, in a 2480 x 3508 frame; one hostile word.
WORDS = [("वादी", 200, 300), ("रमेश", 420, 300), ("यादव", 640, 300), ("पुत्र", 860, 300),
         ("<img/src/onerror=alert(1)>", 200, 400), ("रमेश", 420, 500)]


def _store_page(settings: Settings) -> None:
    store = LocalStore(settings.store_dir)
    save_page(store, PageText(
        bundle_id=GD, page=1, source="gd-001.tif", source_page=1,
        text=" ".join(w for w, _, _ in WORDS), confidence=91.0, needs_review=False,
        width=2480, height=3508,
        words=[Word(w, x, y, 180, 60, 90.0, i) for i, (w, x, y) in enumerate(WORDS)],
    ))
    img = np.full((3508, 2480), 255, np.uint8)
    store.put(thumb_key(GD, 1), make_thumbnail(img), "image/jpeg")


def _rects(html: str) -> list[tuple[int, ...]]:
    return [tuple(map(int, m)) for m in re.findall(
        r'<rect class="hit-box" x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)">', html)]


def test_hit_link_carries_the_query_and_the_viewer_boxes_its_words(home: Settings) -> None:
    from web.app import create_app

    _store_page(home)
    with TestClient(create_app(home)) as c:
        login(c, "ram")
        html = c.get("/", params={"q": "रमेश"}).text
        link = re.search(r'<a class="open" href="([^"]+)"', html).group(1)
        # the query, and the search to go back to (issue 15, item 3)
        q = "%E0%A4%B0%E0%A4%AE%E0%A5%87%E0%A4%B6"
        assert link == f"/bundles/{GD}/pages/1?q={q}&amp;back=%2F%3Fq%3D{q.replace('%', '%25')}"
        link = link.replace("&amp;", "&")
        page = c.get(link).text
        assert 'viewBox="0 0 2480 3508"' in page
        assert _rects(page) == [(420, 300, 180, 60), (420, 500, 180, 60)]
        assert 'data-count="2"' in page
        # A name: its words where they stand together, not the other रमेश (issue 11);
        # a Latin spelling of a Devanagari name marks it too.
        assert _rects(c.get(f"/bundles/{GD}/pages/1", params={"q": "रमेश यादव"}).text) == [
            (420, 300, 180, 60), (640, 300, 180, 60)]
        assert (420, 300, 180, 60) in _rects(c.get(f"/bundles/{GD}/pages/1",
                                                   params={"q": "Ramesh"}).text)
        # No query: no overlay; a query not on the page: says so, no boxes.
        assert "hit-boxes" not in c.get(f"/bundles/{GD}/pages/1").text
        none = c.get(f"/bundles/{GD}/pages/1", params={"q": "मोटरसाइकिल"}).text
        assert _rects(none) == [] and 'data-count="0"' in none
        # Prev/next keep the query.
        assert f'href="/bundles/{GD}/pages/2?q=' in page
    log = AuditLog(home.audit_path)
    try:
        views = [r for r in log.iter_all() if r.action == "view_page"]
        assert views[0].query == "रमेश" and views[0].target == f"{GD}:1"
    finally:
        log.close()


def test_the_viewer_boxes_the_matched_row_and_only_the_crime_number_asked_for(home: Settings) -> None:
    # issue 11: "मु0अ0सं0 245/2019" boxed 20 places (every crime-number and date cell)
    from web.app import create_app

    rows = [["२२४१", "२२४१/२०१९", "३७९", "०३-०६-२०१९", "सुरेश"],
            ["245", "245/2019", "379", "07-06-2019", "रमेश", "यादव"],
            ["२४६", "२४६/२०१९", "३८०", "०९-०६-२०१९", "दिनेश"]]
    words = [Word(w, 100 + 200 * k, 300 + 100 * line, 180, 60, 90.0, line)
             for line, row in enumerate(rows) for k, w in enumerate(row)]
    store = LocalStore(home.store_dir)
    save_page(store, PageText(bundle_id=GD, page=1, source="gd-001.tif", source_page=1,
                              text="\n".join(" ".join(r) for r in rows), confidence=91.0,
                              needs_review=False, width=2480, height=3508, words=words))
    store.put(thumb_key(GD, 1), make_thumbnail(np.full((3508, 2480), 255, np.uint8)), "image/jpeg")
    with TestClient(create_app(home)) as c:
        login(c, "ram")
        page = c.get(f"/bundles/{GD}/pages/1", params={"q": "मु0अ0सं0 245/2019"}).text
        assert _rects(page) == [(300, 400, 180, 60)]  # 245/2019 alone
        row = re.findall(r'<rect class="row-box" x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)">', page)
        assert [tuple(map(int, r)) for r in row] == [(100, 400, 1180, 60)]  # its whole row


def test_hostile_query_and_ocr_text_stay_text(client: TestClient, home: Settings) -> None:
    _store_page(home)
    q = '"><script>alert(1)</script><img/src/onerror=alert(1)>'
    page = client.get(f"/bundles/{GD}/pages/1", params={"q": q})
    assert page.status_code == 200
    assert "<script>alert(1)" not in page.text and "<img/src" not in page.text
    assert "&lt;script&gt;" in page.text


def test_page_without_stored_ocr_still_opens(client: TestClient) -> None:
    r = client.get(f"/bundles/{GD}/pages/2", params={"q": "धारा"})  # no pages/2.json
    assert r.status_code == 200 and "hit-boxes" not in r.text and "iframe" in r.text


@pytest.mark.browser
def test_browser_shows_the_boxes_over_the_page_image(home: Settings, server: str,  # noqa: F811
                                                     browser) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    _store_page(home)
    d = browser
    d.get(server + "/login")
    d.find_element(By.ID, "username").send_keys("ram")
    d.find_element(By.ID, "password").send_keys(PASSWORDS["ram"])
    d.find_element(By.ID, "login").click()
    _wait(d, lambda d: d.find_elements(By.ID, "q"))
    box = d.find_element(By.ID, "q")
    box.send_keys("रमेश")
    box.submit()
    _wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "li.hit a.open"))
    d.find_element(By.CSS_SELECTOR, "li.hit a.open").click()
    _wait(d, lambda d: "/pages/1?q=" in d.current_url)
    _wait(d, lambda d: d.execute_script(
        "const i = document.querySelector('.hit-frame img'); return i && i.complete && i.naturalWidth > 0"))
    # The boxes are drawn over the image, where the words are: the first रमेश is at
    # x 420/2480, y 300/3508 of the page.
    geo = d.execute_script("""
        const img = document.querySelector('.hit-frame img').getBoundingClientRect();
        return [...document.querySelectorAll('rect.hit-box')].map(r => {
          const b = r.getBoundingClientRect();
          return [(b.left - img.left) / img.width, (b.top - img.top) / img.height,
                  b.width / img.width, b.height / img.height];
        });""")
    assert len(geo) == 2
    left, top, width, height = geo[0]
    assert abs(left - 420 / 2480) < 0.01 and abs(top - 300 / 3508) < 0.01
    assert abs(width - 180 / 2480) < 0.01 and abs(height - 60 / 3508) < 0.01
    # Visible: the highlight has a fill, not just an outline nobody sees.
    fill = d.execute_script(
        "return getComputedStyle(document.querySelector('rect.hit-box')).fill")
    assert fill not in ("none", "", "rgba(0, 0, 0, 0)")
    # CSP holds: no inline style or script was needed.
    assert not d.find_elements(By.CSS_SELECTOR, "[style]")
