"""The review queue: pages OCR read with low confidence, per station, and the form where
an officer corrects a page's text line by line beside its image.

A correction is saved as a new text version (access/review.py: the scan and OCR's
reading stay in the store), put in the index at once (search finds the corrected words
from the next query), written to the audit log, and shown as "corrected by" on the page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from abhilekh.records import SearchDocument
from access.review import ReviewError, ReviewStore
from storage.base import StorageError
from storage.bundles import load_page
from web.catalog import Catalog
from web.errors import PageError
from web.query import page_url, text_param
from web.render import render
from web.runtime import IndexThreads
from web.scope import bundle_for, page_number, store_of
from web.session import CurrentUser, audit, csrf_protect, require_user

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_user), Depends(csrf_protect)])

QUEUE_LIMIT = 500  # pages listed at once (the worst first)
MAX_LINES = 400


def reviews(request: Request) -> ReviewStore:
    store: ReviewStore = request.app.state.reviews
    return store


@router.get("/review", response_class=HTMLResponse)
async def review_queue(request: Request, user: CurrentUser) -> HTMLResponse:
    thana = text_param(request.query_params.get("thana"))
    catalog: Catalog = request.app.state.catalog
    lines = await run_in_threadpool(catalog.for_user, store_of(request), user)
    corrected = await run_in_threadpool(reviews(request).corrected_pages)
    stations: dict[str, int] = {}
    pages: list[dict[str, Any]] = []
    for b in lines:
        for n in b.needs_review:
            stations[b.metadata.thana] = stations.get(b.metadata.thana, 0) + 1
            if thana and b.metadata.thana != thana:
                continue
            c = corrected.get((b.bundle_id, n))
            pages.append({"title": b.title, "thana": b.metadata.thana, "page": n,
                          "confidence": b.confidence[n - 1] if n <= len(b.confidence) else None,
                          "corrected": c, "url": f"/review/{b.bundle_id}/{n}",
                          "view": page_url(b.bundle_id, n)})
    pages.sort(key=lambda p: (p["corrected"] is not None, p["confidence"] if p["confidence"] is not None else 0))
    return render(request, "review_queue.html", pages=pages[:QUEUE_LIMIT], total=len(pages), thana=thana,
                  stations=sorted(stations.items()),
                  open_count=sum(1 for p in pages if p["corrected"] is None))


def _ocr_text(request: Request, bundle_id: str, number: int) -> str:
    try:
        return load_page(store_of(request), bundle_id, number).text
    except (StorageError, ValueError, KeyError, TypeError):
        return ""


@router.get("/review/{bundle_id}/{page}", response_class=HTMLResponse)
def review_page(request: Request, bundle_id: str, page: str, user: CurrentUser) -> HTMLResponse:
    return _review_form(request, bundle_id, page, user)


def _review_form(request: Request, bundle_id: str, page: str, user: CurrentUser,
                 error: tuple[str, str] | None = None, status: int = 200) -> HTMLResponse:
    manifest = bundle_for(request, user, bundle_id)
    number = page_number(page, manifest)
    latest = reviews(request).latest(bundle_id, number)
    ocr = _ocr_text(request, bundle_id, number)
    text = latest.text if latest else ocr
    lines = text.split("\n")[:MAX_LINES] or [""]
    conf = manifest.page_confidence[number - 1] if number <= len(manifest.page_confidence) else None
    return render(request, "review_page.html", status, manifest=manifest, meta=manifest.metadata, number=number,
                  lines=lines, latest=latest, history=reviews(request).history(bundle_id, number),
                  confidence=conf, error=error, large=f"/bundles/{bundle_id}/pages/{number}/large.jpg",
                  view=page_url(bundle_id, number), request_same=request.query_params.get("same") == "1")


@router.post("/review/{bundle_id}/{page}")
async def review_save(request: Request, bundle_id: str, page: str, user: CurrentUser) -> Response:
    manifest = bundle_for(request, user, bundle_id)  # the station scope, again
    number = page_number(page, manifest)
    form = await request.form()
    lines = [str(v).rstrip() for v in form.getlist("line")][:MAX_LINES]
    extra = str(form.get("extra") or "").strip("\n")
    text = "\n".join(lines + ([extra] if extra.strip() else [])).strip("\n")
    store = reviews(request)
    latest = store.latest(bundle_id, number)
    before = latest.text if latest else await run_in_threadpool(_ocr_text, request, bundle_id, number)
    if text.strip() and text == before.strip("\n"):
        return RedirectResponse(f"/review/{bundle_id}/{number}?" + urlencode({"same": 1}), 303)
    try:
        correction = await run_in_threadpool(store.save, bundle_id, number, text, user.name,
                                             str(form.get("note") or ""))
    except ReviewError as exc:
        hindi = "सुधारा गया पाठ ख़ाली है" if "empty" in str(exc) else "सुधार सहेजा नहीं जा सका"
        return _review_form(request, bundle_id, page, user, error=(hindi, str(exc)), status=400)
    worker: IndexThreads = request.app.state.index
    try:
        await worker.call(worker.index.index, [SearchDocument(
            bundle_id=bundle_id, page=number, text=correction.text, metadata=manifest.metadata,
            confidence=100.0, needs_review=False)])
    except Exception as exc:  # noqa: BLE001 - saved, but the index did not take it: say so
        raise PageError(503, "सुधार सहेजा गया, पर खोज में अभी नहीं आया; `abhilekh reindex` चलाएँ",
                        f"The correction is saved but the index did not take it ({exc}); "
                        "run `abhilekh reindex`") from None
    audit(request, user, "correct", target=f"{bundle_id}:{number}",
          detail=f"version {correction.version}, {len(correction.text)} chars")
    return RedirectResponse(page_url(bundle_id, number) + "?saved=1", 303)
