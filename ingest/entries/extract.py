"""One page record → its entries: table rows for a register, one case for a letter."""

from __future__ import annotations

import re

import ingest.entries.fields as F
from abhilekh.records import PageText, Word
from ingest.entries.doubles import without_doubles
from ingest.entries.model import Entry, Field
from ingest.entries.rows import Line, Table, find_table, lines_of, serial_number
from ingest.entries.rules import rule_positions, without_rules
from ingest.entries.text import Span, box, fold, mean_conf, word_box

# Words that make a page a letter or memo about a case, not a page of something else.
_LETTER_MARKS = re.compile(r"पत्रा[ंँ]?क|विषय|सेवा\s?में|File\s?No|Letter\s?No|ज्ञाप|MEMO|मु0\s?अ0\s?सं0", re.I)


# A serial OCR read glued before its row's crime number: "-53_,53/2022".
_GLUED_SERIAL = re.compile(r"^[\W_]{0,2}(\d{1,5})[\W_]{1,3}\d{1,5}\s?/\s?(?:19|20)?\d{2}")


def extract_page(page: PageText) -> list[Entry]:
    """The entries of one page (none for a page with no text or neither a table nor a case)."""
    read = without_doubles([w for w in page.words if w.text.strip()])
    rules = rule_positions(read)
    words = without_rules(read, rules)
    if not words:
        return []
    table = find_table(words, rules)
    if table is not None:
        _names_by_relations(table)
        head = lines_of(words)[: table.header]
        station = _page_station(head)
        year = F.page_year(" ".join(fold(ln.text) for ln in head))
        return [_row_entry(page.page, i, table, rows, station, year) for i, rows in enumerate(table.rows, 1)]
    letter = _letter_entry(page.page, words)
    return [letter] if letter is not None else []


def _names_by_relations(table: Table) -> None:
    """A names column whose heading OCR lost (tuning-ledger t010: the heading line read
    without "वादी का नाम"): the column without a name of its own whose cells hold the
    relation words (पुत्र, पत्नी), on two rows or more."""
    if table.columns_with("names"):
        return
    counts = [0] * len(table.roles)
    for rows in table.rows:
        seen = {table.column(w) for ln in rows for w in ln.words if F.relation_of(F.tidy(w.text).casefold())}
        for c in seen:
            counts[c] += 1
    best = max(range(len(counts)), key=lambda c: counts[c])
    if counts[best] >= 2 and not table.roles[best]:
        table.roles[best].add("names")


def _page_station(head: list[Line]) -> Field | None:
    words = [w for ln in head for w in ln.words]
    return F.station_of(words) if words else None


def _cell(table: Table, words: list[Word], roles: tuple[str, ...]) -> list[Word]:
    cols = {c for r in roles for c in table.columns_with(r)}
    return [w for w in words if table.column(w) in cols]


def _by_line(lines: list[Line], words: list[Word]) -> list[Word]:
    """WORDS in reading order: line by line, left to right."""
    keep = {id(w) for w in words}
    return [w for ln in lines for w in ln.words if id(w) in keep]


def _ordered(table: Table, lines: list[Line]) -> list[Word]:
    """The row's words column by column, each column top to bottom: a wrapped name reads
    on from its cell's line above, not from the next column."""
    words = [w for ln in lines for w in ln.words]
    order = {id(w): (table.column(w), li, w.left) for li, ln in enumerate(lines) for w in ln.words}
    return sorted(words, key=lambda w: order[id(w)])


