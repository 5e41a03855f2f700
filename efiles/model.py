"""The records of the e-file room: who acts, the file, its movements and notes, and the
errors an officer is shown (Hindi and English)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from abhilekh.errors import AbhilekhError
from abhilekh.records import station_key

__all__ = [
    "ACTIONS", "STATUSES", "Actor", "EFile", "EFileError", "EFileNotFound", "FileMoved", "Movement",
    "NotAllowed", "Note", "Part", "Pending",
]

OPEN, IN_MOVEMENT, PARKED, CLOSED = "open", "in movement", "parked", "closed"
STATUSES = (OPEN, IN_MOVEMENT, PARKED, CLOSED)
STATUS_HINDI = {OPEN: "खुली", IN_MOVEMENT: "संचलन में", PARKED: "स्थगित", CLOSED: "बंद"}
# What the history says happened; "open", "send" and "reopen" also say since when the
# holder has had the file (the pendency report counts from the last of them).
ACTIONS = ("open", "send", "receive", "park", "unpark", "close", "reopen", "add_part")
ARRIVALS = ("open", "send", "reopen")


class EFileError(AbhilekhError):
    """An e-file action that cannot be done as asked; the message says why."""

    exit_code = 2


class EFileNotFound(EFileError):
    """No such file, or one outside the asker's stations (the two look alike on purpose)."""


class NotAllowed(EFileError):
    """The file is not in a state (or not with the person) that allows the action."""


class FileMoved(EFileError):
    """Someone else changed the file between the asker's look and the action: the
    loser of two officers acting at once is told this, and nothing of his is saved."""

    exit_code = 1


@dataclass(frozen=True)
class Actor:
    """Who asks, and the station keys (``station_key``) they may see; None: every station."""

    name: str
    stations: frozenset[str] | None = None
    # For the audit row written with each change (efiles/outbox.py): the web user's
    # role and address, or the terminal's.
    role: str = ""
    ip: str = ""

    @classmethod
    def within(cls, name: str, stations: Iterable[str]) -> Actor:
        return cls(name, frozenset(station_key(s) for s in stations))

    def may_see(self, station: str) -> bool:
        return self.stations is None or station_key(station) in self.stations


@dataclass(frozen=True)
class Part:
    """A bundle the file holds, or pages ``page_from``..``page_to`` of it (both inclusive)."""

    bundle_id: str
    page_from: int | None = None
    page_to: int | None = None

    def __post_init__(self) -> None:
        if (self.page_from is None) != (self.page_to is None):
            raise EFileError("पृष्ठ-सीमा अधूरी / a page range needs both its first and last page")
        if self.page_from is not None and self.page_to is not None and not 1 <= self.page_from <= self.page_to:
            raise EFileError(f"पृष्ठ-सीमा गलत / page range {self.page_from}-{self.page_to} is not a range")

    @property
    def whole(self) -> bool:
        return self.page_from is None

    def holds(self, bundle_id: str, page: int) -> bool:
        if bundle_id != self.bundle_id:
            return False
        return self.whole or (self.page_from or 0) <= page <= (self.page_to or 0)

    def label(self) -> str:
        return self.bundle_id if self.whole else f"{self.bundle_id}:{self.page_from}-{self.page_to}"


@dataclass(frozen=True)
class EFile:
    id: int
    file_no: str
    subject: str
    station: str
    category: str
    year_from: int | None
    year_to: int | None
    status: str
    holder: str
    sent_by: str | None
    due_date: date | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    version: int
    parts: tuple[Part, ...] = ()

    @property
    def status_hindi(self) -> str:
        return STATUS_HINDI.get(self.status, self.status)

    @property
    def years(self) -> str:
        if self.year_from is None:
            return ""
        if self.year_to and self.year_to != self.year_from:
            return f"{self.year_from}–{self.year_to}"
        return str(self.year_from)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("created_at", "updated_at", "closed_at", "due_date"):
            data[key] = data[key].isoformat() if data[key] else None
        data["parts"] = [asdict(p) for p in self.parts]
        return data


@dataclass(frozen=True)
class Movement:
    id: int
    action: str
    actor: str
    to_user: str | None
    remarks: str
    due_date: date | None
    status_after: str
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        data["due_date"] = self.due_date.isoformat() if self.due_date else None
        return data


@dataclass(frozen=True)
class Note:
    id: int
    author: str
    text: str
    bundle_id: str | None
    page: int | None
    corrects: int | None
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return data


@dataclass(frozen=True)
class Pending:
    """One line of the pendency report: a file not closed, with whom, since when."""

    station: str
    holder: str
    file_no: str
    subject: str
    status: str
    since: datetime
    days: int
    due_date: date | None
    overdue: bool

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["since"] = self.since.isoformat()
        data["due_date"] = self.due_date.isoformat() if self.due_date else None
        return data
