"""`abhilekh review list|export`: the review queue and the reviewers' corrections at the
terminal (the web page's *Review*; corrections in $ABHILEKH_HOME/review.sqlite3)."""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from abhilekh.settings import get_settings
from cli.output import console

review_app = typer.Typer(help="Pages flagged for review, and the corrections reviewers made on the web page.",
                         no_args_is_help=True)


@review_app.command("list")
def review_list(
    thana: Annotated[str | None, typer.Option(help="Only this police station.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """Pages flagged for review (lowest confidence first), and who corrected them."""
    from access.review import ReviewStore, review_path
    from storage import open_store
    from web.catalog import Catalog

    settings = get_settings()
    store = open_store(settings)
    reviews = ReviewStore(review_path(settings.home))
    try:
        corrected = reviews.corrected_pages()
        rows: list[dict[str, Any]] = []
        for b in Catalog(ttl=0).all(store):
            if thana and b.metadata.thana != thana:
                continue
            for n in b.needs_review:
                c = corrected.get((b.bundle_id, n))
                rows.append({"bundle_id": b.bundle_id, "title": b.title, "thana": b.metadata.thana, "page": n,
                             "confidence": b.confidence[n - 1] if n <= len(b.confidence) else None,
                             "corrected_by": c.reviewer if c else None, "corrected_at": c.at if c else None,
                             "version": c.version if c else 0})
    finally:
        reviews.close()
    rows.sort(key=lambda r: (r["corrected_by"] is not None, r["confidence"] or 0))
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table("station", "file", "page", "confidence", "corrected by")
    for r in rows:
        conf = "" if r["confidence"] is None else f"{r['confidence']:.0f}%"
        table.add_row(escape(r["thana"]), escape(r["title"]), str(r["page"]), conf,
                      escape(f"{r['corrected_by']} (v{r['version']})") if r["corrected_by"] else "—")
    console.print(table)
    console.print(f"{sum(1 for r in rows if not r['corrected_by'])} of {len(rows)} page(s) still to review")


@review_app.command("export")
def review_export(
    fmt: Annotated[str, typer.Option("--format", help="json or csv.")] = "json",
    out: Annotated[Path | None, typer.Option("--out", help="File to write (default: stdout).")] = None,
    every_version: Annotated[bool, typer.Option("--all", help="Every version, not only the latest.")] = False,
) -> None:
    """Write the corrections (bundle, page, version, text, reviewer, time, note)."""
    from access.review import ReviewStore, review_path

    if fmt not in ("csv", "json"):
        raise typer.BadParameter("csv or json", param_hint="--format")
    settings = get_settings()
    reviews = ReviewStore(review_path(settings.home))
    try:
        latest = list(reviews.all_latest())
        items = [h for c in latest for h in reviews.history(c.bundle_id, c.page)] if every_version else latest
    finally:
        reviews.close()
    target = out.open("w", encoding="utf-8", newline="") if out else sys.stdout
    try:
        if fmt == "json":
            target.write(json.dumps([asdict(c) for c in items], ensure_ascii=False, indent=2) + "\n")
        else:
            writer = csv.writer(target)
            writer.writerow(["bundle_id", "page", "version", "reviewer", "at", "note", "text"])
            for c in items:
                writer.writerow([c.bundle_id, c.page, c.version, c.reviewer, c.at, c.note, c.text])
    finally:
        if out:
            target.close()
            console.print(f"wrote {escape(str(out))}")
