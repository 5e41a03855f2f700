"""The multi-machine layout on one machine: `scripts/services start --cluster` runs a
two-node Elasticsearch cluster and MinIO erasure-coded over four drive directories,
and abhilekh keeps answering while a node or a drive is lost.

- one Elasticsearch node stopped: searches answer with the same hits from the
  replica; the node back, the cluster is green and both copies hold every page;
- the elected master stopped (a two-node cluster cannot elect another): searches
  still answer, an ingest fails cleanly and a rerun after the node is back resumes;
- one MinIO drive directory wiped: every object reads back with its sha256 checked,
  MinIO heals the drive by itself, and the healed drive really holds the data;
- an ingest while a node and a drive are lost succeeds, and everything it wrote is on
  the node and drive once they are back.

The module starts its own cluster through the script, in its own state directory and
on its own ports (ABHILEKH_TEST_CLUSTER_PORT, default 9211: ES 9211-9212, transport
9311-9312, MinIO 9213-9214), and stops it at the end. Waits are for events (cluster
health, drive state, files on disk) with generous deadlines; nothing asserts a time.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from abhilekh.records import BundleMetadata, SearchDocument, SearchFilters
from abhilekh.settings import Settings

pytestmark = pytest.mark.servers

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "services"
BIN = Path(sys.executable).with_name("abhilekh")
REQUIRE_SERVERS = os.environ.get("ABHILEKH_REQUIRE_SERVERS") == "1"
WANTED = REQUIRE_SERVERS or os.environ.get("ABHILEKH_TEST_CLUSTER") == "1"
NODES = 2
DRIVES = 4
HEAL_DEADLINE = 300.0  # seconds; MinIO looks for fresh drives every few seconds
GREEN_DEADLINE = "180s"


def _run(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=timeout, check=False)


@dataclass
class Cluster:
    env: dict[str, str]
    state: Path
    es_urls: list[str]
    s3_endpoint: str
    user: str
    password: str

    # -- script ------------------------------------------------------------------

    def services(self, *args: str) -> subprocess.CompletedProcess:
        result = _run(self.env, *args)
        assert result.returncode == 0, f"scripts/services {' '.join(args)}:\n{result.stdout}{result.stderr}"
        return result

    def stop_node(self, n: int) -> None:
        self.services("stop", f"es{n}")

    def start_node(self, n: int) -> None:
        self.services("start", "--cluster", f"es{n}")

    # -- Elasticsearch -------------------------------------------------------------

    def es(self, n: int):
        from elasticsearch import Elasticsearch

        return Elasticsearch(self.es_urls[n - 1], request_timeout=200)

    def node_names(self, via: int = 1) -> dict[str, str]:
        """node id -> node name"""
        rows = self.es(via).cat.nodes(format="json", h="id,name", full_id=True)
        return {row["id"]: row["name"] for row in rows}

    def spare_node(self) -> int:
        """The node outside the voting configuration: with two master-eligible nodes
        Elasticsearch lets only one of them vote (an odd-sized quorum), so the other can
        be lost without losing the master."""
        state = self.es(1).cluster.state(metric="metadata", filter_path="metadata.cluster_coordination")
        voters = set(state["metadata"]["cluster_coordination"]["last_committed_config"])
        names = self.node_names()
        spares = [int(name.rsplit("-", 1)[1]) for node_id, name in names.items() if node_id not in voters]
        assert len(voters) == 1 and len(spares) == 1, (voters, names)
        return spares[0]

    def master_node(self, via: int = 1) -> int:
        name = self.es(via).cat.master(format="json")[0]["node"]
        return int(name.rsplit("-", 1)[1])

    def health(self, via: int, **kwargs) -> dict:
        return dict(self.es(via).options(ignore_status=[408, 503]).cluster.health(**kwargs))

    def wait_green(self, via: int = 1) -> dict:
        health = self.health(via, wait_for_status="green", wait_for_nodes=str(NODES), timeout=GREEN_DEADLINE)
        assert health["status"] == "green" and health["number_of_nodes"] == NODES, health
        return health

    def copy_count(self, index: str, n: int) -> int:
        """Pages in node n's own copy of `index` (primary or replica)."""
        return int(self.es(n).count(index=index, preference=f"_only_nodes:abhilekh-{n}")["count"])

    def settings(self, home: Path, **extra) -> Settings:
        values = dict(
            home=home, es_url=",".join(self.es_urls), es_index=f"test-{uuid.uuid4().hex[:10]}",
            s3_endpoint=self.s3_endpoint, s3_access_key=self.user, s3_secret_key=self.password,
            s3_bucket=f"test-{uuid.uuid4().hex[:10]}",
        )
        values.update(extra)
        return Settings(**values)

    # -- MinIO ---------------------------------------------------------------------

    def drive(self, n: int) -> Path:
        return self.state / "minio-cluster" / f"drive{n}"

    def wipe_drive(self, n: int) -> None:
        """What a replaced disk looks like: the directory is there, everything in it gone."""
        for entry in self.drive(n).iterdir():
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    def admin(self):
        from minio.credentials import StaticProvider
        from minio.minioadmin import MinioAdmin

        return MinioAdmin(endpoint=self.s3_endpoint, credentials=StaticProvider(self.user, self.password), secure=False)

    def server_info(self) -> dict:
        return json.loads(self.admin().info())

    def drive_states(self) -> dict[str, str]:
        info = self.server_info()
        return {Path(d["path"]).name: d.get("state", "?") for s in info["servers"] for d in s.get("drives", [])}

    def wait_healed(self, drive: int, bucket: str, keys: list[str]) -> None:
        """Until every drive is back in service and `drive` holds each key's metadata
        again (MinIO's own healing: it finds the unformatted drive, formats it, heals)."""
        deadline = time.monotonic() + HEAL_DEADLINE
        while True:
            states = self.drive_states()
            missing = [k for k in keys if not (self.drive(drive) / bucket / k / "xl.meta").is_file()]
            if all(s == "ok" for s in states.values()) and len(states) == DRIVES and not missing:
                return
            if time.monotonic() > deadline:
                pytest.fail(f"drive{drive} not healed within {HEAL_DEADLINE:.0f}s: states {states}, "
                            f"{len(missing)} of {len(keys)} objects missing, e.g. {missing[:3]}")
            time.sleep(1.0)


