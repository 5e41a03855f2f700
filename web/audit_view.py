"""The audit log as an administrator reads it: titles instead of 64-character bundle
ids (the id shortened, in full on hover), times in India time beside UTC, filters as
words."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from fastapi import Request

from access.audit import AuditRow
from storage.base import StorageError
from web.runtime import Manifests
from web.scope import store_of

# What each recorded action is, in both languages (the code itself stays in the log, the
# filter and the export; the page shows it on hover).
ACTION_NAMES: dict[str, tuple[str, str]] = {
    "login": ("लॉग-इन", "logged in"), "logout": ("लॉग-आउट", "logged out"),
    "login_failed": ("लॉग-इन विफल", "log-in failed"), "login_throttled": ("लॉग-इन रोका गया", "log-in throttled"),
    "search": ("खोज", "searched"), "view_bundle": ("फ़ाइल देखी", "opened a file"),
    "view_page": ("पृष्ठ देखा", "viewed a page"), "view_pdf": ("PDF देखी", "viewed the PDF"),
    "download": ("PDF सहेजी", "downloaded the PDF"), "denied": ("अनुमति नहीं दी गई", "refused"),
    "admin": ("उपयोगकर्ता बदले", "changed users"), "export": ("लॉग निर्यात", "exported the log"),
    "correct": ("पाठ सुधारा", "corrected text"), "upload": ("अपलोड", "uploaded"),
    "upload_started": ("अपलोड शुरू", "started an upload"), "entries": ("प्रविष्टियाँ देखीं", "viewed entries"),
    "saved_search": ("खोज सहेजी", "saved a search"),
}
ROLE_NAMES: dict[str, tuple[str, str]] = {
    "officer": ("अधिकारी", "officer"), "operator": ("स्कैन संचालक", "operator"), "admin": ("व्यवस्थापक", "admin"),
}


def action_name(action: str) -> tuple[str, str]:
    return ACTION_NAMES.get(action, (action, action))


IST = timezone(timedelta(hours=5, minutes=30), "IST")
_TARGET = re.compile(r"^([0-9a-f]{16,64})(?::(\d+))?$")
TITLES_PER_PAGE = 200  # manifests looked up for one page of the log, at most


def times(at: str) -> tuple[str, str]:
    """("2026-12-02 06:14:18 IST", "00:44:18 UTC") from the log's ISO time."""
    try:
        when = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        return at, ""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when.astimezone(IST).strftime("%Y-%m-%d %H:%M:%S IST"),
            when.astimezone(UTC).strftime("%H:%M:%S UTC"))


def _filters(raw: str) -> str:
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        return raw
    if not isinstance(data, dict):
        return raw
    return ", ".join(f"{k}={v}" for k, v in data.items() if v not in (None, ""))


def audit_rows(request: Request, rows: list[AuditRow]) -> list[dict[str, Any]]:
    manifests: Manifests = request.app.state.manifests
    store = store_of(request)
    titles: dict[str, str | None] = {}

    def title(bundle_id: str) -> str | None:
        if bundle_id not in titles and len(titles) < TITLES_PER_PAGE:
            try:
                m = manifests.get(store, bundle_id) if len(bundle_id) == 64 else None
            except (StorageError, ValueError):
                m = None
            titles[bundle_id] = (m.metadata.title or m.metadata.file_no or None) if m else None
        return titles.get(bundle_id)

    out = []
    for r in rows:
        targets = []
        for token in (r.target or "").split():
            match = _TARGET.match(token)
            if match:
                bundle_id, page = match.group(1), match.group(2)
                targets.append({"full": token, "short": bundle_id[:8] + (f":{page}" if page else ""),
                                "title": title(bundle_id), "page": page,
                                "url": f"/bundles/{bundle_id}" + (f"/pages/{page}" if page else "")})
            else:
                targets.append({"full": token, "short": token if len(token) <= 24 else token[:20] + "…",
                                "title": None, "page": None, "url": None})
        local, utc = times(r.at)
        out.append({"row": r, "local": local, "utc": utc, "filters": _filters(r.filters), "targets": targets,
                    "action": action_name(r.action), "role": ROLE_NAMES.get(r.role, (r.role, r.role))})
    return out
