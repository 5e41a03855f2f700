"""Bundle reports: what happened to each bundle, typed until it becomes JSON; and the
batch and nightly report files: one JSON file for programs, one HTML file for people.

A ``BundleReport`` stays a dataclass through the pipelines (batch, nightly, the CLI);
``to_dict`` is its JSON form, used where it leaves Python: a flow's result, report.json,
`--json` output. ``BundleReport.from_dict`` reads that form back.

The HTML stands alone (no scripts, no external files): thumbnails of pages flagged
for review are small JPEGs embedded as data: URIs, and every piece of text that came
from a file name, metadata or an error message is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import io
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from abhilekh.settings import Settings

THUMB_PX = 220  # longest side of a thumbnail
MAX_THUMBS = 200  # per report, so a bad batch cannot make a huge file

Failure = dict[str, str]  # {"file": what the operator knows it by, "reason": what to do}
# BundleReport fields left out of its JSON while unset, as before they existed
_NIGHTLY_ONLY: dict[str, Any] = {"moved_to": None, "move_error": None, "left_in_inbox": False,
                                 "repaired": []}


@dataclass
class FlaggedPage:
    """A page stored with low OCR confidence (or none): someone should look at it."""

    page: int
    source: str  # the source file's path (moved along when the nightly run files it away)
    source_name: str  # its name within the bundle
    source_page: int
    confidence: float | None


@dataclass
class BundleReport:
    bundle_id: str
    path: str
    pages: int
    stored: bool
    indexed_pages: int
    failures: list[Failure]
    needs_review: list[int]
    already_done: bool = False
    index_error: str | None = None
    seconds: float = 0.0
    name: str = ""  # what the operator calls it (folder name or manifest row)
    confidence: float | None = None  # mean page confidence
    flagged: list[FlaggedPage] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    # set by the nightly run (pipelines/nightly.py), absent from the JSON when unset:
    moved_to: str | None = None  # where the sources went (archive or quarantine)
    move_error: str | None = None  # the sources could not be moved (they stay in the inbox)
    left_in_inbox: bool = False  # not downloaded: tried again the next night
    # the stored copy was damaged and this run made it again from the sources: what was wrong
    repaired: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.stored and not self.failures and self.index_error is None and self.move_error is None

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if not (k in _NIGHTLY_ONLY and v == _NIGHTLY_ONLY[k])}
        return data | {"ok": self.ok}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BundleReport:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["flagged"] = [f if isinstance(f, FlaggedPage) else FlaggedPage(**f) for f in values.get("flagged", [])]
        return cls(**values)


def as_reports(reports: Sequence[BundleReport | Mapping[str, Any]]) -> list[BundleReport]:
    """Reports typed, whichever form they came in (a flow's result is JSON)."""
    return [r if isinstance(r, BundleReport) else BundleReport.from_dict(r) for r in reports]


def summarise(reports: Sequence[BundleReport], seconds: float) -> dict[str, Any]:
    pages = sum(r.pages for r in reports if r.stored)
    return {
        "bundles": len(reports),
        "bundles_ok": sum(1 for r in reports if r.ok),
        "bundles_failed": sum(1 for r in reports if not r.ok),
        "bundles_already_done": sum(1 for r in reports if r.already_done),
        "pages_stored": pages,
        "pages_indexed": sum(r.indexed_pages for r in reports),
        "pages_flagged": sum(len(r.needs_review) for r in reports),
        "failures": sum(len(r.failures) for r in reports),
        "seconds": round(seconds, 1),
        "pages_per_minute": round(60 * pages / seconds, 1) if seconds > 0 else None,
    }


def write_reports(
    reports: Sequence[BundleReport | Mapping[str, Any]],
    out_dir: Path,
    settings: Settings,
    title: str = "abhilekh batch report",
    seconds: float = 0.0,
    extra: dict[str, Any] | None = None,
    stem: str = "report",
) -> tuple[Path, Path]:
    """Write <stem>.json and <stem>.html into out_dir; return their paths."""
    typed = as_reports(reports)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = {
        "title": title,
        "created": datetime.now().astimezone().isoformat(timespec="seconds"),
        "summary": summarise(typed, seconds),
        "bundles": [_json_bundle(r) for r in typed],
    } | (extra or {})
    json_path, html_path = out_dir / f"{stem}.json", out_dir / f"{stem}.html"
    json_path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    html_path.write_text(render_html(data, typed, settings), encoding="utf-8")
    return html_path, json_path


def _json_bundle(r: BundleReport) -> dict[str, Any]:
    return {
        "name": r.name,
        "path": r.path,
        "bundle_id": r.bundle_id,
        "ok": r.ok,
        "stored": r.stored,
        "already_done": r.already_done,
        "pages": r.pages,
        "indexed_pages": r.indexed_pages,
        "confidence": r.confidence,
        "pages_flagged": r.needs_review,
        "failures": r.failures,
        "index_error": r.index_error,
        "seconds": r.seconds,
        "metadata": r.metadata,
    } | ({"moved_to": r.moved_to} if r.moved_to is not None else {})


def thumbnail_data_uri(source: str, page: int, settings: Settings) -> str | None:
    """A small JPEG of one source page as a data: URI, or None if it cannot be read."""
    try:
        from PIL import Image

        from ingest.load import read_page

        image = Image.fromarray(read_page(Path(source), page, settings).image)
        image.thumbnail((THUMB_PX, THUMB_PX))
        if image.mode not in ("L", "RGB"):
            image = image.convert("RGB")
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=60)
        return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    except Exception:  # noqa: BLE001 - a thumbnail is a nicety; the report must still be written
        return None


