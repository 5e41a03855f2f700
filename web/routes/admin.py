"""Administrators' pages: users, roles and station grants; the audit log and its export."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from access import audit as audit_mod
from access.audit import AuditLog
from access.users import ROLES, UserError, UserStore
from web.query import int_param, text_param
from web.render import render
from web.session import CurrentAdmin, audit, csrf_protect, require_admin

# require_admin first: a refused officer is audited before anything else is looked at.
router = APIRouter(prefix="/admin", include_in_schema=False,
                   dependencies=[Depends(require_admin), Depends(csrf_protect)])

AUDIT_PAGE = 50


@router.get("/users", response_class=HTMLResponse)
def admin_users(request: Request) -> HTMLResponse:
    message = request.query_params.get("done")
    return render(request, "admin_users.html", users=request.app.state.users.list(), roles=ROLES,
                  message=message)


@router.post("/users")
async def admin_users_post(request: Request, admin: CurrentAdmin) -> Response:
    form = await request.form()  # its CSRF token was checked by the router
    users: UserStore = request.app.state.users
    action = str(form.get("action") or "")
    name = str(form.get("name") or "").strip().lower()
    stations = [s.strip() for s in str(form.get("stations") or "").split(",") if s.strip()]
    try:
        if action == "add":
            await run_in_threadpool(users.add, name, str(form.get("role") or "officer"),
                                    str(form.get("password") or ""), stations)
        elif action == "grant":
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
    except UserError as exc:
        return render(request, "admin_users.html", 400, users=users.list(), roles=ROLES, error=str(exc))
    audit(request, admin, "admin", target=name, detail=f"{action} {', '.join(stations)}".strip())
    return RedirectResponse("/admin/users?" + urlencode({"done": f"{action} {name}"}), 303)


@router.get("/audit", response_class=HTMLResponse)
def admin_audit(request: Request) -> HTMLResponse:
    log: AuditLog = request.app.state.audit
    who = text_param(request.query_params.get("user"), 64)
    action = text_param(request.query_params.get("action"), 32)
    offset = int_param(request.query_params.get("offset"), 0, 0, 10**9)
    total = log.count(who, action)
    rows = log.page(AUDIT_PAGE, offset, who, action)

    def link(**changes: Any) -> str:
        values = {"user": who, "action": action, "offset": offset or None, **changes}
        kept = {k: v for k, v in values.items() if v not in (None, "")}
        return "/admin/audit" + ("?" + urlencode(kept) if kept else "")

    return render(
        request, "admin_audit.html", rows=rows, total=total, offset=offset,
        who=who or "", action=action or "",
        prev=link(offset=max(0, offset - AUDIT_PAGE) or None) if offset else None,
        next=link(offset=offset + AUDIT_PAGE) if offset + AUDIT_PAGE < total else None,
        csv="/admin/audit/export?format=csv", json="/admin/audit/export?format=json",
    )


@router.get("/audit/export")
def admin_audit_export(request: Request, admin: CurrentAdmin, format: str = "csv") -> Response:
    log: AuditLog = request.app.state.audit
    audit(request, admin, "export", detail=format)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    if format == "json":
        return StreamingResponse(
            audit_mod.to_json(log.iter_all()), media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.json"'},
        )
    return StreamingResponse(
        audit_mod.to_csv(log.iter_all()), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"'},
    )