def _row_entry(page: int, index: int, table: Table, lines: list[Line], station: Field | None, year: int | None = None) -> Entry:
    words = _ordered(table, lines)
    b = box(words)
    entry = Entry(page, index, "row", [table.left, b[1], table.right, b[3]])
    f = entry.fields
    everything = Span.of(words)
    serial_cols = table.columns_with("serial") or [0]
    serial_words = [w for w in words if table.column(w) == serial_cols[0]]
    if not serial_words and lines and table.starts_in(lines[0].words[0], serial_cols[0]):
        serial_words = lines[0].words[:1]  # a serial whose box runs past its rule
    crime_words = _cell(table, words, ("crime",))
    if not table.columns_with("crime"):
        # a heading OCR lost: the crime number stands next to the serial in registers
        crime_words = [w for w in words if table.column(w) == serial_cols[0] + 1]
    glued = _GLUED_SERIAL.match(fold(crime_words[0].text)) if crime_words else None
    if glued and not any(table.column(w) == serial_cols[0] for ln in lines for w in ln.words
                         if crime_words[0] in ln.words):
        # the serial's box OCR glued to the crime number ("-५३_,५३/२०२२"); a number lower
        # in the serial's column is the sections' (t013 "३०७")
        w = crime_words[0]
        f["serial"] = Field(glued.group(1), str(int(glued.group(1))), [word_box(w)], round(0.8 * mean_conf([w]), 3))
    elif serial_words and (n := serial_number(serial_words[0].text)) is not None:
        w = serial_words[0]
        f["serial"] = Field(w.text, str(n), [word_box(w)], round(mean_conf([w]), 3))
    crime_span = Span.of(crime_words)
    crime = F.crime_no(crime_span, column=True, year_hint=year) if crime_words else None
    if crime is None:
        crime = F.crime_no(everything, year_hint=year)
    if crime is not None:
        f["crime_no"] = crime[0]

    # Sections: in their column, or beside the crime number in its cell ("245/2019
    # 379 भादवि"); the crime number itself is never read as sections. Line by
    # line: a list may run from the crime column into the sections one ("323, 504," |
    # "506", tuning-ledger t022).
    sec_words = _by_line(lines, _cell(table, words, ("sections", "crime")) or crime_words)
    secs: dict[str, Field] = {}
    if sec_words:
        sec_span = Span.of(sec_words)
        in_cell = F.crime_no(sec_span, column=True, year_hint=year)
        secs = F.sections(sec_span, in_cell[1] if in_cell else None, column=bool(table.columns_with("sections")))
    if "sections" not in secs:
        in_row = F.crime_no(everything, year_hint=year)
        secs = F.sections(everything, in_row[1] if in_row else None)
    f.update(secs)

    found_dates = _column_dates(table, lines, words, year)
    if not found_dates:
        found_dates = F.labelled_dates(everything, year_hint=year)
    f.update(found_dates)

    name_words = _cell(table, words, ("names",))
    f.update(F.people(name_words or words, first_is_complainant=bool(name_words)))
    st = f.get("complainant.station") or station
    if st is not None:
        f["station"] = st

    _codes(table, words, everything, f)
    phones = F.mobiles(Span.of(_cell(table, words, ("names", "mobile"))) ) or F.mobiles(everything)
    if phones:
        f["mobile"] = phones[0]
    out_words = _cell(table, words, ("outcome",)) or _cell(table, words, ("desc",))
    if not table.columns_with("outcome") and not table.columns_with("desc"):
        # its heading misread ("चरिणाम", tuning-ledger t012) or lost: the unnamed columns
        out_words = [w for w in words if not table.roles[table.column(w)]]
    res = F.outcome(Span.of(out_words)) if out_words else None
    if res is not None:
        f["outcome"] = res
    return entry


