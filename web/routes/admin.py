"""Administrators' pages: users, roles and station grants; the audit log and its export."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from access import audit as audit_mod
from access.audit import AuditLog
from access.users import ROLES, UserError, UserStore, station_key
from web.audit_view import audit_rows
from web.catalog import Catalog
from web.messages import user_error
from web.query import int_param, text_param
from web.render import render
from web.scope import store_of
from web.session import CurrentAdmin, audit, csrf_protect, require_admin

# require_admin first: a refused officer is audited before anything else is looked at.
router = APIRouter(prefix="/admin", include_in_schema=False,
                   dependencies=[Depends(require_admin), Depends(csrf_protect)])

AUDIT_PAGE = 50
ACTIONS: dict[str, tuple[str, str]] = {
    "add": ("उपयोगकर्ता जोड़ा", "user added"), "grant": ("थाना दिया", "stations granted"),
    "revoke": ("थाना हटाया", "stations revoked"), "role": ("भूमिका बदली", "role changed"),
    "password": ("पासवर्ड बदला", "password set"), "disable": ("निष्क्रिय किया", "disabled"),
    "enable": ("सक्रिय किया", "enabled"),
}
ROLE_NAMES = {"officer": ("अधिकारी", "officer"), "operator": ("स्कैन संचालक", "scanning operator"),
              "admin": ("व्यवस्थापक", "administrator")}


def known_stations(request: Request, users: UserStore) -> list[str]:
    """Stations a grant may name: those of stored bundles, and those granted already
    (a station whose files are still to come), each spelt once as first seen."""
    catalog: Catalog = request.app.state.catalog
    seen: dict[str, str] = {}
    for name in catalog.stations(store_of(request)) + [s for u in users.list() for s in u.stations]:
        seen.setdefault(station_key(name), name)
    return sorted(seen.values())


def _users_page(request: Request, status: int = 200, **context: Any) -> HTMLResponse:
    users: UserStore = request.app.state.users
    return render(request, "admin_users.html", status, users=users.list(), roles=ROLES, role_names=ROLE_NAMES,
                  stations=known_stations(request, users), **context)


@router.get("/users", response_class=HTMLResponse)
def admin_users(request: Request) -> HTMLResponse:
    action, name = request.query_params.get("done", ""), request.query_params.get("user", "")
    done = ACTIONS.get(action)
    message = (f"{name}: {done[0]}", f"{name}: {done[1]}") if done else None
    return _users_page(request, message=message)


def chosen_stations(form_values: list[str], known: list[str]) -> list[str]:
    """The stations picked, each as spelt in the bundles' metadata (the case and
    spelling are the known one's, whatever was sent); an unknown one is refused."""
    by_key = {station_key(s): s for s in known}
    out: list[str] = []
    unknown: list[str] = []
    for value in form_values:
        for part in value.split(","):
            if not part.strip():
                continue
            match = by_key.get(station_key(part))
            (out if match else unknown).append(match or part.strip())
    if unknown:
        raise StationUnknown(unknown, known)
    return out


class StationUnknown(UserError):
    def __init__(self, unknown: list[str], known: list[str]) -> None:
        self.unknown, self.known = unknown, known
        super().__init__(f"unknown station {', '.join(unknown)}: choose from the list "
                         f"({', '.join(known) or 'no bundles stored yet'})")


@router.post("/users")
async def admin_users_post(request: Request, admin: CurrentAdmin) -> Response:
    form = await request.form()  # its CSRF token was checked by the router
    users: UserStore = request.app.state.users
    action = str(form.get("action") or "")
    name = str(form.get("name") or "").strip().lower()
    stations: list[str] = []
    try:
        stations = chosen_stations([str(v) for v in form.getlist("stations")], known_stations(request, users))
        if action == "add":
            await run_in_threadpool(users.add, name, str(form.get("role") or "officer"),
                                    str(form.get("password") or ""), stations)
        elif action == "grant":
            if not stations:
                raise UserError("choose at least one station")
            users.grant(name, stations)
        elif action == "revoke":
            users.revoke(name, stations)
        elif action == "role":
            users.set_role(name, str(form.get("role") or ""))
        elif action == "password":
            await run_in_threadpool(users.set_password, name, str(form.get("password") or ""))
        elif action in ("disable", "enable"):
            if name == admin.name:
                raise UserError("you cannot disable yourself")
            users.set_disabled(name, action == "disable")
        else:
            raise UserError("unknown action")
    except StationUnknown as exc:
        hindi = f"अज्ञात थाना: {', '.join(exc.unknown)} — सूची में से चुनें"
        return _users_page(request, 400, error=(hindi, str(exc)), focus=name)
    except UserError as exc:
        hindi = "कम से कम एक थाना चुनें" if str(exc) == "choose at least one station" else user_error(str(exc))
        return _users_page(request, 400, error=(hindi, str(exc)), focus=name)
    audit(request, admin, "admin", target=name, detail=f"{action} {', '.join(stations)}".strip())
    return RedirectResponse("/admin/users?" + urlencode({"done": action, "user": name}), 303)


def _audit_filter(request: Request) -> tuple[str | None, str | None]:
    return (text_param(request.query_params.get("user"), 64),
            text_param(request.query_params.get("action"), 32))


@router.get("/audit", response_class=HTMLResponse)
def admin_audit(request: Request) -> HTMLResponse:
    log: AuditLog = request.app.state.audit
    who, action = _audit_filter(request)
    offset = int_param(request.query_params.get("offset"), 0, 0, 10**9)
    total = log.count(who, action)
    rows = log.page(AUDIT_PAGE, offset, who, action)

    def link(path: str = "/admin/audit", **changes: Any) -> str:
        values = {"user": who, "action": action, "offset": offset or None, **changes}
        kept = {k: v for k, v in values.items() if v not in (None, "")}
        return path + ("?" + urlencode(kept) if kept else "")

    return render(
        request, "admin_audit.html", rows=audit_rows(request, rows), total=total, offset=offset,
        who=who or "", action=action or "",
        prev=link(offset=max(0, offset - AUDIT_PAGE) or None) if offset else None,
        next=link(offset=offset + AUDIT_PAGE) if offset + AUDIT_PAGE < total else None,
        csv=link("/admin/audit/export", offset=None, format="csv"),
        json=link("/admin/audit/export", offset=None, format="json"),
    )


def _filtered(log: AuditLog, who: str | None, action: str | None) -> Iterator[Any]:
    """Every entry the filter on screen shows, oldest first like the full export."""
    if not who and not action:
        yield from log.iter_all()
        return
    # pages are newest first: walk them from the oldest end (entries added meanwhile
    # are newer, at the other end, and may shift a page: the export is of a moment)
    total = log.count(who, action)
    for offset in range((max(0, total - 1) // 1000) * 1000, -1, -1000):
        yield from reversed(log.page(1000, offset, who, action))


@router.get("/audit/export")
def admin_audit_export(request: Request, admin: CurrentAdmin, format: str = "csv") -> Response:
    log: AuditLog = request.app.state.audit
    who, action = _audit_filter(request)
    audit(request, admin, "export", detail=" ".join(x for x in (format, who and f"user={who}",
                                                               action and f"action={action}") if x))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    entries = _filtered(log, who, action)
    if format == "json":
        return StreamingResponse(
            audit_mod.to_json(entries), media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.json"'},
        )
    return StreamingResponse(
        audit_mod.to_csv(entries), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"'},
    )
