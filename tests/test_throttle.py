"""Throttling that cannot lock anyone out, and an admin who cannot be demoted away
(issue 17, items 7 and 8).

Wrong passwords from one address must not lock the real user out: back-off is per
user and client (a browser that logged in before is its own client, by a signed device
cookie), X-Forwarded-For counts only from ABHILEKH_TRUSTED_PROXIES, and simultaneous
correct log-ins are never refused. The last active admin can neither be demoted nor
disabled, on the web or at the command line.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from abhilekh.settings import Settings, activate
from tests.test_auth import _csrf, _form_login
from tests.test_web import (  # noqa: F401  (fixtures)
    PASSWORDS,
    anon,
    client,
    fast_hashing,
    home,
    login,
)
from web.app import create_app


def _api_login(c: TestClient, name: str, password: str, **headers: str):
    return c.post("/api/login", json={"username": name, "password": password}, headers=headers)


def test_wrong_passwords_from_elsewhere_do_not_lock_the_real_user_out(home: Settings) -> None:
    # two server workers (each an app of its own over the same files), one per browser
    with TestClient(create_app(home), client=("10.1.1.1", 5000)) as admin, \
            TestClient(create_app(home), client=("10.1.1.1", 5001)) as attacker:
        assert _form_login(admin, "admin", PASSWORDS["admin"]).status_code == 303  # the admin's browser
        admin.post("/logout", data={"csrf": _csrf(admin.get("/").text)})
        for _ in range(home.login_max_failures + 3):
            attacker.post("/api/login", json={"username": "admin", "password": "guess-guess"})
        assert _api_login(attacker, "admin", PASSWORDS["admin"]).status_code == 429  # the guesser backs off
        # the admin, from the same address, on the browser that logged in before
        assert _form_login(admin, "admin", PASSWORDS["admin"]).status_code == 303


def test_behind_a_trusted_proxy_each_client_is_its_own_address(home: Settings) -> None:
    settings = home.model_copy(update={"trusted_proxies": "10.9.9.9, 192.0.2.0/24"})
    app = create_app(settings)
    with TestClient(app, client=("10.9.9.9", 443)) as proxy:
        for _ in range(home.login_max_failures):
            _api_login(proxy, "ram", "guess-guess", **{"X-Forwarded-For": "203.0.113.5"})
        assert _api_login(proxy, "ram", PASSWORDS["ram"], **{"X-Forwarded-For": "203.0.113.5"}).status_code == 429
        # ram at his own desk, through the same proxy: not locked out by the guesser
        ok = _api_login(proxy, "ram", PASSWORDS["ram"], **{"X-Forwarded-For": "198.51.100.7, 192.0.2.10"})
        assert ok.status_code == 200, ok.text
    # A client that is not a configured proxy cannot choose its address by a header.
    with TestClient(app, client=("10.5.5.5", 1)) as direct:
        for i in range(home.login_max_failures):
            _api_login(direct, "sita", "guess-guess", **{"X-Forwarded-For": f"198.51.100.{i}"})
        assert _api_login(direct, "sita", PASSWORDS["sita"], **{"X-Forwarded-For": "198.51.100.99"}).status_code == 429


def test_simultaneous_correct_logins_are_never_refused(home: Settings, monkeypatch) -> None:
    """Eight API clients of one user log in at the same moment (3 of 8 got 429 before).
    The user's hash has production strength, so the eight password checks overlap."""
    from argon2 import PasswordHasher

    from access import users as access_users

    monkeypatch.setattr(access_users, "HASHER", PasswordHasher())
    store = access_users.UserStore(home.users_path)
    try:
        store.add("clerk", "officer", "clerk-pass-1", ["छिबरामऊ"])
    finally:
        store.close()
    app = create_app(home)
    start = threading.Barrier(8)
    with TestClient(app, client=("10.2.2.2", 1)) as c:

        def one(_: int) -> int:
            start.wait()
            return _api_login(c, "clerk", "clerk-pass-1").status_code

        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(one, range(8)))
    assert codes == [200] * 8


