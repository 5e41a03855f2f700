"""Running pipelines for a person at a terminal: progress bars and summaries."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from abhilekh.settings import get_settings
from pipelines import progress as events


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


def ingest_with_progress(path: Path, metadata: dict, console: Console) -> dict:
    """Run the ingest-bundle flow with a per-page progress bar; print the outcome."""
    console.print(f"Reading {escape(str(path))} … (the first run starts Prefect's local API, ~10-30 s)")
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

    unsubscribe = events.subscribe(listen)
    try:
        with bar:
            report = flows.run_ingest_bundle(str(path), metadata)
    finally:
        unsubscribe()
    print_report(report, console)
    return report


def print_report(report: dict, console: Console) -> None:
    settings = get_settings()
    console.print(f"bundle id : {report['bundle_id']}")
    state = "already ingested — nothing new to do" if report["already_done"] else ("stored" if report["stored"] else "NOT stored")
    console.print(f"pages     : {report['pages']} ({state}; {report['indexed_pages']} indexed)")
    if report["needs_review"]:
        pages = ", ".join(map(str, report["needs_review"]))
        console.print(f"[yellow]review    : low OCR confidence on page(s) {pages} — rescan or key in by hand[/]")
    if report.get("index_error"):
        console.print(f"[red]index     : not indexed ({escape(report['index_error'])}); "
                      "the bundle is safe in storage — run `abhilekh reconcile` once the index is back[/]")
    if report["failures"]:
        console.print(f"[red]failures  : {len(report['failures'])}[/]")
        for failure in report["failures"]:
            console.print(f"  [red]✗[/] {escape(failure['file'])}: {escape(failure['reason'])}")
        console.print(f"  rejected files were copied to {settings.quarantine_dir / report['bundle_id']}")
        if not report["stored"]:
            console.print("  nothing was stored; fix the cause and run the same command again — finished pages are kept")
    console.print("[green]done[/]" if report["ok"] else "[red]finished with problems (exit code 1)[/]")


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
            except Exception as exc:  # report and carry on with the other files
                failures.append((path, f"{type(exc).__name__}: {exc}"))
            bar.advance(task_id)
    for path, reason in failures:
        console.print(f"[red]✗ {escape(str(path))}[/]: {escape(reason)}")
    console.print(f"{len(paths) - len(failures)} of {len(paths)} file(s) written to {escape(str(out_dir))}")
    return failures
