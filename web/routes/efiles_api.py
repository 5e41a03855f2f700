"""The e-files as JSON, under /api/efiles (described in /openapi.json).

The same session, station scope, checks and audit as the pages (web/routes/efiles.py);
every POST is application/json (``json_only``: a browser cannot send that cross-site
without asking, which is the API's CSRF protection, as for /api/search).

    GET  /api/efiles?box=inbox|sent|parked|closed|all
    GET  /api/efiles/file?no=FILE_NO          the file, its history and notes
    POST /api/efiles/act                      {"no", "action", "version"?, "to"?, "remarks"?, "due"?}
    POST /api/efiles/note                     {"no", "text", "page"? ("BUNDLE:PAGE"), "corrects"?}
    GET  /api/efiles/pendency?station=..
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from web.errors import PageError
from web.routes.efiles import BOXES, _call, actor_of, add_note, perform
from web.session import CurrentUser, audit, json_only, require_user, session_cookie

router = APIRouter(prefix="/api/efiles", tags=["e-files"],
                   dependencies=[Depends(session_cookie), Depends(require_user), Depends(json_only)])


class ActIn(BaseModel):
    no: str = Field(description="File number")
    action: str = Field(description="send, receive, park, unpark, close or reopen")
    version: int | None = Field(None, description="The row version you saw; a changed file is refused (409)")
    to: str = Field("", description="send: the user who gets it")
    remarks: str = Field("", description="send: required; reopen: the reason (required)")
    due: str = Field("", description="send: due date YYYY-MM-DD")


class NoteIn(BaseModel):
    no: str
    text: str
    page: str = Field("", description="BUNDLE:PAGE for a note on a page of the file")
    corrects: int | None = Field(None, description="The id of an earlier note this one corrects")


@router.get("", summary="A list of e-files: inbox, sent, parked, closed, or all of your stations")
def api_efiles(request: Request, user: CurrentUser, box: str = "inbox") -> list[dict[str, Any]]:
    if box not in BOXES:
        raise PageError(404, "यह सूची नहीं है", "No such list")
    actor = actor_of(user)
    files = _call(request, "all_files", actor) if box == "all" else _call(request, box, actor)
    audit(request, user, "efile_list", target=box, detail=f"files={len(files)} api")
    return [f.to_dict() for f in files]


@router.get("/file", summary="One e-file with its movement history and notes")
def api_efile(request: Request, user: CurrentUser, no: str) -> dict[str, Any]:
    actor = actor_of(user)
    efile = _call(request, "get", actor, no)
    audit(request, user, "efile_view", target=efile.file_no, detail="api")
    return {**efile.to_dict(), "history": [m.to_dict() for m in _call(request, "history", actor, no)],
            "notes": [n.to_dict() for n in _call(request, "notes", actor, no)]}


@router.post("/act", summary="Send, receive, park, unpark, close or reopen a file you hold",
             responses={409: {"description": "the file changed meanwhile (another officer acted first)"}})
async def api_act(request: Request, user: CurrentUser, body: ActIn) -> dict[str, Any]:
    efile = await run_in_threadpool(perform, request, user, body.no, body.action, version=body.version,
                                    to=body.to, remarks=body.remarks, due=body.due)
    return efile.to_dict()


@router.post("/note", summary="Add a note (never changed afterwards) to a file you hold")
async def api_note(request: Request, user: CurrentUser, body: NoteIn) -> dict[str, Any]:
    note = await run_in_threadpool(add_note, request, user, body.no, body.text, body.page.strip(), body.corrects)
    return note.to_dict()


@router.get("/pendency", summary="Files not closed in your stations: with whom, since when, oldest first")
def api_pendency(request: Request, user: CurrentUser, station: str | None = None) -> list[dict[str, Any]]:
    rows = _call(request, "pendency", actor_of(user), station=(station or "").strip() or None)
    audit(request, user, "efile_pendency", target=station or "", detail=f"rows={len(rows)} api")
    return [r.to_dict() for r in rows]


@router.get("/export", summary="The file for e-Office migration: a zip of one PDF/A-2b, its metadata sheet, notes and movements",
            response_class=Response, responses={200: {"content": {"application/zip": {}}}})
def api_export(request: Request, user: CurrentUser) -> Response:
    # The very export of the file page (same checks, same audit row), under the API's
    # session and JSON-only rules: a client migrating files needs no HTML route.
    from web.routes.efiles import efile_export

    return efile_export(request, user)
