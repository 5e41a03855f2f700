"""The nightly inbox: find complete bundles, ingest them, file the sources away, report.

The inbox is a local folder (``ABHILEKH_INBOX``, default ``$ABHILEKH_HOME/inbox``);
each entry directly inside it is one bundle: a folder of scans or a ``.zip``. It can
also be (or be as well) a prefix on the S3 server, ``ABHILEKH_INBOX_S3_PREFIX``: the
same rules, with objects instead of files (pipelines/s3inbox.py). Both are ingested
in one run, on one shared OCR pool.

A bundle is COMPLETE, and taken, when either
  * its folder holds a marker file ``.ready`` (or ``READY``) — the scanning station
    writes it after the last page has been copied; or
  * nothing in it (the folder, its files, or the .zip) has been modified for
    ``ABHILEKH_INBOX_SETTLE_MINUTES`` (default 30) minutes.
Anything else is still being copied: it is left where it is and named in the report
as waiting. Hidden entries (``.something``) are ignored.

Metadata comes from ``bundle.yaml`` / ``metadata.json`` (keys thana, register, year
— 1998 or 1995-1998 —, file_no, title) inside the folder; the title defaults to the
folder name. These files and the marker are not scans and are not ingested.

After ingesting: a bundle stored with no failures (even if the index was down — the
reconcile step at the end indexes it) is moved to
``ABHILEKH_ARCHIVE/<date>/<name>`` (default ``$ABHILEKH_HOME/archive``); a bundle with
any failure is moved to ``$ABHILEKH_HOME/quarantine/inbox/<date>/<name>`` with
``<name>.reason.txt`` beside it. Keep the inbox and these folders on one filesystem so
a move is an atomic rename. Then the report (HTML + JSON) is written to
``$ABHILEKH_HOME/reports/`` and ``reconcile`` runs.

Crashes: a rerun re-ingests nothing already stored (bundle ids come from the scans'
content) and moves what the crashed run did not. Only one nightly run works at a time
(a lock file); a second one that starts while the first is still busy stops at once.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from abhilekh.settings import Settings
from pipelines.batch import BundleRequest, bundle_metadata_file, read_metadata_file
from pipelines.locks import BundleBusy, BundleLock
from pipelines.report import BundleReport, stamp, write_reports

READY_MARKERS = (".ready", "READY")


@dataclass
class InboxScan:
    complete: list[BundleRequest] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # names still being copied
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (name, reason): bad metadata


def _newest_mtime(path: Path) -> float:
    newest = path.stat().st_mtime
    if path.is_dir():
        for child in path.rglob("*"):
            try:
                newest = max(newest, child.stat().st_mtime)
            except FileNotFoundError:  # removed while we looked
                continue
    return newest


def is_complete(entry: Path, settle_minutes: float, now: float | None = None) -> bool:
    if entry.is_dir() and any((entry / m).exists() for m in READY_MARKERS):
        return True
    now = time.time() if now is None else now
    return now - _newest_mtime(entry) >= settle_minutes * 60


def scan_inbox(inbox: Path, settle_minutes: float) -> InboxScan:
    scan = InboxScan()
    if not inbox.is_dir():
        return scan
    for entry in sorted(inbox.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(".") or not (entry.is_dir() or entry.suffix.casefold() == ".zip"):
            continue
        if not is_complete(entry, settle_minutes):
            scan.waiting.append(entry.name)
            continue
        meta: dict[str, Any] = {}
        meta_file = bundle_metadata_file(entry) if entry.is_dir() else None
        if meta_file is not None:
            try:
                meta = read_metadata_file(meta_file)
            except Exception as exc:  # noqa: BLE001 - bad metadata quarantines the bundle
                scan.unreadable.append((entry.name, f"{meta_file.name}: {exc}"))
                continue
        meta.setdefault("title", entry.stem)
        scan.complete.append(BundleRequest(str(entry.resolve()), meta, entry.name))
    return scan


def _free_target(folder: Path, name: str) -> Path:
    target = folder / name
    n = 2
    while target.exists() or target.with_name(target.name + ".reason.txt").exists():
        target = folder / f"{name}-{n}"
        n += 1
    return target


def file_away(source: Path, ok: bool, reasons: list[str], settings: Settings, today: str | None = None) -> Path | None:
    """Move a finished bundle's sources to the archive (ok) or to quarantine; None if gone."""
    if not source.exists():
        return None
    today = today or date.today().isoformat()
    folder = (settings.archive_dir if ok else settings.quarantine_dir / "inbox") / today
    folder.mkdir(parents=True, exist_ok=True)
    target = _free_target(folder, source.name)
    if not ok:
        target.with_name(target.name + ".reason.txt").write_text("\n".join(reasons) + "\n", encoding="utf-8")
    shutil.move(str(source), str(target))
    return target


RunRequests = Callable[[list[BundleRequest]], list[BundleReport]]
Reconcile = Callable[[], Any]  # the bundles indexed, or a MaintenanceReport (fixed, damaged)


