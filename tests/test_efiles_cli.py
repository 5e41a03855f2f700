"""`abhilekh efile`, `pendency`, `db` and `ingest --file-no` as an operator runs them:
real processes, real exit codes, on SQLite and the real PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import zipfile

import pytest

from efiles.model import Actor, Part
from efiles.service import open_efiles
from tests.efiles_support import wf_settings  # noqa: F401  (fixture)
from tests.fixtures.pagegen import make_bundle
from tests.test_cli import BIN

BUNDLE = "ef" * 32


def run(args: list[str], settings, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ABHILEKH_", "PREFECT_"))}
    env.update(ABHILEKH_HOME=str(settings.home), COLUMNS="200", PYTHONIOENCODING="utf-8")
    if settings.database_url:
        env["ABHILEKH_DATABASE_URL"] = settings.database_url
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, env=env, input=stdin, timeout=600)


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def people(wf_settings):  # noqa: F811
    from access.users import UserStore

    # In-process (the `users add` command has its own tests): each process costs ~3 s here.
    users = UserStore(wf_settings.users_path)
    try:
        for name, station in (("so.tirwa", "Tirwa"), ("io.tirwa", "Tirwa"), ("so.chhib", "Chhibramau")):
            users.add(name, "officer", "a-long-password", [station])
    finally:
        users.close()
    service = open_efiles(wf_settings)
    try:
        service.open(Actor("so.tirwa"), subject="सामान्य दैनिकी 1998", station="Tirwa", category="General Diary",
                     year_from=1998, file_no="GD/TIRWA/1998", parts=[Part(BUNDLE)])
    finally:
        service.close()
    return wf_settings


def test_help_teaches_the_e_file_commands(tmp_path):
    from abhilekh.settings import Settings

    out = ok(run(["efile", "--help"], Settings(home=tmp_path, database_url=None)))
    for word in ("open", "send", "receive", "park", "close", "reopen", "note", "list", "show", "add-part", "--as",
                 "pendency", "ई-फ़ाइल"):
        assert word in out, word
    assert "pendency" in ok(run(["--help"], Settings(home=tmp_path, database_url=None)))


def test_a_day_of_movements_from_the_terminal(people):
    s = people
    sent = run(["efile", "send", "GD/TIRWA/1998", "--to", "io.tirwa", "--remarks", "जाँच कर आख्या दें",
                "--due", "2026-12-10", "--as", "so.tirwa"], s)
    assert "io.tirwa के पास / with io.tirwa" in ok(sent)
    inbox = json.loads(ok(run(["efile", "list", "--box", "inbox", "--as", "io.tirwa", "--json"], s)))
    assert [(f["file_no"], f["status"], f["due_date"]) for f in inbox] == [("GD/TIRWA/1998", "in movement", "2026-12-10")]
    ok(run(["efile", "receive", "GD/TIRWA/1998", "--as", "io.tirwa"], s))
    noted = ok(run(["efile", "note", "GD/TIRWA/1998", "गवाह के बयान पृष्ठ 3 पर", "--page", f"{BUNDLE}:3",
                    "--as", "io.tirwa"], s))
    assert "note #1 saved" in noted
    ok(run(["efile", "park", "GD/TIRWA/1998", "--remarks", "गवाह बाहर", "--as", "io.tirwa"], s))
    ok(run(["efile", "unpark", "GD/TIRWA/1998", "--as", "io.tirwa"], s))
    ok(run(["efile", "close", "GD/TIRWA/1998", "--as", "io.tirwa"], s))
    ok(run(["efile", "reopen", "GD/TIRWA/1998", "--reason", "नया साक्ष्य", "--as", "io.tirwa"], s))
    shown = json.loads(ok(run(["efile", "show", "GD/TIRWA/1998", "--json"], s)))
    assert [m["action"] for m in shown["history"]] == ["open", "send", "receive", "park", "unpark", "close", "reopen"]
    assert shown["notes"][0]["text"] == "गवाह के बयान पृष्ठ 3 पर" and shown["notes"][0]["page"] == 3
    table = ok(run(["efile", "show", "GD/TIRWA/1998"], s))
    assert "जाँच कर आख्या दें" in table and "संचलन / Movements" in table
    audit = json.loads(ok(run(["audit", "export", "--format", "json"], s)))
    done = [(r["user"], r["action"], r["target"]) for r in audit if r["action"].startswith("efile_")]
    assert ("so.tirwa", "efile_send", "GD/TIRWA/1998") in done and ("io.tirwa", "efile_reopen", "GD/TIRWA/1998") in done
    assert ("io.tirwa", "efile_note", "GD/TIRWA/1998") in done


def test_refusals_are_bilingual_with_exit_codes(people):
    s = people
    hidden = run(["efile", "show", "GD/TIRWA/1998", "--as", "so.chhib"], s)
    assert hidden.returncode == 2 and "फ़ाइल नहीं मिली / no e-file" in hidden.stderr
    not_his = run(["efile", "park", "GD/TIRWA/1998", "--as", "io.tirwa"], s)
    assert not_his.returncode == 1 and "not with you but with so.tirwa" in not_his.stderr
    outside = run(["efile", "send", "GD/TIRWA/1998", "--to", "so.chhib", "--remarks", "x", "--as", "so.tirwa"], s)
    assert outside.returncode == 2 and "may not see station" in outside.stderr
    nobody = run(["efile", "send", "GD/TIRWA/1998", "--to", "ghost", "--remarks", "x"], s)
    assert nobody.returncode == 2 and "no active user 'ghost'" in nobody.stderr
    bad_date = run(["efile", "send", "GD/TIRWA/1998", "--to", "io.tirwa", "--remarks", "x", "--due", "10/12/2026"], s)
    assert bad_date.returncode == 2 and "YYYY-MM-DD" in bad_date.stderr


def test_pendency_as_csv_and_within_stations(people):
    s = people
    rows = list(csv.DictReader(io.StringIO(ok(run(["pendency", "--csv"], s)))))
    assert [(r["file_no"], r["holder"], r["station"]) for r in rows] == [("GD/TIRWA/1998", "so.tirwa", "Tirwa")]
    assert list(csv.DictReader(io.StringIO(ok(run(["pendency", "--csv", "--as", "so.chhib"], s))))) == []
    assert "लंबित / Pending (1)" in ok(run(["pendency"], s))


def test_db_upgrade_and_status(wf_settings):  # noqa: F811
    assert "not migrated" in ok(run(["db", "status"], wf_settings))
    assert "empty -> 0002" in ok(run(["db", "upgrade"], wf_settings))
    assert "already at 0002" in ok(run(["db", "upgrade"], wf_settings))


def test_ingest_with_file_no_opens_the_bundle_e_file(tmp_path):
    """The whole path once (OCR is slow: SQLite only; the service tests cover PostgreSQL)."""
    from abhilekh.settings import Settings

    settings = Settings(home=tmp_path / "home", database_url=None)
    scans = tmp_path / "scans"
    make_bundle(scans, seed=5, pages=1, kind="register", profile="clean", station="तिर्वा", year=2013)
    (scans / "truth.json").unlink()
    first = ok(run(["ingest", str(scans), "--thana", "Tirwa", "--register", "PRO", "--year", "2013",
                    "--file-no", "SP/KNJ/PRO/2013/989", "--title", "पत्रावली 989"], settings))
    assert "e-file    : SP/KNJ/PRO/2013/989 (opened" in first
    again = ok(run(["ingest", str(scans), "--thana", "Tirwa", "--file-no", "SP/KNJ/PRO/2013/989"], settings))
    assert "already open" in again
    shown = json.loads(ok(run(["efile", "show", "SP/KNJ/PRO/2013/989", "--json"], settings)))
    assert (shown["subject"], shown["station"], shown["category"], shown["year_from"]) == (
        "पत्रावली 989", "Tirwa", "PRO", 2013)
    assert len(shown["parts"]) == 1 and shown["parts"][0]["page_from"] is None
    bundle_id = shown["parts"][0]["bundle_id"]
    reopened = ok(run(["efile", "open", "--bundle", bundle_id], settings))
    assert "already open" in reopened
    ok(run(["export", "SP/KNJ/PRO/2013/989", "--out", str(tmp_path / "out")], settings))  # = efile export
    with zipfile.ZipFile(tmp_path / "out" / "SP_KNJ_PRO_2013_989.zip") as z:
        names = z.namelist()
        assert names[0] == "metadata.json" and "SP_KNJ_PRO_2013_989.pdf" in names
        assert json.loads(z.read("metadata.json"))["documents"][0]["bundle_id"] == bundle_id
        assert json.loads(z.read("metadata.json"))["efile"]["subject"] == "पत्रावली 989"


@pytest.mark.parametrize(("alias", "same_as", "option"),
                         [("move", "send", "--remarks"), ("merge", "add-part", "BUNDLE_ID:FIRST-LAST"), ("split", "open", "--bundle")])
def test_the_issues_words_are_commands_with_the_same_options(alias: str, same_as: str, option: str) -> None:
    # In-process (typer's runner): the alias must exist and take exactly the options of
    # the command it stands for; an unknown command exits 2 with "No such command".
    from typer.testing import CliRunner

    from cli.app import app

    runner = CliRunner()
    mine = runner.invoke(app, ["efile", alias, "--help"], env={"COLUMNS": "200"})
    theirs = runner.invoke(app, ["efile", same_as, "--help"], env={"COLUMNS": "200"})
    assert mine.exit_code == 0, mine.output
    assert option in mine.output

    def options(text: str) -> list[str]:
        return sorted(set(re.findall(r"--[a-z][a-z-]+", text)))

    assert options(mine.output) == options(theirs.output)
