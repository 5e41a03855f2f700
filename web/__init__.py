"""web/: the officers' search page and the PDF viewer routes (FastAPI)."""

from __future__ import annotations

from web.app import create_app, serve

__all__ = ["create_app", "serve"]
