"""`abhilekh search` starts fast: what its process imports, and the settings it reads.

The time itself is measured by bench/cli_bench.py (a whole process, several runs), not
here: the import set is deterministic, a wall-clock figure on shared cores is not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from abhilekh.records import BundleMetadata, SearchDocument
from cli.quick import light_settings
from search.sqlite import SqliteIndex

# Heavy or server-only modules a search of the embedded index has no use for.
FORBIDDEN = ("prefect", "elasticsearch", "elastic_transport", "cv2", "numpy", "minio", "pydantic",
             "pydantic_settings", "typer", "click", "rich", "fastapi", "ingest", "pipelines", "flows")

PROBE = """
import json, sys
sys.argv = ["abhilekh", *json.loads(sys.argv[1])]
import cli
try:
    cli.main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + " EXIT " + str(code) + "\\n")
"""


def _probe(args: list[str], home: Path, **env: str) -> tuple[set[str], int, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ABHILEKH_", "PREFECT_"))}
    environ.update(ABHILEKH_HOME=str(home), PYTHONIOENCODING="utf-8", **env)
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], capture_output=True, text=True,
                          env=environ, cwd=home, timeout=300)
    tail = done.stderr.rsplit("\nMODULES ", 1)[1]
    modules, code = tail.rsplit(" EXIT ", 1)
    return set(json.loads(modules)), int(code), done.stdout


def _roots(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    md = BundleMetadata(thana="Tirwa", register="अपराध रजिस्टर", year=2019, title="रजिस्टर")
    with SqliteIndex(home / "index.sqlite3") as index:
        index.index([SearchDocument("b" * 64, 1, "वादी रमेश यादव मु0अ0सं0 123/2019", md)])
    return home


def test_a_search_of_the_embedded_index_imports_no_framework(home: Path) -> None:
    modules, code, out = _probe(["search", "Ramesh Yadav", "--json"], home)
    assert code == 0
    assert json.loads(out)[0]["page"] == 1
    assert not _roots(modules) & set(FORBIDDEN), sorted(_roots(modules) & set(FORBIDDEN))
    assert "search.sqlite" in modules


def test_anything_else_goes_to_the_full_command(home: Path) -> None:
    # --help (and a configured server) are the Typer command's: it imports the framework
    modules, code, out = _probe(["search", "--help"], home)
    assert code == 0 and "Usage" in out and "typer" in _roots(modules)
    modules, _, _ = _probe(["search", "रमेश"], home, ABHILEKH_ES_URL="http://127.0.0.1:1")
    assert "typer" in _roots(modules)


def test_both_paths_print_the_same(home: Path) -> None:
    _, _, quick = _probe(["search", "रमेश यादव"], home)
    # the same search through the Typer command (a no-op .env entry forces it there)
    (home / ".env").write_text('ABHILEKH_TITLE="x"\n')
    modules, _, full = _probe(["search", "रमेश यादव"], home)
    assert "typer" in _roots(modules)
    assert quick == full and "[रमेश] [यादव]" in quick


@pytest.mark.parametrize(
    ("env", "dotenv"),
    [
        ({}, ""),
        ({"ABHILEKH_HOME": "/srv/a"}, ""),
        ({}, "ABHILEKH_HOME=/srv/b\nABHILEKH_ES_URL=http://es:9200\n"),
        ({"ABHILEKH_ES_URL": ""}, "ABHILEKH_ES_URL=http://es:9200\n"),
        ({"abhilekh_s3_endpoint": "minio:9000"}, "# a comment\n\nexport ABHILEKH_HOME = /srv/c\n"),
        ({"ABHILEKH_HOME": "/srv/d"}, "ABHILEKH_HOME=/srv/e\n"),
    ],
)
def test_the_light_reader_agrees_with_the_settings(tmp_path: Path, monkeypatch, env, dotenv) -> None:
    from abhilekh.settings import Settings

    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.lower().startswith("abhilekh_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    (tmp_path / ".env").write_text(dotenv)
    light = light_settings()
    assert light is not None
    full = Settings()
    assert (light.get("es_url") or None) == (full.es_url or None)
    assert (light.get("s3_endpoint") or None) == (full.s3_endpoint or None)
    if "home" in light:
        assert Path(light["home"]) == full.home


def test_a_dotenv_it_cannot_read_like_the_settings_sends_it_to_the_full_command(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text('ABHILEKH_HOME="/srv/quoted"\n')
    assert light_settings({}, tmp_path / ".env") is None
