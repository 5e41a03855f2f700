"""cli/: the `abhilekh` command — the roof: it may use every room, none uses it.

``main`` answers a search of the embedded index first (cli/quick.py: no command
framework, no settings model imported); everything else goes to the Typer app in
cli/app.py, imported only then.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["app", "main"]


def main() -> None:
    """The console script."""
    from cli.quick import quick_search

    if quick_search(sys.argv[1:]):
        return
    from cli.app import main as full

    full()


def __getattr__(name: str) -> Any:
    if name == "app":
        from cli.app import app

        return app
    raise AttributeError(name)
