"""E-files on the web: Inbox / Sent / Parked / Closed, the file page, the pendency report.

    GET  /efiles?box=inbox|sent|parked|closed|all   the lists (all: every file of your stations)
    GET  /efiles/file?no=FILE_NO                    the file: bundles, pages, history, notes, forms
    POST /efiles/act                                send / receive / park / unpark / close / reopen
    POST /efiles/note                               a note on the file or one of its pages
    POST /efiles/open                               open a stored bundle's e-file
    GET  /efiles/pendency[?station=..]              pending files, oldest first
    GET  /efiles/pendency.csv                       the same as CSV
    GET  /efiles/export?no=FILE_NO                  the file as a zip for e-Office (efiles/export.py)

Station scope is the search's: an admin sees every station, anyone else only their
granted ones (``actor_of``); a file outside them is "not found", by list, URL or form.
Every form carries the file's row version, so acting on a page that is out of date is
refused ("the file moved"), as is the loser of two officers acting at once. Every
action and view is written to the audit log. The workflow database is opened when the
app starts (migrating it); if it is down then or later, these pages say so (503) and
the rest of the site works on.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from abhilekh.settings import Settings
from access.users import User, UserStore
from efiles.db import DatabaseDown
from efiles.model import STATUS_HINDI, Actor, EFileError, EFileNotFound, FileMoved
from efiles.service import EFiles, open_efiles, pendency_csv
from storage.base import StorageError
from web.errors import PageError, store_down
from web.render import render
from web.routes.efiles_audit import drain_into
from web.scope import bundle_for, page_number
from web.session import CurrentUser, audit, client_ip, csrf_protect, require_user

log = logging.getLogger(__name__)

router = APIRouter(prefix="/efiles", include_in_schema=False,
                   dependencies=[Depends(require_user), Depends(csrf_protect)])

BOXES = {
    "inbox": ("आवक", "Inbox"), "sent": ("प्रेषित", "Sent"), "parked": ("स्थगित", "Parked"),
    "closed": ("बंद", "Closed"), "all": ("सभी (मेरे थाने)", "All (my stations)"),
}
ACTIONS = ("send", "receive", "park", "unpark", "close", "reopen")
_OPENING = threading.Lock()


class WorkflowHolder:
    """The app's e-files, opened at start-up, or on first use if the database was down."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.efiles: EFiles | None = None
        try:
            self.efiles = open_efiles(settings)
        except DatabaseDown as exc:
            log.warning("e-files unavailable at start-up (%s); will retry on first use", exc)

    def get(self) -> EFiles:
        with _OPENING:
            if self.efiles is None:
                self.efiles = open_efiles(self.settings)
            return self.efiles

    def close(self) -> None:
        if self.efiles is not None:
            self.efiles.close()


def actor_of(user: User, request: Request | None = None) -> Actor:
    """The user as the e-file service sees him: the same stations his searches run in
    (and, for a change, his role and address for its audit row)."""
    ip = client_ip(request) if request is not None else ""
    if user.is_admin:
        return Actor(user.name, role=user.role, ip=ip)
    return replace(Actor.within(user.name, user.stations), role=user.role, ip=ip)


# Service calls that change a file: each writes its audit row in the audit outbox, in
# its own transaction, and the outbox is drained into the audit log right after.
CHANGES = {"open_for_bundle", "open", "send", "receive", "park", "unpark", "close_file", "reopen", "add_part",
           "note"}


def _page_error(exc: Exception) -> PageError:
    if isinstance(exc, DatabaseDown):
        return PageError(503, "कार्य-प्रवाह डेटाबेस उपलब्ध नहीं; कुछ देर बाद पुनः प्रयास करें",
                         "The e-file database is unavailable; nothing saved is lost, try again shortly")
    hindi, _, english = str(exc).partition(" / ")
    status = 404 if isinstance(exc, EFileNotFound) else 409 if isinstance(exc, FileMoved) else 400
    return PageError(status, hindi, english or hindi)


def _call(request: Request, fn: str, *args: Any, **kwargs: Any) -> Any:
    try:
        svc = request.app.state.workflow.get()
        return getattr(svc, fn)(*args, **kwargs)
    except (DatabaseDown, EFileError) as exc:
        raise _page_error(exc) from None
    finally:
        if fn in CHANGES and request.app.state.workflow.efiles is not None:
            drain_into(request.app.state.workflow.efiles, request.app.state.audit)


