"""The `abhilekh` command as an operator runs it: a real process, real exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.pagegen import make_bundle, make_page

BIN = Path(sys.executable).with_name("abhilekh")


def run(args: list[str], home: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ABHILEKH_", "PREFECT_"))}
    env.update(ABHILEKH_HOME=str(home), COLUMNS="200", PYTHONIOENCODING="utf-8")
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, env=env, timeout=timeout)


def test_help_teaches_every_command(tmp_path):
    result = run(["--help"], tmp_path / "home")
    assert result.returncode == 0
    for command in ("ingest", "search", "ocr", "serve", "doctor", "reindex", "reconcile", "status"):
        assert command in result.stdout
    assert "ABHILEKH_HOME" in result.stdout


def test_ingest_then_search_from_the_command_line(tmp_path):
    home = tmp_path / "home"
    bundle = tmp_path / "scans"
    truths = make_bundle(bundle, seed=21, pages=2, kind="register", profile="clean", station="तिर्वा", year=2017)
    (bundle / "truth.json").unlink()
    (bundle / "page3.jpg").write_bytes(b"")  # an empty scan next to good ones

    result = run(["ingest", str(bundle), "--thana", "Tirwa", "--register", "Crime Register", "--year", "2015-2018"], home)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "page3.jpg" in result.stdout and "empty" in result.stdout.lower()
    assert "bundle id" in result.stdout

    name = truths[1].entries[0].names[0]
    found = run(["search", name, "--json", "--year", "2016"], home)
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert hits and hits[0]["page"] == 2
    assert {"bundle_id", "page", "score", "snippet", "metadata", "pdf"} <= set(hits[0])
    assert hits[0]["metadata"]["thana"] == "Tirwa" and hits[0]["pdf"].endswith("#page=2")

    status = json.loads(run(["status", "--json"], home).stdout)
    assert status["bundles"] == 1 and status["pages_stored"] == 2 and status["pages_indexed"] == 2

    again = run(["ingest", str(bundle), "--thana", "Tirwa"], home)
    assert "already ingested" in again.stdout


def test_missing_path_and_bad_year_say_what_to_do(tmp_path):
    missing = run(["ingest", str(tmp_path / "nope")], tmp_path / "home")
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    bad_year = run(["ingest", str(tmp_path), "--year", "99"], tmp_path / "home")
    assert bad_year.returncode == 2 and "1995-1998" in (bad_year.stdout + bad_year.stderr)


def test_ocr_command_writes_page_text(tmp_path):
    from PIL import Image

    from tests.fixtures.pagegen import cer

    image, truth = make_page(3, "letter", profile="clean")
    Image.fromarray(image).save(tmp_path / "letter.png", dpi=(300, 300))
    result = run(["ocr", str(tmp_path / "letter.png"), "--out-dir", str(tmp_path / "out")], tmp_path / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    text = (tmp_path / "out" / "letter.txt").read_text(encoding="utf-8")
    assert cer(truth.text, text) < 0.1


def test_doctor_on_embedded_defaults(tmp_path):
    result = run(["doctor"], tmp_path / "home")
    assert result.returncode == 0, result.stdout
    assert "Devanagari" in result.stdout and "SQLite" in result.stdout


@pytest.mark.parametrize(
    ("value", "years"),
    [
        ("1998", (1998, None)),
        ("1995-1998", (1995, 1998)),
        ("1995–1998", (1995, 1998)),  # an en dash, as word processors type it
        (" 1995 / 1998 ", (1995, 1998)),
        ("", (None, None)),
    ],
)
def test_year_option_accepts_years_and_ranges(value, years):
    from cli.app import _parse_years

    assert _parse_years(value) == years


@pytest.mark.parametrize("value", ["98", "1998-", "1998-2001-2003", "1998 to 2001", "1999-1995"])
def test_year_option_refuses_what_it_cannot_read(value):
    import typer

    from cli.app import _parse_years

    with pytest.raises(typer.BadParameter, match="1995-1998|before it starts"):
        _parse_years(value)