def _unreadable_report(name: str, path: str, reason: str) -> BundleReport:
    return BundleReport(bundle_id="", path=path, pages=0, stored=False, indexed_pages=0,
                        failures=[{"file": name, "reason": reason}], needs_review=[], name=name)


def _reasons(report: BundleReport) -> list[str]:
    return [f"{f['file']}: {f['reason']}" for f in report.failures] or ["not stored"]


def run_nightly(
    settings: Settings,
    run_requests: RunRequests,
    reconcile: Reconcile,
    inbox: Path | None = None,
    settle_minutes: float | None = None,
) -> dict[str, Any]:
    started = time.monotonic()
    inbox = Path(inbox) if inbox else settings.inbox_dir
    settle = settings.inbox_settle_minutes if settle_minutes is None else settle_minutes
    lock = BundleLock(settings.locks_dir, "nightly")
    try:
        lock.acquire(wait=0)
    except BundleBusy:
        return {"skipped": "another nightly run is still working", "inbox": str(inbox), "bundles": []}
    s3, s3scan, s3_error = None, None, None
    try:
        scan = scan_inbox(inbox, settle)
        if settings.inbox_s3_prefix:
            from pipelines.s3inbox import S3Inbox

            try:
                s3 = S3Inbox(settings)
                s3scan = s3.scan(settle)
            except Exception as exc:  # noqa: BLE001 - S3 down: the local inbox still runs; next night retries
                s3_error = f"{type(exc).__name__}: {exc}"
        requests = scan.complete + (s3scan.complete if s3scan else [])
        reports = run_requests(requests) if requests else []
        for name, reason in scan.unreadable:
            reports.append(_unreadable_report(name, str(inbox / name), reason))
        remote = dict(s3scan.bundles) if s3scan else {}
        for name, reason, bundle in (s3scan.unreadable if s3scan else []):
            report = _unreadable_report(name, str(bundle.request_path.resolve()), reason)
            if reason.startswith("download failed"):
                report.left_in_inbox = True  # not the bundle's fault, perhaps: try again next night
            else:
                remote[report.path] = bundle
            reports.append(report)
        today = date.today().isoformat()
        # The report is written after the moves; thumbnails are read from the moved copies
        # (local bundles) or from the downloaded copies, removed after the report (S3 bundles).
        for report in reports:
            movable = report.stored and not report.failures
            if report.path in remote:
                assert s3 is not None
                try:
                    report.moved_to = s3.file_away(remote[report.path], movable, _reasons(report), today)
                except Exception as exc:  # noqa: BLE001 - the sources stay in the inbox, nothing is lost
                    report.move_error = f"{type(exc).__name__}: {exc}"  # and the report is not ok
                continue
            if report.left_in_inbox:
                continue
            source = Path(report.path)
            target = file_away(source, movable, _reasons(report), settings, today)
            if target is not None:
                report.moved_to = str(target)
                for flag in report.flagged:
                    if flag.source.startswith(str(source)):
                        flag.source = str(target) + flag.source[len(str(source)):]
        try:
            result = reconcile()
            reconcile_error = None
        except Exception as exc:  # noqa: BLE001 - index still down: report it, next night retries
            result, reconcile_error = None, f"{type(exc).__name__}: {exc}"
        # a list of the bundles indexed, or a maintenance report that also names damage
        reconciled: list[str] = list(getattr(result, "fixed", result) or [])
        damaged = [d.to_dict() for d in getattr(result, "damaged", [])]
        seconds = time.monotonic() - started
        waiting = scan.waiting + ([s3.describe(s3.prefix + n) for n in s3scan.waiting] if s3 and s3scan else [])
        extra = {"inbox": str(inbox), "waiting": waiting, "reconciled": reconciled, "damaged": damaged,
                 "reconcile_error": reconcile_error}
        if settings.inbox_s3_prefix:
            extra |= {"inbox_s3": s3.describe() if s3 else settings.inbox_s3_prefix, "inbox_s3_error": s3_error}
        html_path, json_path = write_reports(
            reports, settings.reports_dir, settings, title=f"abhilekh nightly ingest {today}",
            seconds=seconds, extra=extra, stem=f"nightly-{stamp()}",
        )
        if s3 is not None and s3scan is not None:
            for bundle in [*remote.values(), *(b for _, _, b in s3scan.unreadable)]:
                s3.discard_download(bundle)
        # The flow's result: where the reports become JSON.
        return extra | {
            "bundles": [r.to_dict() for r in reports],
            "archived": [r.name for r in reports if r.moved_to and r.stored and not r.failures],
            "quarantined": [r.name for r in reports if r.moved_to and not (r.stored and not r.failures)],
            "report_html": str(html_path),
            "report_json": str(json_path),
            "ok": all(r.ok for r in reports) and reconcile_error is None and s3_error is None and not damaged,
        }
    finally:
        lock.release()
