"""Shared fixtures: every storage and search test runs against each backend.

The embedded backends always run. The real servers (MinIO, Elasticsearch) run when
`scripts/services env` has exported their addresses; CI sets ABHILEKH_REQUIRE_SERVERS=1
so that a missing server fails the run instead of skipping it.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

# Prefect reads its settings at import: give the test session its own quiet home
# before anything imports it.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="abhilekh-test-prefect-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("ABHILEKH_HOME", tempfile.mkdtemp(prefix="abhilekh-test-home-"))

import pytest  # noqa: E402

from abhilekh.settings import Settings, activate  # noqa: E402

REQUIRE_SERVERS = os.environ.get("ABHILEKH_REQUIRE_SERVERS") == "1"
ES_URL = os.environ.get("ABHILEKH_ES_URL")
S3_ENDPOINT = os.environ.get("ABHILEKH_S3_ENDPOINT")
SHARED_SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "samples" / "fir"


def _server_missing(name: str, variable: str) -> None:
    message = (
        f"{name} is not configured ({variable} unset): run `eval \"$(scripts/services env)\"` "
        "after `scripts/services start` to include it"
    )
    if REQUIRE_SERVERS:
        pytest.fail(message)
    pytest.skip(message)


def make_settings(home: Path, store: str = "local", index: str = "sqlite") -> Settings:
    """Settings for one test: its own home, its own bucket and index name."""
    unique = uuid.uuid4().hex[:10]
    values: dict = {"home": home, "es_url": None, "s3_endpoint": None}
    if store == "minio":
        if not S3_ENDPOINT:
            _server_missing("MinIO", "ABHILEKH_S3_ENDPOINT")
        values.update(
            s3_endpoint=S3_ENDPOINT,
            s3_access_key=os.environ.get("ABHILEKH_S3_ACCESS_KEY"),
            s3_secret_key=os.environ.get("ABHILEKH_S3_SECRET_KEY"),
            s3_bucket=f"test-{unique}",
        )
    if index == "elastic":
        if not ES_URL:
            _server_missing("Elasticsearch", "ABHILEKH_ES_URL")
        values.update(es_url=ES_URL, es_index=f"test-{unique}")
    return Settings(**values)


@pytest.fixture(params=["local", "minio"])
def store_kind(request) -> str:
    return request.param


@pytest.fixture(params=["sqlite", "elastic"])
def index_kind(request) -> str:
    return request.param


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Embedded backends only, in a fresh home."""
    return make_settings(tmp_path / "home")


@pytest.fixture
def store(tmp_path: Path, store_kind: str):
    from storage import open_store

    s = make_settings(tmp_path / "home", store=store_kind)
    yield open_store(s)
    if store_kind == "minio":
        _remove_bucket(s)


@pytest.fixture
def index(tmp_path: Path, index_kind: str):
    from search import open_index

    s = make_settings(tmp_path / "home", index=index_kind)
    idx = open_index(s)
    yield idx
    if index_kind == "elastic":
        idx.drop()  # type: ignore[attr-defined]
    idx.close()


@pytest.fixture(params=[("local", "sqlite"), ("minio", "elastic")], ids=["embedded", "servers"])
def backend_settings(request, tmp_path: Path) -> Settings:
    """Settings for whole-pipeline tests: all embedded, or all real servers."""
    store_kind, index_kind = request.param
    s = make_settings(tmp_path / "home", store=store_kind, index=index_kind)
    yield s
    if index_kind == "elastic":
        from search import open_index

        idx = open_index(s)
        idx.drop()  # type: ignore[attr-defined]
        idx.close()
    if store_kind == "minio":
        _remove_bucket(s)


def _remove_bucket(s: Settings) -> None:
    from storage.s3 import S3Store

    S3Store.from_settings(s).remove_bucket()


@pytest.fixture(scope="session")
def fir_samples() -> list[Path]:
    if not SHARED_SAMPLES.is_dir():
        pytest.skip("../shared/samples/fir is absent (only development checkouts have it)")
    return sorted(SHARED_SAMPLES.glob("*.jpg"))


@pytest.fixture(scope="session")
def prefect_api():
    """One Prefect test API for the whole session (never nest harnesses)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def active(request):
    """Make the given settings the process-wide ones for the flow under test."""

    def _activate(settings: Settings) -> Settings:
        activate(settings)
        request.addfinalizer(lambda: activate(None))
        return settings

    return _activate
