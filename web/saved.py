"""Saved searches, per user: a name and the search page's URL (words, filters), in a
private SQLite beside the users file. Only this app's search URLs are kept."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from access.db import open_private_db

MAX_PER_USER = 50

_SCHEMA = """
CREATE TABLE IF NOT EXISTS saved (
    user TEXT NOT NULL,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (user, name)
);
"""


@dataclass(frozen=True)
class Saved:
    name: str
    url: str


def saved_path(home: Path) -> Path:
    return home / "saved-searches.sqlite3"


class SavedSearches:
    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = open_private_db(path, _SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def list(self, user: str) -> list[Saved]:
        with self._lock:
            rows = self._db.execute("SELECT name, url FROM saved WHERE user = ? ORDER BY at DESC", (user,)).fetchall()
        return [Saved(*r) for r in rows]

    def save(self, user: str, name: str, url: str) -> None:
        """Keep (or replace, by name) one search; the oldest goes past MAX_PER_USER."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO saved (user, name, url, at) VALUES (?,?,?,?)",
                             (user, name[:80], url[:2000], time.time()))
            self._db.execute(
                "DELETE FROM saved WHERE user = ? AND name NOT IN "
                "(SELECT name FROM saved WHERE user = ? ORDER BY at DESC LIMIT ?)", (user, user, MAX_PER_USER))

    def delete(self, user: str, name: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM saved WHERE user = ? AND name = ?", (user, name))
