"""Prefect's environment, set before Prefect is first imported.

Prefect reads its settings at import time, so this must run first. Each abhilekh
home gets its own PREFECT_HOME (so separate homes never share a database), and
nothing phones home: the machines this runs on are often on closed networks.
"""

from __future__ import annotations

import os

from abhilekh.settings import Settings

_QUIET = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
}


def configure_prefect(settings: Settings) -> None:
    if "prefect" in __import__("sys").modules and os.environ.get("PREFECT_HOME"):
        return  # already imported: its settings are fixed for this process
    os.environ.setdefault("PREFECT_HOME", str(settings.prefect_home))
    for key, value in _QUIET.items():
        os.environ.setdefault(key, value)
    settings.prefect_home.mkdir(parents=True, exist_ok=True)
