"""What officers do with e-files, as a Python API: the web page and the CLI call this.

Every call takes the ``Actor`` (a name and the stations they may see); a file outside
them is "not found", whatever the call, so a guessed number shows nothing.

Status and holder
    open          with its holder (after opening, receiving, unparking, reopening)
    in movement   sent, not yet received; the receiver (already the holder) sees it in
                  his inbox and may receive it, or act on it at once
    parked        kept aside by its holder (the Parked list); unpark to work on it again
    closed        done; reopen with a reason

Only the holder moves, parks, closes or notes a file; reopening is for whoever closed it.

Two at once
    Each change reads the file's row and writes it back in one transaction, with the
    row locked (``SELECT ... FOR UPDATE`` on PostgreSQL; ``BEGIN IMMEDIATE`` on SQLite)
    and the UPDATE conditional on the row version it read. So of two officers acting at
    once exactly one wins; the other gets ``FileMoved`` and nothing of his is saved. A
    caller that showed the file to a person passes the version it showed
    (``version=``): if anything changed since, the action is refused the same way.
    The movement row is written in the same transaction as the change: both or neither.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from abhilekh.records import BundleMetadata, station_key
from abhilekh.settings import Settings
from efiles import schema as t
from efiles.crash import reached
from efiles.db import Database, open_database
from efiles.model import (
    ARRIVALS,
    CLOSED,
    IN_MOVEMENT,
    OPEN,
    PARKED,
    Actor,
    EFile,
    EFileError,
    EFileNotFound,
    FileMoved,
    Movement,
    NotAllowed,
    Note,
    Part,
    Pending,
)
from efiles.outbox import OutboxRow, drain, write_audit

__all__ = ["DEFAULT_PATTERN", "EFiles", "open_efiles", "pendency_csv"]

DEFAULT_PATTERN = "ABH/{station}/{year}/{serial:04d}"
MAX_REMARKS = 4000
MAX_NOTE = 20000
_CODE = re.compile(r"[^0-9A-Z]+")


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _code(text: str) -> str:
    """A number's field from free text: Latin letters and digits, upper-case, at most 6."""
    return _CODE.sub("", text.upper())[:6] or "X"


def _now() -> datetime:
    return datetime.now(UTC)


