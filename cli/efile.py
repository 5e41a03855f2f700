"""`abhilekh db` and `abhilekh efile`: the workflow database and the e-files in it.

The terminal acts as the login name given with --as (default: the operating-system
user); it sees every station unless --station limits it, like an admin on the web.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from abhilekh.settings import get_settings
from cli.output import console, err

db_app = typer.Typer(
    help=(
        "The workflow database (e-files): SQLite file $ABHILEKH_HOME/workflow.sqlite3, or the "
        "PostgreSQL of ABHILEKH_DATABASE_URL. Migrations also run whenever a command or the "
        "web page opens it.\n\n"
        "कार्य-प्रवाह डेटाबेस: स्कीमा अद्यतन स्वतः होता है; `abhilekh db upgrade` उसे अभी करता है।"
    ),
    no_args_is_help=True,
)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the schema to the newest revision (Alembic), then print it."""
    from efiles.db import Database, database_url

    db = Database(database_url(get_settings()))
    try:
        before = db.revision()
        after = db.upgrade()
    finally:
        db.close()
    said = "already at" if before == after else f"{before or 'empty'} ->"
    console.print(f"स्कीमा / schema {escape(said)} {escape(after)} ({escape(db.describe())})")


@db_app.command("status")
def db_status() -> None:
    """Which database, and the schema revision it is at (without migrating)."""
    from efiles.db import Database, database_url

    db = Database(database_url(get_settings()))
    try:
        revision = db.revision()
    finally:
        db.close()
    console.print(f"{escape(db.describe())}: {escape(revision or 'not migrated / स्कीमा नहीं बना')}")


efile_app = typer.Typer(
    help=(
        "E-files (ई-फ़ाइल): each digitised bundle is a file with a number, a holder, a status "
        "(open / in movement / parked / closed), remarks-carrying movements and notes.\n\n"
        "Typical day:\n\n"
        "  abhilekh efile open --bundle 3fa2…          # the bundle's file (its cover number, else one issued)\n\n"
        "  abhilekh efile list --box inbox --as io.tirwa\n\n"
        "  abhilekh efile send SP/KNJ/PRO/2013/989 --to io.tirwa --remarks 'जाँच कर आख्या दें' --due 2026-12-10\n\n"
        "  abhilekh efile note SP/KNJ/PRO/2013/989 'गवाह के बयान पृष्ठ 3 पर' --as io.tirwa\n\n"
        "  abhilekh pendency --station Tirwa --csv > pendency.csv\n\n"
        "--as NAME acts as that web user (their stations apply; only the holder moves or notes a "
        "file). Without it the terminal acts as cli:<your login>, on every station. Every change "
        "is written to the audit log."
    ),
    no_args_is_help=True,
)

