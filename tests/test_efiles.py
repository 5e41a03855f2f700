"""The e-file service (efiles/service.py), every test on SQLite and the real PostgreSQL."""

from __future__ import annotations

import csv
import io
import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from abhilekh.records import BundleMetadata
from efiles.model import Actor, EFileError, EFileNotFound, FileMoved, NotAllowed, Part
from efiles.service import EFiles, open_efiles, pendency_csv
from tests.efiles_support import wf_settings  # noqa: F401  (fixture)

BUNDLE = "ab" * 32
OTHER_BUNDLE = "cd" * 32
SO = Actor.within("so.tirwa", ["Tirwa"])  # station officer of Tirwa
IO = Actor.within("io.tirwa", ["Tirwa"])  # an investigating officer there
CO = Actor.within("co.circle", ["Tirwa", "Chhibramau"])  # circle officer of two stations
STRANGER = Actor.within("so.chhib", ["Chhibramau"])
ADMIN = Actor("admin")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def svc(wf_settings, clock):  # noqa: F811
    service = open_efiles(wf_settings)
    service.clock = clock
    yield service
    service.close()


def _open(svc: EFiles, actor: Actor = SO, **kw):
    args = {"subject": "मु0अ0सं0 123/2019 धारा 379 भादवि", "station": "Tirwa", "category": "Crime Register",
            "year_from": 2019, "parts": [Part(BUNDLE)]}
    args.update(kw)
    return svc.open(actor, **args)


def test_open_with_a_cover_number_and_with_an_issued_one(svc):
    first = _open(svc, file_no="SP/KNJ/PRO/2013/989")
    assert (first.file_no, first.status, first.holder, first.station) == ("SP/KNJ/PRO/2013/989", "open", "so.tirwa", "Tirwa")
    assert first.parts == (Part(BUNDLE),)
    issued = [_open(svc).file_no for _ in range(3)]
    assert issued == ["ABH/TIRWA/2019/0001", "ABH/TIRWA/2019/0002", "ABH/TIRWA/2019/0003"]
    with pytest.raises(EFileError, match="already exists"):
        _open(svc, file_no="SP/KNJ/PRO/2013/989")


def test_an_issued_number_skips_one_typed_by_hand(svc):
    _open(svc, file_no="ABH/TIRWA/2019/0001")
    assert _open(svc).file_no == "ABH/TIRWA/2019/0002"


def test_the_pattern_is_configurable(svc):
    svc.pattern = "{station}/{category}/{year}-{serial}"
    assert _open(svc).file_no == "TIRWA/CRIMER/2019-1"
    svc.pattern = "{thana}/{serial}"
    with pytest.raises(EFileError, match="not a valid pattern"):
        _open(svc)


def test_one_file_per_bundle_by_default(svc):
    meta = BundleMetadata(thana="Tirwa", register="General Diary", year=1998, year_to=1999,
                          file_no="GD/TIRWA/1998", title="सामान्य दैनिकी 1998")
    efile, opened = svc.open_for_bundle(SO, BUNDLE, meta)
    again, opened_again = svc.open_for_bundle(SO, BUNDLE, meta)
    assert (opened, opened_again, again.id) == (True, False, efile.id)
    assert (efile.file_no, efile.subject, efile.category, efile.years) == (
        "GD/TIRWA/1998", "सामान्य दैनिकी 1998", "General Diary", "1998–1999")
    numbered, _ = svc.open_for_bundle(SO, OTHER_BUNDLE, BundleMetadata(thana="Tirwa", year=2001))
    assert numbered.file_no == "ABH/TIRWA/2001/0001"


