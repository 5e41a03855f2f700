"""Cookies, CSRF tokens and the secret that signs them.

Session cookie  `abhilekh_session` = <random token>.<HMAC>: the token names a row in
                users.sqlite3 (stored only as its sha256), the HMAC rejects forged or
                truncated cookies before any database look-up. HttpOnly, SameSite=Lax,
                Path=/, Secure unless the app listens on a loopback address
                (ABHILEKH_COOKIE_SECURE overrides; behind an HTTPS proxy leave it on).
Log-in cookie   `abhilekh_login`: a random nonce set by GET /login, so the log-in form
                carries a CSRF token before there is a session.
CSRF token      HMAC(secret, "csrf:" + session token), a hidden field in every POST form;
                POST /api/* instead requires `Content-Type: application/json`, which a
                page on another site cannot send without a CORS pre-flight we never allow.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from abhilekh.settings import Settings

SESSION_COOKIE = "abhilekh_session"
LOGIN_COOKIE = "abhilekh_login"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def load_secret(settings: Settings) -> bytes:
    """ABHILEKH_SECRET_KEY, else a key made once and kept in <home>/secret_key (0600)."""
    if settings.secret_key:
        return settings.secret_key.encode("utf-8")
    path: Path = settings.home / "secret_key"
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


def cookie_secure(settings: Settings) -> bool:
    if settings.cookie_secure is not None:
        return settings.cookie_secure
    return settings.host not in LOOPBACK


class Signer:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, purpose: str, value: str) -> str:
        digest = hmac.new(self._key, f"{purpose}:{value}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def sign(self, value: str, purpose: str = "cookie") -> str:
        return f"{value}.{self._mac(purpose, value)}"

    def unsign(self, signed: str | None, purpose: str = "cookie") -> str | None:
        if not signed or "." not in signed or len(signed) > 200:
            return None
        value, mac = signed.rsplit(".", 1)
        return value if hmac.compare_digest(mac, self._mac(purpose, value)) else None

    def csrf(self, token: str) -> str:
        return self._mac("csrf", token)

    def check_csrf(self, token: str | None, supplied: str | None) -> bool:
        if not token or not supplied:
            return False
        return hmac.compare_digest(self.csrf(token), supplied)


def safe_next(target: str | None) -> str:
    """Only a path on this site: never //host, /\\host or a scheme."""
    target = (target or "").strip()
    if (not target.startswith("/") or target.startswith("//") or target.startswith("/\\")
            or any(c in target for c in "\r\n\t")):
        return "/"
    return target