@pytest.fixture(scope="module")
def cluster():
    if not WANTED:
        pytest.skip("starts a two-node Elasticsearch cluster and erasure-coded MinIO (about a minute): "
                    "set ABHILEKH_TEST_CLUSTER=1 (CI runs it: ABHILEKH_REQUIRE_SERVERS=1)")
    base = int(os.environ.get("ABHILEKH_TEST_CLUSTER_PORT", "9211"))
    # under /tmp, world-traversable: the Elasticsearch user must reach its data directory
    state = Path(tempfile.mkdtemp(prefix="abhilekh-cluster-", dir="/tmp"))
    state.chmod(0o755)
    env = dict(os.environ)
    env.update(
        ABHILEKH_SERVICES_DIR=str(state), ABHILEKH_ES_PORT=str(base), ABHILEKH_ES_TRANSPORT_PORT=str(base + 100),
        ABHILEKH_MINIO_PORT=str(base + 2), ABHILEKH_MINIO_CONSOLE_PORT=str(base + 3),
        ABHILEKH_MINIO_USER="abhilekh", ABHILEKH_MINIO_PASSWORD="cluster-test-secret",
    )
    started = _run(env, "start", "--cluster", "es", "minio")
    try:
        assert started.returncode == 0, f"scripts/services start --cluster failed:\n{started.stderr}"
        exports = dict(re.findall(r"^export (\w+)=(.*)$", _run(env, "env").stdout, re.M))
        c = Cluster(
            env=env, state=state, es_urls=exports["ABHILEKH_ES_URL"].split(","),
            s3_endpoint=exports["ABHILEKH_S3_ENDPOINT"], user="abhilekh", password="cluster-test-secret",
        )
        c.wait_green()
        yield c
    finally:
        stopped = _run(env, "stop")
        shutil.rmtree(state, ignore_errors=True)
        assert stopped.returncode == 0, stopped.stderr


@pytest.fixture
def cluster_green(cluster):
    """Every test starts with the cluster whole; afterwards any node a failed test left
    stopped is started again, so one failure does not cascade."""
    cluster.wait_green()
    yield cluster
    cluster.services("start", "--cluster", "es", "minio")
    cluster.wait_green()