def test_send_receive_park_close_reopen_with_full_history(svc, clock):
    efile = _open(svc, file_no="F/1")
    clock.advance(hours=1)
    sent = svc.send(SO, "F/1", IO, remarks="जाँच कर आख्या दें", due_date=date(2026, 11, 8))
    assert (sent.status, sent.holder, sent.sent_by, sent.due_date) == ("in movement", "io.tirwa", "so.tirwa", date(2026, 11, 8))
    assert [f.file_no for f in svc.inbox(IO)] == ["F/1"]
    assert [f.file_no for f in svc.sent(SO)] == ["F/1"]
    assert svc.inbox(SO) == []
    with pytest.raises(FileMoved, match="not with you but with io.tirwa"):
        svc.park(SO, "F/1")
    assert svc.receive(IO, "F/1").status == "open"
    assert svc.park(IO, "F/1", remarks="गवाह बाहर है").status == "parked"
    assert [f.file_no for f in svc.parked(IO)] == ["F/1"] and svc.inbox(IO) == []
    assert svc.unpark(IO, "F/1").status == "open"
    closed = svc.close_file(IO, "F/1", remarks="निस्तारित")
    assert closed.status == "closed" and closed.closed_at == clock.now
    assert [f.file_no for f in svc.closed(IO)] == ["F/1"]
    with pytest.raises(NotAllowed, match="closed"):
        svc.send(IO, "F/1", SO, remarks="x")
    with pytest.raises(EFileError, match="reason required"):
        svc.reopen(IO, "F/1", reason=" ")
    reopened = svc.reopen(IO, "F/1", reason="नया साक्ष्य मिला")
    assert (reopened.status, reopened.closed_at, reopened.holder) == ("open", None, "io.tirwa")
    history = svc.history(SO, "F/1")
    assert [(m.action, m.actor, m.to_user, m.status_after) for m in history] == [
        ("open", "so.tirwa", None, "open"), ("send", "so.tirwa", "io.tirwa", "in movement"),
        ("receive", "io.tirwa", None, "open"), ("park", "io.tirwa", None, "parked"),
        ("unpark", "io.tirwa", None, "open"), ("close", "io.tirwa", None, "closed"),
        ("reopen", "io.tirwa", None, "open"),
    ]
    assert history[1].remarks == "जाँच कर आख्या दें" and history[1].due_date == date(2026, 11, 8)
    assert history[-1].remarks == "नया साक्ष्य मिला"
    assert history[1].at == efile.created_at + timedelta(hours=1)


def test_sending_needs_remarks_and_a_receiver_of_the_station(svc):
    _open(svc, file_no="F/2")
    with pytest.raises(EFileError, match="remarks required"):
        svc.send(SO, "F/2", IO, remarks="")
    with pytest.raises(NotAllowed, match="may not see station"):
        svc.send(SO, "F/2", STRANGER, remarks="देखें")
    with pytest.raises(NotAllowed, match="own holder"):
        svc.send(SO, "F/2", SO, remarks="देखें")
    assert [m.action for m in svc.history(SO, "F/2")] == ["open"]  # nothing of the refusals kept


def test_station_scope_hides_files_everywhere(svc):
    _open(svc, file_no="F/3")
    for call in (lambda: svc.get(STRANGER, "F/3"), lambda: svc.history(STRANGER, "F/3"),
                 lambda: svc.notes(STRANGER, "F/3"), lambda: svc.note(STRANGER, "F/3", "x"),
                 lambda: svc.park(STRANGER, "F/3")):
        with pytest.raises(EFileNotFound):
            call()
    with pytest.raises(NotAllowed, match="outside your stations"):
        _open(svc, STRANGER)
    assert svc.all_files(STRANGER) == [] and svc.pendency(STRANGER) == []
    assert [f.file_no for f in svc.all_files(CO)] == ["F/3"]
    assert [f.file_no for f in svc.all_files(ADMIN)] == ["F/3"]


def test_notes_are_immutable_corrections_are_new_notes(svc):
    _open(svc, file_no="F/4", parts=[Part(BUNDLE, 1, 10)])
    first = svc.note(SO, "F/4", "गवाह के बयान पृष्ठ 3 पर")
    page_note = svc.note(SO, "F/4", "Signature missing", bundle_id=BUNDLE, page=3)
    fix = svc.note(SO, "F/4", "गवाह के बयान पृष्ठ 4 पर", corrects=first.id)
    with pytest.raises(EFileError, match="not in this file"):
        svc.note(SO, "F/4", "x", bundle_id=BUNDLE, page=11)
    with pytest.raises(EFileError, match="empty"):
        svc.note(SO, "F/4", "  ")
    with pytest.raises(FileMoved):
        svc.note(IO, "F/4", "not mine to note")
    notes = svc.notes(CO, "F/4")
    assert [(n.text, n.page, n.corrects) for n in notes] == [
        ("गवाह के बयान पृष्ठ 3 पर", None, None), ("Signature missing", 3, None),
        ("गवाह के बयान पृष्ठ 4 पर", None, first.id)]
    assert page_note.bundle_id == BUNDLE and fix.author == "so.tirwa"
    assert not hasattr(svc, "edit_note") and not hasattr(svc, "delete_note")


