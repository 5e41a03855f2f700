"""Kill -9 at several points of a real `abhilekh ingest` process, rerun, and check that
every page is in storage and in the index exactly once — on the embedded backends and
on the real servers. Two ingests of the same bundle at once end with one copy.

The kill comes from the process itself (pipelines/crashpoints.py, driven by
ABHILEKH_TEST_CRASH_AT): SIGKILL, so no `finally`, no flush, no clean-up runs. The
child processes talk to one real Prefect server started for this module.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from abhilekh.records import BundleMetadata
from abhilekh.settings import Settings
from tests.fixtures.pagegen import make_bundle

BIN = Path(sys.executable).with_name("abhilekh")
PAGES = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    """A real `prefect server start` on a free loopback port, for the child processes."""
    from pipelines.schedule import start_local_server, stop_server

    home = tmp_path_factory.mktemp("prefect-server")
    url, proc = start_local_server(Settings(home=home), free_port(), prefect_home=home / "prefect")
    yield url
    stop_server(proc)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("crash") / "letters-2020"
    make_bundle(path, seed=31, pages=PAGES, kind="letter", profile="clean", station="तिर्वा", year=2020)
    (path / "truth.json").unlink()
    return path


@pytest.fixture(scope="module")
def ocr_cache(bundle, tmp_path_factory) -> tuple[str, Path]:
    """The bundle's pages OCR'd once; crash points after OCR start from a copy of these."""
    from pipelines import bundle as steps

    settings = Settings(home=tmp_path_factory.mktemp("ocr-cache"))
    plan = steps.plan_bundle(bundle, BundleMetadata(), settings)
    for job in plan.jobs:
        steps.run_page(job, settings)
    return plan.bundle_id, settings.work_dir / plan.bundle_id


def child_env(settings: Settings, api_url: str, **extra: str) -> dict[str, str]:
    """The settings as ABHILEKH_* variables for a child process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ABHILEKH_", "PREFECT_"))}
    env.update(
        ABHILEKH_HOME=str(settings.home), PREFECT_API_URL=api_url, PREFECT_HOME=str(settings.home / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1", PREFECT_LOGGING_LEVEL="WARNING",
        ABHILEKH_RETRY_BACKOFF_SECONDS="0.2", COLUMNS="200", PYTHONIOENCODING="utf-8",
    )
    if settings.s3_endpoint:
        env.update(ABHILEKH_S3_ENDPOINT=settings.s3_endpoint, ABHILEKH_S3_ACCESS_KEY=settings.s3_access_key or "",
                   ABHILEKH_S3_SECRET_KEY=settings.s3_secret_key or "", ABHILEKH_S3_BUCKET=settings.s3_bucket)
    if settings.es_url:
        env.update(ABHILEKH_ES_URL=settings.es_url, ABHILEKH_ES_INDEX=settings.es_index)
    env.update(extra)
    return env


def ingest_cmd(path: Path) -> list[str]:
    return [str(BIN), "ingest", str(path), "--thana", "Tirwa", "--register", "Letters", "--year", "2020"]


def run_ingest(path: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(ingest_cmd(path), capture_output=True, text=True, env=env, timeout=600)


def assert_exactly_once(settings: Settings, bundle_id: str, pages: int = PAGES) -> None:
    """Storage holds exactly this bundle's objects once; the index exactly its pages."""
    import pikepdf

    from search import open_index
    from storage import open_store
    from storage.bundles import load_manifest, pdf_key

    store = open_store(settings)
    expected = {f"bundles/{bundle_id}/manifest.json", f"bundles/{bundle_id}/document.pdf",
                f"catalog/{bundle_id}.json", f"bundles/{bundle_id}/entries.json"} | {
        f"bundles/{bundle_id}/{kind}/{n}.{ext}" for n in range(1, pages + 1)
        for kind, ext in (("pages", "json"), ("thumbs", "jpg"))
    }
    keys = list(store.list(""))
    assert len(keys) == len(set(keys)) and set(keys) == expected, keys
    manifest = load_manifest(store, bundle_id)
    assert manifest is not None and manifest.page_count == pages
    import io

    with pikepdf.open(io.BytesIO(store.get(pdf_key(bundle_id)))) as pdf:
        assert len(pdf.pages) == pages
    index = open_index(settings)
    try:
        assert index.bundle_page_counts() == {bundle_id: pages}
        assert index.count() == pages
        hits = index.search("तिर्वा", limit=50).hits + index.search("Tirwa", limit=50).hits
        assert {(h.bundle_id, h.page) for h in hits} <= {(bundle_id, n) for n in range(1, pages + 1)}
    finally:
        index.close()


def state_after_crash(settings: Settings, bundle_id: str) -> dict:
    from search import open_index
    from storage import open_store

    keys = list(open_store(settings).list("")) if (settings.s3_endpoint or settings.store_dir.exists()) else []
    index = open_index(settings)
    try:
        indexed = index.count(bundle_id)
    except Exception:  # noqa: BLE001 - an ES index not created yet
        indexed = 0
    finally:
        index.close()
    work = settings.work_dir / bundle_id
    return {
        "keys": keys,
        "manifest": f"bundles/{bundle_id}/manifest.json" in keys,
        "indexed": indexed,
        "work_pages": sorted(p.name for p in work.glob("*.json")) if work.exists() else [],
    }


# point -> (start from OCR'd pages?, check of the state the crash left)
POINTS = {
    # killed while page 2 is still in Tesseract: one page finished, nothing stored
    "ocr:1": (False, lambda s: len(s["work_pages"]) == 1 and not s["keys"]),
    # killed after page 1's object was stored and verified: no PDF, no manifest yet
    "store:1": (True, lambda s: len(s["keys"]) == 1 and not s["manifest"]),
    # killed after the PDF, before the manifest: the bundle does not count as stored
    "store:3": (True, lambda s: len(s["keys"]) == PAGES + 1 and not s["manifest"]),
    # killed after the manifest, before the bundle-list entry: the rerun lists it
    "store:6": (True, lambda s: s["manifest"] and not any(k.startswith("catalog/") for k in s["keys"])),
    # killed mid-indexing: stored, one of two pages indexed (index chunks of one page)
    "index:1": (True, lambda s: s["manifest"] and s["indexed"] == 1),
    # killed after stored and indexed, before the work files were removed
    "done:1": (True, lambda s: s["manifest"] and s["indexed"] == PAGES and s["work_pages"]),
}
CASES = [
    ("embedded", "ocr:1"), ("embedded", "store:1"), ("embedded", "store:6"), ("embedded", "index:1"),
    ("servers", "ocr:1"), ("servers", "store:3"), ("servers", "index:1"), ("servers", "done:1"),
]


@pytest.fixture
def crash_case(request):
    return request.param


@pytest.mark.parametrize(
    "backend_settings,point",
    [(("local", "sqlite") if b == "embedded" else ("minio", "elastic"), p) for b, p in CASES],
    ids=[f"{b}-{p}" for b, p in CASES],
    indirect=["backend_settings"],
)
def test_kill_minus_nine_then_rerun_leaves_every_page_exactly_once(
    backend_settings, point, bundle, ocr_cache, prefect_server
):
    settings = backend_settings
    bundle_id, cached_work = ocr_cache
    start_from_ocr, crashed_state_ok = POINTS[point]
    if start_from_ocr:
        shutil.copytree(cached_work, settings.work_dir / bundle_id)

    env = child_env(settings, prefect_server, ABHILEKH_TEST_INDEX_CHUNK="1")
    crashed = run_ingest(bundle, env | {"ABHILEKH_TEST_CRASH_AT": point})
    assert crashed.returncode == -signal.SIGKILL, (crashed.returncode, crashed.stdout[-2000:], crashed.stderr[-3000:])
    state = state_after_crash(settings, bundle_id)
    assert crashed_state_ok(state), state

    resumed = run_ingest(bundle, env)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-3000:]
    assert "bundle id : " + bundle_id in resumed.stdout
    assert_exactly_once(settings, bundle_id)
    assert not (settings.work_dir / bundle_id).exists(), "work files are removed once stored and indexed"


def test_two_ingests_of_the_same_bundle_at_once_end_with_one_copy(backend_settings, bundle, ocr_cache, prefect_server, tmp_path):
    """Operator double-click (same machine: the second waits on the bundle lock), and on
    the servers also two machines (separate homes, no shared lock: content-derived keys
    and ids still give one copy)."""
    settings = backend_settings
    bundle_id, _ = ocr_cache
    homes = [settings.home, settings.home if not settings.s3_endpoint else tmp_path / "machine-2"]
    envs = [child_env(settings.model_copy(update={"home": h}), prefect_server) for h in homes]
    procs = [subprocess.Popen(ingest_cmd(bundle), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
             for e in envs]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, errs) in zip(procs, outs):
        assert p.returncode == 0, out[-2000:] + errs[-3000:]
    if homes[0] == homes[1]:
        assert any("already ingested" in out for out, _ in outs), "the second should find the first's work done"
    assert_exactly_once(settings, bundle_id)
    for home in set(homes):
        assert not any((Path(home) / "work").glob(f"{bundle_id}/*"))
