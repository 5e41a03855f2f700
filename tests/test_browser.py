"""The web page in a real headless Chromium (Debian's chromium + chromium-driver).

A real uvicorn server on a free 127.0.0.1 port, in a thread; Selenium drives
/usr/bin/chromium through /usr/bin/chromedriver (no browser or driver downloads:
Selenium Manager is kept offline). Without Chromium the test skips, or fails when
ABHILEKH_REQUIRE_SERVERS=1 (CI).
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from abhilekh.settings import Settings
from tests.test_web import PASSWORDS, fast_hashing, home  # noqa: F401  (fixtures)

CHROMIUM = os.environ.get("ABHILEKH_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("ABHILEKH_CHROMEDRIVER", "/usr/bin/chromedriver")
REQUIRE = os.environ.get("ABHILEKH_REQUIRE_SERVERS") == "1"

pytestmark = pytest.mark.browser


def _need_browser() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not (Path(p).exists() or shutil.which(p))]
    if missing:
        message = (f"{', '.join(missing)} missing: apt-get install chromium chromium-driver "
                   "to run the browser tests")
        if REQUIRE:
            pytest.fail(message)
        pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(home: Settings) -> Iterator[str]:  # noqa: F811
    import uvicorn

    from web.app import create_app

    port = _free_port()
    config = uvicorn.Config(create_app(home), host="127.0.0.1", port=port, log_level="warning",
                            server_header=False)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[object]:
    _need_browser()
    os.environ["SE_OFFLINE"] = "true"  # never let Selenium Manager fetch anything
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="abhilekh-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}", "--window-size=1280,1000", "--lang=hi"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _wait(driver, condition, timeout: float = 10.0):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def _fetch(driver, url: str) -> dict:
    """GET `url` from inside the page (same origin, with the session cookie)."""
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {credentials: 'same-origin'}).then(async r => {"
        "  const b = new Uint8Array(await r.arrayBuffer());"
        "  done({status: r.status, type: r.headers.get('content-type'),"
        "        head: String.fromCharCode(...b.slice(0, 5))});"
        "}).catch(e => done({status: -1, type: String(e), head: ''}));",
        url,
    )


def test_log_in_search_filter_open_log_out(server: str, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    d = browser
    d.get(server + "/")
    # Not logged in: the log-in page, bilingual.
    _wait(d, lambda d: "/login" in d.current_url)
    assert "उपयोगकर्ता नाम" in d.page_source and "User name" in d.page_source
    d.find_element(By.ID, "username").send_keys("sita")
    d.find_element(By.ID, "password").send_keys("wrong-password")
    d.find_element(By.ID, "login").click()
    _wait(d, lambda d: "Wrong user name or password" in d.page_source)
    d.find_element(By.ID, "password").send_keys(PASSWORDS["sita"])
    d.find_element(By.ID, "login").click()
    _wait(d, lambda d: d.find_elements(By.ID, "q"))
    assert "sita" in d.find_element(By.CSS_SELECTOR, ".who").text

    # Search.
    box = d.find_element(By.ID, "q")
    box.send_keys("धारा 379")
    box.submit()
    _wait(d, lambda d: len(d.find_elements(By.CSS_SELECTOR, "li.hit")) == 2)
    assert d.find_elements(By.CSS_SELECTOR, "li.hit mark")
    # The hit thumbnails are real images from the server.
    _wait(d, lambda d: d.execute_script(
        "return [...document.querySelectorAll('li.hit img')].some(i => i.complete && i.naturalWidth > 0)"))

    # Filter by station: choosing it submits the form (app.js).
    Select(d.find_element(By.NAME, "thana")).select_by_value("छिबरामऊ")
    _wait(d, lambda d: "thana=" in d.current_url and len(d.find_elements(By.CSS_SELECTOR, "li.hit")) == 1)
    hit = d.find_element(By.CSS_SELECTOR, "li.hit")
    assert "123/2019" in hit.text

    # Open the hit: the page viewer, with the PDF at that page.
    hit.find_element(By.CSS_SELECTOR, "a.open").click()
    _wait(d, lambda d: "/pages/2" in d.current_url)
    frame = d.find_element(By.CSS_SELECTOR, "iframe.pdf")
    src = frame.get_attribute("src")
    assert src.endswith("/document.pdf?page=2#page=2")
    pdf = _fetch(d, src)
    assert pdf == {"status": 200, "type": "application/pdf", "head": "%PDF-"}

    # Log out: the session is gone, the PDF link with it.
    d.find_element(By.ID, "logout").click()
    _wait(d, lambda d: "/login" in d.current_url)
    after = _fetch(d, src.split("#")[0])
    assert after["type"] != "application/pdf" and after["head"] != "%PDF-"
    d.get(server + "/?q=रमेश")
    _wait(d, lambda d: "/login" in d.current_url)
