"""Issue 11: empty, hostile and over-long queries get a clear answer in the CLI, the web
page and the API; nothing is cut silently.

Before: "/", "*", "AND", "((" listed every page of the station; a query over 500
characters was cut mid-word in the URL and found nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from search.query import MAX_QUERY_CHARS
from tests.test_web import anon, client, fast_hashing, home, login  # noqa: F401  (fixtures)

LONG = "रमेश यादव " + "क" * MAX_QUERY_CHARS


@pytest.mark.parametrize("typed", ["/", "*", "AND", "((", "OR NOT"])
def test_the_page_says_nothing_to_search_for(client: TestClient, typed: str) -> None:
    r = client.get("/", params={"q": typed})
    assert r.status_code == 400
    assert "Not searched" in r.text and "nothing to search for" in r.text
    assert '<li class="hit' not in r.text  # not every page of the station


def test_the_page_refuses_a_long_query_and_states_the_limit(client: TestClient) -> None:
    r = client.get("/", params={"q": LONG})
    assert r.status_code == 400
    assert f"the limit is {MAX_QUERY_CHARS}" in r.text and f"{len(LONG)} characters" in r.text


def test_the_api_answers_400_with_the_reason(client: TestClient) -> None:
    r = client.get("/api/search", params={"q": "(("})
    assert r.status_code == 400 and "nothing to search for" in r.json()["detail"]
    r = client.get("/api/search", params={"q": LONG})
    assert r.status_code == 400 and f"the limit is {MAX_QUERY_CHARS}" in r.json()["detail"]
    assert client.get("/api/search", params={"q": "धारा 379"}).status_code == 200


def _abhilekh(args: list[str], home: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ABHILEKH_", "PREFECT_"))}
    env.update(ABHILEKH_HOME=str(home), PYTHONIOENCODING="utf-8")
    return subprocess.run([str(Path(sys.executable).with_name("abhilekh")), *args], capture_output=True,
                          text=True, env=env, timeout=300, cwd=home.parent)


@pytest.mark.parametrize("extra", [[], ["--thana", "Tirwa"]])
def test_the_command_refuses_with_the_reason_and_exit_code_2(tmp_path: Path, extra: list[str]) -> None:
    home = tmp_path / "home"
    done = _abhilekh(["search", "((", *extra], home)
    assert done.returncode == 2 and "nothing to search for" in done.stderr
    done = _abhilekh(["search", LONG, *extra], home)
    assert done.returncode == 2 and f"the limit is {MAX_QUERY_CHARS}" in done.stderr
    done = _abhilekh(["search", "रमेश", "--json", *extra], home)
    assert done.returncode == 0 and json.loads(done.stdout) == []