def render_html(data: dict[str, Any], reports: Sequence[BundleReport], settings: Settings) -> str:
    e = html.escape
    s = data["summary"]
    thumbs = 0
    rows, details = [], []
    for r in reports:
        state = "ok" if r.ok else ("stored, with problems" if r.stored else "FAILED")
        conf = "" if r.confidence is None else f"{r.confidence:.1f}"
        meta = r.metadata or {}
        where = " · ".join(str(meta[k]) for k in ("thana", "register", "year") if meta.get(k))
        rows.append(
            f"<tr class=\"{'ok' if r.ok else 'bad'}\"><td>{e(r.name or '')}</td><td>{e(where)}</td>"
            f"<td><code>{e(r.bundle_id[:12])}</code></td><td>{r.pages}</td><td>{r.indexed_pages}</td>"
            f"<td>{e(conf)}</td><td>{len(r.needs_review)}</td><td>{len(r.failures)}</td>"
            f"<td>{r.seconds:.1f}</td><td>{e(state)}</td></tr>"
        )
        parts = []
        for f in r.failures:
            parts.append(f"<li class=\"bad\"><b>{e(str(f.get('file', '')))}</b>: {e(str(f.get('reason', '')))}</li>")
        if r.index_error:
            parts.append(f"<li class=\"bad\">not indexed yet ({e(r.index_error)}); "
                         "stored safely — <code>abhilekh reconcile</code> indexes it</li>")
        if r.moved_to:
            parts.append(f"<li>sources moved to <code>{e(r.moved_to)}</code></li>")
        figures = []
        for flag in r.flagged:
            uri = None
            if thumbs < MAX_THUMBS and flag.source:
                uri = thumbnail_data_uri(flag.source, int(flag.source_page or 1), settings)
                thumbs += uri is not None
            img = f"<img alt=\"page {flag.page}\" src=\"{e(uri)}\">" if uri else "<div class=\"noimg\">no preview</div>"
            conf = "" if flag.confidence is None else f" · confidence {flag.confidence:.0f}"
            figures.append(f"<figure>{img}<figcaption>page {flag.page} ({e(str(flag.source_name))}){e(conf)}"
                           "</figcaption></figure>")
        if parts or figures:
            details.append(
                f"<section><h3>{e(r.name or r.path)}</h3><p class=\"path\">{e(r.path)}</p>"
                + (f"<ul>{''.join(parts)}</ul>" if parts else "")
                + (f"<p>Pages flagged for review (low OCR confidence: rescan or key in by hand):</p>"
                   f"<div class=\"thumbs\">{''.join(figures)}</div>" if figures else "")
                + "</section>"
            )
    rate = "" if s.get("pages_per_minute") is None else f" · {s['pages_per_minute']} pages/min"
    extra = ""
    if data.get("reconciled") is not None:
        extra = f"<p>Reconcile afterwards indexed {len(data['reconciled'])} bundle(s) missing from the index.</p>"
    if data.get("damaged"):
        extra += ("<p class=\"bad\">Damaged in storage (left out of the index; <code>abhilekh verify "
                  "--repair</code> rebuilds what can be rebuilt):</p><ul>" + "".join(
                      f"<li class=\"bad\"><code>{e(d['bundle_id'][:12])}</code> {e(d['what'])}: {e(d['reason'])}</li>"
                      for d in data["damaged"]) + "</ul>")
    if data.get("waiting"):
        extra += "<p>Left in the inbox (not complete yet): " + ", ".join(f"<code>{e(w)}</code>" for w in data["waiting"]) + "</p>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(data['title'])}</title>
<style>
body{{font-family:"Noto Sans","Noto Sans Devanagari",sans-serif;margin:2em;color:#222}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}
tr.bad td{{background:#fdecea}}li.bad{{color:#a00}}.path{{color:#666;font-size:.9em}}
.thumbs{{display:flex;flex-wrap:wrap;gap:1em}}figure{{margin:0}}img{{border:1px solid #999}}
.noimg{{width:{THUMB_PX}px;height:80px;background:#eee}}
</style></head><body>
<h1>{e(data['title'])}</h1>
<p>{e(data['created'])} · {s['bundles']} bundle(s): {s['bundles_ok']} ok, {s['bundles_failed']} with problems ·
{s['pages_stored']} page(s) stored, {s['pages_indexed']} indexed, {s['pages_flagged']} flagged for review ·
{s['seconds']} s{rate}</p>
{extra}
<table><thead><tr><th>bundle</th><th>station · register · year</th><th>id</th><th>pages</th><th>indexed</th>
<th>confidence</th><th>flagged</th><th>failures</th><th>seconds</th><th>state</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table>
{''.join(details)}
</body></html>
"""


def stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")