# ----------------------------------------------------------------------------- script


def test_cluster_script_reports_both_nodes_and_four_drives(cluster_green):
    c = cluster_green
    assert len(c.es_urls) == NODES and c.es_urls[0] != c.es_urls[1]
    status = c.services("status", "es", "minio").stdout
    for n in (1, 2):
        assert re.search(rf"^elasticsearch node {n}: running at {re.escape(c.es_urls[n - 1])} .*cluster green with 2 of 2 nodes",
                         status, re.M), status
    assert "erasure-coded over" in status and "drive{1...4}" in status, status
    # one cluster, not two single nodes
    assert c.es(1).cluster.state(metric="metadata")["cluster_uuid"] == c.es(2).cluster.state(metric="metadata")["cluster_uuid"]
    info = c.server_info()
    assert info["backend"]["backendType"] == "Erasure" and info["backend"]["onlineDisks"] == DRIVES, info["backend"]
    # a second start is a no-op; a single-node start in the same state dir is refused
    assert "already running" in c.services("start", "--cluster", "es", "minio").stderr
    refused = _run(c.env, "start", "es")
    assert refused.returncode != 0 and "cluster-mode servers already run" in refused.stderr


# ----------------------------------------------------------------------------- MinIO


def test_one_minio_drive_wiped_every_object_reads_back_and_heals(cluster_green, tmp_path):
    from storage.s3 import S3Store

    c = cluster_green
    info = c.server_info()["backend"]
    assert info["standardSCParity"] == 2, info  # 4 drives: 2 data + 2 parity shards per object
    settings = c.settings(tmp_path / "home")
    store = S3Store.from_settings(settings)
    rnd = random.Random(4)
    # small objects live inside xl.meta, larger ones in part files, >16 MiB go up in parts
    sizes = [0, 300, 40_000, 200_000, 1_500_000, 17 * 1024 * 1024] + [rnd.randint(1, 90_000) for _ in range(14)]
    expected: dict[str, str] = {}
    try:
        for i, size in enumerate(sizes):
            data = rnd.randbytes(size)
            key = f"bundles/b{i % 4}/pages/{i}.json"
            assert store.put(key, data)
            expected[key] = hashlib.sha256(data).hexdigest()
        wiped = 3
        assert all((c.drive(wiped) / settings.s3_bucket / k / "xl.meta").is_file() for k in expected)

        c.wipe_drive(wiped)
        assert not any(c.drive(wiped).iterdir())
        for key, digest in expected.items():
            assert hashlib.sha256(store.get(key)).hexdigest() == digest, key  # get() checks it too
        assert sorted(store.list("bundles/")) == sorted(expected)

        c.wait_healed(wiped, settings.s3_bucket, list(expected))
        # The healed drive holds real shards, not just names: with two OTHER drives
        # wiped, only it and one more are left, and two shards are needed to read.
        others = [d for d in range(1, DRIVES + 1) if d != wiped][:2]
        for d in others:
            c.wipe_drive(d)
        for key, digest in expected.items():
            assert hashlib.sha256(store.get(key)).hexdigest() == digest, key
        for d in others:
            c.wait_healed(d, settings.s3_bucket, list(expected))
    finally:
        store.remove_bucket()


# ----------------------------------------------------------------------------- Elasticsearch + ingest

NAMES = ["रमेश कुमार", "सुरेश यादव", "मोहम्मद इरफ़ान", "राम प्रकाश", "अनीता देवी", "विजय सिंह"]
QUERIES = ["रमेश", "Ramesh", "यादव", "मु0अ0सं0 7/2019", "धारा 379", "UP78 AB 1234", "देवी", "irfan"]
PAGES = 1  # per ingested bundle: the OCR is not what is tested here


def _pages(n: int) -> list[SearchDocument]:
    """Pages indexed directly (no OCR): names, crime numbers, sections, vehicles."""
    rnd = random.Random(14)
    docs = []
    for i in range(n):
        thana = ["Tirwa", "Chhibramau", "Kannauj"][i % 3]
        md = BundleMetadata(thana=thana, register="Crime Register", year=2019, title=f"CR {i // 20}")
        name = rnd.choice(NAMES)
        text = (f"मु0अ0सं0 {i}/2019 धारा {rnd.choice([379, 420, 302])} भादवि वादी {name} निवासी ग्राम "
                f"{rnd.choice(['सौरिख', 'तालग्राम', 'ठठिया'])} वाहन UP78 AB {1000 + i}")
        docs.append(SearchDocument(bundle_id=f"b{i // 20:02d}", page=i % 20 + 1, text=text, metadata=md))
    return docs


