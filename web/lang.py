"""The language an officer reads the pages in: Hindi, English or both (the default).

Chosen with the links in the account bar (GET /lang?to=hi&next=/...) and remembered
with the user (access/users.py, column `lang`), so it follows the officer to any
browser; a cookie keeps the last choice made on this browser for the pages before a
log-in (the log-in page, its errors). A user who never chose reads the cookie's
language, else both. Every label and message of the pages goes through `bi` (HTML) or
`t` (plain text, for attributes), template globals (web/render.py) that read the
language from the page's context: every template sees them, included and imported
ones too, without an import that could drop the context.
"""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from markupsafe import Markup, escape

from access.auth import safe_next
from access.users import UserStore
from web.session import current_user

LANG_COOKIE = "abhilekh_lang"
LANGS = ("both", "hi", "en")
CHOICES = [("hi", "हिन्दी"), ("en", "English"), ("both", "हिन्दी + English")]

router = APIRouter(include_in_schema=False)


def lang_of(request: Request | None) -> str:
    """The request's language: the user's own choice, else this browser's (the cookie),
    else "both"."""
    if request is None:
        return "both"
    user = current_user(request)
    if user is not None and user.lang in LANGS:
        return user.lang
    value = request.cookies.get(LANG_COOKIE, "")
    return value if value in LANGS else "both"


def html_lang(lang: str) -> str:
    return "en" if lang == "en" else "hi"


def text(lang: str, hindi: str, english: str) -> str:
    """Plain text (titles, attributes, messages) in the chosen language."""
    if lang == "hi":
        return hindi
    if lang == "en":
        return english
    return f"{hindi} / {english}"


# A page's labels are a few hundred calls with a few dozen distinct texts: built once.
# (As Jinja macros they were ~1 ms of a search page's 2.5 ms budget.)
@lru_cache(maxsize=4096, typed=True)  # typed: Markup and str of the same text differ
def label_html(lang: str, hindi: str, english: str) -> Markup:
    """A bilingual label in the chosen language: Hindi first, English beside, marked as
    English for screen readers; every text escaped."""
    if lang == "hi":
        return Markup('<span class="hi">{}</span>').format(hindi)
    if lang == "en":
        return Markup('<span class="en only" lang="en">{}</span>').format(english)
    return Markup('<span class="hi">{}</span> <span class="en" lang="en">/ {}</span>').format(hindi, english)


@lru_cache(maxsize=4096, typed=True)
def label_text(lang: str, hindi: str, english: str) -> Markup:
    """``text`` escaped, for attributes and ``<option>``s."""
    return escape(text(lang, hindi, english))


@router.get("/lang")
def choose_language(request: Request, to: str = "both", next: str = "/") -> RedirectResponse:
    """Remember the choice and go back where the officer was. No session needed: the
    log-in page offers it too, and a language is nobody's secret."""
    response = RedirectResponse(safe_next(next), 303)
    user = current_user(request)
    if to in LANGS and user is not None:
        users: UserStore = request.app.state.users
        users.set_lang(user.name, to)
    if to in LANGS:
        response.set_cookie(LANG_COOKIE, to, max_age=365 * 24 * 3600, path="/",
                            secure=request.app.state.cookie_secure, httponly=True, samesite="lax")
    return response
