"""Running pipelines for a person at a terminal: progress bars and summaries.

The flows return their reports as JSON (what Prefect records); they are read back
into ``BundleReport`` here, at the edge, and printed from the typed form.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from abhilekh.settings import get_settings
from pipelines import progress as events
from pipelines.batch import BundleRequest
from pipelines.prefect_server import temporary_api
from pipelines.report import BundleReport, as_reports


def _progress_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("pages"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def ingest_with_progress(path: Path, metadata: dict[str, Any], console: Console) -> BundleReport:
    """Run the ingest-bundle flow with a per-page progress bar; print the outcome."""
    console.print(f"Reading {escape(str(path))} … (the first run starts Prefect's local API, ~10-30 s)")
    with temporary_api(get_settings()):
        return _ingest(path, metadata, console)


def _ingest(path: Path, metadata: dict[str, Any], console: Console) -> BundleReport:
    import flows  # imported late: Prefect's start-up cost is paid only by commands that need it

    bar = _progress_bar(console)
    task_id = bar.add_task("OCR", total=None)
    lock = threading.Lock()

    def listen(event: str, data: dict) -> None:
        with lock:
            if event == "plan":
                bar.update(task_id, total=data["pages"], description=f"OCR {data['bundle_id'][:12]}")
                for failure in data["failures"]:
                    bar.console.print(f"[red]✗ {escape(failure['file'])}[/]: {escape(failure['reason'])}")
            elif event == "page":
                bar.advance(task_id)
            elif event == "skip":
                bar.update(task_id, total=data["pages"], completed=data["pages"])
            elif event == "waiting":
                bar.console.print("another ingest of the same bundle is running: waiting for it to finish …")

    unsubscribe = events.subscribe(listen)
    try:
        with bar:
            report = BundleReport.from_dict(flows.run_ingest_bundle(str(path), metadata))
    finally:
        unsubscribe()
    print_report(report, console)
    return report


def print_report(report: BundleReport, console: Console) -> None:
    settings = get_settings()
    console.print(f"bundle id : {report.bundle_id}")
    state = "already ingested — nothing new to do" if report.already_done else ("stored" if report.stored else "NOT stored")
    console.print(f"pages     : {report.pages} ({state}; {report.indexed_pages} indexed)")
    if report.needs_review:
        pages = ", ".join(map(str, report.needs_review))
        console.print(f"[yellow]review    : low OCR confidence on page(s) {pages} — rescan or key in by hand[/]")
    for damage in report.repaired:
        console.print(f"[yellow]repaired  : the stored copy was damaged ({escape(damage)}); made again from these scans[/]")
    if report.index_error:
        console.print(f"[red]index     : not indexed ({escape(report.index_error)}); "
                      "the bundle is safe in storage — run `abhilekh reconcile` once the index is back[/]")
    if report.failures:
        console.print(f"[red]failures  : {len(report.failures)}[/]")
        for failure in report.failures:
            console.print(f"  [red]✗[/] {escape(failure['file'])}: {escape(failure['reason'])}")
        quarantined = settings.quarantine_dir / report.bundle_id if report.bundle_id else None
        if quarantined is not None and quarantined.is_dir() and any(quarantined.iterdir()):
            console.print(f"  rejected files (or, for what could not be copied, their reasons) are in {quarantined}")
        if not report.stored:
            kept = report.bundle_id and (settings.work_dir / report.bundle_id).is_dir()
            console.print("  nothing was stored; fix the cause and run the same command again"
                          + (" — finished pages are kept" if kept else ""))
    console.print("[green]done[/]" if report.ok else "[red]finished with problems (exit code 1)[/]")


def ocr_files(paths: list[Path], out_dir: Path, console: Console) -> list[tuple[Path, str]]:
    """OCR each file through the production path; returns (file, reason) failures."""
    from ingest.load import BadInput, read_pages
    from ingest.process import process_page

    settings = get_settings()
    out_dir.mkdir(parents=True, exist_ok=True)
    failures: list[tuple[Path, str]] = []

    def one(path: Path) -> None:
        texts = [process_page(p.image, p.dpi, settings).text for p in read_pages(path, settings)]
        (out_dir / f"{path.stem}.txt").write_text("\f".join(texts), encoding="utf-8")

    bar = _progress_bar(console)
    with bar, ThreadPoolExecutor(max_workers=max(1, settings.ocr_jobs)) as pool:
        task_id = bar.add_task("OCR", total=len(paths))
        futures = {pool.submit(one, p): p for p in paths}
        for future in as_completed(futures):
            path = futures[future]
            try:
                future.result()
            except BadInput as exc:
                failures.append((path, exc.reason))
            except Exception as exc:  # noqa: BLE001 - report and carry on with the other files
                failures.append((path, f"{type(exc).__name__}: {exc}"))
            bar.advance(task_id)
    for path, reason in failures:
        console.print(f"[red]✗ {escape(str(path))}[/]: {escape(reason)}")
    console.print(f"{len(paths) - len(failures)} of {len(paths)} file(s) written to {escape(str(out_dir))}")
    return failures


class _RateColumn(TextColumn):
    """Pages per minute over the run so far."""

    def __init__(self) -> None:
        super().__init__("")

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        rate = 60 * task.completed / elapsed if elapsed > 1 and task.completed else 0.0
        return Text(f"{rate:5.1f} pages/min" if rate else "   –  pages/min")


def batch_with_progress(requests: list[BundleRequest], console: Console) -> tuple[list[BundleReport], float]:
    """Run the ingest-batch flow: one overall bar (pages, bundles, rate, ETA), a line per bundle."""

    console.print(f"{len(requests)} bundle(s) … (the first run starts Prefect's local API, ~10-30 s)")
    with temporary_api(get_settings()):
        return _batch(requests, console)


def _batch(requests: list[BundleRequest], console: Console) -> tuple[list[BundleReport], float]:
    import time

    import flows

    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("pages"),
        _RateColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
    total_bundles = len(requests)
    state = {"planned": 0, "planned_pages": 0, "done": 0}
    task_id = bar.add_task(f"bundles 0/{total_bundles}", total=None)
    lock = threading.Lock()

    def estimate() -> int | None:
        if not state["planned"]:
            return None
        per_bundle = state["planned_pages"] / state["planned"]
        return round(state["planned_pages"] + per_bundle * (total_bundles - state["planned"]))

    def listen(event: str, data: dict) -> None:
        with lock:
            if event == "plan":
                state["planned"] += 1
                state["planned_pages"] += data["pages"]
                bar.update(task_id, total=estimate())
            elif event == "page":
                bar.advance(task_id)
            elif event == "skip":
                bar.advance(task_id, data["pages"])
            elif event == "waiting":
                bar.console.print(f"  … {escape(data['name'])}: waiting for another ingest of the same bundle")
            elif event == "bundle":
                r = data["report"]
                state["done"] += 1
                bar.update(task_id, description=f"bundles {state['done']}/{total_bundles}")
                bar.console.print(bundle_line(r))

    unsubscribe = events.subscribe(listen)
    started = time.monotonic()
    try:
        with bar:
            reports = as_reports(flows.run_ingest_batch(requests))
    finally:
        unsubscribe()
    return reports, time.monotonic() - started


def bundle_line(r: BundleReport) -> str:
    conf = "" if r.confidence is None else f" · confidence {r.confidence:.0f}"
    flagged = f" · [yellow]{len(r.needs_review)} to review[/]" if r.needs_review else ""
    if r.ok:
        state = "[green]✓[/]" + (" (already ingested)" if r.already_done else "")
    elif r.stored:
        state = "[yellow]![/]"
    else:
        state = "[red]✗[/]"
    line = f"{state} {escape(r.name or r.path)}: {r.pages} page(s){conf}{flagged} · {r.seconds:.1f} s"
    for failure in r.failures:
        line += f"\n    [red]✗[/] {escape(str(failure['file']))}: {escape(str(failure['reason']))}"
    if r.index_error:
        line += "\n    [red]not indexed[/] (stored safely; `abhilekh reconcile` indexes it later)"
    return line
