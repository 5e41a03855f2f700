"""HTML pages from the Jinja templates; every one escapes everything (OCR text is untrusted)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from web.lang import CHOICES, html_lang, label_html, label_text, lang_of
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


def _str(value: Any) -> str:
    """Text as given (a Markup stays markup, not escaped twice), else its str."""
    return value if isinstance(value, str) else str(value)


@pass_context
def _bi(context: Context, hindi: Any, english: Any) -> Markup:
    """{{ bi("थाना", "Police station") }}: the label as HTML in the page's language."""
    return label_html(str(context.get("lang", "both")), _str(hindi), _str(english))


@pass_context
def _t(context: Context, hindi: Any, english: Any) -> Markup:
    """{{ t("पृष्ठ", "page") }}: the same as plain text, for attributes and options."""
    return label_text(str(context.get("lang", "both")), _str(hindi), _str(english))


TEMPLATES.globals["bi"] = _bi
TEMPLATES.globals["t"] = _t


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
