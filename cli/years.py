"""A bundle's or file's years as typed at the terminal: 1998 or 1995-1998."""

from __future__ import annotations

import re

import typer


def parse_years(value: str | None) -> tuple[int | None, int | None]:
    if not value:
        return None, None
    match = re.fullmatch(r"\s*(\d{4})\s*(?:[-–/]\s*(\d{4}))?\s*", value)
    if not match:
        raise typer.BadParameter("use a year like 1998 or a range like 1995-1998", param_hint="--year")
    start = int(match.group(1))
    end = int(match.group(2)) if match.group(2) else None
    if end is not None and end < start:
        raise typer.BadParameter(f"range ends ({end}) before it starts ({start})", param_hint="--year")
    return start, end