def test_a_burst_of_simultaneous_guesses_gets_exactly_the_allowance(home: Settings) -> None:
    """Four connections (as four server workers hold) and 40 wrong guesses at once:
    exactly login_max_failures of them get a password check, the rest are refused."""
    from access.throttle import LoginThrottle

    throttles = [LoginThrottle(home.home / "burst.sqlite3", max_failures=home.login_max_failures)
                 for _ in range(4)]
    start = threading.Barrier(40)
    checked = []

    def guess(i: int) -> bool:
        start.wait()
        attempt = throttles[i % 4].begin("ram", "10.0.0.9")
        if not attempt.allowed:
            return False
        checked.append(i)
        attempt.failed()
        return True

    try:
        with ThreadPoolExecutor(40) as pool:
            allowed = list(pool.map(guess, range(40)))
        assert sum(allowed) == len(checked) == home.login_max_failures
        assert throttles[0].begin("ram", "10.0.0.10").allowed  # another client counts on its own
    finally:
        for t in throttles:
            t.close()


def test_back_off_doubles_after_the_allowance_and_a_success_resets_it(tmp_path) -> None:
    from access.throttle import LoginThrottle

    now = [1000.0]
    t = LoginThrottle(tmp_path / "t.sqlite3", max_failures=3, backoff_seconds=30, max_backoff_seconds=600,
                      clock=lambda: now[0])
    try:
        for _ in range(3):
            t.begin("ram", "a").failed()
        refused = t.begin("ram", "a")
        assert not refused.allowed and refused.retry_after == 30
        now[0] += 31
        t.begin("ram", "a").failed()  # one try after the wait, wrong again: twice as long
        assert t.begin("ram", "a").retry_after == 60
        now[0] += 61
        t.begin("ram", "a").failed()
        assert t.begin("ram", "a").retry_after == 120
        for _ in range(10):
            now[0] += 601
            t.begin("ram", "a").failed()
        assert t.begin("ram", "a").retry_after == 600  # capped
        now[0] += 601
        t.begin("ram", "a").succeeded()
        assert t.begin("ram", "a").allowed
    finally:
        t.close()


# ----------------------------------------------------------------------------- the last admin


def _admin_post(c: TestClient, **form: str):
    token = _csrf(c.get("/admin/users").text)
    return c.post("/admin/users", data={**form, "csrf": token}, follow_redirects=False)


def test_the_last_admin_cannot_demote_himself_on_the_web(client: TestClient, home: Settings) -> None:
    r = _admin_post(client, action="role", name="admin", role="officer")
    assert r.status_code == 400
    assert "last" in r.text and "admin" in r.text
    from access.users import UserStore

    users = UserStore(home.users_path)
    try:
        assert users.get("admin").role == "admin"
        users.add("second", "admin", "second-pass-1")
    finally:
        users.close()
    # with another active admin it is allowed
    assert _admin_post(client, action="role", name="admin", role="officer").status_code == 303


@pytest.mark.parametrize("command", [["users", "role", "admin", "officer"], ["users", "disable", "admin"]])
def test_the_last_admin_cannot_be_demoted_or_disabled_at_the_command_line(home: Settings, command) -> None:
    from access.users import UserStore
    from cli.app import app

    activate(home)
    try:
        result = CliRunner().invoke(app, command)
    finally:
        activate(None)
    assert result.exit_code == 2, result.output
    assert "last active admin" in result.output
    users = UserStore(home.users_path)
    try:
        admin = users.get("admin")
        assert admin.role == "admin" and not admin.disabled
    finally:
        users.close()


def test_the_role_command_changes_a_role(home: Settings) -> None:
    from access.users import UserStore
    from cli.app import app

    activate(home)
    try:
        result = CliRunner().invoke(app, ["users", "role", "ram", "operator"])
    finally:
        activate(None)
    assert result.exit_code == 0, result.output
    users = UserStore(home.users_path)
    try:
        assert users.get("ram").role == "operator"
    finally:
        users.close()
