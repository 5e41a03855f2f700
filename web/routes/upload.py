"""The scanning operators' upload: one bundle (scans or a zip, and its facts) from the
browser into the CLI's ingest pipeline, then its progress and report (web/uploads.py).

Operators and admins only. An operator uploads for the stations granted to them; the
facts are checked here (the station, the year) before anything is queued.
"""

from __future__ import annotations

import re
import shutil
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from access.users import User, station_key
from web.catalog import Catalog
from web.errors import PageError
from web.messages import ingest_reason
from web.render import render
from web.scope import store_of
from web.session import CurrentUser, audit, csrf_protect, require_user
from web.uploads import SCAN_SUFFIXES, Job, Uploads, safe_name

OPERATOR_ONLY = ("यह पृष्ठ केवल स्कैन संचालकों और व्यवस्थापकों के लिए है",
                 "Only scanning operators and administrators may upload")
MAX_FILES = 2000
_YEAR = re.compile(r"^(\d{4})(?:\s*[-–]\s*(\d{4}))?$")


def require_operator(request: Request, user: CurrentUser) -> User:
    if user.role not in ("operator", "admin"):
        audit(request, user, "denied", detail=request.url.path)
        raise PageError(403, *OPERATOR_ONLY)
    return user


router = APIRouter(include_in_schema=False,
                   dependencies=[Depends(require_user), Depends(require_operator), Depends(csrf_protect)])


def uploads(request: Request) -> Uploads:
    up: Uploads = request.app.state.uploads
    return up


def stations_for(request: Request, user: User) -> list[str]:
    if not user.is_admin:
        return sorted(user.stations)
    catalog: Catalog = request.app.state.catalog
    return catalog.stations(store_of(request))


def _form_page(request: Request, user: User, status: int = 200, **context: Any) -> HTMLResponse:
    jobs = uploads(request).list(None if user.is_admin else user.name)[:20]
    return render(request, "upload.html", status, stations=stations_for(request, user), jobs=jobs,
                  form=context.pop("form", {}), **context)


@router.get("/upload", response_class=HTMLResponse)
def upload_form(request: Request, user: CurrentUser) -> HTMLResponse:
    return _form_page(request, user)


def check_facts(form: dict[str, str], user: User, stations: list[str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The bundle's facts, cleaned, and what is wrong with them (Hindi, English)."""
    errors: list[tuple[str, str]] = []
    thana = form.get("thana", "").strip()
    by_key = {station_key(s): s for s in stations}
    if not thana:
        errors.append(("थाना चुनें", "Choose the police station"))
    elif station_key(thana) in by_key:
        thana = by_key[station_key(thana)]  # spelt as stored
    elif not user.is_admin:
        errors.append((f"थाना {thana} आपको नहीं दिया गया है", f"Station {thana} is not granted to you"))
    year = form.get("year", "").strip()
    if year and not _YEAR.match(year):
        errors.append(("वर्ष 1998 या 1995-1998 जैसे लिखें", "Write the year as 1998 or 1995-1998"))
    if not form.get("register", "").strip():
        errors.append(("रजिस्टर का प्रकार लिखें", "Write the register or file type"))
    facts = {"thana": thana, "register": form.get("register", "").strip()[:200], "year": year,
             "file_no": form.get("file_no", "").strip()[:100], "title": form.get("title", "").strip()[:200]}
    return facts, errors


@router.post("/upload")
async def upload_submit(request: Request, user: CurrentUser) -> Response:
    form = await request.form(max_files=MAX_FILES, max_fields=50)
    fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    facts, errors = check_facts(fields, user, stations_for(request, user))
    if not files:
        errors.append(("कम से कम एक स्कैन फ़ाइल चुनें", "Choose at least one scan file"))
    wrong = [f.filename for f in files if "." + (f.filename or "").rsplit(".", 1)[-1].lower() not in SCAN_SUFFIXES]
    if wrong:
        errors.append((f"ये फ़ाइलें स्कैन नहीं हैं: {', '.join(map(str, wrong[:5]))} (TIFF, JPEG, PNG, PDF या zip दें)",
                       f"Not scans: {', '.join(map(str, wrong[:5]))} (upload TIFF, JPEG, PNG, PDF or a zip)"))
    if errors:
        await form.close()
        return _form_page(request, user, 400, errors=errors, form=fields)
    up = uploads(request)
    job, scans = await run_in_threadpool(up.new, user.name, facts)
    try:
        for f in files:
            name = safe_name(str(f.filename))
            target = scans / name
            n = 1
            while target.exists():
                n += 1
                target = scans / f"{target.stem}-{n}{target.suffix}"
            await run_in_threadpool(_copy, f, target)
            job.files.append(target.name)
    finally:
        await form.close()
    await run_in_threadpool(up.queue, job)
    audit(request, user, "upload", target=job.id,
          detail=f"{len(job.files)} file(s) for {facts['thana']}: {facts['register']} {facts['year']}".strip())
    return RedirectResponse(f"/upload/{job.id}", 303)


def _copy(upload: UploadFile, target: Any) -> None:
    """Copy as uploaded: an over-size or broken file is named and quarantined by the
    ingest, with its reason in the report, exactly as from the CLI."""
    upload.file.seek(0)
    with open(target, "wb") as out:
        shutil.copyfileobj(upload.file, out, 1024 * 1024)


def _job_for(request: Request, user: User, job_id: str) -> Job:
    job = uploads(request).get(job_id)
    if job is None or (not user.is_admin and job.user != user.name):
        raise PageError(404, "यह अपलोड नहीं मिला", "No such upload")
    return job


def job_view(request: Request, job: Job) -> dict[str, Any]:
    progress = uploads(request).progress(job)
    report = progress["report"] or {}
    bundles = report.get("bundles") or []
    b = bundles[0] if bundles else {}
    failures = [{"file": f.get("file"), "hindi": ingest_reason(str(f.get("reason", ""))),
                 "english": f.get("reason")} for f in b.get("failures", [])]
    return {"id": job.id, "state": job.state, "done": progress["done"], "expected": progress["expected"],
            "bundle_id": b.get("bundle_id"), "pages": b.get("pages"), "indexed": b.get("indexed_pages"),
            "needs_review": b.get("needs_review", []), "failures": failures, "error": job.error,
            "stored": b.get("stored")}


@router.get("/upload/{job_id}", response_class=HTMLResponse)
def upload_status(request: Request, job_id: str, user: CurrentUser) -> HTMLResponse:
    job = _job_for(request, user, job_id)
    return render(request, "upload_status.html", job=job, view=job_view(request, job),
                  log=uploads(request).log_tail(job) if user.is_admin else "")


@router.get("/upload/{job_id}/status.json")
def upload_status_json(request: Request, job_id: str, user: CurrentUser) -> JSONResponse:
    job = _job_for(request, user, job_id)
    return JSONResponse(job_view(request, job), headers={"Cache-Control": "no-store"})