def file_url(file_no: str) -> str:
    return "/efiles/file?" + urlencode({"no": file_no})


def _view(efile: Any) -> dict[str, Any]:
    return {"f": efile, "url": file_url(efile.file_no), "status_hindi": STATUS_HINDI.get(efile.status, efile.status)}


@router.get("", response_class=HTMLResponse)
def efile_lists(request: Request, user: CurrentUser) -> HTMLResponse:
    box = request.query_params.get("box") or "inbox"
    if box not in BOXES:
        raise PageError(404, "यह सूची नहीं है", "No such list")
    actor = actor_of(user)
    # Rows a crashed server left in the outbox reach the audit log at the latest here.
    drain_into(request.app.state.workflow.get(), request.app.state.audit) if request.app.state.workflow.efiles else None
    files = _call(request, "all_files", actor) if box == "all" else _call(request, box, actor)
    audit(request, user, "efile_list", target=box, detail=f"files={len(files)}")
    return render(request, "efiles.html", box=box, boxes=BOXES, files=[_view(f) for f in files])


@router.get("/file", response_class=HTMLResponse)
def efile_page(request: Request, user: CurrentUser) -> HTMLResponse:
    file_no = request.query_params.get("no") or ""
    actor = actor_of(user)
    try:
        efile = _call(request, "get", actor, file_no)
    except PageError as exc:
        if exc.status == 404:
            audit(request, user, "denied", target=file_no[:200], detail="efile not found or outside stations")
        raise
    history = _call(request, "history", actor, file_no)
    notes = _call(request, "notes", actor, file_no)
    users: UserStore = request.app.state.users
    receivers = [u.name for u in users.list() if u.name != user.name and not u.disabled and u.may_see(efile.station)]
    audit(request, user, "efile_view", target=efile.file_no)
    return render(request, "efile.html", e=_view(efile), history=history, notes=notes, receivers=receivers,
                  holder=efile.holder == user.name, done=request.query_params.get("done"),
                  parts=[{"part": p, "url": f"/bundles/{p.bundle_id}",
                          "first": f"/bundles/{p.bundle_id}/pages/{p.page_from or 1}"} for p in efile.parts])


def _version(form: Any) -> int | None:
    raw = str(form.get("version") or "")
    return int(raw) if raw.isdigit() else None