class EFiles:
    """The e-files of one workflow database."""

    def __init__(self, db: Database, *, pattern: str = DEFAULT_PATTERN,
                 clock: Callable[[], datetime] = _now) -> None:
        self.db = db
        self.pattern = pattern
        self.clock = clock
        # Tests only: called inside a change's transaction after the row is read, to
        # hold one officer there while another tries the same file.
        self.after_read: Callable[[str], None] | None = None

    def drain_audit(self, record: Callable[[OutboxRow], None],
                    recorded_since: Callable[[datetime], Iterable[int]]) -> int:
        """Move the audit rows written with changes into the audit log (efiles/outbox.py)."""
        return drain(self.db, record, recorded_since)

    def close(self) -> None:
        """Let go of the database (the e-files' own ``close_file`` closes a file)."""
        self.db.close()

    # ---- opening -------------------------------------------------------------
    def open(self, actor: Actor, *, subject: str, station: str, category: str = "",
             year_from: int | None = None, year_to: int | None = None, file_no: str | None = None,
             parts: Sequence[Part] = (), remarks: str = "") -> EFile:
        """A new file, with `actor` as creator and holder. No `file_no`: one is issued."""
        if not actor.may_see(station):
            raise NotAllowed(f"यह थाना आपके अधिकार में नहीं / station {station!r} is outside your stations")
        subject = subject.strip()
        if not subject:
            raise EFileError("विषय आवश्यक / a file needs a subject")
        file_no = (file_no or "").strip()
        now = self.clock()
        try:
            with self.db.write() as conn:
                if not file_no:
                    file_no = self._issue_number(conn, station, category, year_from or now.year)
                new_id = conn.execute(insert(t.efiles).values(
                    file_no=file_no, subject=subject, station=station.strip(), station_key=station_key(station),
                    category=category.strip(), year_from=year_from, year_to=year_to, status=OPEN,
                    holder=actor.name, created_by=actor.name, created_at=now, updated_at=now, version=1,
                ).returning(t.efiles.c.id)).scalar_one()
                for part in parts:
                    conn.execute(insert(t.parts).values(efile_id=new_id, bundle_id=part.bundle_id,
                                                        page_from=part.page_from, page_to=part.page_to))
                self._movement(conn, new_id, "open", actor.name, OPEN, remarks=remarks, at=now)
                write_audit(conn, actor, "efile_open", file_no, ", ".join(p.label() for p in parts), now)
                reached("efile_change")
            reached("efile_commit")
        except IntegrityError as exc:
            if "file_no" in str(exc.orig) or "efiles_file_no" in str(exc.orig) or "UNIQUE" in str(exc.orig):
                raise EFileError(f"फ़ाइल संख्या {file_no} पहले से है / file number {file_no} already exists") from None
            raise
        return self.get(actor, file_no)

    def open_for_bundle(self, actor: Actor, bundle_id: str, metadata: BundleMetadata) -> tuple[EFile, bool]:
        """The e-file of a digitised bundle: the one that already holds the whole bundle,
        else a new one numbered from the cover (``metadata.file_no``) or issued.
        Returns the file and whether it was opened now."""
        existing = self.files_of_bundle(actor, bundle_id)
        for efile in existing:
            if any(p.bundle_id == bundle_id and p.whole for p in efile.parts):
                return efile, False
        efile = self.open(
            actor, subject=metadata.title or metadata.file_no or bundle_id[:12], station=metadata.thana,
            category=metadata.register, year_from=metadata.year, year_to=metadata.year_to,
            file_no=metadata.file_no or None, parts=[Part(bundle_id)], remarks="digitised bundle / डिजिटाइज़ बंडल",
        )
        return efile, True

    def _issue_number(self, conn: Connection, station: str, category: str, year: int) -> str:
        fields = {"station": _code(station), "category": _code(category), "year": year}
        key = f"{self.pattern}|{fields['station']}|{fields['category']}|{year}"[:200]
        for _ in range(1000):  # skips numbers already taken by hand
            serial = conn.execute(update(t.counters).where(t.counters.c.prefix == key)
                                  .values(serial=t.counters.c.serial + 1).returning(t.counters.c.serial)).scalar()
            if serial is None:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(t.counters).values(prefix=key, serial=1))
                    serial = 1
                except IntegrityError:  # another writer made the row first (PostgreSQL)
                    continue
            try:
                number = self.pattern.format(serial=serial, **fields)
            except (KeyError, IndexError, ValueError) as exc:
                raise EFileError(f"ABHILEKH_EFILE_NO_PATTERN {self.pattern!r} is not a valid pattern: {exc}") from None
            taken = conn.execute(select(t.efiles.c.id).where(t.efiles.c.file_no == number)).first()
            if taken is None:
                return number
        raise EFileError(f"no free number for pattern {self.pattern!r}")

    # ---- reading -------------------------------------------------------------
    def get(self, actor: Actor, file_no: str) -> EFile:
        with self.db.read() as conn:
            row = conn.execute(select(t.efiles).where(t.efiles.c.file_no == file_no.strip())).first()
            if row is None or not actor.may_see(row.station):
                raise EFileNotFound(f"फ़ाइल नहीं मिली / no e-file {file_no!r}")
            return self._efile(conn, row)

    def files_of_bundle(self, actor: Actor, bundle_id: str) -> list[EFile]:
        query = (select(t.efiles).join(t.parts, t.parts.c.efile_id == t.efiles.c.id)
                 .where(t.parts.c.bundle_id == bundle_id).distinct().order_by(t.efiles.c.id))
        return self._list(actor, query)

    def history(self, actor: Actor, file_no: str) -> list[Movement]:
        efile = self.get(actor, file_no)
        with self.db.read() as conn:
            rows = conn.execute(select(t.movements).where(t.movements.c.efile_id == efile.id)
                                .order_by(t.movements.c.id)).all()
        return [Movement(r.id, r.action, r.actor, r.to_user, r.remarks, r.due_date, r.status_after, _utc(r.at))
                for r in rows]

    def notes(self, actor: Actor, file_no: str) -> list[Note]:
        efile = self.get(actor, file_no)
        with self.db.read() as conn:
            rows = conn.execute(select(t.notes).where(t.notes.c.efile_id == efile.id).order_by(t.notes.c.id)).all()
        return [Note(r.id, r.author, r.text, r.bundle_id, r.page, r.corrects, _utc(r.at)) for r in rows]

    def inbox(self, actor: Actor) -> list[EFile]:
        """Files with `actor`: just sent to him first, then those he has received."""
        c = t.efiles.c
        return self._list(actor, select(t.efiles).where(c.holder == actor.name, c.status.in_((OPEN, IN_MOVEMENT)))
                          .order_by((c.status == OPEN).asc(), c.updated_at.desc()))

    def sent(self, actor: Actor) -> list[EFile]:
        """Files `actor` has sent on, the latest sending first (where they are now)."""
        m = t.movements.c
        last = (select(m.efile_id, func.max(m.at).label("at")).where(m.action == "send", m.actor == actor.name)
                .group_by(m.efile_id).subquery())
        return self._list(actor, select(t.efiles).join(last, last.c.efile_id == t.efiles.c.id)
                          .order_by(last.c.at.desc()))

    def parked(self, actor: Actor) -> list[EFile]:
        c = t.efiles.c
        return self._list(actor, select(t.efiles).where(c.holder == actor.name, c.status == PARKED)
                          .order_by(c.updated_at.desc()))

    def closed(self, actor: Actor) -> list[EFile]:
        c = t.efiles.c
        return self._list(actor, select(t.efiles).where(c.holder == actor.name, c.status == CLOSED)
                          .order_by(c.closed_at.desc()))

    def all_files(self, actor: Actor, *, status: str | None = None, station: str | None = None,
                  limit: int = 500) -> list[EFile]:
        """Every file in `actor`'s stations (supervisors), newest change first."""
        c = t.efiles.c
        query = select(t.efiles)
        if status:
            query = query.where(c.status == status)
        if station:
            query = query.where(c.station_key == station_key(station))
        return self._list(actor, query.order_by(c.updated_at.desc()).limit(limit))

    def pendency(self, actor: Actor, *, station: str | None = None) -> list[Pending]:
        """Files not closed, in `actor`'s stations: with whom, since when; oldest first."""
        m = t.movements.c
        arrived = (select(m.efile_id, func.max(m.at).label("since")).where(m.action.in_(ARRIVALS))
                   .group_by(m.efile_id).subquery())
        c = t.efiles.c
        query = (select(t.efiles, arrived.c.since).join(arrived, arrived.c.efile_id == c.id)
                 .where(c.status != CLOSED))
        if station:
            query = query.where(c.station_key == station_key(station))
        if actor.stations is not None:
            query = query.where(c.station_key.in_(sorted(actor.stations)))
        now = self.clock()
        today = now.date()
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(arrived.c.since, c.id)).all()
        out = []
        for r in rows:
            since = _utc(r.since)
            out.append(Pending(r.station, r.holder, r.file_no, r.subject, r.status, since,
                               max(0, (now - since).days), r.due_date,
                               bool(r.due_date and r.due_date < today)))
        return out

    # ---- changing ------------------------------------------------------------
    def send(self, actor: Actor, file_no: str, to: Actor, *, remarks: str, due_date: date | None = None,
             version: int | None = None) -> EFile:
        """Forward the file to `to` with remarks (and a date it is due back by)."""
        remarks = _remarks(remarks, required=True)
        if to.name == actor.name:
            raise NotAllowed("स्वयं को नहीं भेज सकते / a file cannot be sent to its own holder")

        def check(row: Row[Any]) -> None:
            self._holder_only(actor, row, (OPEN, IN_MOVEMENT))
            if not to.may_see(row.station):
                raise NotAllowed(f"{to.name} को थाना {row.station} का अधिकार नहीं / "
                                 f"{to.name} may not see station {row.station!r}")

        return self._change(actor, file_no, version, check, "send",
                            {"status": IN_MOVEMENT, "holder": to.name, "sent_by": actor.name, "due_date": due_date},
                            to_user=to.name, remarks=remarks, due_date=due_date)

    def receive(self, actor: Actor, file_no: str, *, version: int | None = None) -> EFile:
        return self._change(actor, file_no, version,
                            lambda row: self._holder_only(actor, row, (IN_MOVEMENT,)), "receive", {"status": OPEN})

    def park(self, actor: Actor, file_no: str, *, remarks: str = "", version: int | None = None) -> EFile:
        return self._change(actor, file_no, version, lambda row: self._holder_only(actor, row, (OPEN, IN_MOVEMENT)),
                            "park", {"status": PARKED}, remarks=_remarks(remarks))

    def unpark(self, actor: Actor, file_no: str, *, version: int | None = None) -> EFile:
        return self._change(actor, file_no, version, lambda row: self._holder_only(actor, row, (PARKED,)),
                            "unpark", {"status": OPEN})

    def close_file(self, actor: Actor, file_no: str, *, remarks: str = "", version: int | None = None) -> EFile:
        return self._change(actor, file_no, version,
                            lambda row: self._holder_only(actor, row, (OPEN, IN_MOVEMENT, PARKED)),
                            "close", {"status": CLOSED, "closed_at": self.clock(), "due_date": None},
                            remarks=_remarks(remarks))

    def reopen(self, actor: Actor, file_no: str, *, reason: str, version: int | None = None) -> EFile:
        """A closed file back in work with whoever reopens it; the reason is kept."""
        reason = _remarks(reason, required=True, what="कारण / a reason")
        return self._change(actor, file_no, version, lambda row: self._holder_only(actor, row, (CLOSED,)),
                            "reopen", {"status": OPEN, "closed_at": None, "holder": actor.name}, remarks=reason)

    def add_part(self, actor: Actor, file_no: str, part: Part, *, version: int | None = None) -> EFile:
        """Put another bundle (or pages of one) into the file (merging bundles into one file)."""
        def check(row: Row[Any]) -> None:
            self._holder_only(actor, row, (OPEN, IN_MOVEMENT, PARKED))

        return self._change(actor, file_no, version, check, "add_part", {}, remarks=part.label(), new_part=part)

    def note(self, actor: Actor, file_no: str, text: str, *, bundle_id: str | None = None,
             page: int | None = None, corrects: int | None = None) -> Note:
        """Note on the file, or on one of its pages. Saved notes never change: a
        correction is a new note that names the one it corrects."""
        text = text.strip()
        if not text:
            raise EFileError("टिप्पणी खाली है / the note is empty")
        if len(text) > MAX_NOTE:
            raise EFileError(f"टिप्पणी बहुत लंबी / a note has at most {MAX_NOTE} characters")
        if (bundle_id is None) != (page is None):
            raise EFileError("पृष्ठ टिप्पणी के लिए बंडल और पृष्ठ दोनों / a page note needs its bundle and page")
        now = self.clock()
        holder: dict[str, int] = {}

        def check(row: Row[Any], conn: Connection) -> None:
            self._holder_only(actor, row, (OPEN, IN_MOVEMENT, PARKED))
            if bundle_id is not None and page is not None:
                held = [Part(p.bundle_id, p.page_from, p.page_to) for p in
                        conn.execute(select(t.parts).where(t.parts.c.efile_id == row.id)).all()]
                if not any(p.holds(bundle_id, page) for p in held):
                    raise EFileError(f"पृष्ठ {page} इस फ़ाइल में नहीं / page {page} of {bundle_id[:12]} is not in this file")
            if corrects is not None:
                earlier = conn.execute(select(t.notes.c.efile_id).where(t.notes.c.id == corrects)).first()
                if earlier is None or earlier.efile_id != row.id:
                    raise EFileError(f"टिप्पणी {corrects} इस फ़ाइल की नहीं / note {corrects} is not on this file")
            holder["id"] = conn.execute(insert(t.notes).values(
                efile_id=row.id, bundle_id=bundle_id, page=page, author=actor.name, text=text,
                corrects=corrects, at=now).returning(t.notes.c.id)).scalar_one()

        with self.db.write() as conn:
            row = self._locked(conn, actor, file_no, None)
            check(row, conn)
            # The row version moves on with a note too, so a page showing the file
            # before it knows the file changed.
            conn.execute(update(t.efiles).where(t.efiles.c.id == row.id)
                         .values(version=row.version + 1, updated_at=now))
            write_audit(conn, actor, "efile_note", row.file_no,
                        f"note={holder['id']}" + (f" page={bundle_id}:{page}" if page is not None else ""), now)
            reached("efile_change")
        reached("efile_commit")
        return Note(holder["id"], actor.name, text, bundle_id, page, corrects, now)

    # ---- internals -----------------------------------------------------------
    def _locked(self, conn: Connection, actor: Actor, file_no: str, version: int | None) -> Row[Any]:
        query = select(t.efiles).where(t.efiles.c.file_no == file_no.strip())
        if self.db.for_update:
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None or not actor.may_see(row.station):
            raise EFileNotFound(f"फ़ाइल नहीं मिली / no e-file {file_no!r}")
        if version is not None and row.version != version:
            raise FileMoved(f"फ़ाइल {row.file_no} इस बीच बदल चुकी है (अब {row.holder} के पास, {row.status}) / "
                            f"file {row.file_no} changed meanwhile (now with {row.holder}, {row.status}): look again")
        if self.after_read is not None:
            self.after_read(actor.name)
        return row

    @staticmethod
    def _holder_only(actor: Actor, row: Row[Any], statuses: Iterable[str]) -> None:
        if row.holder != actor.name:
            raise FileMoved(f"फ़ाइल {row.file_no} आपके पास नहीं, {row.holder} के पास है / "
                            f"file {row.file_no} is not with you but with {row.holder}")
        allowed = tuple(statuses)
        if row.status not in allowed:
            raise NotAllowed(f"फ़ाइल {row.file_no} की स्थिति '{row.status}' में यह नहीं हो सकता / "
                             f"file {row.file_no} is {row.status}: only a file that is {' or '.join(allowed)} can be")

    def _change(self, actor: Actor, file_no: str, version: int | None, check: Callable[[Row[Any]], None],
                action: str, values: dict[str, Any], *, to_user: str | None = None, remarks: str = "",
                due_date: date | None = None, new_part: Part | None = None) -> EFile:
        now = self.clock()
        with self.db.write() as conn:
            row = self._locked(conn, actor, file_no, version)
            check(row)
            done = conn.execute(update(t.efiles).where(and_(t.efiles.c.id == row.id, t.efiles.c.version == row.version))
                                .values(**values, version=row.version + 1, updated_at=now))
            if done.rowcount != 1:
                raise FileMoved(f"फ़ाइल {row.file_no} इस बीच बदल चुकी है / file {row.file_no} changed meanwhile: look again")
            if new_part is not None:
                conn.execute(insert(t.parts).values(efile_id=row.id, bundle_id=new_part.bundle_id,
                                                    page_from=new_part.page_from, page_to=new_part.page_to))
            status = values.get("status", row.status)
            self._movement(conn, row.id, action, actor.name, status, to_user=to_user, remarks=remarks,
                           due_date=due_date, at=now)
            write_audit(conn, actor, f"efile_{action}", row.file_no,
                        (f"to={to_user} " if to_user else "") + remarks[:500], now)
            reached("efile_change")
        reached("efile_commit")
        return self.get(actor, row.file_no)

    @staticmethod
    def _movement(conn: Connection, efile_id: int, action: str, actor: str, status_after: str, *,
                  to_user: str | None = None, remarks: str = "", due_date: date | None = None,
                  at: datetime) -> None:
        conn.execute(insert(t.movements).values(efile_id=efile_id, action=action, actor=actor, to_user=to_user,
                                                remarks=remarks, due_date=due_date, status_after=status_after, at=at))

    def _list(self, actor: Actor, query: Any) -> list[EFile]:
        if actor.stations is not None:
            query = query.where(t.efiles.c.station_key.in_(sorted(actor.stations)))
        with self.db.read() as conn:
            return [self._efile(conn, row) for row in conn.execute(query).all()]

    @staticmethod
    def _efile(conn: Connection, row: Row[Any]) -> EFile:
        parts = tuple(Part(p.bundle_id, p.page_from, p.page_to) for p in
                      conn.execute(select(t.parts).where(t.parts.c.efile_id == row.id).order_by(t.parts.c.id)).all())
        return EFile(
            row.id, row.file_no, row.subject, row.station, row.category, row.year_from, row.year_to, row.status,
            row.holder, row.sent_by, row.due_date, row.created_by, _utc(row.created_at), _utc(row.updated_at),
            _utc(row.closed_at) if row.closed_at else None, row.version, parts,
        )


def open_efiles(settings: Settings) -> EFiles:
    """The e-files of `settings`' workflow database, its schema migrated first."""
    return EFiles(open_database(settings), pattern=settings.efile_no_pattern)


def _remarks(text: str, *, required: bool = False, what: str = "टिप्पणी / remarks") -> str:
    text = (text or "").strip()
    if required and not text:
        raise EFileError(f"{what} आवश्यक / {what.split(' / ')[-1]} required")
    if len(text) > MAX_REMARKS:
        raise EFileError(f"at most {MAX_REMARKS} characters of remarks")
    return text


PENDENCY_COLUMNS = ("station", "holder", "file_no", "subject", "status", "since", "days", "due_date", "overdue")


def pendency_csv(rows: Iterable[Pending]) -> str:
    """The pendency report as CSV (UTF-8; Hindi headers' English twins as column names)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(PENDENCY_COLUMNS)
    for p in rows:
        d = p.to_dict()
        writer.writerow(["" if d[k] is None else d[k] for k in PENDENCY_COLUMNS])
    return out.getvalue()

