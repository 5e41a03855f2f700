"""Mutation guard: deliberate breaks of the normaliser and the query builder, each of
which the search tests must catch.

    .venv/bin/python -m tests.mutation_guard            every mutant (scripts/test runs this)
    .venv/bin/python -m tests.mutation_guard --list     what each mutant breaks
    .venv/bin/python -m tests.mutation_guard digits fuzzy   only these

A test that cannot fail proves nothing. Each mutant below is one small, plausible
mistake in ``search/normalise/``, ``search/query.py`` or the engines' query text (a
rule dropped, AND turned into OR, escaping lost). For each, a fresh Python process
loads the code with that one change made in memory (an import hook patches the
module's source as it is imported: the files on disk are never touched, so an
interrupted run leaves nothing broken behind) and runs the relevant test modules with
``-x`` on the embedded backend. The mutant must make a test fail; one that leaves
every test passing has "survived", and the guard fails, naming it.

A mutant whose text no longer occurs exactly once in its module (the code was changed
since) fails the guard too: update the mutant with the code, never drop it quietly.
Before the mutants, the same test modules run once unchanged: they must pass, or a
"caught" mutant would mean nothing.
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.machinery
import importlib.util
import os
import re
import subprocess
import sys
import time
import types
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

NOT_APPLIED = 90  # exit status of a run whose mutant text was not found exactly once

# Most of the mutants are caught in the first module; -x stops at the first failure.
SEARCH_TESTS = (
    "tests/test_normalise.py",
    "tests/test_query.py",
    "tests/test_snippet.py",
    "tests/test_sqlite_index.py",
    "tests/test_finding.py",
)


@dataclass(frozen=True)
class Mutant:
    name: str
    module: str  # dotted module name
    old: str  # text that must occur exactly once in the module's source
    new: str
    breaks: str  # what the change means, in words
    tests: tuple[str, ...] = SEARCH_TESTS


MUTANTS = [
    Mutant("digits", "search.normalise.chars",
           "    _TRANSLATE[0x0966 + _i] = str(_i)  # ० - ९\n",
           "    pass\n",
           "Devanagari digits are no longer folded to ASCII (१२३ stays १२३)"),
    Mutant("abbreviation-marks", "search.normalise.folding",
           "    if _QUICK_MARK.search(text):\n        text = _join_abbreviations(text)\n",
           "    if False:\n        text = _join_abbreviations(text)\n",
           "the abbreviation mark is not canonicalised (मु0अ0सं0 no longer meets मु.अ.सं.)"),
    Mutant("nukta", "search.normalise.chars",
           "    0x093C: None,  # nukta",
           "    0x093C: \"\\u093c\",  # nukta",
           "nukta letters are no longer folded to their base letter (ज़िला != जिला)"),
    Mutant("chandrabindu", "search.normalise.chars",
           "    0x0901: _ANUSVARA,  # chandrabindu -> anusvara",
           "    0x0901: \"\\u0901\",  # chandrabindu -> anusvara",
           "chandrabindu is no longer folded to anusvara (गाँव != गांव)"),
    Mutant("zero-width", "search.normalise.chars",
           "    0x200C: None,  # ZWNJ",
           "    0x200C: \"\\u200c\",  # ZWNJ",
           "ZWNJ is kept inside words"),
    Mutant("nasal", "search.normalise.folding",
           "            text = _PANCHAM.sub(_ANUSVARA, text)\n",
           "            pass\n",
           "a nasal + virama is no longer folded to anusvara (हिन्दी != हिंदी)"),
    Mutant("latin-key", "search.normalise.transliteration",
           "    w = w[0] + w[1:].replace(\"a\", \"\")\n",
           "    w = w\n",
           "the Latin key keeps the unreliable a's (Ramesh no longer meets रमेश, ramesha)"),
    Mutant("crime-number-key", "search.normalise.notation",
           "            year = _year(toks[i + 2][1])\n",
           "            year = None\n",
           "N/YYYY is no longer a crime number (no cr123y2019 key)"),
    Mutant("section-key", "search.normalise.notation",
           "        if ctx >= 0 or act_after or act_before or after_crime:\n",
           "        if False:\n",
           "no section keys (धारा 379 no longer gives sec379)"),
    Mutant("vehicle-key", "search.normalise.vehicle",
           "    if not prefolded or not any(c.isdigit() for c in prefolded):\n        return []\n",
           "    if True:\n        return []\n",
           "no vehicle keys (UP78AB1234 no longer gives vh78n1234)"),
    Mutant("or-not-and", "search.query",
           "        out.append(_term_alternatives(term, joined))\n    for nt in q.notations:\n",
           "        out.append(_term_alternatives(term, joined))\n    out = [[m for a in out for m in a] for _ in out]\n    for nt in q.notations:\n",
           "the query builder ORs the words instead of requiring each (both engines)"),
    Mutant("sqlite-or", "search.sqlite",
           "    return \" AND \".join(_or(alts) for alts in clauses(q))\n",
           "    return \" OR \".join(_or(alts) for alts in clauses(q))\n",
           "the FTS5 expression joins the clauses with OR"),
    Mutant("phrase", "search.query",
           "            if len(toks) > 1:\n                _add(q.phrases, toks, budget, q)\n            elif is_prefix",
           "            if False:\n                _add(q.phrases, toks, budget, q)\n            elif is_prefix",
           "a typed word that folds into several tokens is no longer a phrase (123/2019 -> 123)"),
    Mutant("escaping", "search.snippet",
           "        escaped = word.translate(_ESCAPES)\n",
           "        escaped = word\n",
           "snippets no longer escape the OCR text (<script> reaches the page)",
           ("tests/test_snippet.py", "tests/test_sqlite_index.py")),
    Mutant("fuzzy", "search.query",
           "    return 0 if n < low else 1 if n < high else 2\n",
           "    return 0\n",
           "no OCR-error tolerance: no word is ever matched fuzzily"),
]


# ----------------------------------------------------------------------------- the hook


class _Patched(importlib.machinery.SourceFileLoader):
    """Loads one module from its source with the mutant's change made (no bytecode cache)."""

    def __init__(self, fullname: str, path: str, mutant: Mutant, report_fd: int) -> None:
        super().__init__(fullname, path)
        self.mutant = mutant
        self.report_fd = report_fd

    def get_code(self, fullname: str) -> types.CodeType:
        source = Path(self.path).read_text(encoding="utf-8")
        found = source.count(self.mutant.old)
        if found != 1:
            # Straight to the real stderr: pytest captures fd 2 while it imports.
            os.write(self.report_fd, (
                f"mutant {self.mutant.name}: its text occurs {found} times in {self.path}, "
                "not once: update tests/mutation_guard.py to the code\n").encode())
            os._exit(NOT_APPLIED)
        return compile(source.replace(self.mutant.old, self.mutant.new), self.path, "exec",
                       dont_inherit=True)


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, mutant: Mutant) -> None:
        self.mutant = mutant
        self.loaded = False
        self.report_fd = os.dup(2)

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: types.ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.mutant.module:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.origin is None:
            return None
        self.loaded = True
        return importlib.util.spec_from_file_location(
            fullname, spec.origin, loader=_Patched(fullname, spec.origin, self.mutant, self.report_fd))


