"""Web edges the probe found (issue 17, item 11): odd page numbers, a deleted PDF, and
what /healthz tells a client without a session."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from abhilekh.settings import Settings
from storage.bundles import pdf_key
from storage.local import LocalStore
from tests.test_web import (  # noqa: F401  (fixtures)
    GD,
    anon,
    client,
    fast_hashing,
    home,
    login,
)


@pytest.mark.parametrize("page", ["%C2%B2", "१", "１", "٣", "1.0", "+1", " 1", "0", "3", "99999999999999999999"])
@pytest.mark.parametrize("suffix", ["", "/thumb.jpg"])
def test_only_ascii_page_numbers_of_the_bundle_are_pages(client: TestClient, page: str, suffix: str) -> None:
    r = client.get(f"/bundles/{GD}/pages/{page}{suffix}")
    assert r.status_code == 404, (page, r.status_code)
    assert "Page not found" in r.text or "Not Found" in r.text


def test_page_one_still_opens(client: TestClient) -> None:
    assert client.get(f"/bundles/{GD}/pages/1").status_code == 200
    assert client.get(f"/bundles/{GD}/pages/2/thumb.jpg").status_code == 200


def test_a_deleted_pdf_is_named_as_missing_not_as_no_bundle(client: TestClient, home: Settings) -> None:
    LocalStore(home.store_dir).delete(pdf_key(GD))
    r = client.get(f"/bundles/{GD}/document.pdf")
    assert r.status_code == 500
    assert "No such bundle" not in r.text
    assert "missing from the store" in r.text and "abhilekh verify" in r.text


def test_healthz_tells_anonymous_clients_nothing_about_the_server(anon: TestClient, home: Settings) -> None:
    body = anon.get("/healthz").json()
    assert body["ok"] is True
    assert str(home.home) not in str(body) and "index" not in body and "store" not in body


def test_healthz_tells_an_admin_where_things_are(client: TestClient, home: Settings) -> None:
    body = client.get("/healthz").json()
    assert body["ok"] is True and str(home.store_dir) in body["store"] and body["index"]
