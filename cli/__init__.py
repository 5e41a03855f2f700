"""cli/: the `abhilekh` command — the roof: it may use every room, none uses it."""

from __future__ import annotations

from cli.app import app, main

__all__ = ["app", "main"]
