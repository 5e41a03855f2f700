"""Prefect flows: plain functions composing ingest/, storage/ and search/.

Tasks take whole pages (never words or lines): Prefect's API copes with hundreds of
tasks per run, not hundreds of thousands. OCR tasks run in a thread pool bounded by
ABHILEKH_OCR_JOBS, each driving one single-threaded Tesseract process.
"""

from __future__ import annotations

import time
from pathlib import Path

from abhilekh.prefect_env import configure_prefect
from abhilekh.settings import get_settings

configure_prefect(get_settings())

from prefect import flow, task  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402

from abhilekh.records import BundleMetadata, PageText  # noqa: E402
from pipelines import bundle as steps  # noqa: E402
from pipelines import progress  # noqa: E402
from search import open_index  # noqa: E402
from storage import open_store  # noqa: E402


@task(name="ocr-page", retries=1, retry_delay_seconds=2)
def ocr_page(job: steps.PageJob) -> PageText:
    return steps.run_page(job, get_settings())


@task(name="store-bundle", retries=3, retry_delay_seconds=[2, 10, 30])
def store_bundle(plan: steps.BundlePlan, pages: list[PageText]) -> steps.Manifest:
    settings = get_settings()
    return steps.store_bundle(plan, pages, settings, open_store(settings))


@task(name="index-bundle", retries=3, retry_delay_seconds=[2, 10, 30])
def index_bundle(manifest: steps.Manifest, pages: list[PageText]) -> int:
    index = open_index(get_settings())
    try:
        return steps.index_bundle(manifest, pages, index)
    finally:
        index.close()


@flow(name="ingest-bundle", log_prints=False)
def ingest_bundle(path: str, metadata: dict | None = None) -> dict:
    """Digitise one bundle: every page OCR'd, the e-file stored, every page indexed.

    Re-running on the same scans is a no-op; after a crash it resumes where it stopped.
    """
    started = time.monotonic()
    settings = get_settings()
    meta = BundleMetadata.from_dict(metadata or {})
    plan = steps.plan_bundle(Path(path), meta, settings)
    progress.emit("plan", bundle_id=plan.bundle_id, pages=len(plan.jobs), failures=plan.failures)
    store = open_store(settings)

    manifest = steps.already_stored(plan, store)
    if manifest is not None:
        pages = steps.load_stored_pages(store, manifest)
        indexed, index_error = _index_or_report(manifest, pages)
        steps.clean_work(settings, plan.bundle_id)
        progress.emit("skip", bundle_id=plan.bundle_id, pages=manifest.page_count)
        return steps.report_for(
            plan, manifest, indexed, started, already_done=True, index_error=index_error
        ).to_dict()

    futures = ocr_page.map(plan.jobs) if plan.jobs else []
    pages: list[PageText] = []
    page_failures: list[dict[str, str]] = []
    for job, future in zip(plan.jobs, futures):
        try:
            pages.append(future.result())
        except Exception as exc:  # one bad page must not sink the others
            page_failures.append({"file": f"{job.source_name} (page {job.source_page})", "reason": str(exc)})
    if page_failures:
        # Nothing is stored half-done: the successful pages wait in the work directory
        # and a rerun OCRs only the pages that failed.
        return steps.report_for(plan, None, 0, started, page_failures=page_failures).to_dict()

    manifest = store_bundle(plan, pages)
    indexed, index_error = _index_or_report(manifest, pages)
    steps.clean_work(settings, plan.bundle_id)
    return steps.report_for(plan, manifest, indexed, started, index_error=index_error).to_dict()


def _index_or_report(manifest: steps.Manifest, pages: list[PageText]) -> tuple[int, str | None]:
    """Index now; if the index is down, the bundle is safe in storage and `reconcile` catches up."""
    try:
        return index_bundle(manifest, pages), None
    except Exception as exc:
        return 0, f"{type(exc).__name__}: {exc}"


def run_ingest_bundle(path: str, metadata: dict | None = None) -> dict:
    """Run the flow with the page pool sized from the settings in force."""
    jobs = max(1, get_settings().ocr_jobs)
    return ingest_bundle.with_options(task_runner=ThreadPoolTaskRunner(max_workers=jobs))(path, metadata)
