"""What an officer reads when something is refused or fails (web/handlers.py answers
each: the bilingual error page or a redirect to /login for pages, JSON for /api/)."""

from __future__ import annotations

THROTTLED = ("बहुत अधिक असफल प्रयास; थोड़ी देर बाद पुनः प्रयास करें",
             "Too many failed log-ins from here; try again later")
BAD_LOGIN = ("नाम या पासवर्ड गलत है", "Wrong user name or password")
BAD_CSRF = ("फ़ॉर्म की अवधि समाप्त हो गई; पृष्ठ दोबारा खोलें",
            "The form has expired or did not come from this site; reload the page")
NOT_ALLOWED = ("आपको इस थाने के अभिलेख देखने की अनुमति नहीं है",
               "You are not allowed to see this police station's records")
ADMIN_ONLY = ("यह पृष्ठ केवल व्यवस्थापक के लिए है", "Only administrators may open this page")
STORE_DOWN = ("भंडार उपलब्ध नहीं है", "Store unavailable")


class PageError(Exception):
    """An error an officer reads: a status and the same message in Hindi and English."""

    def __init__(self, status: int, hindi: str, english: str) -> None:
        super().__init__(english)
        self.status, self.hindi, self.english = status, hindi, english


class LoginRequired(Exception):
    """No valid session: pages redirect to /login, the API answers 401."""


def not_found_bundle() -> PageError:
    return PageError(404, "यह फ़ाइल नहीं मिली", "No such bundle")


def not_found_page() -> PageError:
    return PageError(404, "यह पृष्ठ नहीं मिला", "Page not found")


def store_down(exc: Exception) -> PageError:
    return PageError(503, STORE_DOWN[0], f"{STORE_DOWN[1]}: {exc}")
