"""The `abhilekh` command: digitise bundles, search them, run the web page.

Users and the audit log have their sub-commands in cli/access.py; progress bars and
summaries of long runs are in cli/progress.py; `doctor` in cli/doctor.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from abhilekh.errors import AbhilekhError
from abhilekh.settings import get_settings
from cli.access import audit_app, users_app
from cli.efile import db_app, efile_app, efile_export, pendency
from cli.output import console, err
from cli.review import review_app
from cli.years import parse_years as _parse_years

app = typer.Typer(
    name="abhilekh",
    help=(
        "abhilekh (अभिलेख) turns scanned police records into searchable e-files.\n\n"
        "Typical use:\n\n"
        "  abhilekh ingest scans/GD-1998/ --thana Chhibramau --register 'General Diary' --year 1998\n\n"
        "  abhilekh search 'मु0अ0सं0 123/2019' --thana Chhibramau\n\n"
        "  abhilekh serve        # the search page for officers, on http://127.0.0.1:8750\n\n"
        "Data lives in ABHILEKH_HOME (default ~/.local/share/abhilekh). Set ABHILEKH_ES_URL "
        "and ABHILEKH_S3_ENDPOINT to use Elasticsearch and MinIO instead of the embedded "
        "index and store. `abhilekh doctor` checks the set-up."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(help="A folder or .zip of page scans (TIFF, JPEG, PNG, scanned PDF), or one file.")],
    thana: Annotated[str, typer.Option(help="Police station or office, e.g. Chhibramau / छिबरामऊ.")] = "",
    register: Annotated[str, typer.Option(help="Register or file type, e.g. 'Crime Register', 'General Diary'.")] = "",
    year: Annotated[str | None, typer.Option(help="Year (1998) or range (1995-1998) the bundle covers.")] = None,
    file_no: Annotated[str, typer.Option("--file-no", help="File or register number, as on the cover: it numbers the bundle's e-file (unset: one is issued).")] = "",
    title: Annotated[str, typer.Option(help="A title officers will recognise.")] = "",
) -> None:
    """Digitise one bundle: clean and OCR every page, store a searchable PDF, index every page,
    and open the bundle's e-file (`abhilekh efile --help`).

    Re-running on the same scans does nothing new; after a crash it resumes. Bad files
    (corrupt, empty, unsupported, password-protected, enormous) are named, copied to
    quarantine and skipped; the exit code is then 1.
    """
    if not path.exists():
        err.print(f"[red]error:[/] {escape(str(path))} does not exist")
        raise typer.Exit(2)
    start, end = _parse_years(year)
    metadata = {"thana": thana, "register": register, "year": start, "year_to": end,
                "file_no": file_no, "title": title or path.stem}
    from cli.progress import ingest_with_progress

    report = ingest_with_progress(path, metadata, console)
    filed = True
    if report.bundle_id and (report.stored or report.already_done):
        from cli.efile import open_bundle_efile

        filed = open_bundle_efile(report.bundle_id, metadata)
    raise typer.Exit(0 if report.ok and filed else 1)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Words, a name, 'मु0अ0सं0 123/2019', 'धारा 379', a vehicle number, or a \"quoted phrase\".")],
    thana: Annotated[str | None, typer.Option(help="Only this police station.")] = None,
    register: Annotated[str | None, typer.Option(help="Only this register type.")] = None,
    year: Annotated[int | None, typer.Option(help="Only bundles covering this year.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many hits.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list of hits.")] = False,
) -> None:
    """Find pages. Devanagari or Latin letters; Devanagari and ASCII digits alike.

    A name finds its Latin and Devanagari spellings alike; crime, vehicle, engine,
    chassis, mobile and file numbers are found however OCR misread a letter of them.
    A query of punctuation only, or over 500 characters, is refused with the reason.
    """
    from abhilekh.records import SearchFilters
    from cli.quick import print_results
    from search import open_index
    from storage import open_store
    from storage.bundles import pdf_key

    settings = get_settings()
    index, store = open_index(settings), open_store(settings)
    try:
        results = index.search(query, SearchFilters(thana=thana, register=register, year=year), limit=limit)
    finally:
        index.close()
    for hit in results.hits:
        hit.pdf = f"{store.link(pdf_key(hit.bundle_id))}#page={hit.page}"
    print_results(results, as_json)


@app.command()
def ocr(
    images: Annotated[list[Path], typer.Argument(help="Page images or scanned PDFs.")],
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Where <stem>.txt files go.")],
) -> None:
    """Run exactly the production clean-up + OCR path on single images (for benchmarks).

    Writes OUT_DIR/<stem>.txt with the page text (pages of a multi-page file separated
    by form feeds). One single-threaded Tesseract per ABHILEKH_OCR_JOBS.
    """
    from cli.progress import ocr_files

    failures = ocr_files(images, out_dir, console)
    raise typer.Exit(1 if failures else 0)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default ABHILEKH_HOST, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default ABHILEKH_PORT, 8750).")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Server processes (default ABHILEKH_WEB_WORKERS, else one per CPU).")] = None,
) -> None:
    """The search page for officers: search box, filters, snippets, open the PDF at the page."""
    from web.app import default_workers
    from web.app import serve as run

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    workers = workers or default_workers(settings)
    console.print(f"abhilekh search page: http://{host}:{port}/  ({workers} worker(s); Ctrl+C stops it)")
    run(settings, host, port, workers)


@app.command()
def entries(
    section: Annotated[str | None, typer.Option(help="Only entries under this section, e.g. 379.")] = None,
    act: Annotated[str | None, typer.Option(help="Only this act: IPC, BNS, 'Arms Act' ...")] = None,
    crime_year: Annotated[int | None, typer.Option("--crime-year", help="Only crime numbers of this year.")] = None,
    thana: Annotated[str | None, typer.Option(help="Only entries of this police station (as the entry names it).")] = None,
    village: Annotated[str | None, typer.Option(help="Only complainants of this village.")] = None,
    outcome: Annotated[str | None, typer.Option(help="charge_sheet, final_report, arrested or investigation.")] = None,
    words: Annotated[str | None, typer.Option(help="Every word one of the entry's values (a name, a number).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100000, help="How many entries to list.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON: entries, total and facets.")] = False,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Write every matching entry to this CSV file.")] = None,
    xlsx_out: Annotated[Path | None, typer.Option("--xlsx", help="Write every matching entry to this XLSX file.")] = None,
) -> None:
    """List register entries (rows) by section, act, crime year, station, village or
    outcome; export them to CSV or XLSX with Devanagari intact.

    abhilekh entries --section 379 --crime-year 2017 --thana Tirwa --xlsx tirwa-379.xlsx
    """
    from search.entries import SHOWN, EntryFilters, open_entries
    from search.entries_export import to_csv, to_xlsx

    if outcome is not None and outcome not in ("charge_sheet", "final_report", "arrested", "investigation"):
        raise typer.BadParameter("परिणाम / outcome: charge_sheet, final_report, arrested or investigation",
                                 param_hint="--outcome")
    filters = EntryFilters(section=section, act=act, crime_year=crime_year, station=thana, village=village,
                           outcome=outcome, words=words)
    index = open_entries(get_settings())
    try:
        if csv_out or xlsx_out:
            every = list(index.iter_all(filters))
            for path, make in ((csv_out, to_csv), (xlsx_out, to_xlsx)):
                if path is not None:
                    path.write_bytes(make(every))
                    console.print(f"{len(every)} entries written to {escape(str(path))}")
            return
        res = index.find(filters, limit=limit)
    finally:
        index.close()
    if as_json:
        print(json.dumps({"total": res.total, "facets": res.facets, "entries": [e.to_dict() for e in res.entries]},
                         ensure_ascii=False, indent=1))
        return
    from rich.table import Table

    from search.entries_export import HEADINGS

    table = Table(HEADINGS["bundle"], HEADINGS["page"], *[HEADINGS[c] for c in SHOWN[:10]],
                  title=f"{res.total} प्रविष्टियाँ / entries")
    for e in res.entries:
        table.add_row(e.bundle_id[:12], str(e.page), *[escape(e.values.get(c, "")) for c in SHOWN[:10]])
    console.print(table)
    if res.total > len(res.entries):
        console.print(f"(पहली {len(res.entries)} / first {len(res.entries)} of {res.total}; --limit or --csv/--xlsx for all)")


@app.command()
def reindex() -> None:
    """Rebuild the search index from storage alone (the index is derived).

    The new index is built beside the old one, which keeps answering searches until the
    new one is complete; a rebuild that fails leaves it as it was. Damaged bundles and
    pages are left out and named (exit code 1); `abhilekh verify --repair` rebuilds them.
    """
    from pipelines.maintenance import reindex as rebuild
    from web.corrections import reapply

    report = rebuild(get_settings(), console)
    console.print(f"Re-indexed {report.pages} page(s) and {report.entries} register entries from storage"
                  + (f"; entries extracted again for {len(report.entries_rebuilt)} bundle(s)." if report.entries_rebuilt else "."))
    corrected = reapply(get_settings())  # the reviewers' corrections outlive the rebuild
    if corrected:
        console.print(f"Put back {corrected} corrected page(s) from the review queue.")
    if report.damaged:
        err.print(f"[red]{len(report.damaged)} damaged object(s) were left out: run `abhilekh verify`[/]")
        raise typer.Exit(1)


@app.command()
def reconcile() -> None:
    """Index bundles that are stored but missing or incomplete in the index; store the
    page thumbnails of bundles stored before ingest made them. Damaged bundles are named
    and passed by (exit code 1), the rest is indexed."""
    from pipelines.maintenance import backfill_thumbnails, reconcile_report

    settings = get_settings()
    report = reconcile_report(settings, console)
    console.print(f"Indexed {len(report.fixed)} bundle(s) that were missing from the index.")
    if report.entries_indexed:
        console.print(f"Indexed the register entries of {len(report.entries_indexed)} bundle(s) again.")
    if report.fixed:
        from web.corrections import reapply

        reapply(settings)  # a bundle indexed anew gets its corrected pages back
    thumbs = backfill_thumbnails(settings, console)
    if thumbs:
        console.print(f"Stored {thumbs} page thumbnail(s) for older bundles.")
    if report.damaged:
        err.print(f"[red]{len(report.damaged)} damaged object(s) were passed by: run `abhilekh verify`[/]")
        raise typer.Exit(1)


@app.command()
def verify(
    repair: Annotated[bool, typer.Option("--repair", help="Rebuild what can be rebuilt (page records from the PDF's text layer, thumbnails from the PDF, a manifest from its pages and the bundle list).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Check every stored object against its recorded sha256 and say exactly what is damaged
    and what it can be rebuilt from. Reads every object: on a large store this takes a while.

    Exit code 0 when nothing is damaged (after --repair: nothing is left damaged), 1
    otherwise. A PDF that cannot be rebuilt from the store is made again by ingesting the
    same scans (the ingest repairs the stored copy)."""
    from pipelines.verify import verify_store

    with console.status("checking the store …") as spinner:
        report = verify_store(get_settings(), repair=repair,
                              progress=lambda b: spinner.update(f"checking bundle {b[:12]} …"))
    if as_json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        raise typer.Exit(0 if report.ok else 1)
    def name(key: str) -> str:  # the object within its bundle: "pages/3.json"
        return escape(key.split("/", 2)[-1] if key.startswith("bundles/") else key)

    for f in report.repaired:
        console.print(f"[green]repaired[/] {f.bundle_id[:12]} {name(f.key)} ({f.kind}) from {escape(f.rebuild_from)}")
    for f in report.damage:
        fix = f"can be rebuilt from {f.rebuild_from}: `abhilekh verify --repair`" if f.rebuild_from else \
            "cannot be rebuilt from the store: ingest the same scans again"
        console.print(f"[red]✗[/] {f.bundle_id[:12]} {name(f.key)}: {f.kind}; {escape(fix)}\n    {escape(f.reason)}")
    for f in report.notes:
        console.print(f"[yellow]![/] {f.bundle_id[:12]} {name(f.key)}: {f.kind} — {escape(f.reason)}")
    console.print(f"{report.bundles} bundle(s), {report.objects} object(s) checked; "
                  f"{len(report.damage)} damaged, {len(report.repaired)} repaired")
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False) -> None:
    """Counts from storage and the index: bundles, pages stored, pages indexed, pages flagged
    for review, bundles quarantined (whole bundles the nightly run set aside), bundles
    with quarantined files, and damaged bundles (named, with the reason)."""
    from pipelines.maintenance import status as counts

    data = counts(get_settings())
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for key, value in data.items():
        if key == "damaged":
            for d in value:
                console.print(f"{'':>22}  [red]✗[/] {d['bundle_id'][:12]}: {escape(d['reason'])}")
            continue
        console.print(f"{key.replace('_', ' '):>22}: {value}")


