"""HTML pages from the Jinja templates; every one escapes everything (OCR text is untrusted)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader

from web.lang import CHOICES, html_lang, lang_of
from web.messages import ingest_reason
from web.query import query_from
from web.session import csrf_token, current_user

HERE = Path(__file__).resolve().parent

TEMPLATES = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=True,  # every template, whatever its name: OCR text is untrusted
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)
TEMPLATES.globals["ingest_reason"] = ingest_reason


def render(request: Request | None, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    user = current_user(request) if request is not None else None
    context.setdefault("query", query_from({}))
    lang = lang_of(request)
    here = ""
    if request is not None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    html = TEMPLATES.get_template(name).render(
        current_user=user, csrf=csrf_token(request) if request is not None and user else "",
        lang=lang, html_lang=html_lang(lang), languages=CHOICES, here=here,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})