def test_split_and_merge_bundles(svc):
    a = _open(svc, file_no="F/5a", parts=[Part(BUNDLE, 1, 40)])
    b = _open(svc, file_no="F/5b", parts=[Part(BUNDLE, 41, 80)])
    merged = svc.add_part(SO, "F/5a", Part(OTHER_BUNDLE))
    assert merged.parts == (Part(BUNDLE, 1, 40), Part(OTHER_BUNDLE))
    assert [f.file_no for f in svc.files_of_bundle(SO, BUNDLE)] == [a.file_no, b.file_no]
    with pytest.raises(EFileError, match="not a range"):
        Part(BUNDLE, 5, 2)
    assert [m.action for m in svc.history(SO, "F/5a")][-1] == "add_part"


def test_a_page_showing_an_old_version_cannot_act(svc):
    seen = _open(svc, file_no="F/6")
    svc.note(SO, "F/6", "टिप्पणी")  # the file changed after the page was shown
    with pytest.raises(FileMoved, match="changed meanwhile"):
        svc.send(SO, "F/6", IO, remarks="देखें", version=seen.version)
    current = svc.get(SO, "F/6")
    assert svc.send(SO, "F/6", IO, remarks="देखें", version=current.version).holder == "io.tirwa"


def test_two_officers_acting_at_once_exactly_one_wins(svc):
    """Both read the file before either writes (the hook holds the first reader until
    the second has read, or for 1.5 s if the second cannot read because the row is
    locked, which is what the database should do). Exactly one send is kept."""
    _open(svc, file_no="F/7")
    barrier = threading.Barrier(2, timeout=1.5)

    def hold(_name: str) -> None:
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass  # the other one is (rightly) waiting on the lock

    svc.after_read = hold
    results: dict[str, object] = {}

    def act(name: str, to: Actor) -> None:
        try:
            results[name] = svc.send(SO, "F/7", to, remarks=f"to {to.name}").holder
        except FileMoved as exc:
            results[name] = exc

    threads = [threading.Thread(target=act, args=("a", IO)), threading.Thread(target=act, args=("b", CO))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    svc.after_read = None
    winners = [v for v in results.values() if isinstance(v, str)]
    losers = [v for v in results.values() if isinstance(v, FileMoved)]
    assert len(winners) == 1 and len(losers) == 1, results
    sends = [m for m in svc.history(SO, "F/7") if m.action == "send"]
    assert [m.to_user for m in sends] == winners
    assert svc.get(SO, "F/7").holder == winners[0]


def test_pendency_per_officer_oldest_first_with_csv(svc, clock):
    _open(svc, file_no="P/old")
    svc.send(SO, "P/old", IO, remarks="पुरानी", due_date=date(2026, 11, 5))
    clock.advance(days=3)
    _open(svc, file_no="P/new")
    _open(svc, CO, file_no="P/chhib", station="Chhibramau")
    _open(svc, file_no="P/done")
    svc.close_file(SO, "P/done")
    clock.advance(days=7)
    rows = svc.pendency(CO)
    assert [(r.file_no, r.holder, r.days, r.overdue) for r in rows] == [
        ("P/old", "io.tirwa", 10, True), ("P/new", "so.tirwa", 7, False), ("P/chhib", "co.circle", 7, False)]
    assert [r.file_no for r in svc.pendency(CO, station="chhibramau ")] == ["P/chhib"]
    assert [r.file_no for r in svc.pendency(SO)] == ["P/old", "P/new"]  # his stations only
    table = list(csv.DictReader(io.StringIO(pendency_csv(rows))))
    assert table[0]["file_no"] == "P/old" and table[0]["days"] == "10" and table[0]["overdue"] == "True"
    assert table[0]["due_date"] == "2026-11-05" and table[0]["station"] == "Tirwa"
