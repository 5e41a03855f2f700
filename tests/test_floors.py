"""One floor per room: no import runs up a floor, and no module imports itself round.

Every module of the project is parsed (never imported) and each of its imports read —
at the top, inside functions and under ``TYPE_CHECKING`` alike, since a late import is
a dependency all the same. docs/architecture.md draws the same floors.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Each room and the rooms it may import. A room may always import itself.
FLOORS: dict[str, set[str]] = {
    # ground: settings, records, errors
    "abhilekh": set(),
    # first floor: each knows the ground only, and nothing of the others
    "ingest": {"abhilekh"},
    "storage": {"abhilekh"},
    "search": {"abhilekh"},
    "access": {"abhilekh"},
    "efiles": {"abhilekh"},  # the workflow database and the e-files in it (issue 12)
    # second floor: they compose the first, never each other
    "pipelines": {"abhilekh", "ingest", "storage", "search", "efiles"},
    "web": {"abhilekh", "storage", "search", "access", "efiles"},
    # the roof
    "flows": {"abhilekh", "ingest", "storage", "search", "pipelines"},
    "cli": {"abhilekh", "ingest", "storage", "search", "access", "efiles", "pipelines", "web", "flows"},
}
NOT_ROOMS = {"tests", "bench", "scripts", "docs", ".venv", ".git", ".ci"}


def project_modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every room's Python files."""
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if rel.parts[0] in NOT_ROOMS or any(p.startswith(".") for p in rel.parts):
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules `name` imports (resolved to the longest known module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            targets.add(module)
            # `from search import normalise` imports the module search.normalise
            targets.update(f"{module}.{alias.name}" for alias in node.names)
    out: set[str] = set()
    for target in targets:
        parts = target.split(".")
        while parts and ".".join(parts) not in known:
            parts.pop()
        if parts and ".".join(parts) != name:
            out.add(".".join(parts))
    return out


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    modules = project_modules(root)
    known = set(modules)
    return {name: imports_of(name, path, known) for name, path in modules.items()}


def room(module: str) -> str:
    return module.split(".")[0]


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for module, targets in sorted(graph.items()):
        allowed = FLOORS.get(room(module))
        if allowed is None:
            bad.append(f"{module}: its room {room(module)!r} has no floor in FLOORS (add it, and to docs/architecture.md)")
            continue
        for target in sorted(targets):
            if room(target) != room(module) and room(target) not in allowed:
                bad.append(f"{module} imports {target}: {room(module)}/ may import only "
                           f"{', '.join(sorted(allowed)) or 'nothing of ours'}")
    return bad


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def test_every_room_has_a_floor_and_the_rooms_exist():
    rooms = {room(m) for m in project_modules()}
    assert rooms == set(FLOORS), rooms ^ set(FLOORS)


def test_no_import_runs_up_a_floor():
    bad = upward_imports(import_graph())
    assert not bad, "\n".join(bad)


def test_no_import_cycle():
    found = cycles(import_graph())
    assert not found, "\n".join(" <-> ".join(group) for group in found)


def test_the_ground_imports_nothing_of_ours():
    graph = import_graph()
    ground = {m: t for m, t in graph.items() if room(m) == "abhilekh"}
    assert ground and all(room(t) == "abhilekh" for ts in ground.values() for t in ts), ground


def test_page_ocr_never_reads_the_entry_extractor():
    """bench.quality_corpus.code_version() leaves ingest/entries out of the OCR cache key
    because OCR never runs it; if the page path ever imports it, the key must change."""
    graph = import_graph()
    seen, todo = set(), ["ingest.process"]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph.get(module, ()))
    assert "ingest.clean" in seen and "ingest.ocr" in seen, sorted(seen)
    assert not [m for m in seen if m.startswith("ingest.entries")], sorted(seen)


def test_the_checker_sees_late_and_relative_imports(tmp_path):
    """The parser itself: an import inside a function and a relative one both count,
    and a two-module cycle is found."""
    (tmp_path / "search").mkdir()
    (tmp_path / "search" / "__init__.py").write_text("")
    (tmp_path / "search" / "a.py").write_text("def f():\n    from web.app import x\n")
    (tmp_path / "search" / "b.py").write_text("from . import c\n")
    (tmp_path / "search" / "c.py").write_text("from search.b import y\n")
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "__init__.py").write_text("")
    (tmp_path / "web" / "app.py").write_text("x = 1\n")
    graph = import_graph(tmp_path)
    assert upward_imports(graph) == [
        "search.a imports web.app: search/ may import only abhilekh"
    ]
    assert cycles(graph) == [["search.b", "search.c"]]