@app.command()
def doctor() -> None:
    """Check Tesseract and its Hindi/English data, poppler, the data directory and servers."""
    from cli.doctor import run_checks

    ok = run_checks(get_settings(), console)
    raise typer.Exit(0 if ok else 1)


@app.command()
def batch(
    manifest: Annotated[Path, typer.Argument(help="A .csv or .yaml manifest (one row per bundle: path, thana, register, year, file_no, title), or a folder of bundle folders.")],
    report_dir: Annotated[Path | None, typer.Option("--report-dir", help="Where report.html and report.json go (default $ABHILEKH_HOME/reports/batch-<time>).")] = None,
    pool: Annotated[str | None, typer.Option("--pool", help="Submit each bundle as its own flow run to this Prefect work pool (needs PREFECT_API_URL); `prefect worker start --pool NAME` processes, on any machines, do the work.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="With --pool: the pool's concurrency limit (bundles at once across all workers; default ABHILEKH_POOL_CONCURRENCY, else unlimited).")] = None,
) -> None:
    """Digitise many bundles: pages of all bundles share one OCR pool (one Tesseract per core).

    Shows overall progress (pages, bundles, rate, ETA) and one line per finished bundle,
    then writes an HTML report (thumbnails of pages flagged for review) and a JSON report.
    Exit code 1 if any bundle had failures; rerunning the same manifest finishes them.

    With --pool, each bundle is a flow run of the ingest-bundle deployment in that
    Prefect work pool; the command follows the backlog (queued/running/done/failed,
    pages/min), puts back the runs of workers that died, and writes the same reports.
    """
    from cli.progress import batch_with_progress
    from pipelines.batch import read_manifest
    from pipelines.report import stamp, write_reports

    if not manifest.exists():
        err.print(f"[red]error:[/] {escape(str(manifest))} does not exist")
        raise typer.Exit(2)
    try:
        requests = read_manifest(manifest)
    except (ValueError, OSError) as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    if not requests:
        err.print(f"[red]error:[/] no bundles listed in {escape(str(manifest))}")
        raise typer.Exit(2)
    settings = get_settings()
    if pool:
        import os

        if not os.environ.get("PREFECT_API_URL"):
            err.print("[red]error:[/] --pool needs PREFECT_API_URL: the Prefect server the workers also use "
                      "(see docs/scheduling.md)")
            raise typer.Exit(2)
        from cli.pool import batch_in_pool

        reports, seconds = batch_in_pool(requests, pool, limit, console)
    else:
        reports, seconds = batch_with_progress(requests, console)
    out = report_dir or settings.reports_dir / f"batch-{stamp()}"
    html_path, json_path = write_reports(reports, out, settings, title=f"abhilekh batch: {manifest.name}", seconds=seconds)
    failed = [r for r in reports if not r.ok]
    pages = sum(r.pages for r in reports if r.stored)
    console.print(f"{len(reports) - len(failed)} of {len(reports)} bundle(s) ok, {pages} page(s) stored "
                  f"in {seconds:.0f} s ({60 * pages / max(seconds, 1e-9):.1f} pages/min)")
    console.print(f"report: {escape(str(html_path))}\n        {escape(str(json_path))}")
    from cli.efile import open_bundle_efile

    # Each stored bundle's e-file, numbered from its file_no (issue 12); a database that
    # refuses leaves the bundles stored and the exit code 1.
    filed = [open_bundle_efile(r.bundle_id, r.metadata) for r in reports
             if r.bundle_id and (r.stored or r.already_done)]
    raise typer.Exit(1 if failed or not all(filed) else 0)


@app.command()
def schedule(
    cron: Annotated[str, typer.Option(help="When the nightly ingest runs (cron syntax).")] = "0 1 * * *",
    timezone: Annotated[str, typer.Option(help="Time zone the cron is read in.")] = "Asia/Kolkata",
    inbox: Annotated[Path | None, typer.Option(help="Inbox folder to ingest (default ABHILEKH_INBOX, $ABHILEKH_HOME/inbox).")] = None,
    settle_minutes: Annotated[float | None, typer.Option("--settle-minutes", help="A bundle unchanged this long (or with a .ready file) is complete (default ABHILEKH_INBOX_SETTLE_MINUTES).")] = None,
    port: Annotated[int, typer.Option(help="Port of the local Prefect server started when PREFECT_API_URL is unset.")] = 4200,
) -> None:
    """Run the nightly ingest on a schedule: register the deployment and serve it (blocks).

    Uses the Prefect server at PREFECT_API_URL when set; otherwise starts a local
    `prefect server start` on 127.0.0.1:PORT (database in $ABHILEKH_HOME/prefect) and
    stops it on exit. Each night: ingest complete bundles from the inbox, move them to
    the archive (or quarantine), write a report, reconcile the index. See
    docs/scheduling.md for a PostgreSQL-backed server and workers on several machines.
    """
    import os

    from pipelines import schedule as sched

    settings = get_settings()
    proc = None
    api = os.environ.get("PREFECT_API_URL")
    if api:
        console.print(f"Prefect server: {escape(api)}")
        try:
            sched.wait_for_api(api, timeout=30)
        except TimeoutError as exc:
            err.print(f"[red]error:[/] {escape(str(exc))}; is the server running?")
            raise typer.Exit(2) from None
    else:
        console.print(f"PREFECT_API_URL is unset: starting a local Prefect server on 127.0.0.1:{port} …")
        api, proc = sched.start_local_server(settings, port)
        os.environ["PREFECT_API_URL"] = api
        console.print(f"Prefect server: {escape(api)} (UI at http://127.0.0.1:{port}/)")
    where = inbox or settings.inbox_dir
    console.print(f"nightly ingest of {escape(str(where))} at '{escape(cron)}' ({escape(timezone)}); Ctrl+C stops")
    try:
        import flows  # Prefect is imported now, after PREFECT_API_URL is final

        flows.serve_nightly(cron, timezone, str(inbox) if inbox else None, settle_minutes)
    finally:
        if proc is not None:
            sched.stop_server(proc)


app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(review_app, name="review")
app.add_typer(db_app, name="db")
app.add_typer(efile_app, name="efile")
app.command("pendency")(pendency)
# `abhilekh export FILE_NO --out DIR` as issue 12 names it: the same as `efile export`.
app.command("export")(efile_export)


def main() -> None:
    """The console script. A failure abhilekh names (``abhilekh.errors``) ends the
    command with its message and its exit code, not a traceback."""
    try:
        app()
    except AbhilekhError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        sys.exit(exc.exit_code)


if __name__ == "__main__":  # pragma: no cover
    main()
