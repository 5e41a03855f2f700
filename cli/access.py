"""`abhilekh users` and `abhilekh audit`: the access room (access/) at the terminal.

Every change to a user is written to the audit log as done by `cli:<login name>`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from abhilekh.settings import get_settings
from cli.output import console, err

users_app = typer.Typer(
    help=(
        "Web log-in accounts (stored in $ABHILEKH_HOME/users.sqlite3, argon2id hashes).\n\n"
        "Roles: officer (search and view the stations granted), operator (ingest and review; "
        "on the web like an officer), admin (every station, users, audit log).\n\n"
        "First admin:  abhilekh users add admin --role admin"
    ),
    no_args_is_help=True,
)
audit_app = typer.Typer(help="The append-only audit log of searches and page views.",
                        no_args_is_help=True)


def _read_password(password_stdin: bool, confirm: bool = True) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password / पासवर्ड", hide_input=True, confirmation_prompt=confirm)


def _user_store():
    from access.users import UserStore

    return UserStore(get_settings().users_path)


def _audit_log():
    """The audit log as the web writes it: keyed, anchored in the store."""
    from access.audit import AuditLog
    from storage import open_store

    settings = get_settings()
    return AuditLog.for_settings(settings, anchors=open_store(settings))


def _audit_cli(action: str, target: str, detail: str = "") -> None:
    import getpass

    log = _audit_log()
    try:
        log.record(f"cli:{getpass.getuser()}", "admin", "admin", target=target, detail=detail)
    finally:
        log.close()


def _user_op(fn, *args):
    from access.users import UserError

    store = _user_store()
    try:
        return fn(store, *args)
    except UserError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(exc.exit_code) from None
    finally:
        store.close()


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="Log-in name: a-z 0-9 . _ - @")],
    role: Annotated[str, typer.Option(help="officer, operator or admin.")] = "officer",
    station: Annotated[list[str] | None, typer.Option("--station", help="A police station (thana) as written in the bundles' metadata; repeat for several.")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin (scripts).")] = False,
) -> None:
    """Add a user; asks for the password twice (at least 8 characters)."""
    password = _read_password(password_stdin)
    user = _user_op(lambda s: s.add(name, role, password, station or []))
    _audit_cli("admin", user.name, f"add {user.role} {', '.join(user.stations)}".strip())
    console.print(f"added {escape(user.name)} ({user.role}) stations: "
                  f"{escape(', '.join(user.stations)) or ('all' if user.is_admin else 'none')}")


@users_app.command("list")
def users_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List users, roles and stations."""
    users = _user_op(lambda s: s.list())
    if as_json:
        print(json.dumps([{"name": u.name, "role": u.role, "stations": list(u.stations),
                           "disabled": u.disabled} for u in users], ensure_ascii=False, indent=2))
        return
    table = Table(title="users / उपयोगकर्ता")
    for column in ("name", "role", "stations", "state"):
        table.add_column(column)
    for u in users:
        table.add_row(escape(u.name), u.role,
                      "all" if u.is_admin else escape(", ".join(u.stations)) or "—",
                      "disabled" if u.disabled else "active")
    console.print(table)


@users_app.command("grant")
def users_grant(
    name: Annotated[str, typer.Argument()],
    stations: Annotated[list[str], typer.Argument(help="Stations (thana) as in the bundles' metadata.")],
) -> None:
    """Let a user see these stations' records."""
    user = _user_op(lambda s: s.grant(name, stations))
    _audit_cli("admin", user.name, "grant " + ", ".join(stations))
    console.print(f"{escape(user.name)}: {escape(', '.join(user.stations))}")


@users_app.command("revoke")
def users_revoke(
    name: Annotated[str, typer.Argument()],
    stations: Annotated[list[str], typer.Argument()],
) -> None:
    """Take stations away from a user."""
    user = _user_op(lambda s: s.revoke(name, stations))
    _audit_cli("admin", user.name, "revoke " + ", ".join(stations))
    console.print(f"{escape(user.name)}: {escape(', '.join(user.stations)) or 'no stations'}")


@users_app.command("passwd")
def users_passwd(
    name: Annotated[str, typer.Argument()],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
) -> None:
    """Set a new password (ends the user's sessions)."""
    password = _read_password(password_stdin)
    _user_op(lambda s: s.set_password(name, password))
    _audit_cli("admin", name.lower(), "password")
    console.print(f"password of {escape(name)} changed")


@users_app.command("role")
def users_role(
    name: Annotated[str, typer.Argument()],
    role: Annotated[str, typer.Argument(help="officer, operator or admin.")],
) -> None:
    """Change a user's role. The last active admin cannot be demoted: make another admin first."""
    user = _user_op(lambda s: s.set_role(name, role))
    _audit_cli("admin", user.name, f"role {user.role}")
    console.print(f"{escape(user.name)} is now {user.role}")


@users_app.command("disable")
def users_disable(
    name: Annotated[str, typer.Argument()],
    enable: Annotated[bool, typer.Option("--enable", help="Enable again instead.")] = False,
) -> None:
    """Disable a user (ends their sessions at once), or --enable again. The last active
    admin cannot be disabled."""
    _user_op(lambda s: s.set_disabled(name, not enable))
    _audit_cli("admin", name.lower(), "enable" if enable else "disable")
    console.print(f"{escape(name)} {'enabled' if enable else 'disabled'}")


@audit_app.command("export")
def audit_export(
    fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
    out: Annotated[Path | None, typer.Option("--out", help="File to write (default: stdout).")] = None,
    since: Annotated[str | None, typer.Option(help="Only rows at or after this UTC time, e.g. 2025-01-31.")] = None,
) -> None:
    """Write the whole audit log (oldest first) as CSV or JSON."""
    from access.audit import to_csv, to_json

    if fmt not in ("csv", "json"):
        raise typer.BadParameter("csv or json", param_hint="--format")
    log = _audit_log()
    try:
        chunks = (to_csv if fmt == "csv" else to_json)(log.iter_all(since))
        if out is None:
            for chunk in chunks:
                sys.stdout.write(chunk)
        else:
            with out.open("w", encoding="utf-8", newline="") as f:
                for chunk in chunks:
                    f.write(chunk)
            console.print(f"wrote {escape(str(out))}")
    finally:
        log.close()


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the keyed hash chain and every anchor of it in the object store: exit 1 and
    name the first row that no longer fits (an altered row, a rewritten chain, a cut-off tail)."""
    log = _audit_log()
    try:
        found = log.check()
    finally:
        log.close()
    if not found.ok:
        err.print(f"[red]audit log altered: {escape(found.problem)}[/]")
        raise typer.Exit(1)
    legacy = f" ({found.legacy_rows} from before the chain was keyed)" if found.legacy_rows else ""
    anchors = (f"; {found.anchors} anchor(s) in the store match, the newest at row {found.last_anchor}"
               if found.anchors else "; no anchor in the store yet (`abhilekh audit anchor` writes one)")
    console.print(f"audit log intact: {found.rows} row(s){legacy}{anchors}; last hash {found.last_hash}")


@audit_app.command("anchor")
def audit_anchor() -> None:
    """Write the chain head (row id and hash) to the object store now. The web writes one
    every ABHILEKH_AUDIT_ANCHOR_EVERY rows; run this from cron too (say hourly) so a
    quiet day's rows are anchored as well."""
    log = _audit_log()
    try:
        head = log.anchor()
    finally:
        log.close()
    if head is None:
        console.print("the audit log is empty: nothing to anchor")
        return
    console.print(f"anchored row {head[0]} ({head[1][:16]}…) in the store")
