"""Many bundles through one shared OCR pool: the engine behind every ingest flow.

How the cores are shared. Every page of every bundle is one OCR task in ONE pool of
``ABHILEKH_OCR_JOBS`` threads, each driving one single-threaded Tesseract, so however
many bundles are in flight there is still one Tesseract per core. The calling thread
plans bundles and queues their pages while fewer than ``ABHILEKH_BATCH_BUNDLES``
bundles have pages in OCR; a finishing thread takes bundles in order — waits for the
oldest bundle's pages, frees its OCR slot (so the next bundle is planned and queued at
once), stores it, indexes it. Storing and indexing therefore overlap with OCR of the
next bundles instead of leaving the pool to drain, and at most ``2 × window`` bundles
are unfinished, so a slow store cannot let OCR run far ahead into the work directory.

Each bundle, on its own:
  plan (hash + validate sources; bad files to quarantine) → per-bundle lock →
  already stored? → index if needed → done
  else OCR pages (work dir, resumable) → store (each object read back and verified;
  manifest last) → index (chunks; index down = stored, `reconcile` indexes it later)
  → work files removed → lock released.

This module knows nothing of Prefect: flows.py passes in the OCR submitter and the
store/index callables (Prefect tasks), tests can pass plain functions.
"""

from __future__ import annotations

import contextvars
import csv
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from queue import SimpleQueue
from typing import Any

from abhilekh.records import BundleMetadata, PageText
from abhilekh.settings import Settings
from pipelines import bundle as steps
from pipelines import crashpoints, progress, timing
from pipelines.locks import BundleBusy, BundleLock
from pipelines.report import BundleReport, Failure
from pipelines.retry import with_retries
from storage import open_store
from storage.bundles import Manifest

METADATA_FILES = ("bundle.yaml", "bundle.yml", "metadata.yaml", "metadata.yml", "metadata.json")
_META_KEYS = ("thana", "register", "year", "year_to", "file_no", "title")


@dataclass
class BundleRequest:
    path: str
    metadata: dict[str, Any] = field(default_factory=dict)
    name: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "metadata": self.metadata, "name": self.name}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BundleRequest:
        return cls(str(data["path"]), dict(data.get("metadata") or {}), str(data.get("name") or ""))


@dataclass
class _InFlight:
    request: BundleRequest
    plan: steps.BundlePlan
    lock: BundleLock
    started: float
    manifest: Manifest | None = None  # already stored (and intact) before this run
    futures: list[Any] = field(default_factory=list)
    stored_pages: list[PageText] = field(default_factory=list)  # the stored copy's pages
    repaired: list[str] = field(default_factory=list)  # the stored copy was damaged: what was wrong


SubmitOcr = Callable[[steps.PageJob], Any]  # returns something with .result()
StoreFn = Callable[[steps.BundlePlan, list[PageText]], Manifest]
IndexFn = Callable[[Manifest, list[PageText]], int]


class _Slots:
    """Counts shared by the admitting thread and the finishing thread.

    ``ocr`` bundles whose pages are still being OCR'd (at most ``window``), and
    ``unfinished`` bundles admitted but not yet reported (at most ``2 × window``, so a
    slow store cannot make OCR run arbitrarily far ahead into the work directory).
    """

    def __init__(self, window: int) -> None:
        self.window = window
        self.cond = threading.Condition()
        self.ocr = 0
        self.unfinished = 0
        self.finished = 0

    def wait_for_room(self) -> None:
        with self.cond:
            self.cond.wait_for(lambda: self.ocr < self.window and self.unfinished < 2 * self.window)

    def admitted(self) -> None:
        with self.cond:
            self.ocr += 1
            self.unfinished += 1

    def ocr_done(self) -> None:
        with self.cond:
            self.ocr -= 1
            self.cond.notify_all()

    def finished_one(self) -> None:
        with self.cond:
            self.unfinished -= 1
            self.finished += 1
            self.cond.notify_all()

    def wait_for_a_finish(self, seen: int) -> None:
        with self.cond:
            self.cond.wait_for(lambda: self.finished > seen or self.unfinished == 0)


def run_bundles(
    requests: Sequence[BundleRequest],
    settings: Settings,
    submit_ocr: SubmitOcr,
    store_fn: StoreFn,
    index_fn: IndexFn,
    window: int | None = None,
) -> list[dict[str, Any]]:
    """``ingest_bundles``, each report in its JSON form: what the ingest flows return."""
    return [r.to_dict() for r in ingest_bundles(requests, settings, submit_ocr, store_fn, index_fn, window)]


