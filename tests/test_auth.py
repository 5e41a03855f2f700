"""Log-in, sessions, CSRF, throttling and station scope on the web page and the API."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from abhilekh.settings import Settings
from access.auth import cookie_secure
from tests.test_web import (  # noqa: F401  (fixtures)
    CR,
    GD,
    PASSWORDS,
    XSS,
    _hit_blocks,
    anon,
    client,
    fast_hashing,
    home,
    login,
)
from web.app import create_app


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]*)"', html)
    assert match, "no CSRF field in the form"
    return match.group(1)


def _form_login(c: TestClient, name: str, password: str, next_url: str = "/"):
    token = _csrf(c.get("/login").text)
    return c.post("/login", data={"username": name, "password": password, "csrf": token,
                                  "next": next_url}, follow_redirects=False)


# ------------------------------------------------------------------ no session


@pytest.mark.parametrize("path", ["/", "/?q=रमेश", f"/bundles/{GD}", f"/bundles/{GD}/pages/1",
                                  f"/bundles/{GD}/document.pdf", f"/bundles/{GD}/pages/1/thumb.jpg",
                                  "/admin/users", "/admin/audit", "/admin/audit/export"])
def test_pages_need_a_session(anon: TestClient, path: str) -> None:
    r = anon.get(path, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=")
    assert b"%PDF" not in r.content


def test_api_needs_a_session(anon: TestClient) -> None:
    r = anon.get("/api/search", params={"q": "धारा 379"})
    assert r.status_code == 401
    assert "Log-in required" in r.json()["detail"]
    # The health check is the one JSON route open without a session: it answers itself
    # (no redirect to /login, no 401) but tells an anonymous client only that it is up —
    # which index and store are in use is for an administrator (issue 17).
    health = anon.get("/healthz", follow_redirects=False)
    assert health.status_code == 200, health.text
    assert health.json() == {"ok": True}


def test_login_page_is_bilingual_and_redirects_back(anon: TestClient) -> None:
    html = anon.get("/login").text
    for hindi, english in [("लॉग-इन", "Log in"), ("उपयोगकर्ता नाम", "User name"),
                           ("पासवर्ड", "Password")]:
        assert hindi in html and english in html
    r = _form_login(anon, "ram", PASSWORDS["ram"], "/?q=रमेश")
    assert r.status_code == 303 and unquote(r.headers["location"]) == "/?q=रमेश"
    assert anon.get("/", params={"q": "रमेश"}).status_code == 200


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example",
                                    "javascript:alert(1)"])
def test_login_never_redirects_off_site(anon: TestClient, target: str) -> None:
    r = _form_login(anon, "ram", PASSWORDS["ram"], target)
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_wrong_password_is_refused_bilingually(anon: TestClient) -> None:
    r = _form_login(anon, "ram", "not-the-password")
    assert r.status_code == 401
    assert "नाम या पासवर्ड गलत है" in r.text and "Wrong user name or password" in r.text
    assert "abhilekh_session" not in r.headers.get("set-cookie", "")
    # An unknown user reads the same.
    r = _form_login(anon, "nobody", "whatever-123")
    assert r.status_code == 401 and "Wrong user name or password" in r.text


def test_username_echo_is_escaped(anon: TestClient) -> None:
    r = _form_login(anon, '"><script>alert(1)</script>', "x")
    assert "<script>alert(1)" not in r.text and "&lt;script&gt;" in r.text


def test_login_form_without_csrf_is_refused(anon: TestClient) -> None:
    anon.get("/login")
    r = anon.post("/login", data={"username": "ram", "password": PASSWORDS["ram"]},
                  follow_redirects=False)
    assert r.status_code == 403 and "reload the page" in r.text
    r = anon.post("/login", data={"username": "ram", "password": PASSWORDS["ram"],
                                  "csrf": "forged"}, follow_redirects=False)
    assert r.status_code == 403
    # Without the log-in cookie the token is worthless too.
    token = _csrf(anon.get("/login").text)
    anon.cookies.clear()
    r = anon.post("/login", data={"username": "ram", "password": PASSWORDS["ram"],
                                  "csrf": token}, follow_redirects=False)
    assert r.status_code == 403


def test_login_is_throttled_per_user_and_address(anon: TestClient, home: Settings) -> None:
    for _ in range(home.login_max_failures):
        assert _form_login(anon, "ram", "wrong-password").status_code == 401
    r = _form_login(anon, "ram", PASSWORDS["ram"])  # even the right password now
    assert r.status_code == 429
    assert "बहुत अधिक असफल प्रयास" in r.text and "Too many failed log-ins" in r.text
    api = anon.post("/api/login", json={"username": "ram", "password": PASSWORDS["ram"]})
    assert api.status_code == 429
    # Another user from the same address is not locked out.
    assert _form_login(anon, "sita", PASSWORDS["sita"]).status_code == 303


def test_successful_login_clears_failures(anon: TestClient, home: Settings) -> None:
    for _ in range(home.login_max_failures - 1):
        _form_login(anon, "ram", "wrong-password")
    assert _form_login(anon, "ram", PASSWORDS["ram"]).status_code == 303
    anon.cookies.clear()
    for _ in range(home.login_max_failures - 1):
        _form_login(anon, "ram", "wrong-password")
    assert _form_login(anon, "ram", PASSWORDS["ram"]).status_code == 303


# ------------------------------------------------------------------ cookies


def _set_cookie(r) -> str:
    return next(v for k, v in r.headers.multi_items()
                if k == "set-cookie" and v.startswith("abhilekh_session="))


def test_session_cookie_flags(anon: TestClient) -> None:
    cookie = _set_cookie(_form_login(anon, "ram", PASSWORDS["ram"]))
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "path", "max-age"} <= flags
    assert "samesite=lax" in cookie.lower()
    assert "secure" not in flags  # the test app listens on 127.0.0.1


def test_secure_cookie_off_loopback(home: Settings) -> None:
    assert cookie_secure(home) is False
    assert cookie_secure(home.model_copy(update={"host": "0.0.0.0"})) is True
    assert cookie_secure(home.model_copy(update={"host": "0.0.0.0", "cookie_secure": False})) is False
    secure = home.model_copy(update={"cookie_secure": True})
    with TestClient(create_app(secure), base_url="https://testserver") as c:
        r = c.post("/api/login", json={"username": "ram", "password": PASSWORDS["ram"]})
        assert "secure" in _set_cookie(r).lower().split("; ")


def test_forged_or_tampered_cookie_is_no_session(anon: TestClient) -> None:
    login(anon, "ram")
    value = anon.cookies["abhilekh_session"]
    token, mac = value.rsplit(".", 1)
    for forged in (token, f"{token}.AAAA", f"{token[:-1]}x.{mac}", "x" * 300):
        anon.cookies.clear()
        anon.cookies.set("abhilekh_session", forged)
        assert anon.get("/api/search", params={"q": "x"}).status_code == 401


def test_logout_needs_csrf_and_ends_the_session(anon: TestClient) -> None:
    _form_login(anon, "ram", PASSWORDS["ram"])
    old = anon.cookies["abhilekh_session"]
    html = anon.get("/").text
    assert "Log out" in html and "ram" in html
    r = anon.post("/logout", data={}, follow_redirects=False)
    assert r.status_code == 403
    r = anon.post("/logout", data={"csrf": _csrf(html)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    # The old cookie, replayed, is dead on the server.
    anon.cookies.set("abhilekh_session", old)
    assert anon.get("/", follow_redirects=False).status_code == 303
    assert anon.get("/api/search", params={"q": "x"}).status_code == 401


def test_api_login_and_logout(anon: TestClient) -> None:
    r = anon.post("/api/login", json={"username": "sita", "password": PASSWORDS["sita"]})
    assert r.status_code == 200
    assert r.json() == {"name": "sita", "role": "officer", "stations": ["कन्नौज", "छिबरामऊ"]}
    assert anon.get("/api/search", params={"q": "x"}).status_code == 200
    assert anon.post("/api/login", json={"username": "sita", "password": "bad"}).status_code == 401
    # A form post (what another site could make a browser send) is refused.
    r = anon.post("/api/login", data={"username": "sita", "password": PASSWORDS["sita"]})
    assert r.status_code in (415, 422)
    assert anon.post("/api/logout", data={"a": "b"}).status_code == 415
    assert anon.post("/api/logout", json={}).status_code == 204
    assert anon.get("/api/search", params={"q": "x"}).status_code == 401


def test_every_post_form_carries_a_csrf_token(client: TestClient) -> None:
    for path in ["/", "/?q=धारा 379", f"/bundles/{GD}", f"/bundles/{GD}/pages/1", "/admin/users",
                 "/admin/audit"]:
        html = client.get(path).text
        forms = re.findall(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", html, flags=re.S)
        assert forms, path
        for body in forms:
            assert re.search(r'name="csrf" value="[A-Za-z0-9_-]{20,}"', body), path


def test_admin_form_needs_csrf(client: TestClient) -> None:
    html = client.get("/admin/users").text
    data = {"action": "grant", "name": "ram", "stations": "कन्नौज"}
    assert client.post("/admin/users", data=data, follow_redirects=False).status_code == 403
    assert client.post("/admin/users", data={**data, "csrf": "x"},
                       follow_redirects=False).status_code == 403
    r = client.post("/admin/users", data={**data, "csrf": _csrf(html)}, follow_redirects=False)
    assert r.status_code == 303
    assert "कन्नौज, छिबरामऊ" in client.get("/admin/users").text


def test_admin_adds_a_user_who_can_log_in(client: TestClient, anon: TestClient) -> None:
    html = client.get("/admin/users").text
    r = client.post("/admin/users", data={
        "csrf": _csrf(html), "action": "add", "name": "mohan", "role": "officer",
        "password": "mohan-pass-1", "stations": "कन्नौज"}, follow_redirects=False)
    assert r.status_code == 303
    r = client.post("/admin/users", data={
        "csrf": _csrf(html), "action": "add", "name": "short", "role": "officer",
        "password": "x"})
    assert r.status_code == 400 and "at least 8" in r.text


def test_officers_cannot_open_admin_pages(anon: TestClient) -> None:
    login(anon, "ram")
    for path in ["/admin/users", "/admin/audit", "/admin/audit/export?format=json"]:
        r = anon.get(path)
        assert r.status_code == 403 and "Only administrators" in r.text
    assert anon.post("/admin/users", data={"action": "grant", "name": "ram",
                                           "stations": "कन्नौज"}).status_code == 403


def test_disabling_a_user_ends_their_session(client: TestClient, home: Settings) -> None:
    with TestClient(create_app(home)) as other:
        login(other, "ram")
        assert other.get("/api/search", params={"q": "x"}).status_code == 200
        client.post("/admin/users", data={"csrf": _csrf(client.get("/admin/users").text),
                                          "action": "disable", "name": "ram"})
        assert other.get("/api/search", params={"q": "x"}).status_code == 401
        assert other.post("/api/login", json={"username": "ram",
                                              "password": PASSWORDS["ram"]}).status_code == 401


# ------------------------------------------------------------------ station scope


def test_officer_sees_only_their_station(anon: TestClient) -> None:
    login(anon, "ram")  # छिबरामऊ only
    html = anon.get("/", params={"q": "धारा 379"}).text
    hits = _hit_blocks(html)
    assert len(hits) == 1 and "123/2019" in hits[0]
    assert "कन्नौज" not in html and "सुरेश" not in html
    assert "<strong>1</strong>" in html
    body = anon.get("/api/search", params={"q": "धारा 379"}).json()
    assert body["total"] == 1 and {h["bundle_id"] for h in body["hits"]} == {GD}
    assert body["facets"]["thana"] == {"छिबरामऊ": 1}
    assert body["facets"]["year"] == {"2019": 1}
    # Asking for the other station by filter gives nothing, not its pages.
    for params in ({"q": "धारा 379", "thana": "कन्नौज"}, {"thana": "कन्नौज"},
                   {"q": "गश्त"}, {"year": "2018"}, {"q": "alert"}):
        r = anon.get("/api/search", params=params).json()
        assert r["total"] == 0 and r["hits"] == [], params
        assert all(CR not in h["bundle_id"] for h in r["hits"])


@pytest.mark.parametrize("path", [
    f"/bundles/{CR}", f"/bundles/{CR}/pages/1", f"/bundles/{CR}/pages/1/thumb.jpg",
    f"/bundles/{CR}/document.pdf", f"/bundles/{CR}/document.pdf?page=3",
    f"/bundles/{CR}/document.pdf?download=1",
])
def test_officer_cannot_open_another_stations_bundle_by_url(anon: TestClient, path: str) -> None:
    login(anon, "ram")
    r = anon.get(path)
    assert r.status_code == 403
    assert b"%PDF" not in r.content and not r.content.startswith(b"\xff\xd8")
    assert "अनुमति नहीं" in r.text and "not allowed" in r.text
    # Their own station's bundle opens.
    own = path.replace(CR, GD).replace("page=3", "page=2")
    assert anon.get(own).status_code == 200


def test_admin_sees_every_station(client: TestClient) -> None:
    body = client.get("/api/search", params={"q": "धारा 379"}).json()
    assert body["total"] == 2
    assert body["facets"]["thana"] == {"छिबरामऊ": 1, "कन्नौज": 1}
    assert client.get(f"/bundles/{CR}/document.pdf").status_code == 200


def test_officer_with_two_stations_gets_one_merged_search(anon: TestClient, client: TestClient,
                                                         home: Settings) -> None:
    with TestClient(create_app(home)) as sita:
        login(sita, "sita")  # both stations: the same results as the admin
        for q in ("धारा 379", "गश्त", "चोरी"):
            for offset in (0, 5, 10, 20):
                mine = sita.get("/api/search", params={"q": q, "limit": 5, "offset": offset}).json()
                full = client.get("/api/search", params={"q": q, "limit": 5, "offset": offset}).json()
                assert mine["total"] == full["total"], (q, offset)
                assert mine["facets"] == full["facets"], (q, offset)
                assert [(h["bundle_id"], h["page"]) for h in mine["hits"]] == \
                       [(h["bundle_id"], h["page"]) for h in full["hits"]], (q, offset)


def test_operator_without_stations_sees_nothing(anon: TestClient) -> None:
    login(anon, "op")
    assert anon.get("/api/search", params={"q": "धारा 379"}).json()["total"] == 0
    assert anon.get(f"/bundles/{GD}/document.pdf").status_code == 403


def test_thumbnail_is_a_small_jpeg_and_cached(client: TestClient, home: Settings) -> None:
    r = client.get(f"/bundles/{GD}/pages/2/thumb.jpg")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert r.content.startswith(b"\xff\xd8")
    assert (home.thumbs_dir / GD / "2.jpg").exists()
    assert client.get(f"/bundles/{GD}/pages/3/thumb.jpg").status_code == 404
    assert client.get(f"/bundles/{GD}/pages/x/thumb.jpg").status_code == 404


def test_page_viewer_opens_the_pdf_at_the_page(client: TestClient) -> None:
    html = client.get(f"/bundles/{GD}/pages/2").text
    assert f'src="/bundles/{GD}/document.pdf?page=2#page=2"' in html
    assert "जनरल डायरी 2019" in html and "छिबरामऊ" in html
    assert f'href="/bundles/{GD}/document.pdf?download=1"' in html
    r = client.get(f"/bundles/{GD}/document.pdf?download=1")
    assert r.headers["content-disposition"].startswith("attachment")
    assert "no-store" in r.headers["cache-control"]
    assert client.get(f"/bundles/{XSS}/pages/1").status_code == 404  # no manifest, no page


# (the burst of simultaneous guesses is in tests/test_throttle.py, with the new throttle)
