"""Thumbnails stored at ingest are served as they are, privately cached, station-checked."""

from __future__ import annotations

import numpy as np
from fastapi.testclient import TestClient

from abhilekh.settings import Settings
from ingest.thumbnail import make_thumbnail
from storage.bundles import thumb_key
from storage.local import LocalStore
from tests.test_web import CR, GD, anon, client, fast_hashing, home, login  # noqa: F401
from web.app import create_app


def _store_thumbs(settings: Settings, bundle_id: str, pages: int) -> dict[int, bytes]:
    store = LocalStore(settings.store_dir)
    made = {}
    for n in range(1, pages + 1):
        page = np.full((800, 600), 255, np.uint8)
        page[100 * n : 100 * n + 50] = 0  # each page different
        made[n] = make_thumbnail(page)
        store.put(thumb_key(bundle_id, n), made[n], "image/jpeg")
    return made


def test_stored_thumbnail_is_served_with_private_caching(home: Settings) -> None:
    made = _store_thumbs(home, GD, 2)
    with TestClient(create_app(home)) as c:
        login(c, "ram")
        r = c.get(f"/bundles/{GD}/pages/2/thumb.jpg")
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        assert r.content == made[2]
        assert r.headers["cache-control"] == "private, max-age=3600"
        etag = r.headers["etag"]
        assert etag.startswith('"') and etag != c.get(f"/bundles/{GD}/pages/1/thumb.jpg").headers["etag"]
        # Nothing rendered: the stored one was used, not pdftoppm.
        assert not (home.thumbs_dir / GD).exists()
        # The browser revalidates: 304, no body; a stale tag gets the image.
        again = c.get(f"/bundles/{GD}/pages/2/thumb.jpg", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
        stale = c.get(f"/bundles/{GD}/pages/2/thumb.jpg", headers={"If-None-Match": '"x"'})
        assert stale.status_code == 200 and stale.content == made[2]


def test_other_stations_thumbnail_is_refused_even_with_its_etag(home: Settings) -> None:
    made = _store_thumbs(home, CR, 1)
    with TestClient(create_app(home)) as c:
        login(c, "sita")  # both stations: learns the tag
        etag = c.get(f"/bundles/{CR}/pages/1/thumb.jpg").headers["etag"]
    with TestClient(create_app(home)) as c:
        login(c, "ram")  # छिबरामऊ only
        for headers in ({}, {"If-None-Match": etag}):
            r = c.get(f"/bundles/{CR}/pages/1/thumb.jpg", headers=headers)
            assert r.status_code == 403, headers
            assert made[1] not in r.content and "etag" not in r.headers
        assert c.get(f"/bundles/{CR}/pages/2/thumb.jpg").status_code == 403
    with TestClient(create_app(home)) as c:
        r = c.get(f"/bundles/{CR}/pages/1/thumb.jpg", follow_redirects=False)
        assert r.status_code == 303 and "/login" in r.headers["location"]  # no session


def test_bundle_stored_before_thumbnails_still_gets_a_rendered_one(client: TestClient,
                                                                    home: Settings) -> None:
    r = client.get(f"/bundles/{CR}/pages/3/thumb.jpg")
    assert r.status_code == 200 and r.content.startswith(b"\xff\xd8")
    assert (home.thumbs_dir / CR / "3.jpg").read_bytes() == r.content
    assert r.headers["cache-control"] == "private, max-age=3600" and r.headers["etag"]


def test_damaged_stored_thumbnail_falls_back_to_rendering(client: TestClient, home: Settings) -> None:
    _store_thumbs(home, GD, 1)
    path = home.store_dir / thumb_key(GD, 1)
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")  # fails its sha256
    r = client.get(f"/bundles/{GD}/pages/1/thumb.jpg")
    assert r.status_code == 200 and r.content.startswith(b"\xff\xd8")
    assert (home.thumbs_dir / GD / "1.jpg").exists()