def _run_mutated(name: str, pytest_args: list[str]) -> int:
    """In the child: install the mutant, then run pytest in this process."""
    (mutant,) = [m for m in MUTANTS if m.name == name]
    assert mutant.module not in sys.modules, f"{mutant.module} was imported before the mutant"
    finder = _Finder(mutant)
    sys.meta_path.insert(0, finder)
    import pytest

    code = int(pytest.main(pytest_args))
    if not finder.loaded:
        print(f"mutant {name}: {mutant.module} was never imported by these tests", file=sys.stderr)
        return NOT_APPLIED
    return code


# ----------------------------------------------------------------------------- the guard


def _environment() -> dict[str, str]:
    """The embedded backend only: fast, and the same on every machine."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ABHILEKH_ES_", "ABHILEKH_S3_")) and k != "ABHILEKH_REQUIRE_SERVERS"}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _pytest_args(tests: tuple[str, ...]) -> list[str]:
    return ["-x", "-q", "--tb=no", "-rf", "-p", "no:cacheprovider", *tests]


_FAILED = re.compile(r"^FAILED (\S+)", re.MULTILINE)


def _child(args: list[str], timeout: float) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-m", "tests.mutation_guard", *args], cwd=ROOT,
                          env=_environment(), capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stdout + proc.stderr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutation_guard", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="run only these mutants (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutants and what each breaks")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the unchanged run of the test modules (when the suite has just passed)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per run [600]")
    parser.add_argument("--mutant", help=argparse.SUPPRESS)  # in the child process
    argv = sys.argv[1:] if argv is None else argv
    rest: list[str] = []
    if "--" in argv:  # the child's pytest arguments
        argv, rest = argv[: argv.index("--")], argv[argv.index("--") + 1 :]
    args = parser.parse_args(argv)
    if args.mutant:
        return _run_mutated(args.mutant, rest)
    if args.list:
        for m in MUTANTS:
            print(f"{m.name:20} {m.module:34} {m.breaks}")
        return 0
    unknown = sorted(set(args.names) - {m.name for m in MUTANTS})
    if unknown:
        parser.error(f"no such mutant: {', '.join(unknown)} (see --list)")
    chosen = [m for m in MUTANTS if not args.names or m.name in args.names]

    started = time.monotonic()
    if not args.no_baseline:
        tests = tuple(dict.fromkeys(t for m in chosen for t in m.tests))
        proc = subprocess.run([sys.executable, "-m", "pytest", *_pytest_args(tests)], cwd=ROOT,
                              env=_environment(), capture_output=True, text=True, timeout=args.timeout)
        if proc.returncode != 0:
            print(proc.stdout[-3000:] + proc.stderr[-2000:])
            print("mutation guard: the unchanged tests fail; fix them first")
            return 1
        print(f"baseline: {len(tests)} test modules pass unchanged ({time.monotonic() - started:.0f} s)")

    bad = []
    for m in chosen:
        t = time.monotonic()
        code, out = _child(["--mutant", m.name, "--", *_pytest_args(m.tests)], args.timeout)
        seconds = time.monotonic() - t
        failed = _FAILED.search(out)
        if code == 1 and failed:
            print(f"caught    {m.name:20} by {failed.group(1)}  ({seconds:.0f} s)")
            continue
        if code == 0:
            verdict = "SURVIVED: every test passed with it"
        elif code == NOT_APPLIED:
            verdict = "NOT APPLIED: " + (out.strip().splitlines() or ["(no message)"])[-1]
        else:
            verdict = f"ERROR (pytest exit {code}, not a failing test):\n{out[-1500:]}"
        print(f"{verdict.split(':')[0]:9} {m.name:20} {m.breaks}\n          {verdict}")
        bad.append(m.name)
    total = time.monotonic() - started
    if bad:
        print(f"mutation guard: {len(bad)} of {len(chosen)} mutant(s) not caught: {', '.join(bad)} "
              f"({total:.0f} s)")
        return 1
    print(f"mutation guard: all {len(chosen)} mutants caught ({total:.0f} s, "
          f"load average {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