def _due(raw: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise PageError(400, "नियत तिथि गलत", f"Due date {raw!r} is not a date (YYYY-MM-DD)") from None


def perform(request: Request, user: User, file_no: str, action: str, *, version: int | None, to: str = "",
            remarks: str = "", due: str = "") -> Any:
    """One movement action by `user` (the web form and the JSON API both come here); audited."""
    actor = actor_of(user, request)
    if action not in ACTIONS:
        raise PageError(400, "अज्ञात कार्य", "Unknown action")
    if action == "send":
        to_name = to.strip().lower()
        receiver = request.app.state.users.get(to_name)
        if receiver is None or receiver.disabled:
            raise PageError(400, "प्राप्तकर्ता नहीं मिला", f"No active user {to_name!r} to send to")
        efile = _call(request, "send", actor, file_no, actor_of(receiver), remarks=remarks,
                      due_date=_due(due), version=version)
    elif action == "reopen":
        efile = _call(request, "reopen", actor, file_no, reason=remarks, version=version)
    elif action in ("park", "close"):
        efile = _call(request, "close_file" if action == "close" else "park", actor, file_no, remarks=remarks,
                      version=version)
    else:
        efile = _call(request, action, actor, file_no, version=version)
    return efile  # audited by the service's outbox (_call drains it)


def add_note(request: Request, user: User, file_no: str, text: str, page_ref: str = "",
             corrects: int | None = None) -> Any:
    """A note by `user`, on the file or on page BUNDLE:PAGE of it; audited."""
    bundle_id: str | None = None
    page: int | None = None
    if page_ref:
        bundle, _, number = page_ref.rpartition(":")
        if not bundle or not number.isdigit():
            raise PageError(400, "पृष्ठ गलत", "Page must be BUNDLE:PAGE, as in the list of the file's pages")
        # The page must exist in the bundle (the service knows the file's parts, the
        # manifest knows how many pages a whole bundle has); its station is checked too.
        manifest = bundle_for(request, user, bundle)
        bundle_id, page = manifest.bundle_id, page_number(number, manifest)
    return _call(request, "note", actor_of(user, request), file_no, text, bundle_id=bundle_id, page=page,
                 corrects=corrects)  # audited by the service's outbox


@router.post("/act")
async def efile_act(request: Request, user: CurrentUser) -> Response:
    form = await request.form()  # its CSRF token was checked by the router
    efile = await run_in_threadpool(
        perform, request, user, str(form.get("no") or ""), str(form.get("action") or ""),
        version=_version(form), to=str(form.get("to") or ""), remarks=str(form.get("remarks") or ""),
        due=str(form.get("due") or ""))
    return RedirectResponse(file_url(efile.file_no) + "&" + urlencode({"done": str(form.get("action"))}), 303)


@router.post("/note")
async def efile_note(request: Request, user: CurrentUser) -> Response:
    form = await request.form()
    file_no = str(form.get("no") or "")
    corrects_raw = str(form.get("corrects") or "")
    await run_in_threadpool(add_note, request, user, file_no, str(form.get("text") or ""),
                            str(form.get("page") or "").strip(), int(corrects_raw) if corrects_raw.isdigit() else None)
    return RedirectResponse(file_url(file_no) + "&done=note", 303)


@router.post("/open")
async def efile_open(request: Request, user: CurrentUser) -> Response:
    form = await request.form()
    bundle_id = str(form.get("bundle") or "").strip()
    manifest = await run_in_threadpool(bundle_for, request, user, bundle_id)  # station checked there
    efile, _opened = await run_in_threadpool(_call, request, "open_for_bundle", actor_of(user, request),
                                             manifest.bundle_id, manifest.metadata)  # audited by the outbox
    return RedirectResponse(file_url(efile.file_no), 303)


@router.get("/export")
def efile_export(request: Request, user: CurrentUser) -> Response:
    """The file as a zip for e-Office migration (efiles/export.py)."""
    import io

    from efiles.export import export_efile, export_name
    from storage.bundles import pdf_key
    from web.scope import store_of

    file_no = request.query_params.get("no") or ""
    store = store_of(request)
    buffer = io.BytesIO()
    try:
        efile = export_efile(request.app.state.workflow.get(), actor_of(user), file_no,
                             lambda b: store.get(pdf_key(b)), buffer)
    except (DatabaseDown, EFileError) as exc:
        raise _page_error(exc) from None
    except StorageError as exc:
        raise store_down(exc) from None
    audit(request, user, "efile_export", target=efile.file_no)
    return Response(buffer.getvalue(), media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{export_name(efile.file_no)}"', "Cache-Control": "no-store"})


@router.get("/pendency", response_class=HTMLResponse)
def efile_pendency(request: Request, user: CurrentUser) -> HTMLResponse:
    station = (request.query_params.get("station") or "").strip() or None
    rows = _call(request, "pendency", actor_of(user), station=station)
    audit(request, user, "efile_pendency", target=station or "", detail=f"rows={len(rows)}")
    holders: dict[str, dict[str, Any]] = {}
    for r in rows:
        h = holders.setdefault(r.holder, {"holder": r.holder, "count": 0, "oldest": r.days})
        h["count"] += 1
        h["oldest"] = max(h["oldest"], r.days)
    csv_url = "/efiles/pendency.csv" + (f"?{urlencode({'station': station})}" if station else "")
    return render(request, "pendency.html", rows=rows, station=station or "", csv_url=csv_url,
                  holders=sorted(holders.values(), key=lambda h: -h["oldest"]),
                  urls={r.file_no: file_url(r.file_no) for r in rows}, status_hindi=STATUS_HINDI)


@router.get("/pendency.csv")
def efile_pendency_csv(request: Request, user: CurrentUser) -> Response:
    station = (request.query_params.get("station") or "").strip() or None
    rows = _call(request, "pendency", actor_of(user), station=station)
    audit(request, user, "efile_pendency", target=station or "", detail=f"rows={len(rows)} csv")
    # A byte-order mark first: Excel (what district offices open CSV in) then reads UTF-8 Hindi right.
    return Response("\ufeff" + pendency_csv(rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="pendency.csv"', "Cache-Control": "no-store"})