def ingest_bundles(
    requests: Sequence[BundleRequest],
    settings: Settings,
    submit_ocr: SubmitOcr,
    store_fn: StoreFn,
    index_fn: IndexFn,
    window: int | None = None,
) -> list[BundleReport]:
    """Ingest every request; one report per request, in the requests' order.

    Two threads: this one plans bundles and queues their pages on the OCR pool while
    fewer than ``window`` bundles are being OCR'd; a finishing thread (in the same
    Prefect run context) collects each bundle's pages in order, frees its OCR slot at
    once, then stores and indexes it. So the pool is refilled with the next bundle's
    pages while the previous bundle is being assembled, verified and indexed.
    """
    window = max(1, window or settings.batch_bundles)
    results: dict[int, BundleReport] = {}
    queue: deque[tuple[int, BundleRequest, steps.BundlePlan | None, float | None]] = deque(
        (i, r, None, None) for i, r in enumerate(requests)
    )
    slots = _Slots(window)
    to_finish: SimpleQueue[tuple[int, _InFlight] | None] = SimpleQueue()
    progress.emit("batch", bundles=len(requests))

    def finisher() -> None:
        while (entry := to_finish.get()) is not None:
            i, item = entry
            try:
                report = _finish(item, settings, store_fn, index_fn, slots)
            except Exception as exc:  # noqa: BLE001 - one bundle's failure is its report, not the batch's end
                failure = {"file": "(bundle)", "reason": _reason(exc)}
                report = steps.report_for(item.plan, None, 0, item.started, page_failures=[failure])
            finally:
                item.lock.release()
                steps.discard_unpacked(item.plan)
            results[i] = _finish_report(report, item.request)
            slots.finished_one()

    # A copy of this thread's context: Prefect's flow run and task runner travel in
    # context variables, so the store/index tasks run as tasks of this flow run.
    thread = threading.Thread(target=contextvars.copy_context().run, args=(finisher,), name="abhilekh-finish",
                              daemon=True)
    thread.start()
    try:
        deferred, seen = 0, 0
        while queue:
            slots.wait_for_room()
            i, request, plan, started = queue.popleft()
            started = started if started is not None else time.monotonic()
            if plan is None:
                try:
                    with timing.stage("plan"):
                        plan = steps.plan_bundle(Path(request.path), BundleMetadata.from_dict(request.metadata),
                                                 settings)
                except Exception as exc:  # noqa: BLE001 - a missing or unreadable bundle must not sink the batch
                    results[i] = _finish_report(_unplanned_report(request, exc, started), request)
                    continue
                progress.emit("plan", bundle_id=plan.bundle_id, pages=len(plan.jobs), failures=plan.failures,
                              name=_name(request))
            lock = BundleLock(settings.locks_dir, plan.bundle_id)
            # Something else to do meanwhile: a bundle in flight, or one not yet tried.
            with slots.cond:
                others = slots.unfinished > 0 or deferred < len(queue)
            try:
                if others:
                    lock.acquire(wait=0)
                else:
                    try:
                        lock.acquire(wait=0)
                    except BundleBusy:  # only now is there something to wait for (and to say)
                        progress.emit("waiting", bundle_id=plan.bundle_id, name=_name(request))
                        lock.acquire(wait=settings.lock_wait_seconds)
            except BundleBusy as exc:
                if others:  # try it again once the rest is under way
                    queue.append((i, request, plan, started))
                    if deferred == 0:
                        seen = slots.finished
                    deferred += 1
                    if deferred > len(queue):  # every bundle left is busy: let one in flight finish first
                        slots.wait_for_a_finish(seen)
                        deferred = 0
                    continue
                report = steps.report_for(plan, None, 0, started, page_failures=[{"file": "(bundle)", "reason": str(exc)}])
                steps.discard_unpacked(plan)
                results[i] = _finish_report(report, request)
                continue
            deferred = 0
            try:
                item = _admit(request, plan, lock, started, settings, submit_ocr)
            except Exception as exc:  # noqa: BLE001 - the store unreachable past the retries: this bundle fails
                lock.release()
                steps.discard_unpacked(plan)
                failure = {"file": "(storage)", "reason": _reason(exc)}
                results[i] = _finish_report(steps.report_for(plan, None, 0, started, page_failures=[failure]), request)
                continue
            slots.admitted()
            to_finish.put((i, item))
    finally:
        to_finish.put(None)
        thread.join()
    return [results[i] for i in range(len(requests))]


