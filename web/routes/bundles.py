"""One bundle: its page list, the page viewer, page thumbnails and the searchable PDF.

Every route checks the user's stations against the bundle's manifest (web/scope.py)
and writes what was opened to the audit log.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from abhilekh.records import PageText
from storage.base import StorageError
from storage.bundles import Manifest, pdf_key
from web.highlight import hit_boxes, row_boxes
from web.query import back_param, page_url, pdf_url, query_param, thumb_url, with_params, years_label
from web.render import render
from web.runtime import PageTexts
from web.scope import bundle_for, bundle_for_async, page_number, store_of
from web.session import CurrentUser, audit, audit_async, csrf_protect, require_user, session_cookie
from web.thumbs import LARGE_SIZE, RenderedThumbnails, etag_of, read_pdf, stored_thumbnail

router = APIRouter(dependencies=[Depends(session_cookie), Depends(require_user), Depends(csrf_protect)])

# A browser keeps a thumbnail for an hour without asking (a result list shows ~10, and
# officers page back and forth); after that it revalidates with If-None-Match, which
# goes through the log-in and station check again. `private`: never in a shared cache.
THUMB_CACHE = "private, max-age=3600"


@router.get("/bundles/{bundle_id}", response_class=HTMLResponse, include_in_schema=False)
def bundle_page(request: Request, bundle_id: str, user: CurrentUser) -> HTMLResponse:
    manifest = bundle_for(request, user, bundle_id)
    audit(request, user, "view_bundle", target=bundle_id)
    back = back_param(request.query_params.get("back"))
    review = set(manifest.needs_review)
    pages = [
        {
            "number": n,
            "url": pdf_url(bundle_id, n),
            "view": page_url(bundle_id, n, back=back),
            "confidence": manifest.page_confidence[n - 1] if n <= len(manifest.page_confidence) else None,
            "needs_review": n in review,
        }
        for n in range(1, manifest.page_count + 1)
    ]
    return render(
        request,
        "bundle.html",
        manifest=manifest,
        meta=manifest.metadata,
        years=years_label(manifest.metadata),
        pages=pages,
        review=sorted(review),
        has_pdf=store_of(request).exists(pdf_key(bundle_id)),
        pdf=pdf_url(bundle_id),
        download=f"/bundles/{bundle_id}/document.pdf?download=1",
        back=back or "/",
    )


# The page viewer and its large image are async routes: in the steady state (manifest,
# page words and rendition in memory or the page cache) they run on the event loop with
# no thread hop; a store read, a render or an entry lookup goes to a worker thread, and
# the audit row is awaited from the group-commit writer (issue 15: the hops were ~25 %
# of a page view's CPU).
@router.get("/bundles/{bundle_id}/pages/{page}", response_class=HTMLResponse, include_in_schema=False)
async def page_viewer(request: Request, bundle_id: str, page: str, user: CurrentUser) -> HTMLResponse:
    manifest = await bundle_for_async(request, user, bundle_id)
    number = page_number(page, manifest)
    q = query_param(request.query_params.get("q"))
    back = back_param(request.query_params.get("back"))
    await audit_async(request, user, "view_page", target=f"{bundle_id}:{number}", query=q)
    conf = manifest.page_confidence[number - 1] if number <= len(manifest.page_confidence) else None
    pages: PageTexts = request.app.state.page_texts
    text = pages.cached(manifest, number)
    if text is not None:
        boxes, rows, frame = _hits_of(text, q)
    else:
        boxes, rows, frame = await run_in_threadpool(_page_hits, request, manifest, number, q)
    if frame is not None and request.query_params.get("entry", "").isdigit():
        from web.routes.entries import entry_box

        rows = await run_in_threadpool(
            entry_box, request, user, bundle_id, number, int(request.query_params["entry"])) or rows
    return render(
        request,
        "page.html",
        manifest=manifest,
        meta=manifest.metadata,
        years=years_label(manifest.metadata),
        number=number,
        confidence=conf,
        needs_review=number in set(manifest.needs_review),
        pdf=pdf_url(bundle_id, number),
        thumb=thumb_url(bundle_id, number),
        large=f"/bundles/{bundle_id}/pages/{number}/large.jpg",
        bundle=with_params(f"/bundles/{bundle_id}", back=back),
        back=back or "/",
        download=f"/bundles/{bundle_id}/document.pdf?download=1",
        prev=page_url(bundle_id, number - 1, q, back) if number > 1 else None,
        next=page_url(bundle_id, number + 1, q, back) if number < manifest.page_count else None,
        q=q,
        boxes=boxes,
        rows=rows,
        frame=frame,
        corrected=request.app.state.reviews.latest(bundle_id, number),
        saved=request.query_params.get("saved") == "1",
    )


def _page_hits(
    request: Request, manifest: Manifest, number: int, q: str
) -> tuple[list[Any], list[Any], tuple[int, int] | None]:
    """The query's word boxes and row boxes on the page and the page's frame (width,
    height); no boxes, not an error, when the page's OCR is unreadable: the viewer still
    works."""
    try:
        pages: PageTexts = request.app.state.page_texts
        text = pages.get(store_of(request), manifest, number)
    except (StorageError, ValueError, KeyError, TypeError):
        return [], [], None
    return _hits_of(text, q)


def _hits_of(text: PageText, q: str) -> tuple[list[Any], list[Any], tuple[int, int] | None]:
    if text.width <= 0 or text.height <= 0:
        return [], [], None
    if not q:
        return [], [], (text.width, text.height)
    return hit_boxes(text, q), row_boxes(text, q), (text.width, text.height)


@router.get(
    "/bundles/{bundle_id}/document.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, 403: {"description": "not your station"},
               404: {"description": "unknown"}},
    summary="The bundle's searchable PDF, inline (needs a session; station-checked)",
)
def bundle_pdf(
    request: Request,
    bundle_id: str,
    user: CurrentUser,
    page: Annotated[int | None, Query(ge=1, description="page being opened (audited)")] = None,
    download: Annotated[bool, Query(description="save instead of showing")] = False,
) -> Response:
    manifest = bundle_for(request, user, bundle_id)
    data = read_pdf(store_of(request), bundle_id, manifest.expected_sha256(pdf_key(bundle_id)))
    audit(request, user, "download" if download else "view_pdf",
          target=f"{bundle_id}:{page}" if page else bundle_id)
    disposition = "attachment" if download else "inline"
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'{disposition}; filename="{bundle_id[:16]}.pdf"',
            # Not kept by the browser: every view is checked and audited, and
            # nothing stays on a shared computer after log-out.
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/bundles/{bundle_id}/pages/{page}/thumb.jpg", include_in_schema=False)
def page_thumbnail(request: Request, bundle_id: str, page: str, user: CurrentUser) -> Response:
    manifest = bundle_for(request, user, bundle_id)  # station scope, every time
    number = page_number(page, manifest)
    store = store_of(request)
    data = stored_thumbnail(store, bundle_id, number)
    if data is None:  # stored before thumbnails were made at ingest
        rendered: RenderedThumbnails = request.app.state.thumbs
        data, etag = rendered.read(store, bundle_id, number)
        return _image(request, data, etag)
    return _image(request, data, etag_of(data))


@router.get("/bundles/{bundle_id}/pages/{page}/large.jpg", include_in_schema=False)
async def page_large(request: Request, bundle_id: str, page: str, user: CurrentUser) -> Response:
    """The viewer's page image: rendered from the verified PDF on first view and kept
    beside the rendered thumbnails (ABHILEKH_HOME/thumbs), served like them (ETag, 304).

    A rendered file is read here, on the event loop (~150 kB from the page cache), not
    through Starlette's FileResponse: uvicorn has no zero-copy send, so FileResponse
    streams 64 kB chunks each through a worker thread (open, stat, reads, close), more
    hops than the read costs."""
    manifest = await bundle_for_async(request, user, bundle_id)  # station scope, every time
    number = page_number(page, manifest)
    rendered: RenderedThumbnails = request.app.state.thumbs
    found = rendered.read_rendered(bundle_id, number, LARGE_SIZE)
    if found is None:  # first view: rendered with pdftoppm, on a worker thread
        found = await run_in_threadpool(rendered.read, store_of(request), bundle_id, number, LARGE_SIZE)
    return _image(request, *found)


def _image(request: Request, data: bytes, etag: str) -> Response:
    headers = {"ETag": etag, "Cache-Control": THUMB_CACHE}
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type="image/jpeg", headers=headers)