AsUser = Annotated[str | None, typer.Option("--as", help="Act as this web user (their station grants apply).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
FileNo = Annotated[str, typer.Argument(help="The file number, e.g. SP/KNJ/PRO/2013/989.")]
BOXES = ("inbox", "sent", "parked", "closed", "all")


@dataclass
class _Session:
    """One command's e-files, its actor and what it writes to the audit log."""

    efiles: Any
    actor: Any
    role: str

    def audit(self, action: str, target: str, detail: str = "") -> None:
        from access.audit import AuditLog
        from storage import open_store

        settings = get_settings()
        log = AuditLog.for_settings(settings, anchors=open_store(settings))
        try:
            log.record(self.actor.name, self.role, f"efile_{action}", target=target, detail=detail)
        finally:
            log.close()


def _actor_for(name: str | None) -> tuple[Any, str]:
    """The Actor of --as NAME (a known, active user) or of the terminal."""
    import getpass

    from efiles.model import Actor

    if name is None:
        return Actor(f"cli:{getpass.getuser()}", role="admin"), "admin"
    user = _known_user(name)
    actor = Actor(user.name) if user.is_admin else Actor.within(user.name, user.stations)
    return replace(actor, role=user.role), user.role


def _known_user(name: str) -> Any:
    from access.users import UserStore

    store = UserStore(get_settings().users_path)
    try:
        user = store.get(name)
    finally:
        store.close()
    if user is None or user.disabled:
        err.print(f"[red]error:[/] उपयोगकर्ता नहीं / no active user {escape(name)!r} "
                  "(`abhilekh users add NAME --station ...`)")
        raise typer.Exit(2)
    return user


@contextmanager
def _session(as_user: str | None) -> Iterator[_Session]:
    from efiles.service import open_efiles

    actor, role = _actor_for(as_user)
    efiles = open_efiles(get_settings())
    try:
        _drain(efiles)  # what a crashed command left in the audit outbox
        yield _Session(efiles, actor, role)
        _drain(efiles)  # this command's changes
    finally:
        efiles.close()


def _drain(efiles: Any) -> None:
    from access.audit import AuditLog
    from storage import open_store
    from web.routes.efiles_audit import drain_into

    settings = get_settings()
    log = AuditLog.for_settings(settings, anchors=open_store(settings))
    try:
        drain_into(efiles, log)
    finally:
        log.close()


def _part(text: str) -> Any:
    """BUNDLE or BUNDLE:FROM-TO."""
    from efiles.model import Part

    match = re.fullmatch(r"([0-9a-f]{16,64})(?::(\d+)-(\d+))?", text.strip())
    if not match:
        raise typer.BadParameter(f"{text!r}: use BUNDLE_ID or BUNDLE_ID:FIRST-LAST (pages)", param_hint="--bundle")
    first, last = match.group(2), match.group(3)
    return Part(match.group(1), int(first) if first else None, int(last) if last else None)


def _date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r}: use YYYY-MM-DD", param_hint="--due") from None


def _print_file(efile: Any) -> None:
    table = Table(show_header=False, box=None)
    rows = [
        ("फ़ाइल संख्या / File no.", efile.file_no), ("विषय / Subject", efile.subject),
        ("थाना / Station", efile.station), ("श्रेणी / Category", efile.category), ("वर्ष / Years", efile.years),
        ("स्थिति / Status", f"{efile.status_hindi} / {efile.status}"), ("किसके पास / Holder", efile.holder),
        ("नियत तिथि / Due", efile.due_date.isoformat() if efile.due_date else ""),
        ("बंडल / Bundles", ", ".join(p.label() for p in efile.parts)),
    ]
    for label, value in rows:
        table.add_row(label, escape(str(value)))
    console.print(table)


def _done(sess: _Session, action: str, efile: Any, detail: str = "") -> None:
    # The change's audit row was written with it (the outbox); the session drains it.
    console.print(f"[green]✓[/] {escape(efile.file_no)}: {escape(efile.status_hindi)} / {escape(efile.status)}, "
                  f"{escape(efile.holder)} के पास / with {escape(efile.holder)}")


@efile_app.command("open")
def efile_open(
    bundle: Annotated[list[str] | None, typer.Option("--bundle", help="BUNDLE_ID or BUNDLE_ID:FIRST-LAST; repeat to put several in one file.")] = None,
    subject: Annotated[str, typer.Option(help="Subject (default: the bundle's title).")] = "",
    station: Annotated[str, typer.Option(help="Station / office (default: the bundle's thana).")] = "",
    category: Annotated[str, typer.Option(help="Register type (default: the bundle's).")] = "",
    year: Annotated[str | None, typer.Option(help="1998 or 1995-1998 (default: the bundle's).")] = None,
    file_no: Annotated[str, typer.Option("--file-no", help="The number on the cover; unset: the bundle's, else one is issued (ABHILEKH_EFILE_NO_PATTERN).")] = "",
    as_user: AsUser = None,
) -> None:
    """Open an e-file. One whole bundle and nothing else given: its own file, made once
    (a second run shows the same one). Page ranges split a bundle into several files."""
    from abhilekh.records import BundleMetadata
    from cli.years import parse_years

    parts = [_part(b) for b in bundle or []]
    start, end = parse_years(year)
    meta = BundleMetadata()
    if parts:
        meta = _bundle_metadata(parts[0].bundle_id)
    with _session(as_user) as sess:
        if len(parts) == 1 and parts[0].whole and not (subject or station or category or year or file_no):
            efile, opened = sess.efiles.open_for_bundle(sess.actor, parts[0].bundle_id, meta)
        else:
            efile = sess.efiles.open(
                sess.actor, subject=subject or meta.title, station=station or meta.thana,
                category=category or meta.register, year_from=start or meta.year,
                year_to=end if start else meta.year_to, file_no=file_no or meta.file_no or None, parts=parts)
            opened = True
        console.print(("ई-फ़ाइल खोली / e-file opened" if opened else "पहले से खुली / already open") + ":")
        _print_file(efile)


def _bundle_metadata(bundle_id: str) -> Any:
    from storage import open_store
    from storage.bundles import load_manifest

    manifest = load_manifest(open_store(get_settings()), bundle_id)
    if manifest is None:
        err.print(f"[red]error:[/] बंडल नहीं मिला / no stored bundle {escape(bundle_id)}")
        raise typer.Exit(2)
    return manifest.metadata


@efile_app.command("show")
def efile_show(file_no: FileNo, as_user: AsUser = None, as_json: AsJson = False) -> None:
    """One file: its fields, bundles, movement history and notes."""
    with _session(as_user) as sess:
        efile = sess.efiles.get(sess.actor, file_no)
        history = sess.efiles.history(sess.actor, file_no)
        notes = sess.efiles.notes(sess.actor, file_no)
        sess.audit("view", efile.file_no)
    if as_json:
        sys.stdout.write(json.dumps({**efile.to_dict(), "history": [m.to_dict() for m in history],
                                     "notes": [n.to_dict() for n in notes]}, ensure_ascii=False, indent=2) + "\n")
        return
    _print_file(efile)
    moves = Table("समय / When (UTC)", "कार्य / Action", "किसने / By", "किसे / To", "टिप्पणी / Remarks",
                  title="संचलन / Movements")
    for m in history:
        moves.add_row(m.at.strftime("%Y-%m-%d %H:%M"), m.action, escape(m.actor), escape(m.to_user or ""),
                      escape(m.remarks))
    console.print(moves)
    if notes:
        table = Table("#", "समय / When", "किसने / By", "पृष्ठ / Page", "टिप्पणी / Note", title="टिप्पणियाँ / Notes")
        for n in notes:
            where = f"{n.bundle_id[:12]}:{n.page}" if n.page else ""
            text = n.text + (f"  (सुधार / corrects #{n.corrects})" if n.corrects else "")
            table.add_row(str(n.id), n.at.strftime("%Y-%m-%d %H:%M"), escape(n.author), where, escape(text))
        console.print(table)


@efile_app.command("list")
def efile_list(
    box: Annotated[str, typer.Option(help="inbox (with you), sent (you sent on), parked, closed, or all (your stations).")] = "inbox",
    station: Annotated[str | None, typer.Option(help="With --box all: only this station.")] = None,
    as_user: AsUser = None,
    as_json: AsJson = False,
) -> None:
    """A list of files, as the web page's Inbox / Sent / Parked / Closed."""
    if box not in BOXES:
        raise typer.BadParameter(f"one of {', '.join(BOXES)}", param_hint="--box")
    with _session(as_user) as sess:
        svc, actor = sess.efiles, sess.actor
        files = svc.all_files(actor, station=station) if box == "all" else getattr(svc, box)(actor)
    if as_json:
        sys.stdout.write(json.dumps([f.to_dict() for f in files], ensure_ascii=False, indent=2) + "\n")
        return
    table = Table("फ़ाइल संख्या / File no.", "विषय / Subject", "थाना / Station", "स्थिति / Status",
                  "किसके पास / Holder", "नियत / Due", title=f"{box} ({len(files)})")
    for f in files:
        table.add_row(escape(f.file_no), escape(f.subject), escape(f.station), f.status, escape(f.holder),
                      f.due_date.isoformat() if f.due_date else "")
    console.print(table)


@efile_app.command("send")
def efile_send(
    file_no: FileNo,
    to: Annotated[str, typer.Option("--to", help="The web user who gets the file next (must see its station).")],
    remarks: Annotated[str, typer.Option(help="What they are to do (required), Hindi or English.")],
    due: Annotated[str | None, typer.Option(help="Due back by (YYYY-MM-DD).")] = None,
    as_user: AsUser = None,
) -> None:
    """Send (forward) the file to another officer with remarks; it lands in his inbox."""
    from efiles.model import Actor

    receiver = _known_user(to)
    to_actor = Actor(receiver.name) if receiver.is_admin else Actor.within(receiver.name, receiver.stations)
    with _session(as_user) as sess:
        efile = sess.efiles.send(sess.actor, file_no, to_actor, remarks=remarks, due_date=_date(due))
        _done(sess, "send", efile, f"to={to_actor.name} {remarks}")


@efile_app.command("receive")
def efile_receive(file_no: FileNo, as_user: AsUser = None) -> None:
    """Acknowledge a file sent to you (in movement -> open)."""
    with _session(as_user) as sess:
        _done(sess, "receive", sess.efiles.receive(sess.actor, file_no))


@efile_app.command("park")
def efile_park(file_no: FileNo, remarks: Annotated[str, typer.Option(help="Why it waits.")] = "",
               as_user: AsUser = None) -> None:
    """Park the file (keep it aside; it stays with you, in your Parked list)."""
    with _session(as_user) as sess:
        _done(sess, "park", sess.efiles.park(sess.actor, file_no, remarks=remarks), remarks)


@efile_app.command("unpark")
def efile_unpark(file_no: FileNo, as_user: AsUser = None) -> None:
    """Take a parked file back into work."""
    with _session(as_user) as sess:
        _done(sess, "unpark", sess.efiles.unpark(sess.actor, file_no))


@efile_app.command("close")
def efile_close(file_no: FileNo, remarks: Annotated[str, typer.Option(help="How it ended.")] = "",
                as_user: AsUser = None) -> None:
    """Close the file (it can be reopened with a reason)."""
    with _session(as_user) as sess:
        _done(sess, "close", sess.efiles.close_file(sess.actor, file_no, remarks=remarks), remarks)


@efile_app.command("reopen")
def efile_reopen(file_no: FileNo, reason: Annotated[str, typer.Option(help="Why it is reopened (required).")],
                 as_user: AsUser = None) -> None:
    """Reopen a closed file; it comes back to you, and the reason is kept in its history."""
    with _session(as_user) as sess:
        _done(sess, "reopen", sess.efiles.reopen(sess.actor, file_no, reason=reason), reason)


@efile_app.command("note")
def efile_note(
    file_no: FileNo,
    text: Annotated[str, typer.Argument(help="The note, Hindi or English. Saved notes never change.")],
    page: Annotated[str | None, typer.Option(help="BUNDLE_ID:PAGE: a note on that page of the file.")] = None,
    corrects: Annotated[int | None, typer.Option(help="The number of an earlier note this one corrects.")] = None,
    as_user: AsUser = None,
) -> None:
    """Add a note (noting) to a file you hold, or to one of its pages."""
    bundle_id, number = None, None
    if page:
        match = re.fullmatch(r"([0-9a-f]{16,64}):(\d+)", page.strip())
        if not match:
            raise typer.BadParameter("use BUNDLE_ID:PAGE", param_hint="--page")
        bundle_id, number = match.group(1), int(match.group(2))
    with _session(as_user) as sess:
        note = sess.efiles.note(sess.actor, file_no, text, bundle_id=bundle_id, page=number, corrects=corrects)
    console.print(f"[green]✓[/] टिप्पणी #{note.id} सहेजी / note #{note.id} saved on {escape(file_no)}")


@efile_app.command("add-part")
def efile_add_part(file_no: FileNo, part: Annotated[str, typer.Argument(help="BUNDLE_ID or BUNDLE_ID:FIRST-LAST.")],
                   as_user: AsUser = None) -> None:
    """Put another bundle (or some of its pages) into the file: several bundles, one file."""
    with _session(as_user) as sess:
        _done(sess, "add_part", sess.efiles.add_part(sess.actor, file_no, _part(part)), part)



# The and e-Office's words for the same actions: an officer who types `move`,
# `merge` or `split` gets the command he means, with the same options.
efile_app.command("move", help="Same as `send`: move the file to another officer with remarks.")(efile_send)
efile_app.command("merge", help="Same as `add-part`: put another bundle (or pages of one) into this file.")(efile_add_part)
efile_app.command("split", help="Same as `open` with page ranges: --bundle ID:1-40 --bundle ID:41-80 "
                  "makes a file of those pages; run once per new file.")(efile_open)

def pendency(
    station: Annotated[str | None, typer.Option(help="Only this station.")] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV on standard output.")] = False,
    as_user: AsUser = None,
    as_json: AsJson = False,
) -> None:
    """Files pending with each officer and for how long, oldest first (closed files are done)."""
    from efiles.service import pendency_csv

    with _session(as_user) as sess:
        rows = sess.efiles.pendency(sess.actor, station=station)
        sess.audit("pendency", station or "", f"rows={len(rows)}")
    if as_csv:
        sys.stdout.write(pendency_csv(rows))
        return
    if as_json:
        sys.stdout.write(json.dumps([r.to_dict() for r in rows], ensure_ascii=False, indent=2) + "\n")
        return
    table = Table("थाना / Station", "किसके पास / With", "फ़ाइल / File", "स्थिति / Status", "दिन / Days",
                  "नियत / Due", title=f"लंबित / Pending ({len(rows)})")
    for r in rows:
        due = (r.due_date.isoformat() if r.due_date else "") + (" [red]विलंबित / overdue[/]" if r.overdue else "")
        table.add_row(escape(r.station), escape(r.holder), escape(r.file_no), r.status, str(r.days), due)
    console.print(table)


def open_bundle_efile(bundle_id: str, metadata: dict[str, Any]) -> bool:
    """After `ingest`: the bundle's e-file, numbered from --file-no (else one issued).
    False (with the reason printed) when the workflow database refused; the bundle
    itself is stored either way, and `abhilekh efile open --bundle ID` can try again."""
    from abhilekh.errors import AbhilekhError
    from abhilekh.records import BundleMetadata

    try:
        with _session(None) as sess:
            efile, opened = sess.efiles.open_for_bundle(sess.actor, bundle_id, BundleMetadata.from_dict(metadata))
    except AbhilekhError as exc:
        err.print(f"[red]e-file    : not opened ({escape(str(exc))}); the bundle is stored — "
                  f"`abhilekh efile open --bundle {bundle_id}` once the database is back[/]")
        return False
    state = "opened / खोली गई" if opened else "already open / पहले से खुली"
    console.print(f"e-file    : {escape(efile.file_no)} ({state}; with {escape(efile.holder)})")
    return True


@efile_app.command("export")
def efile_export(
    file_no: FileNo,
    out: Annotated[Path, typer.Option("--out", help="Folder to write <file no>.zip into.")],
    as_user: AsUser = None,
) -> None:
    """Export the file for e-Office migration: a zip of one PDF/A-2b (its pages with their
    text layer, then an appendix of notes and movements), metadata (JSON and CSV), notes
    and movement history, with sha256 of each member."""
    from efiles.export import export_efile, export_name
    from storage import open_store
    from storage.bundles import pdf_key

    store = open_store(get_settings())
    with _session(as_user) as sess:
        target = out / export_name(file_no)
        efile = export_efile(sess.efiles, sess.actor, file_no, lambda b: store.get(pdf_key(b)), target)
        sess.audit("export", efile.file_no, str(target))
    console.print(f"[green]✓[/] {escape(efile.file_no)} → {escape(str(target))}")