def _admit(request, plan, lock, started, settings, submit_ocr) -> _InFlight:
    store = open_store(settings)
    with timing.stage("admit.check_stored"):
        found = with_retries(lambda: steps.stored_copy(plan, store, settings),
                             f"checking {plan.bundle_id[:12]} in the store",
                             settings.retry_attempts, settings.retry_backoff_seconds)
    item = _InFlight(request, plan, lock, started, found.manifest, stored_pages=found.pages,
                     repaired=found.damage)
    if found.damage:
        progress.emit("repair", bundle_id=plan.bundle_id, damage=found.damage)
    if found.manifest is None:
        item.futures = [submit_ocr(job) for job in plan.jobs]
    return item


def _finish(item: _InFlight, settings: Settings, store_fn: StoreFn, index_fn: IndexFn, slots: _Slots) -> BundleReport:
    plan, started = item.plan, item.started
    try:
        pages, page_failures = _collect(item)
    finally:
        slots.ocr_done()  # the pool may take the next bundle's pages while this one is stored
    if item.manifest is not None:
        manifest, pages = item.manifest, item.stored_pages
        indexed, index_error = _index(index_fn, manifest, pages)
        steps.clean_work(settings, plan.bundle_id)
        progress.emit("skip", bundle_id=plan.bundle_id, pages=manifest.page_count)
        return steps.report_for(plan, manifest, indexed, started, already_done=True, index_error=index_error)
    changed = [f for f in page_failures if f.get("changed")]
    if not changed and pages and not page_failures:
        try:
            with timing.stage("store.check_sources"):
                steps.check_unchanged(plan)
        except steps.SourceChanged as exc:
            changed = [{"file": exc.file, "reason": exc.reason, "changed": "1"}]
    if changed:
        return _changed_report(item, settings, changed)
    if page_failures:
        # Nothing is stored half-done: finished pages wait in the work directory and a
        # rerun OCRs only the pages that failed.
        return steps.report_for(plan, None, 0, started, page_failures=page_failures)
    if not plan.jobs:
        return steps.report_for(plan, None, 0, started)
    try:
        with timing.stage("store"):
            manifest = store_fn(plan, pages)
    except Exception as exc:  # noqa: BLE001 - store down past the retries: the work files stay for a rerun
        failure = {"file": "(storage)", "reason": f"not stored: {_reason(exc)}"}
        return steps.report_for(plan, None, 0, started, page_failures=[failure])
    with timing.stage("index"):
        indexed, index_error = _index(index_fn, manifest, pages)
    crashpoints.reached("done")
    with timing.stage("clean_work"):
        steps.clean_work(settings, plan.bundle_id)
    return steps.report_for(plan, manifest, indexed, started, index_error=index_error, repaired=item.repaired)


def _collect(item: _InFlight) -> tuple[list[PageText], list[Failure]]:
    """Every page's OCR result, waiting for each; a failed page is named, not raised."""
    pages: list[PageText] = []
    page_failures: list[Failure] = []
    for job, future in zip(item.plan.jobs, item.futures):
        try:
            with timing.stage("wait_ocr"):
                pages.append(future.result())
        except steps.SourceChanged as exc:
            page_failures.append({"file": exc.file, "reason": exc.reason, "changed": "1"})
        except Exception as exc:  # noqa: BLE001 - one bad page must not sink the others
            changed = _changed_in(exc)
            if changed is not None:
                page_failures.append({"file": changed.file, "reason": changed.reason, "changed": "1"})
                continue
            page_failures.append({"file": f"{job.source_name} (page {job.source_page})", "reason": _reason(exc)})
    return pages, page_failures