def _column_dates(table: Table, lines: list[Line], words: list[Word], year: int | None) -> dict[str, Field]:
    """Dates from the date columns. A date labelled in its cell ("घटना 04-10-2009") is as
    labelled. Unlabelled ones take their column heading's word: a column headed for the
    occurrence ("घटना की तिथि") or the report ("सूचना की तिथि") holds that date, and a cell
    under "दिनांक घटना / सूचना" holds the two in the heading's order (tuning-ledger t029,
    where the cell's own labels were misread). Registers print both ways."""
    out: dict[str, Field] = {}
    for c in table.columns_with("date"):
        own = [w for w in words if table.column(w) == c]
        if not own:
            continue
        heading = table.headings[c]
        if (not F.dates(Span.of(own), column=True) and c + 1 < len(table.roles) and table.roles[c + 1] <= {"desc"}
                and F.date_heading_order(table.headings[c + 1])):
            # "दिनांक" | "घटना / सूचना": the labels' gap from their dates parted one cell in
            # two, its dates under the second heading (tuning-ledger t031); read line by line
            own = _by_line(lines, own + [w for w in words if table.column(w) == c + 1])
            heading = f"{heading} {table.headings[c + 1]}"
        span = Span.of(own)
        found = F.labelled_dates(span, column=True, year_hint=year)
        order = F.date_heading_order(heading)
        ds = F.dates(span, column=True, year_hint=year) if order else []
        # fewer dates than the heading names: which one OCR lost is unknown, so as labelled
        if order and len(ds) >= len(order) and "occurred" not in found and not F.has_date_label(span.text):
            found = dict(zip(order + [k for k in ("occurred", "date") if k not in order], ds))
        for k, v in found.items():
            out.setdefault(k, v)
    return out


def _codes(table: Table, words: list[Word], everything: Span, f: dict[str, Field]) -> None:
    veh_words = _cell(table, words, ("vehicle",))
    found = F.vehicles(Span.of(veh_words)) if veh_words else []
    found = found or F.vehicles(everything)
    if found:
        f["vehicle"] = found[0]
    for kind in ("engine", "chassis"):
        own = _cell(table, words, (kind,))
        code = F.column_code(Span.of(own), kind) if own else None
        code = code or F.labelled_code(Span.of(veh_words), kind) if veh_words else code
        code = code or F.labelled_code(everything, kind)
        if code is not None:
            f[kind] = code


# ----------------------------------------------------------------------------- letters

# पत्रांक as OCR reads it on the tuning letters: the anusvara lost, the colon a visarga
# ("पत्राकः एसओ-808/2020").
_FILE_NO = re.compile(r"(?:पत्रा[ंँ]?क|पत्र\s?सं0|पत्र\s?संख्या|File\s?No\.?|Letter\s?No\.?|Ref\.?\s?No\.?)\s?[:.\-ः]?\s?(\S+)", re.I)
_SUBJECT = re.compile(r"(?:विषय|Subject|Sub\.?)\s?[:\-]\s?(.+)", re.I)
_TO = re.compile(r"^(?:सेवा\s?में|To)\s?[,:]?\s*$", re.I)
# A memo's form lines under its subject ("नाम वादी : ...", "निवासी ...", "वाहन संख्या ..."):
# the subject ends before them (tuning-mixed memos).
_FORM_LABEL = re.compile(r"^(?:नाम|निवासी|वाहन|इं?जन|चेसिस|मोबाइल|मो0)(?:\s|:|$)")
_SALUTATION = re.compile(r"^(?:महोदय|महोदया|Sir|Madam)", re.I)


# A letter's dates that are not its case's: a recovery's ("दिनांक 03.11.2007 को बरामद कर
# लिया गया"), a receipt stamp's ("प्राप्त / RECEIVED 25.11.2022"; tuning-mixed t003, t009).
_RECOVERY_AFTER = re.compile(r"^.{0,24}(?:बरामद|recovered)", re.I | re.S)
_STAMP_BEFORE = re.compile(r"(?:प्राप्त|RECEIVED|CEIVED)\W{0,6}$", re.I)


def _not_case_date(text: str, found: str) -> bool:
    at = text.find(found)
    if at < 0:
        return False
    after, before = text[at + len(found): at + len(found) + 40], text[max(0, at - 24): at]
    return bool(_RECOVERY_AFTER.search(after) or _STAMP_BEFORE.search(before))


