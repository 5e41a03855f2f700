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


SEARCH_DOWN = ("खोज सेवा अभी उपलब्ध नहीं है; थोड़ी देर बाद फिर प्रयास करें, या व्यवस्थापक को सूचित करें",
               "Search is unavailable; try again shortly, or tell the administrator")

# What any other refusal says (the framework's own: a wrong method, a malformed
# parameter, an unexpected failure), so that no page or API answer is English-only.
STATUS_TEXT: dict[int, tuple[str, str]] = {
    400: ("अनुरोध समझ में नहीं आया", "Bad request"),
    401: ("लॉग-इन आवश्यक", "Log-in required"),
    403: ("अनुमति नहीं है", "Not allowed"),
    404: ("यह पृष्ठ नहीं मिला", "Page not found"),
    405: ("यह कार्य यहाँ नहीं होता", "Method not allowed here"),
    413: ("भेजा गया डेटा बहुत बड़ा है", "What was sent is too large"),
    415: ("भेजे गए डेटा का प्रकार गलत है", "Wrong type of content sent"),
    422: ("अनुरोध के मान सही नहीं हैं; कड़ी की जाँच करें", "A value in the request is not valid; check the link"),
    429: ("बहुत अधिक अनुरोध; थोड़ी देर बाद प्रयास करें", "Too many requests; try again later"),
    500: ("सर्वर में त्रुटि हुई; व्यवस्थापक को सूचित करें", "The server failed; tell the administrator"),
    503: ("सेवा अभी उपलब्ध नहीं है; थोड़ी देर बाद प्रयास करें", "Unavailable for now; try again shortly"),
}


def status_text(status: int) -> tuple[str, str]:
    """(Hindi, English) for an HTTP status with no message of its own."""
    if status in STATUS_TEXT:
        return STATUS_TEXT[status]
    return STATUS_TEXT[500] if status >= 500 else STATUS_TEXT[400]


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