def _changed_in(exc: BaseException) -> steps.SourceChanged | None:
    """The SourceChanged behind EXC, if that is what it is (Prefect may wrap a task's error)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, steps.SourceChanged):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _changed_report(item: _InFlight, settings: Settings, changed: list[Failure]) -> BundleReport:
    """A source changed during the ingest: nothing is stored (its pages may mix old and
    new bytes, and the bundle id was made of the old ones), the work files are dropped,
    and each changed file, as it is now, goes to quarantine with the reason."""
    plan = item.plan
    steps.clean_work(settings, plan.bundle_id)
    failures: list[Failure] = []
    for name in dict.fromkeys(f["file"] for f in changed):
        reason = next(f["reason"] for f in changed if f["file"] == name)
        path = Path(plan.files.get(name, ""))
        if path.is_file():
            where = steps.quarantine(path, name, reason, plan.bundle_id, settings)
            reason += f"; its current copy is in {where.parent}"
        failures.append({"file": name, "reason": reason})
    return steps.report_for(plan, None, 0, item.started, page_failures=failures)


def _index(index_fn: IndexFn, manifest: Manifest, pages: list[PageText]) -> tuple[int, str | None]:
    """Index now; if the index is down, the bundle is safe in storage and `reconcile` catches up."""
    try:
        return index_fn(manifest, pages), None
    except Exception as exc:  # noqa: BLE001 - whatever the index raised, the bundle is stored
        return 0, _reason(exc)


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _name(request: BundleRequest) -> str:
    return request.name or Path(request.path).name


def _unplanned_report(request: BundleRequest, exc: Exception, started: float) -> BundleReport:
    return BundleReport(
        bundle_id="", path=request.path, pages=0, stored=False, indexed_pages=0,
        failures=[{"file": _name(request), "reason": _reason(exc)}], needs_review=[],
        seconds=round(time.monotonic() - started, 2), metadata=dict(request.metadata),
    )


def _finish_report(report: BundleReport, request: BundleRequest) -> BundleReport:
    report.name = _name(request)
    progress.emit("bundle", report=report)
    return report


# ----------------------------------------------------------------------------- manifests


def parse_metadata(raw: dict[str, Any]) -> dict[str, Any]:
    """Operator metadata from a manifest row or metadata file: known keys, year ranges."""
    out: dict[str, Any] = {}
    for key in _META_KEYS:
        value = raw.get(key)
        if value is None or value == "":
            continue
        out[key] = value
    year = out.get("year")
    if isinstance(year, str):
        parts = [p for p in year.replace("–", "-").replace("/", "-").split("-") if p.strip()]
        try:
            out["year"] = int(parts[0])
            if len(parts) > 1:
                out["year_to"] = int(parts[1])
        except (ValueError, IndexError):
            raise ValueError(f"year {year!r}: use 1998 or 1995-1998") from None
    if isinstance(out.get("year_to"), str):
        out["year_to"] = int(out["year_to"])
    for key in ("thana", "register", "file_no", "title"):
        if key in out:
            out[key] = str(out[key])
    return out


def bundle_metadata_file(folder: Path) -> Path | None:
    for name in METADATA_FILES:
        if (folder / name).is_file():
            return folder / name
    return None


def read_metadata_file(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        data = json.loads(text) if text.strip() else {}
    else:
        import yaml

        data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected key: value pairs")
    return parse_metadata(data)


def read_manifest(source: Path) -> list[BundleRequest]:
    """A batch: a CSV or YAML manifest (one row per bundle), or a folder of bundles.

    CSV: a header row with ``path`` and any of thana, register, year (1998 or
    1995-1998), file_no, title. YAML: a list of such mappings, or ``{bundles: [...]}``.
    Relative paths are relative to the manifest. A folder: every sub-folder (and .zip)
    is a bundle, described by its own bundle.yaml / metadata.json if it has one.
    """
    source = Path(source)
    if source.is_dir():
        requests = []
        for child in sorted(source.iterdir(), key=lambda p: p.name):
            if child.name.startswith(".") or not (child.is_dir() or child.suffix.casefold() == ".zip"):
                continue
            meta_file = bundle_metadata_file(child) if child.is_dir() else None
            meta = read_metadata_file(meta_file) if meta_file else {}
            meta.setdefault("title", child.stem)
            requests.append(BundleRequest(str(child.resolve()), meta, child.name))
        return requests
    base = source.parent
    if source.suffix.casefold() == ".csv":
        with source.open(newline="", encoding="utf-8-sig") as f:
            rows = [dict(r) for r in csv.DictReader(f)]
    elif source.suffix.casefold() in (".yaml", ".yml", ".json"):
        import yaml  # JSON is YAML

        data = yaml.safe_load(source.read_text(encoding="utf-8"))
        rows = data.get("bundles", []) if isinstance(data, dict) else data
        if not isinstance(rows, list):
            raise ValueError(f"{source}: expected a list of bundles")
    else:
        raise ValueError(f"{source}: a manifest is a .csv, .yaml or .json file, or a folder of bundles")
    requests = []
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict) or not row.get("path"):
            raise ValueError(f"{source}: row {n} has no path")
        path = Path(str(row["path"]).strip()).expanduser()
        path = path if path.is_absolute() else base / path
        meta = parse_metadata(row)
        meta.setdefault("title", path.stem)
        requests.append(BundleRequest(str(path.resolve()), meta, str(row.get("name") or path.name)))
    return requests
