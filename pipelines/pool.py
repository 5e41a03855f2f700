"""One backlog over many machines: each bundle a flow run in a Prefect work pool.

``abhilekh batch MANIFEST --pool NAME`` makes sure the work pool (type ``process``,
with a concurrency limit) and the ``ingest-bundle/ingest-bundle`` deployment exist,
creates one flow run per bundle, and watches them; any number of ``prefect worker
start --pool NAME`` processes, on any machines with the same installation and the
same ABHILEKH_* settings (one object store, one index), pull the runs.

Results leave a worker as an artifact of its flow run (the bundle report as JSON,
see ``publish_report``): the API's database holds them, so the submitting machine
needs no shared disk with the workers.

A worker that dies (SIGKILL, power cut) leaves its run RUNNING for ever: Prefect
only marks a run CRASHED when the worker that watched it is still alive to see its
process end. So the watcher reaps: a RUNNING or PENDING run whose worker has sent
no heartbeat for ``stale_after`` seconds is marked CRASHED, and every CRASHED run is
put back to SCHEDULED (up to ``max_restarts`` times), where any worker picks it up.
The rerun resumes from the work directory (shared, or OCR again elsewhere); object
keys come from the scans' content and index ids are deterministic, so every page
still ends exactly once in storage and in the index.

Import this module only after PREFECT_API_URL is final: Prefect reads it at import.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from abhilekh.settings import Settings
from pipelines.batch import BundleRequest
from pipelines.prefect_env import configure_prefect
from pipelines.report import BundleReport

FLOW = "ingest-bundle"
DEPLOYMENT = "ingest-bundle"
ENTRYPOINT = "flows.py:ingest_bundle"
REPORT_ARTIFACT = "abhilekh-bundle-report"  # the artifact's description; its key stays free
ROOT = Path(__file__).resolve().parent.parent  # where flows.py is: the same path on every worker

QUEUED = ("SCHEDULED", "PENDING", "PAUSED")
RUNNING = ("RUNNING", "CANCELLING")
FAILED = ("FAILED", "CANCELLED", "CRASHED")


@dataclass
class PoolProgress:
    """The backlog as the watcher last saw it."""

    total: int
    queued: int = 0
    running: int = 0
    done: int = 0
    failed: int = 0
    restarted: int = 0  # runs put back after their worker died or they crashed
    pages: int = 0  # pages stored by finished runs
    seconds: float = 0.0
    workers: dict[str, int] = field(default_factory=dict)  # worker -> bundles it finished

    @property
    def pages_per_minute(self) -> float:
        return 60.0 * self.pages / self.seconds if self.seconds > 0 else 0.0

    @property
    def finished(self) -> bool:
        return self.done + self.failed >= self.total


def _client() -> Any:
    from prefect.client.orchestration import get_client

    return get_client(sync_client=True)


def ensure_pool(client: Any, pool: str, limit: int | None) -> None:
    """The work pool, created if missing; its concurrency limit set to LIMIT."""
    from prefect.client.schemas.actions import WorkPoolCreate, WorkPoolUpdate
    from prefect.exceptions import ObjectNotFound

    try:
        found = client.read_work_pool(pool)
    except ObjectNotFound:
        client.create_work_pool(WorkPoolCreate(name=pool, type="process", concurrency_limit=limit))
        return
    if limit is not None and found.concurrency_limit != limit:
        client.update_work_pool(pool, WorkPoolUpdate(concurrency_limit=limit))


def ensure_deployment(client: Any, pool: str, root: Path = ROOT) -> UUID:
    """The ingest-bundle deployment in POOL, running flows.py from ROOT on each worker."""
    flow_id = client.create_flow_from_name(FLOW)
    return client.create_deployment(  # an upsert on (flow, name)
        flow_id=flow_id,
        name=DEPLOYMENT,
        work_pool_name=pool,
        entrypoint=ENTRYPOINT,
        path=str(root),
        pull_steps=[{"prefect.deployments.steps.set_working_directory": {"directory": str(root)}}],
        description="Digitise one bundle (one flow run per bundle of a pooled batch).",
        tags=["abhilekh"],
        parameter_openapi_schema={"type": "object", "properties": {}},
        enforce_parameter_schema=False,
    )


def submit(requests: Sequence[BundleRequest], pool: str, limit: int | None) -> list[UUID]:
    """One scheduled flow run per bundle, in the manifest's order; their ids."""
    with _client() as client:
        ensure_pool(client, pool, limit)
        deployment_id = ensure_deployment(client, pool)
        runs = []
        for request in requests:
            run = client.create_flow_run_from_deployment(
                deployment_id,
                parameters={"path": request.path, "metadata": request.metadata, "name": request.name},
                name=f"bundle-{_slug(request.name or Path(request.path).name)}",
                tags=["abhilekh", "pooled"],
            )
            runs.append(run.id)
        return runs


