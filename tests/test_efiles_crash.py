"""A crash between writing a movement and its audit row leaves both or neither
(efiles/outbox.py): a real process sends a file and is killed (SIGKILL, no cleanup) at
each point between the change and the audit log; afterwards the next drain leaves the
movement and exactly one audit row, or neither. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from abhilekh.settings import Settings
from access.audit import AuditLog
from efiles.model import Actor
from efiles.service import open_efiles
from tests.efiles_support import wf_settings  # noqa: F401  (fixture)
from web.routes.efiles_audit import drain_into

ROOT = Path(__file__).resolve().parents[1]
ADMIN = Actor("admin", role="admin", ip="10.0.0.5")

CHILD = """
from abhilekh.settings import Settings
from access.audit import AuditLog
from efiles.model import Actor
from efiles.service import open_efiles
from web.routes.efiles_audit import drain_into

settings = Settings()
service, log = open_efiles(settings), AuditLog.for_settings(settings)
service.send(Actor("admin", role="admin", ip="10.0.0.5"), "CR-1", Actor("ram"), remarks="आख्या दें")
drain_into(service, log)
print("survived")
"""


def _child(settings: Settings, crash_at: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ABHILEKH_")}
    env.update(ABHILEKH_HOME=str(settings.home), ABHILEKH_TEST_CRASH_AT=crash_at, PYTHONPATH=str(ROOT),
               ABHILEKH_ES_URL="", ABHILEKH_S3_ENDPOINT="")
    if settings.database_url:
        env["ABHILEKH_DATABASE_URL"] = settings.database_url
    return subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=120)


def _state(settings: Settings) -> tuple[int, int, list[str]]:
    """(send movements, efile_send audit rows, their details) after one more drain."""
    service, log = open_efiles(settings), AuditLog.for_settings(settings)
    try:
        drain_into(service, log)
        sends = [m for m in service.history(ADMIN, "CR-1") if m.action == "send"]
        rows = [r for r in log.iter_all() if r.action == "efile_send"]
        return len(sends), len(rows), [f"{r.user} {r.role} {r.ip} {r.target} {r.detail}" for r in rows]
    finally:
        service.close()
        log.close()


@pytest.mark.parametrize(("crash_at", "saved"), [
    ("efile_change:1", False),  # movement and outbox row written, not committed: neither
    ("efile_commit:1", True),   # committed, audit log not written: the next drain writes it
    ("audit_drain:1", True),    # audit row written, outbox not emptied: not written twice
])
def test_a_kill_between_movement_and_audit_row_leaves_both_or_neither(wf_settings, crash_at, saved):  # noqa: F811
    settings = wf_settings.model_copy(update={"es_url": None, "s3_endpoint": None})
    settings.home.mkdir(parents=True, exist_ok=True)
    service, log = open_efiles(settings), AuditLog.for_settings(settings)
    try:
        service.open(ADMIN, subject="अपराध रजिस्टर", station="कन्नौज", file_no="CR-1")
        assert drain_into(service, log) == 1  # the opening's audit row
    finally:
        service.close()
        log.close()

    child = _child(settings, crash_at)
    assert child.returncode == -signal.SIGKILL, (child.returncode, child.stdout, child.stderr)
    assert "survived" not in child.stdout

    sends, audited, details = _state(settings)
    assert (sends, audited) == ((1, 1) if saved else (0, 0)), details
    if saved:
        assert details == ["admin admin 10.0.0.5 CR-1 to=ram आख्या दें"]
    assert _state(settings)[:2] == (sends, audited)  # draining again changes nothing


def test_without_a_crash_the_send_is_audited_once(wf_settings):  # noqa: F811
    settings = wf_settings.model_copy(update={"es_url": None, "s3_endpoint": None})
    settings.home.mkdir(parents=True, exist_ok=True)
    service = open_efiles(settings)
    try:
        service.open(ADMIN, subject="x", station="कन्नौज", file_no="CR-1")
    finally:
        service.close()
    child = _child(settings, "")
    assert child.returncode == 0 and "survived" in child.stdout, child.stderr
    assert _state(settings)[:2] == (1, 1)
