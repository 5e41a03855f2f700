"""A backlog shared by a Prefect work pool, for real: a `prefect server start` (SQLite),
two `prefect worker start` processes, `abhilekh batch --pool` submitting eight small
bundles as eight flow runs. Both workers take some; one worker is SIGKILLed (with its
flow-run process: the machine died) while a bundle of its is half done, and a third
worker starts (the machine back, under a new name). The dead worker's run is reaped
(no heartbeat) and run again on another worker, the batch ends ok, and every page is
exactly once in storage and in the index.

The workers share one ABHILEKH_HOME (embedded store and index), as two machines share
one MinIO and one Elasticsearch.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from abhilekh.records import BundleMetadata
from abhilekh.settings import Settings
from tests.fixtures.pagegen import make_bundle

BIN = Path(sys.executable).parent
BUNDLES, PAGES = 8, 2
POOL = "district-pool"


def free_port() -> int:
    wanted = os.environ.get("ABHILEKH_TEST_POOL_PREFECT_PORT")  # a fixed port on a shared machine
    if wanted:
        return int(wanted)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    from pipelines.schedule import start_local_server, stop_server

    home = tmp_path_factory.mktemp("pool-server")
    url, proc = start_local_server(Settings(home=home), free_port(), prefect_home=home / "prefect")
    yield url
    stop_server(proc)


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pool-bundles")
    for n in range(BUNDLES):
        path = root / f"letters-{n}"
        make_bundle(path, seed=100 + n, pages=PAGES, kind="letter", profile="clean", station="तिर्वा", year=2020,
                    dpi=150)  # small pages: the test is about sharing work, not about OCR
        (path / "truth.json").unlink()
    return root


def env_for(home: Path, api: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ABHILEKH_", "PREFECT_"))}
    env.update(
        ABHILEKH_HOME=str(home), PREFECT_API_URL=api, PREFECT_HOME=str(home / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1", PREFECT_LOGGING_LEVEL="WARNING",
        ABHILEKH_OCR_JOBS="1", ABHILEKH_RETRY_BACKOFF_SECONDS="0.2", COLUMNS="200", PYTHONIOENCODING="utf-8",
        OMP_THREAD_LIMIT="1",
        # a worker beats every 2 s; 10 s of silence is death (production: 30 s and 90 s)
        PREFECT_WORKER_HEARTBEAT_SECONDS="2", PREFECT_WORKER_QUERY_SECONDS="1", ABHILEKH_POOL_STALE_SECONDS="10",
    )
    env.update(extra)
    return env


def start_worker(name: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    return start_worker_in(POOL, name, env, log)


def start_worker_in(pool: str, name: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "prefect"), "worker", "start", "--pool", pool, "--type", "process", "--name", name,
         "--limit", "1"],
        env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )


def descendants(pid: int) -> list[int]:
    """PID and every process below it (the worker's flow-run process has its own session)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def flow_runs(api: str) -> list[dict]:
    r = httpx.post(f"{api}/flow_runs/filter", json={"limit": 200}, timeout=30)
    r.raise_for_status()
    return r.json()


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        for pid in reversed(descendants(proc.pid)):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            for pid in descendants(proc.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            proc.wait()


def test_two_workers_share_the_backlog_and_a_killed_workers_bundle_is_run_again(prefect_server, bundles, tmp_path):
    from pipelines import bundle as steps
    from search import open_index
    from storage import open_store

    home = tmp_path / "home"
    (home / "prefect").mkdir(parents=True)
    api = prefect_server
    ids = {}
    for path in sorted(bundles.iterdir()):
        plan = steps.plan_bundle(path, BundleMetadata(), Settings(home=tmp_path / "plans"))
        ids[str(path.resolve())] = plan.bundle_id
    env = env_for(home, api)
    workers = {name: start_worker(name, env, tmp_path / f"{name}.log") for name in ("worker-a", "worker-b")}
    batch_log = tmp_path / "batch.log"
    batch = subprocess.Popen(
        [str(BIN / "abhilekh"), "batch", str(bundles), "--pool", POOL, "--limit", "2",
         "--report-dir", str(tmp_path / "report")],
        env=env, stdout=batch_log.open("w"), stderr=subprocess.STDOUT,
    )
    killed_bundle = None
    try:
        deadline = time.monotonic() + 240
        # Kill worker-a once it has finished a bundle and has OCR'd a page of its next one.
        while killed_bundle is None:
            assert time.monotonic() < deadline, "worker-a never was mid-bundle: " + batch_log.read_text()[-3000:]
            assert batch.poll() is None, "the batch ended before worker-a could be killed: " + batch_log.read_text()
            runs = [r for r in flow_runs(api) if r["labels"].get("prefect.worker.name") == "worker-a"]
            done = [r for r in runs if r["state_type"] == "COMPLETED"]
            for run in runs:
                bundle_id = ids[run["parameters"]["path"]]
                if done and run["state_type"] == "RUNNING" and list((home / "work" / bundle_id).glob("*.json")):
                    for pid in descendants(workers["worker-a"].pid):
                        os.kill(pid, signal.SIGKILL)
                    killed_bundle = bundle_id
                    break
            time.sleep(0.2)
        workers["worker-a"].wait(10)
        # The machine comes back as a new worker: the rest of the backlog is shared again
        # (the dead run itself is only free once it has been reaped).
        workers["worker-c"] = start_worker("worker-c", env, tmp_path / "worker-c.log")
        rc = batch.wait(timeout=max(30.0, deadline - time.monotonic() + 60))
        out = batch_log.read_text()
        assert rc == 0, out[-4000:] + (tmp_path / "worker-b.log").read_text()[-3000:]
    finally:
        for proc in (batch, *workers.values()):
            stop(proc)

    # The progress lines name the backlog's counts; the dead worker's run was put back.
    assert "queued" in out and "running" in out and "pages/min" in out
    final = [line for line in out.splitlines() if line.startswith("queued")][-1]
    assert f"done {BUNDLES}" in final and "failed 0, 1 restarted" in final, final  # the dead run, once
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    bundles_reported = report["bundles"] if isinstance(report, dict) else report
    assert len(bundles_reported) == BUNDLES and all(b["ok"] for b in bundles_reported)

    # Both workers finished bundles (their reports are artifacts naming the worker),
    # and the killed bundle was finished by worker-b.
    r = httpx.post(f"{api}/artifacts/filter", json={"limit": 200}, timeout=30)
    payloads = [json.loads(a["data"].strip().removeprefix("```json").removesuffix("```")) for a in r.json()
                if a.get("description") == "abhilekh-bundle-report"]
    by_worker: dict[str, set[str]] = {}
    for p in payloads:
        by_worker.setdefault(p["worker"], set()).add(p["report"]["bundle_id"])
    assert {"worker-a", "worker-b"} <= set(by_worker), by_worker
    assert killed_bundle not in by_worker["worker-a"]
    assert any(killed_bundle in done for name, done in by_worker.items() if name != "worker-a")
    runs = {ids[r["parameters"]["path"]]: r for r in flow_runs(api)}
    assert runs[killed_bundle]["run_count"] >= 2

    # Every page exactly once in storage and in the index.
    # the workers ran without ABHILEKH_* servers (env_for): their embedded store and
    # index, whatever servers this test process itself is pointed at
    settings = Settings(home=home, es_url=None, s3_endpoint=None, database_url=None)
    keys = list(open_store(settings).list(""))
    expected = set()
    for bundle_id in ids.values():
        expected |= {f"bundles/{bundle_id}/manifest.json", f"bundles/{bundle_id}/document.pdf",
                     f"catalog/{bundle_id}.json", f"bundles/{bundle_id}/entries.json"}
        expected |= {f"bundles/{bundle_id}/{kind}/{n}.{ext}" for n in range(1, PAGES + 1)
                     for kind, ext in (("pages", "json"), ("thumbs", "jpg"))}
    assert len(keys) == len(set(keys)) and set(keys) == expected
    index = open_index(settings)
    try:
        assert index.bundle_page_counts() == {b: PAGES for b in ids.values()}
        assert index.count() == BUNDLES * PAGES
    finally:
        index.close()


def test_the_nightly_flow_submits_each_bundle_to_the_pool_when_one_is_set(prefect_server, tmp_path):
    """ABHILEKH_POOL set: the nightly run ingests nothing itself; each complete bundle of
    the inbox is a flow run of the pool's ingest-bundle deployment, done by a worker, and
    the nightly run files the sources away and reports from the runs' reports."""
    from search import open_index
    from storage import open_store
    from storage.bundles import stored_bundle_ids

    pool = "night-pool"
    home = tmp_path / "home"
    (home / "prefect").mkdir(parents=True)
    inbox = home / "inbox"
    for n in range(2):
        path = inbox / f"night-{n}"
        make_bundle(path, seed=300 + n, pages=1, kind="letter", profile="clean", station="तिर्वा", year=2021, dpi=150)
        (path / "truth.json").unlink()
        (path / ".ready").write_text("")
    env = env_for(home, prefect_server, ABHILEKH_POOL=pool)
    worker = start_worker_in(pool, "night-worker", env, tmp_path / "night-worker.log")
    try:
        run = subprocess.run(
            [sys.executable, "-c", "import json, flows; print('RESULT ' + json.dumps(flows.run_nightly()))"],
            env=env, capture_output=True, text=True, timeout=300, cwd=str(Path(__file__).resolve().parents[1]),
        )
    finally:
        stop(worker)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(run.stdout.split("RESULT ", 1)[1])
    assert result["ok"], result
    assert sorted(result["archived"]) == ["night-0", "night-1"]
    assert not list(inbox.iterdir())

    # each bundle was a flow run of the pool's deployment, finished by the worker
    runs = [r for r in flow_runs(prefect_server) if r.get("work_pool_name") == pool]
    assert len(runs) == 2 and all(r["state_type"] == "COMPLETED" for r in runs), runs
    assert {r["labels"].get("prefect.worker.name") for r in runs} == {"night-worker"}
    assert {Path(r["parameters"]["path"]).name for r in runs} == {"night-0", "night-1"}

    settings = Settings(home=home, es_url=None, s3_endpoint=None, database_url=None)
    stored = stored_bundle_ids(open_store(settings))
    assert len(stored) == 2
    index = open_index(settings)
    try:
        assert index.count() == 2
    finally:
        index.close()
