"""`abhilekh search` without the command framework, for the embedded index.

An officer's search at the terminal is one short process, and most of its time was
start-up: the settings model (pydantic-settings, ~0.3 s here), Typer and Rich cost
more than the search itself. ``quick_search(argv)`` answers the common case before any
of them is imported: ``search QUERY [--thana T] [--register R] [--year Y] [--limit N]
[--json]`` with no Elasticsearch and no S3 store configured. It reads only the three
settings that decide that (ABHILEKH_HOME, ABHILEKH_ES_URL, ABHILEKH_S3_ENDPOINT: from
the environment, else from ``.env``, names in any case, as ``abhilekh.settings`` reads
them; tests/test_cli_speed.py checks both agree) and opens the SQLite index and the
local store directly, as ``search.open_index`` / ``storage.open_store`` would.

Anything else (--help, an option it does not know, a bad value, a server configured,
an unusual ``.env``) returns False, and the Typer command runs as before, printing the
same results through ``print_results``.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from search.base import SearchResults

__all__ = ["light_settings", "print_results", "quick_search"]

_VALUED = {"--thana": "thana", "--register": "register", "--year": "year", "--limit": "limit"}
_NAMES = ("home", "es_url", "s3_endpoint")
_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")
NO_PAGES = "No pages found / कोई पृष्ठ नहीं मिला. Try fewer words, or drop a filter."
DID_YOU_MEAN = "Did you mean / क्या आपका आशय है:"
NEAR_LABEL = "(near match / निकट मिलान)"


def light_settings(environ: dict[str, str] | None = None, env_file: Path | None = None) -> dict[str, str] | None:
    """{"home", "es_url", "s3_endpoint"} as set (missing: unset), or None when the
    ``.env`` file holds something this small reader does not read the way
    pydantic-settings does (quotes, continuations)."""
    environ = dict(os.environ) if environ is None else environ
    env_file = Path(".env") if env_file is None else env_file
    found: dict[str, str] = {}
    if env_file.is_file():
        try:
            lines = env_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            return None
        for line in lines:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            m = _ENV_LINE.match(line)
            if m is None:
                return None
            name, value = m.group(1).lower(), m.group(2)
            if value[:1] in "\"'" or value.endswith("\\"):
                return None
            if name.startswith("abhilekh_") and name[9:] in _NAMES:
                found[name[9:]] = value
    for key, value in environ.items():  # the environment wins over .env
        name = key.lower()
        if name.startswith("abhilekh_") and name[9:] in _NAMES:
            found[name[9:]] = value
    return found


def _default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "abhilekh"


def _parse(argv: list[str]) -> dict[str, Any] | None:
    """The search's arguments, or None for anything the Typer command should handle."""
    if not argv or argv[0] != "search":
        return None
    args: dict[str, Any] = {"thana": None, "register": None, "year": None, "limit": 10, "json": False}
    query: str | None = None
    rest = argv[1:]
    i = 0
    while i < len(rest):
        arg = rest[i]
        if arg == "--json":
            args["json"] = True
        elif arg.split("=", 1)[0] in _VALUED:
            name, eq, value = arg.partition("=")
            if not eq:
                i += 1
                if i >= len(rest):
                    return None
                value = rest[i]
            args[_VALUED[name]] = value
        elif arg.startswith("-") and arg != "-":
            return None  # --help, -h, an option of a newer version: Typer answers
        elif query is None:
            query = arg
        else:
            return None
        i += 1
    if query is None:
        return None
    try:
        args["year"] = int(args["year"]) if args["year"] is not None else None
        args["limit"] = int(args["limit"])
    except ValueError:
        return None
    if not 1 <= args["limit"] <= 500:
        return None
    args["query"] = query
    return args


def quick_search(argv: list[str]) -> bool:
    """Run ``abhilekh search`` on the embedded index if ``argv`` is such a search;
    False when the full command must run instead. Ends the process with the command's
    exit code otherwise."""
    args = _parse(argv)
    if args is None:
        return False
    values = light_settings()
    if values is None or values.get("es_url") or values.get("s3_endpoint"):
        return False
    if "home" in values and not values["home"].strip():
        return False
    home = Path(values["home"]).expanduser() if "home" in values else _default_home()
    from abhilekh.errors import AbhilekhError
    from abhilekh.records import SearchFilters
    from search.sqlite import SqliteIndex
    from storage.bundles import pdf_key
    from storage.local import LocalStore

    try:
        index = SqliteIndex(home / "index.sqlite3")
        try:
            results = index.search(args["query"], SearchFilters(thana=args["thana"], register=args["register"],
                                                                year=args["year"]), limit=args["limit"])
        finally:
            index.close()
    except AbhilekhError as exc:
        sys.stderr.write(f"error: {exc}\n")
        raise SystemExit(exc.exit_code) from None
    store = LocalStore(home / "store")
    for hit in results.hits:
        hit.pdf = f"{store.link(pdf_key(hit.bundle_id))}#page={hit.page}"
    try:
        print_results(results, args["json"])
        sys.stdout.flush()
    except BrokenPipeError:  # `abhilekh search ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    raise SystemExit(0)


def _colour() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _snippet(snippet_html: str, colour: bool) -> str:
    import html

    parts = re.split(r"<mark>(.*?)</mark>", snippet_html)
    out = []
    for i, part in enumerate(parts):
        text = html.unescape(part)
        if i % 2:
            out.append(f"\x1b[1;33m{text}\x1b[0m" if colour else f"[{text}]")
        else:
            out.append(text)
    return "".join(out)


def print_results(results: SearchResults, as_json: bool) -> None:
    """What ``abhilekh search`` prints: a JSON list of hits, or one block per hit with
    the matched words highlighted (in [brackets] when the output is not a terminal).
    A hit found only through OCR tolerance is labelled near (``"near": true`` in JSON).
    When nothing is found and the index suggests another spelling, it is said on stderr
    (with ``--json``: one JSON object ``{"did_you_mean": ...}``, stdout keeping its list)."""
    if as_json:
        print(json.dumps([h.to_dict() for h in results.hits], ensure_ascii=False, indent=2))
        if not results.hits and results.did_you_mean:
            print(json.dumps({"did_you_mean": results.did_you_mean}, ensure_ascii=False), file=sys.stderr)
        return
    if not results.hits:
        print(NO_PAGES)
        if results.did_you_mean:
            print(f"{DID_YOU_MEAN} {results.did_you_mean}", file=sys.stderr)
        return
    colour = _colour()
    lines = [f"{results.total} page(s) / पृष्ठ"]
    for rank, hit in enumerate(results.hits, 1):
        meta = hit.metadata
        where = " · ".join(str(x) for x in (meta.thana, meta.register, meta.year) if x)
        lines.append("")
        lines.append(f"{rank:>2}. {hit.bundle_id[:12]} p.{hit.page}  {meta.title}  ({where})")
        label = NEAR_LABEL + " " if hit.near else ""
        lines.append(f"    {label}{_snippet(hit.snippet_html, colour)}")
    lines.append("")
    lines.append("Open a page: " + (results.hits[0].pdf or ""))
    print("\n".join(lines))