def _answers(index) -> dict:
    """What officers would see: totals, hits in order, facets, for a mix of searches."""
    out = {}
    for q in QUERIES:
        res = index.search(q, limit=100)
        out[q] = (res.total, [(h.bundle_id, h.page) for h in res.hits], res.facets)
    res = index.search("", SearchFilters(thana="Tirwa"), limit=100)
    out["browse Tirwa"] = (res.total, [(h.bundle_id, h.page) for h in res.hits], res.facets)
    return out


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> dict[str, Path]:
    from tests.fixtures.pagegen import make_bundle

    out = {}
    for name, seed in (("during-node-and-drive-loss", 41), ("during-master-loss", 43)):
        path = tmp_path_factory.mktemp("cluster-bundles") / name
        make_bundle(path, seed=seed, pages=PAGES, kind="letter", profile="clean", station="तिर्वा", year=2021)
        (path / "truth.json").unlink()
        out[name] = path
    return out


@pytest.fixture(scope="module")
def prefect_url(prefect_api) -> str:
    """The session's Prefect test server, for `abhilekh ingest` in child processes."""
    import prefect.settings

    return str(prefect.settings.PREFECT_API_URL.value())


def _ingest(settings: Settings, path: Path, api_url: str, **extra: str) -> subprocess.CompletedProcess:
    """The operator's command, `abhilekh ingest`, in its own process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ABHILEKH_", "PREFECT_"))}
    env.update(
        ABHILEKH_HOME=str(settings.home), ABHILEKH_ES_URL=settings.es_url or "", ABHILEKH_ES_INDEX=settings.es_index,
        ABHILEKH_S3_ENDPOINT=settings.s3_endpoint or "", ABHILEKH_S3_ACCESS_KEY=settings.s3_access_key or "",
        ABHILEKH_S3_SECRET_KEY=settings.s3_secret_key or "", ABHILEKH_S3_BUCKET=settings.s3_bucket,
        ABHILEKH_RETRY_BACKOFF_SECONDS="0.2", PREFECT_API_URL=api_url, PREFECT_HOME=str(settings.home / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1", PREFECT_LOGGING_LEVEL="WARNING",
        COLUMNS="200", PYTHONIOENCODING="utf-8",
    )
    env.update(extra)
    cmd = [str(BIN), "ingest", str(path), "--thana", "Tirwa", "--register", "Letters", "--year", "2021"]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)


def _bundle_id(result: subprocess.CompletedProcess) -> str:
    found = re.search(r"bundle id\s*:\s*([0-9a-f]{12,})", result.stdout)
    assert found, result.stdout[-2000:] + result.stderr[-2000:]
    return found.group(1)


def _assert_stored_and_indexed_once(settings: Settings, bundle_id: str) -> list[str]:
    """The bundle's objects each read back verified; the index holds its pages once.
    Returns its object keys."""
    from search import open_index
    from storage import open_store
    from storage.bundles import load_manifest

    store = open_store(settings)
    keys = list(store.list(f"bundles/{bundle_id}/"))
    assert len(keys) == len(set(keys))
    manifest = load_manifest(store, bundle_id)
    assert manifest is not None and manifest.page_count == PAGES
    assert {f"bundles/{bundle_id}/manifest.json", f"bundles/{bundle_id}/document.pdf",
            f"bundles/{bundle_id}/pages/1.json"} <= set(keys), keys
    for key in keys:
        store.get(key)  # raises IntegrityError on a sha256 mismatch
    index = open_index(settings)
    try:
        assert index.count(bundle_id) == PAGES and index.bundle_page_counts()[bundle_id] == PAGES
    finally:
        index.close()
    return keys


def _cleanup(settings: Settings) -> None:
    from search import open_index
    from storage.s3 import S3Store

    index = open_index(settings)
    index.drop()  # type: ignore[attr-defined]
    index.close()
    S3Store.from_settings(settings).remove_bucket()


def test_node_and_drive_lost_same_hits_and_ingest_succeeds_then_green_healed_nothing_lost(
    cluster_green, bundles, prefect_url, tmp_path
):
    from search import open_index

    c = cluster_green
    settings = c.settings(tmp_path / "home")
    index = open_index(settings)
    docs = _pages(60)
    assert index.index(docs) == len(docs)
    c.wait_green()
    concrete = next(iter(index.client.indices.get_alias(name=settings.es_index)))  # type: ignore[attr-defined]
    shape = c.es(1).indices.get_settings(index=concrete)[concrete]["settings"]["index"]
    # the defaults (ABHILEKH_ES_SHARDS=1, ABHILEKH_ES_REPLICAS=0-1): one replica on two nodes
    assert (shape["number_of_shards"], shape.get("auto_expand_replicas"), shape["number_of_replicas"]) == ("1", "0-1", "1")
    before = _answers(index)
    assert before["रमेश"][0] > 0 and before["browse Tirwa"][0] == 20

    spare, wiped = c.spare_node(), 2
    survivor = 3 - spare
    c.stop_node(spare)
    c.wipe_drive(wiped)
    try:
        alone = c.health(survivor, timeout="1s")
        assert alone["number_of_nodes"] == 1, alone
        # auto-expand: with one node left there is no replica to place (green, not yellow)
        shape = c.es(survivor).indices.get_settings(index=concrete)[concrete]["settings"]["index"]
        assert shape["number_of_replicas"] == "0", shape
        assert _answers(index) == before  # every hit now comes from the survivor's copy
        assert index.count() == len(docs)

        result = _ingest(settings, bundles["during-node-and-drive-loss"], prefect_url)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        bundle_id = _bundle_id(result)
        keys = _assert_stored_and_indexed_once(settings, bundle_id)
        during = _answers(index)
        assert during["browse Tirwa"][0] == 20 + PAGES
    finally:
        c.start_node(spare)
    c.wait_green()
    for n in (1, 2):
        assert c.copy_count(settings.es_index, n) == len(docs) + PAGES, f"node {n}'s copy"
    assert _answers(index) == during
    c.wait_healed(wiped, settings.s3_bucket, keys)
    _assert_stored_and_indexed_once(settings, bundle_id)
    index.close()
    _cleanup(settings)


def test_master_lost_searches_answer_ingest_fails_cleanly_and_resumes(cluster_green, bundles, prefect_url, tmp_path):
    """Two master-eligible nodes make a voting configuration of one: losing that node
    leaves no master (docs/operations.md: three nodes in production). Reads go on;
    writes wait for a master and the ingest says so; a rerun finishes the bundle."""
    from search import open_index
    from storage import open_store
    from storage.bundles import load_manifest

    c = cluster_green
    settings = c.settings(tmp_path / "home")
    index = open_index(settings)
    docs = _pages(30)
    index.index(docs)
    c.wait_green()
    before = _answers(index)
    master = c.master_node()
    assert master != c.spare_node()
    survivor = 3 - master
    c.stop_node(master)
    try:
        headless = c.health(survivor, timeout="1s")
        assert headless["status"] != "green", headless  # without a master nobody can say green
        assert _answers(index) == before  # reads are served by the survivor's copy
        failed = _ingest(settings, bundles["during-master-loss"], prefect_url, ABHILEKH_RETRY_ATTEMPTS="1")
        output = failed.stdout + failed.stderr
        assert failed.returncode != 0, output[-3000:]
        assert "Elasticsearch" in output and "not indexed" in output, output[-3000:]
        bundle_id = _bundle_id(failed)
        # failed cleanly: the bundle is stored whole, none of it is searchable yet
        assert load_manifest(open_store(settings), bundle_id) is not None
        assert index.count(bundle_id) == 0
    finally:
        c.start_node(master)
    c.wait_green()
    resumed = _ingest(settings, bundles["during-master-loss"], prefect_url)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert _bundle_id(resumed) == bundle_id
    _assert_stored_and_indexed_once(settings, bundle_id)
    assert index.count() == len(docs) + PAGES  # nothing lost, nothing twice
    for n in (1, 2):
        assert c.copy_count(settings.es_index, n) == len(docs) + PAGES, f"node {n}'s copy"
    index.close()
    _cleanup(settings)
