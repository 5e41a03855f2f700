"""`abhilekh doctor`: is everything abhilekh needs here, and if not, how to fix it."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from abhilekh.settings import Settings
from search.base import SearchIndex
from storage.base import ObjectStore

APT = "sudo apt-get install -y"


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _run(args: list[str]) -> str:
    return subprocess.run(args, capture_output=True, text=True, timeout=30).stdout


def check_tesseract(settings: Settings) -> list[Check]:
    if not shutil.which("tesseract"):
        return [Check("tesseract", False, "not installed", f"{APT} tesseract-ocr tesseract-ocr-hin tesseract-ocr-eng")]
    version = _run(["tesseract", "--version"]).splitlines()[0:1] or ["?"]
    checks = [Check("tesseract", True, version[0])]
    langs = {line.strip() for line in _run(["tesseract", "--list-langs"]).splitlines()[1:]}
    wanted = [lang for lang in settings.ocr_languages.split("+") if lang]
    packages = {"hin": "tesseract-ocr-hin", "eng": "tesseract-ocr-eng", "Devanagari": "tesseract-ocr-script-deva", "osd": "tesseract-ocr-osd"}
    for lang in wanted:
        checks.append(Check(f"tesseract language '{lang}'", lang in langs, "installed" if lang in langs else "missing",
                            f"{APT} {packages.get(lang, 'tesseract-ocr-' + lang.lower())}"))
    return checks


def check_ocr_engine(settings: Settings) -> list[Check]:
    """The engine abhilekh reads with (ingest.engine), and which models it uses."""
    try:
        from ingest.engine import open_engine

        engine = open_engine(settings)
        problems = engine.check()
        if problems:
            return [Check("OCR engine", False, "; ".join(problems), "scripts/install (or set ABHILEKH_OCR_TESSDATA)")]
        return [Check("OCR engine", True, engine.describe())]
    except Exception as exc:  # noqa: BLE001 - every failure becomes advice, never a traceback
        return [Check("OCR engine", False, str(exc), "scripts/install")]


def check_poppler() -> list[Check]:
    missing = [tool for tool in ("pdftoppm", "pdfinfo") if not shutil.which(tool)]
    if missing:
        return [Check("poppler (scanned PDFs)", False, "missing " + ", ".join(missing), f"{APT} poppler-utils")]
    return [Check("poppler (scanned PDFs)", True, "pdftoppm and pdfinfo found")]


def check_home(settings: Settings) -> list[Check]:
    try:
        settings.home.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=settings.home):
            pass
        free_gb = shutil.disk_usage(settings.home).free / 1e9
        ok = free_gb > 1
        return [Check("data directory", ok, f"{settings.home} (writable, {free_gb:.1f} GB free)",
                      "" if ok else "free some disk space or point ABHILEKH_HOME elsewhere")]
    except OSError as exc:
        return [Check("data directory", False, f"{settings.home}: {exc.strerror or exc}",
                      "set ABHILEKH_HOME to a directory you can write")]


def _backend(name: str, opener: Callable[[], ObjectStore | SearchIndex]) -> list[Check]:
    try:
        backend = opener()
        backend.check()
        detail = backend.describe()
        close = getattr(backend, "close", None)  # an index has one; a store may
        if close is not None:
            close()
        return [Check(name, True, detail)]
    except Exception as exc:  # noqa: BLE001 - every failure becomes advice, never a traceback
        return [Check(name, False, str(exc), "see docs/operations.md; for local servers: scripts/services start")]


def check_backends(settings: Settings) -> list[Check]:
    from search import open_index
    from storage import open_store

    return _backend("object store", lambda: open_store(settings)) + _backend("search index", lambda: open_index(settings))


def check_stored_objects(settings: Settings) -> list[Check]:
    """Every stored object against its recorded sha256 (what `abhilekh verify` does)."""
    from pipelines.verify import verify_store

    try:
        report = verify_store(settings)
    except Exception as exc:  # noqa: BLE001 - an unreachable store is reported by check_backends
        return [Check("stored objects", False, f"could not be checked: {exc}", "see the object store check above")]
    checks = [Check("stored objects", report.ok, f"{report.bundles} bundle(s), {report.objects} object(s) match "
                    "their recorded sha256" if report.ok else f"{len(report.damage)} damaged", "")]
    for f in report.damage:
        fix = "abhilekh verify --repair" if f.rebuild_from else "ingest the same scans again"
        checks.append(Check(f"  {f.bundle_id[:12]} {f.key.split('/', 2)[-1]}", False, f"{f.kind}: {f.reason}", fix))
    unfinished = [f for f in report.notes if f.kind == "incomplete"]
    if unfinished:
        checks.append(Check("unfinished ingests", False, f"{len(unfinished)} bundle(s) with objects but no manifest",
                            "run the same ingest again (it resumes)"))
    older = [f for f in report.notes if f.kind == "older"]
    if older:
        checks.append(Check("older bundles", True, f"{len(older)} stored before checksums were recorded in the "
                            "manifest: `abhilekh verify --repair` records them"))
    return checks


def run_checks(settings: Settings, console: Console) -> bool:
    checks = (check_tesseract(settings) + check_ocr_engine(settings) + check_poppler() + check_home(settings)
              + check_backends(settings) + check_stored_objects(settings))
    table = Table(title="abhilekh doctor")
    for column in ("", "check", "found", "how to fix"):
        table.add_column(column)
    for c in checks:
        table.add_row("[green]✓[/]" if c.ok else "[red]✗[/]", c.name, escape(c.detail), escape(c.fix if not c.ok else ""))
    console.print(table)
    ok = all(c.ok for c in checks)
    console.print("[green]All good.[/]" if ok else "[red]Some checks failed; see 'how to fix'.[/]")
    return ok
