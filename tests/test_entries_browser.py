"""Register entries in a real headless Chromium: the charts page, a bar's link, the
export, and a search hit's entry opening the viewer with its row boxed."""

from __future__ import annotations

from tests.test_browser import PASSWORDS, _fetch, _wait, browser, server  # noqa: F401  (fixtures)
from tests.test_entries_web import with_entries  # noqa: F401  (fixture)
from tests.test_web import fast_hashing, home  # noqa: F401  (fixtures)


def _log_in(d, server: str, name: str) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    d.get(server + "/")
    _wait(d, lambda d: "/login" in d.current_url)
    d.find_element(By.ID, "username").send_keys(name)
    d.find_element(By.ID, "password").send_keys(PASSWORDS[name])
    d.find_element(By.ID, "login").click()
    _wait(d, lambda d: d.find_elements(By.ID, "q"))


def test_charts_links_export_and_the_entry_on_a_hit(server: str, browser, with_entries) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    d = browser
    _log_in(d, server, "sita")
    d.get(server + "/entries")
    _wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "svg rect.bar"))
    # bars are drawn (a real width on screen), their numbers beside them
    widths = d.execute_script("return [...document.querySelectorAll('svg rect.bar')].map(r => r.getBoundingClientRect().width)")
    assert widths and all(w > 0 for w in widths)
    link = d.find_element(By.CSS_SELECTOR, 'svg a[href="/entries?section=379"]')
    d.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", link)
    _wait(d, lambda d: "section=379" in d.current_url)
    rows = [r.text for r in d.find_elements(By.CSS_SELECTOR, "table.entries tr.entry")]
    assert len(rows) == 2 and any("123/2019" in r for r in rows)
    xlsx = d.find_element(By.LINK_TEXT, "XLSX").get_attribute("href")
    got = _fetch(d, xlsx)
    assert got["status"] == 200 and got["head"].startswith("PK")  # a zip: the workbook

    d.get(server + "/?q=123%2F2019")
    _wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "table.entries tr.entry a"))
    d.find_element(By.CSS_SELECTOR, "table.entries tr.entry a").click()
    _wait(d, lambda d: "entry=1" in d.current_url)
    _wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "rect.row-box"))
