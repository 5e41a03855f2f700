"""Prefect flows: plain functions composing ingest/, storage/ and search/.

Tasks take whole pages (never words or lines): Prefect's API copes with hundreds of
tasks per run, not hundreds of thousands. OCR tasks run in ONE thread pool per flow
run, bounded by ABHILEKH_OCR_JOBS, each driving one single-threaded Tesseract; a
batch keeps ABHILEKH_BATCH_BUNDLES bundles in flight on that same pool
(pipelines/batch.py), so bundles never multiply the Tesseracts.

Flows: ingest-bundle, ingest-batch, nightly-ingest (the scheduled one), reindex,
reconcile. Store and index steps retry transient errors with backoff themselves
(pipelines/retry.py), so their tasks have no Prefect retries on top.
"""

from __future__ import annotations

import os
from typing import Any

from abhilekh.settings import get_settings
from pipelines.prefect_env import configure_prefect

configure_prefect(get_settings())

from prefect import flow, task  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402

from abhilekh.records import PageText  # noqa: E402
from pipelines import (  # noqa: E402
    batch,  # noqa: E402
    maintenance,
    nightly,
    timing,
)
from pipelines import bundle as steps  # noqa: E402
from pipelines import pool as work_pool  # noqa: E402
from pipelines.batch import BundleRequest  # noqa: E402
from pipelines.report import BundleReport  # noqa: E402
from pipelines.schedule import DEPLOYMENT  # noqa: E402
from search import open_index  # noqa: E402
from storage import open_store  # noqa: E402


def _pool() -> Any:  # a ThreadPoolTaskRunner; Prefect's generics do not match its own flow decorator's
    return ThreadPoolTaskRunner(max_workers=max(1, get_settings().ocr_jobs or os.cpu_count() or 1))


@task(name="ocr-page", retries=1, retry_delay_seconds=2, cache_policy=NO_CACHE)
def ocr_page(job: steps.PageJob) -> PageText:
    with timing.stage("ocr.page"):
        return steps.run_page(job, get_settings())


@task(name="store-bundle", cache_policy=NO_CACHE)
def store_bundle(plan: steps.BundlePlan, pages: list[PageText]) -> steps.Manifest:
    settings = get_settings()
    return steps.store_bundle(plan, pages, settings, open_store(settings))


@task(name="index-bundle", cache_policy=NO_CACHE)
def index_bundle(manifest: steps.Manifest, pages: list[PageText]) -> int:
    settings = get_settings()
    index = open_index(settings)
    try:
        return steps.index_bundle(manifest, pages, index, settings)
    finally:
        index.close()


def _reports(requests: list[BundleRequest]) -> list[BundleReport]:
    """Inside a flow run: every request through the shared page pool of that run."""
    settings = get_settings()
    return batch.ingest_bundles(requests, settings, ocr_page.submit, store_bundle, index_bundle,
                                settings.batch_bundles)


def _run(requests: list[BundleRequest]) -> list[dict]:
    """The reports in their JSON form: a flow's result is where they leave Python."""
    return [r.to_dict() for r in _reports(requests)]


@flow(name="ingest-bundle", log_prints=False, task_runner=_pool())
def ingest_bundle(path: str, metadata: dict | None = None, name: str = "") -> dict:
    """Digitise one bundle: every page OCR'd, the e-file stored, every page indexed.

    Re-running on the same scans is a no-op; after a crash it resumes where it stopped.
    Run from the pool's deployment (a worker), the report is also published as an
    artifact of the run, where the submitting `abhilekh batch --pool` reads it.
    """
    report = _run([BundleRequest(path, metadata or {}, name)])[0]
    from prefect.runtime import deployment

    if deployment.id:
        work_pool.publish_report(report)
    return report


@flow(name="ingest-batch", log_prints=False, task_runner=_pool())
def ingest_batch(bundles: list[dict]) -> list[dict]:
    """Many bundles ({path, metadata, name} each), bounded, on one shared page pool."""
    return _run([BundleRequest.from_dict(b) for b in bundles])


@flow(name="reconcile", log_prints=False)
def reconcile() -> list[str]:
    """Index every stored bundle that is missing, short or stale in the index."""
    return maintenance.reconcile(get_settings())


@flow(name="reindex", log_prints=False)
def reindex() -> dict:
    """Rebuild the index from storage alone, beside the old one; damaged bundles named."""
    return maintenance.reindex(get_settings()).to_dict()


def _pooled_reports(requests: list[BundleRequest]) -> list[BundleReport]:
    """The bundles as flow runs of the work pool ABHILEKH_POOL, followed to the end
    (dead workers' runs reaped and run again), their reports read back."""
    settings = get_settings()
    assert settings.pool
    run_ids = work_pool.submit(requests, settings.pool, settings.pool_concurrency)
    _progress, reports, finals = work_pool.watch(run_ids, settings.pool, settings)
    return work_pool.bundle_reports(requests, run_ids, reports, finals)


@flow(name="nightly-ingest", log_prints=False, task_runner=_pool())
def nightly_ingest(inbox: str | None = None, settle_minutes: float | None = None) -> dict:
    """Ingest every complete bundle in the inbox, file the sources away, report, reconcile.

    With a work pool set (ABHILEKH_POOL), each bundle is a flow run of that pool, taken by
    whichever worker is free; otherwise this run ingests them on its own page pool.
    See pipelines/nightly.py for what "complete" means and where things go.
    """
    from pathlib import Path

    settings = get_settings()
    return nightly.run_nightly(
        settings, _pooled_reports if settings.pool else _reports,
        lambda: maintenance.reconcile_report(get_settings()),
        Path(inbox) if inbox else None, settle_minutes,
    )


def serve_nightly(cron: str, timezone: str, inbox: str | None, settle_minutes: float | None) -> None:
    """Register nightly-ingest/nightly with a Cron schedule and run its flow runs (blocks).

    Import this module only once PREFECT_API_URL is final (`abhilekh schedule` sets it
    after starting a server): Prefect reads it at import time.
    """
    from pathlib import Path

    from prefect.schedules import Cron

    parameters: dict = {}
    if inbox:
        parameters["inbox"] = str(Path(inbox).resolve())
    if settle_minutes is not None:
        parameters["settle_minutes"] = settle_minutes
    nightly_ingest.serve(
        name=DEPLOYMENT,
        schedules=[Cron(cron, timezone=timezone)],
        parameters=parameters,
        description="Ingest every complete bundle in the inbox, archive or quarantine it, report, reconcile.",
        tags=["abhilekh"],
        limit=1,  # one nightly run at a time on this machine
    )


def _with_pool(f):
    return f.with_options(task_runner=_pool())


def run_ingest_bundle(path: str, metadata: dict | None = None) -> dict:
    """Run the flow with the page pool sized from the settings in force."""
    return _with_pool(ingest_bundle)(path, metadata)


def run_ingest_batch(requests: list[BundleRequest]) -> list[dict]:
    return _with_pool(ingest_batch)([r.to_dict() for r in requests])


def run_nightly(inbox: str | None = None, settle_minutes: float | None = None) -> dict:
    return _with_pool(nightly_ingest)(inbox, settle_minutes)


__all__ = [
    "index_bundle", "ingest_batch", "ingest_bundle", "nightly_ingest", "ocr_page", "reconcile",
    "reindex", "run_ingest_batch", "run_ingest_bundle", "run_nightly", "serve_nightly", "store_bundle",
]
