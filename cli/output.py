"""Where the command writes: results to stdout, errors and warnings to stderr."""

from __future__ import annotations

from rich.console import Console

console = Console()
err = Console(stderr=True)