def _slug(text: str) -> str:
    out = "".join(c if c.isalnum() else "-" for c in text.casefold()).strip("-")
    return out[:60] or "bundle"


def publish_report(report: dict[str, Any]) -> None:
    """Inside a pooled flow run: the bundle report, as an artifact of this run."""
    from prefect.artifacts import create_markdown_artifact
    from prefect.runtime import flow_run

    payload = {
        "report": report,
        "worker": os.environ.get("PREFECT__WORKER_NAME") or socket.gethostname(),
        "host": socket.gethostname(),
        "attempt": flow_run.run_count,
    }
    create_markdown_artifact(
        markdown="```json\n" + json.dumps(payload, ensure_ascii=False, indent=1) + "\n```",
        description=REPORT_ARTIFACT,
    )


def read_reports(client: Any, run_ids: Sequence[UUID]) -> dict[UUID, dict[str, Any]]:
    """The latest published report of each run that has one."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import ArtifactSort

    out: dict[UUID, dict[str, Any]] = {}
    for start in range(0, len(run_ids), 100):
        chunk = list(run_ids[start:start + 100])
        artifacts = client.read_artifacts(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=chunk)),
                                          sort=ArtifactSort.CREATED_DESC, limit=10 * len(chunk))
        for art in artifacts:
            if art.description != REPORT_ARTIFACT or art.flow_run_id in out or not isinstance(art.data, str):
                continue
            body = art.data.strip().removeprefix("```json").removesuffix("```")
            try:
                out[art.flow_run_id] = json.loads(body)
            except ValueError:
                continue
    return out


def _worker_heartbeats(client: Any, pool: str) -> dict[str, datetime | None]:
    return {w.name: w.last_heartbeat_time for w in client.read_workers_for_work_pool(pool)}


def reap(client: Any, runs: Sequence[Any], pool: str, stale_after: float, max_restarts: int,
         restarts: dict[UUID, int]) -> int:
    """Runs whose worker stopped sending heartbeats are marked CRASHED; CRASHED runs
    are scheduled again (each at most MAX_RESTARTS times). Returns how many were put back."""
    from prefect.states import Crashed, Scheduled

    beats: dict[str, datetime | None] | None = None
    now = datetime.now(UTC)
    put_back = 0
    for run in runs:
        state = run.state.type.value if run.state else ""
        since = run.state.timestamp if run.state else None
        if state == "PENDING" and since is not None and (now - since).total_seconds() > max(3 * stale_after, 120.0):
            # A worker takes a run (PENDING), labels it and starts it (RUNNING) within
            # seconds; the labels may still name the run's previous worker meanwhile, so
            # only a run stuck there this long is taken for one whose worker died.
            client.set_flow_run_state(run.id, Crashed(message="stuck in PENDING: its worker died taking it"),
                                      force=True)
            state = "CRASHED"
        elif state in RUNNING:
            worker = (run.labels or {}).get("prefect.worker.name")
            if not worker:
                continue
            if beats is None:
                beats = _worker_heartbeats(client, pool)
            last = beats.get(worker)
            if last is not None and (now - last).total_seconds() <= stale_after:
                continue
            silent = f"{(now - last).total_seconds():.0f} s" if last else "ever"
            client.set_flow_run_state(run.id, Crashed(message=f"worker {worker} sent no heartbeat for {silent}: "
                                                      "taken to be dead"), force=True)
            state = "CRASHED"
        if state == "CRASHED" and restarts.get(run.id, 0) < max_restarts:
            client.set_flow_run_state(run.id, Scheduled(message="rescheduled: its last attempt crashed"), force=True)
            restarts[run.id] = restarts.get(run.id, 0) + 1
            put_back += 1
    return put_back


def watch(
    run_ids: Sequence[UUID],
    pool: str,
    settings: Settings,
    on_progress: Callable[[PoolProgress], None] | None = None,
    poll: float = 2.0,
    stale_after: float | None = None,
    max_restarts: int = 3,
    timeout: float | None = None,
) -> tuple[PoolProgress, dict[UUID, dict[str, Any]], dict[UUID, str]]:
    """Follow the runs until each is done or failed for good, reaping dead workers' runs.

    Returns the last progress, each run's published report and each run's final state
    (with its message, for runs that left no report)."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    configure_prefect(settings)
    started = time.monotonic()
    restarts: dict[UUID, int] = {}
    stale = stale_after if stale_after is not None else settings.pool_stale_seconds
    ids = list(run_ids)
    progress = PoolProgress(total=len(ids))
    reports: dict[UUID, dict[str, Any]] = {}
    finals: dict[UUID, str] = {}
    with _client() as client:
        while True:
            runs = []
            for start in range(0, len(ids), 200):
                runs += client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids[start:start + 200])),
                                              limit=200)
            progress.restarted += reap(client, runs, pool, stale, max_restarts, restarts)
            counts = {"queued": 0, "running": 0, "done": 0, "failed": 0}
            completed = []
            for run in runs:
                state = run.state.type.value if run.state else "SCHEDULED"
                if state == "COMPLETED":
                    counts["done"] += 1
                    completed.append(run.id)
                elif state in FAILED and (state != "CRASHED" or restarts.get(run.id, 0) >= max_restarts):
                    counts["failed"] += 1
                    finals[run.id] = f"{state.lower()}: {run.state.message or ''}".strip(": ")
                elif state in RUNNING:
                    counts["running"] += 1
                else:
                    counts["queued"] += 1
            missing = [i for i in ids if i not in reports]
            if missing:
                reports.update(read_reports(client, missing))
            progress.queued, progress.running = counts["queued"], counts["running"]
            progress.done, progress.failed = counts["done"], counts["failed"]
            progress.pages = sum(int(r["report"].get("pages") or 0) for i, r in reports.items()
                                 if i in completed and r["report"].get("stored"))
            workers: dict[str, int] = {}
            for i in completed:
                if i in reports:
                    workers[reports[i].get("worker", "?")] = workers.get(reports[i].get("worker", "?"), 0) + 1
            progress.workers = workers
            progress.seconds = time.monotonic() - started
            if on_progress:
                on_progress(progress)
            # A completed run's artifact is written before its state: wait for them all.
            if progress.finished and all(i in reports for i in completed):
                break
            if timeout is not None and progress.seconds > timeout:
                raise TimeoutError(f"the pool {pool!r} did not finish {progress.total} bundle(s) in {timeout:.0f} s "
                                   f"({progress.done} done, {progress.running} running, {progress.queued} queued); "
                                   "are its workers running? `prefect worker start --pool " + pool + "`")
            time.sleep(poll)
        for run in runs:
            finals.setdefault(run.id, run.state.type.value.lower() if run.state else "?")
    return progress, reports, finals


def bundle_reports(requests: Sequence[BundleRequest], run_ids: Sequence[UUID], reports: dict[UUID, dict[str, Any]],
                   finals: dict[UUID, str]) -> list[BundleReport]:
    """One BundleReport per request, in order: the run's own, or one naming why it has none."""
    out = []
    for request, run_id in zip(requests, run_ids):
        found = reports.get(run_id)
        if found is not None:
            out.append(BundleReport.from_dict(found["report"]))
            continue
        out.append(BundleReport(
            bundle_id="", path=request.path, pages=0, stored=False, indexed_pages=0,
            failures=[{"file": "(bundle)", "reason": f"flow run {run_id} ended {finals.get(run_id, '?')} "
                       "without a report"}],
            needs_review=[], seconds=0.0, metadata=dict(request.metadata), name=request.name,
        ))
    return out
