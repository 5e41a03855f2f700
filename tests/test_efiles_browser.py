"""The e-file pages in real headless Chromium (the harness of tests/test_browser.py):
inbox -> file page -> send with remarks -> the receiver's inbox -> receive, note,
close; an officer of another station sees that station's file by no list, URL or API.
At 1366x768 and at a phone's 390x844, with no page wider than the window."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from abhilekh.settings import Settings
from efiles.model import Actor
from efiles.service import open_efiles
from tests.test_browser import SIZES, _fetch, _size, _wait, browser, server  # noqa: F401  (fixtures)
from tests.test_web import CR, GD, PASSWORDS, fast_hashing, home  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

SITA = Actor.within("sita", ["छिबरामऊ", "कन्नौज"])


@pytest.fixture
def files(home: Settings) -> Iterator[None]:  # noqa: F811
    """Two files with sita (officer of both stations): GD-12 of छिबरामऊ, CR-7 of कन्नौज."""
    service = open_efiles(home)
    try:
        service.open(SITA, subject="जनरल डायरी 2019", station="छिबरामऊ", category="जी0डी0", year_from=2019,
                     file_no="GD-12")
        service.open(SITA, subject="अपराध रजिस्टर 2018", station="कन्नौज", year_from=2018, file_no="CR-7")
    finally:
        service.close()
    yield


def _log_in(d, server: str, name: str) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    d.delete_all_cookies()
    d.get(server + "/login")
    d.find_element(By.ID, "username").send_keys(name)
    d.find_element(By.ID, "password").send_keys(PASSWORDS[name])
    d.find_element(By.ID, "login").click()
    _wait(d, lambda d: d.find_elements(By.ID, "q"))


def _fits(d) -> None:
    width = d.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1] + 1, f"{d.current_url}: page {width[0]} px wide in a {width[1]} px window"


def _submit(d, form_id: str) -> None:
    from selenium.webdriver.common.by import By

    button = d.find_element(By.CSS_SELECTOR, f"#{form_id} button[type=submit]")
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    assert button.is_displayed() and button.size["width"] > 0
    old = d.find_element(By.ID, "efile")
    button.click()
    _wait(d, lambda d: "done=" in d.current_url and d.find_elements(By.ID, "efile") and
          d.find_element(By.ID, "efile") != old)


@pytest.mark.parametrize("size", list(SIZES))
def test_inbox_file_send_receive_note_close_and_no_other_station(files, server: str, browser, size: str) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    d = browser
    _size(d, size)
    _log_in(d, server, "sita")
    d.get(server + "/efiles")
    listed = [a.text for a in d.find_elements(By.CSS_SELECTOR, "#efile-list a")]
    assert set(listed) >= {"GD-12", "CR-7"}, listed
    _fits(d)

    d.find_element(By.LINK_TEXT, "GD-12").click()
    _wait(d, lambda d: d.find_elements(By.ID, "send-form"))
    assert d.find_element(By.ID, "holder").text == "sita"
    _fits(d)
    Select(d.find_element(By.CSS_SELECTOR, "#send-form select[name=to]")).select_by_value("ram")
    d.find_element(By.CSS_SELECTOR, "#send-form textarea[name=remarks]").send_keys("कृपया आख्या प्रस्तुत करें")
    _submit(d, "send-form")
    assert d.find_element(By.ID, "holder").text == "ram"
    assert "कृपया आख्या प्रस्तुत करें" in d.find_element(By.ID, "history").text

    _log_in(d, server, "ram")
    d.get(server + "/efiles")
    listed = [a.text for a in d.find_elements(By.CSS_SELECTOR, "#efile-list a")]
    assert listed == ["GD-12"], listed  # his inbox: the file sent, not कन्नौज's
    _fits(d)
    d.find_element(By.LINK_TEXT, "GD-12").click()
    _wait(d, lambda d: d.find_elements(By.ID, "receive-form"))
    _submit(d, "receive-form")
    d.find_element(By.CSS_SELECTOR, "#note-form textarea[name=text]").send_keys("गवाह के बयान पृष्ठ 3 पर — witness on p. 3")
    _submit(d, "note-form")
    assert "गवाह के बयान पृष्ठ 3 पर" in d.find_element(By.ID, "notes").text
    d.find_element(By.CSS_SELECTOR, "#close-form input[name=remarks]").send_keys("निस्तारित")
    _submit(d, "close-form")
    assert "closed" in d.find_element(By.ID, "status").text
    _fits(d)
    d.get(server + "/efiles?box=closed")
    assert [a.text for a in d.find_elements(By.CSS_SELECTOR, "#efile-list a")] == ["GD-12"]

    # CR-7 (कन्नौज) is not ram's: no list shows it, its URL and the API say not found.
    for box in ("inbox", "sent", "parked", "closed", "all"):
        d.get(f"{server}/efiles?box={box}")
        assert "CR-7" not in d.find_element(By.TAG_NAME, "main").text, box
    d.get(server + "/efiles/file?no=CR-7")
    assert not d.find_elements(By.ID, "efile") and "अपराध रजिस्टर 2018" not in d.page_source
    assert _fetch(d, server + "/efiles/file?no=CR-7")["status"] == 404
    assert _fetch(d, server + "/api/efiles/file?no=CR-7")["status"] == 404
    assert _fetch(d, server + "/api/efiles/file?no=GD-12")["status"] == 200  # the API works for his own
    assert _fetch(d, server + "/efiles/export?no=CR-7")["status"] == 404