def _line_field(ln: Line, start_word: int = 0, sure: float = 0.9) -> Field:
    ws = ln.words[start_word:]
    return Field(" ".join(w.text for w in ws), fold(" ".join(w.text for w in ws)).strip(" ,।"),
                 [word_box(w) for w in ws], round(mean_conf(ws) * sure, 3))


def _letter_entry(page: int, words: list[Word]) -> Entry | None:
    lines = lines_of(words)
    text = "\n".join(fold(ln.text) for ln in lines)
    if not _LETTER_MARKS.search(text):
        return None
    entry = Entry(page, 1, "letter", box(words))
    f = entry.fields
    body_from = 0
    for li, ln in enumerate(lines):
        span = Span.of(ln.words)
        m = _FILE_NO.search(span.text)
        if m and "file_no" not in f:
            value = m.group(1).strip(" ,।:").upper()
            f["file_no"] = F._field(span, m.start(1), m.end(1), value, 0.95)
            on_line = F.dates(span)
            if on_line:
                f["letter_date"] = on_line[0]
            body_from = li + 1
        if _TO.match(span.text) and "to" not in f and li + 1 < len(lines):
            f["to"] = _line_field(lines[li + 1])
        ms = _SUBJECT.match(span.text)
        if ms and "subject" not in f:
            parts = [ln]
            for nxt in lines[li + 1: li + 3]:
                if _SALUTATION.match(fold(nxt.text)) or _SUBJECT.match(fold(nxt.text)) or _FORM_LABEL.match(fold(nxt.text)):
                    break
                if nxt.top - parts[-1].bottom > 1.5 * (ln.bottom - ln.top):
                    break
                parts.append(nxt)
            sw = [w for p in parts for w in p.words]
            sp = Span.of(sw)
            f["subject"] = F._field(sp, ms.start(1), len(sp.text), fold(sp.text[ms.start(1):]).strip(" ,।"), 0.9)
    if lines and ("कार्यालय" in fold(lines[0].text) or "office" in lines[0].text.casefold()):
        f["from"] = _line_field(lines[0])
    everything = Span.of([w for ln in lines for w in ln.words])
    # The subject names the case ("विषय: मु0अ0सं0 245/2019 धारा ..."): read it there first.
    subject = Span.of([w for ln in lines if _SUBJECT.match(fold(ln.text)) for w in ln.words])
    crime = F.crime_no(subject) or F.crime_no(everything)
    if crime is not None and subject.words:  # its place in the whole text, for sections to skip
        found_at = everything.text.find(crime[0].text)
        crime = (crime[0], (found_at, found_at + len(crime[0].text))) if found_at >= 0 else (crime[0], (0, 0))
    if crime is not None:
        f["crime_no"] = crime[0]
    f.update(F.sections(everything, crime[1] if crime else None))
    body = Span.of([w for ln in lines[body_from:] for w in ln.words])
    ds = [d for d in F.dates(body) if ("letter_date" not in f or d.value != f["letter_date"].value)
          and not _not_case_date(body.text, d.text)]
    if ds:
        f["date"] = ds[0]
    f.update(F.people([w for ln in lines for w in ln.words], first_is_complainant=False))
    if "accused.name" not in f:
        f.update(F.narrative_accused(body.words, f))
    st = f.get("complainant.station") or F.station_of([w for ln in lines[:2] for w in ln.words])
    if st is not None:
        f["station"] = st
    for name, found in (("vehicle", F.vehicles(everything)), ("mobile", F.mobiles(everything))):
        if found:
            f[name] = found[0]
    for kind in ("engine", "chassis"):
        code = F.labelled_code(everything, kind)
        if code is not None:
            f[kind] = code
    res = F.outcome(Span.of(lines[0].words + [w for ln in lines if _SUBJECT.match(fold(ln.text)) for w in ln.words]))
    if res is not None:
        f["outcome"] = res
    return entry if len(f) > 1 else None
