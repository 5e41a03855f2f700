"""Field rules: each reads one kind of value out of a run of words (a cell, a row, a
letter), returning its Field (text as read, normalised value, word boxes, confidence).

Fitted on the tuning pages (register, letter, vehicle register of bench/corpus.py) and
on how police clerks write these values; never on the held-out pages.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from abhilekh.records import Word
from ingest.entries.model import Field
from ingest.entries.text import Span, mean_conf, tidy, word_box

_NOW_YY = dt.date.today().year % 100


def _field(span: Span, start: int, end: int, value: str, sure: float) -> Field:
    words = span.words_at(start, end)
    return Field(span.text[start:end].strip(), value, [word_box(w) for w in words], round(mean_conf(words) * sure, 3))


def _year(y: str) -> int:
    n = int(y)
    if len(y) == 2:
        n += 2000 if n <= _NOW_YY else 1900
    return n


# ----------------------------------------------------------------------------- the register's year

_PAGE_YEAR = re.compile(r"(?:वर्ष|सन्|सन|Year)\s?[:.\-]?\s?((?:19|20)\d{2})(?!\d)", re.I)


def page_year(text: str) -> int | None:
    """The year a register page's heading names ("वर्ष 2014", "सन् 2009")."""
    m = _PAGE_YEAR.search(text)
    return int(m.group(1)) if m else None


def _near_year(year: int, hint: int | None) -> int:
    """YEAR, or the page's year where OCR read a १ as ९ (or back) in it ("२०९४" on a
    page of वर्ष २०१४, tuning t004): the two differ only in 1s and 9s."""
    if hint is None or year == hint:
        return year
    a, b = f"{year:04d}", f"{hint:04d}"
    if all(x == y or {x, y} == {"1", "9"} for x, y in zip(a, b, strict=True)):
        return hint
    return year


# ----------------------------------------------------------------------------- crime number

# The abbreviation mark as OCR reads it: 0, ०, ण् (tuning letters), a dot.
_M = r"(?:0|ण्|\.|॰)?"
CRIME_LABEL = (rf"(?:मु{_M}\s?अ{_M}\s?सं{_M}|मु{_M}\s?अ{_M}\s?स{_M}|मु0\s?अ0|अपराध\s?सं(?:0|ख्या)|Case\s?Crime\s?No\.?|Cr(?:ime)?\.?\s?No\.?"
               r"|FIR\s?No\.?|C\.?C\.?\s?No\.?)")
_CRIME_LABELLED = re.compile(CRIME_LABEL + r"\s?[:.\-]?\s?(\d{1,5})\s?/\s?(\d{4}|\d{2})(?!\d)", re.I)
_CRIME_BARE = re.compile(r"(?<![\d/\-.])(\d{1,5})\s?/\s?((?:19|20)\d{2})(?![\d/\-.])")
# a speck after the slash read as a dot ("332/.2015", tuning t022)
_CRIME_CELL = re.compile(r"^(\d{1,5})\s?/\s?[.,]?\s?(\d{4}|\d{2})(?![\d/])")
# In the crime column only: the slash lost ("223 2012", tuning pages), a four-digit year.
_CRIME_CELL_NO_SLASH = re.compile(r"^(\d{1,5})\s((?:19|20)\d{2})(?![\d/])")


def crime_no(span: Span, *, column: bool = False, year_hint: int | None = None) -> tuple[Field, tuple[int, int]] | None:
    """"मु0अ0सं0 123/2019", "Case Crime No. 123/19", or in the crime column "123/2019"
    ("123/19" there too); value "123/2019". YEAR_HINT: the register page's year."""
    for rx, sure in ((_CRIME_LABELLED, 0.98), (_CRIME_CELL if column else None, 0.95), (_CRIME_BARE, 0.85),
                     (_CRIME_CELL_NO_SLASH if column else None, 0.7)):
        if rx is None:
            continue
        text = span.text
        if year_hint is not None and rx is not _CRIME_LABELLED:
            # the year's 1 read as 9 ("265/2094") fails the bare pattern's (19|20) too
            text = re.sub(r"(?<=/)\s?([129]{2}\d{2})(?!\d)", lambda y: str(_near_year(int(y.group(1)), year_hint)).rjust(len(y.group(0))), text)
        m = rx.search(text)
        if m:
            year = _near_year(_year(m.group(2)), year_hint)
            if 1950 <= year <= dt.date.today().year + 1:
                return _field(span, m.start(), m.end(), f"{int(m.group(1))}/{year}", sure), m.span()
    return None


# ----------------------------------------------------------------------------- sections and act

# In भा0द0वि0 a zero may read as ए as well ("भाएदएवि0", "भाएद0वि0", tuning-mixed t010), वि as
# बि ("भा0द0बि0", t022).
_M_IPC = r"(?:0|ण्|\.|॰|ए)?"
ACTS: list[tuple[str, str]] = [
    (rf"भा\s?{_M_IPC}\s?द्?\s?{_M_IPC}\s?[वब]ि\s?{_M_IPC}|भादवि|भा\.द\.वि\.?|[I1l|]{{1,2}}\.?\s?P\.?\s?C\.?|(?<![A-Z])PC", "IPC"),
    (r"बी\s?0?\s?एन\s?0?\s?एस\s?0?|बीएनएस|भा\s?0?\s?न्या\s?0?\s?सं\s?0?|B\.?\s?N\.?\s?S\.?", "BNS"),
    (r"आर्म्स\s?एक्ट|आयुध\s?अधिनियम|Arms\s?Act", "Arms Act"),
    (r"आबकारी\s?(?:अधिनियम|एक्ट)?|Excise\s?Act", "Excise Act"),
    (r"दहेज\s?प्रतिषेध\s?(?:अधिनियम|एक्ट)?|D\.?\s?P\.?\s?Act", "D.P. Act"),
    (r"गैंगस्टर\s?(?:अधिनियम|एक्ट)?|Gangster\s?Act", "Gangster Act"),
    (r"एन\s?0?\s?डी\s?0?\s?पी\s?0?\s?एस\s?0?\s?(?:एक्ट)?|NDPS\s?Act", "NDPS Act"),
    (r"एम\s?0?\s?वी\s?0?\s?(?:एक्ट)|M\.?\s?V\.?\s?Act", "M.V. Act"),
    (r"पॉक्सो\s?(?:एक्ट)?|POCSO\s?Act", "POCSO Act"),
    (r"एस\s?सी\s?/?\s?एस\s?टी\s?(?:एक्ट)?|SC\s?/?\s?ST\s?Act", "SC/ST Act"),
]
_ACT_ALT = "|".join(f"(?P<a{i}>{rx})" for i, (rx, _) in enumerate(ACTS))
_SEC = r"\d{1,4}[A-Z]?(?:\s?\(\d{1,2}\))?"
_SECTIONS = re.compile(
    # a speck before a listed section may read as a dot ("323, 504, .506", tuning t016)
    # a speck or stroke after the list ("457,380. भा0द0वि0", tuning-mixed t016; "506।
    # भा०द०वि०", tuning-ledger t031); a danda after the act
    # ends it as a space would ("आर्म्स एक्ट।", t020)
    rf"(?:धारा\s?:?\s?|Sec(?:tion)?s?\.?\s?|u/s\s?)?(?P<secs>{_SEC}(?:\s?(?:/|,|व|and|&)\s?\.?{_SEC})*)[.।]?\s?(?P<act>{_ACT_ALT})(?![\u0900-\u0963\u0966-\u097fA-Za-z])",
    re.I,
)
_LIST_BEFORE = re.compile(rf"(?P<secs>{_SEC}(?:\s?(?:/|,|व)\s?{_SEC})*)\s+$")
_SECTIONS_NO_ACT = re.compile(rf"(?:धारा|Sec(?:tion)?s?\.?|u/s)\s?:?\s?(?P<secs>{_SEC}(?:\s?(?:/|,|व|and|&)\s?{_SEC})*)", re.I)
_MAIN_ACTS = {"IPC", "BNS"}
IPC_LAST = 511  # the IPC's last section: a longer number is a misread
# The last section of each act a register cites; a number past it is a misread (a rule's
# stroke glued before it, the I of IPC after it). From the acts themselves, not the pages.
LAST_SECTION = {"IPC": IPC_LAST, "BNS": 358, "Excise Act": 99, "Arms Act": 46}


def _repaired(p: str, act: str) -> str:
    """One section number past its act's last: "1392" / "4279" (a stroke before it) and
    "3921" (the I of "1PC") under IPC, "160" under the Excise Act; "3725" under the Arms
    Act, its "/" read as 7 or 1. Otherwise as read."""
    last = LAST_SECTION.get(act)
    if last is None or not p.isdigit() or int(p) <= last:
        return p
    if act == "Arms Act":
        m = re.fullmatch(r"(\d)[71](\d{2})", p)
        return f"{m.group(1)}/{m.group(2)}" if m and int(m.group(2)) <= last else p
    if p[1] != "0" and int(p[1:]) <= last:
        return p[1:]
    if p[-1] == "1" and int(p[:-1]) <= last:
        return p[:-1]
    return p


def _act_of(m: re.Match[str]) -> str:
    for i, (_, name) in enumerate(ACTS):
        if m.group(f"a{i}"):
            return name
    return ""


def _plausible_bare(secs: str) -> bool:
    """A list read without its act is sections only if no part is a date's or a year's:
    "26,07,15" and "2005" are not ("07" has a leading zero, 2005 is no section)."""
    parts = [p.strip(" .") for p in re.split(r"/|,|व", secs) if p.strip(" .")]
    return bool(parts) and not any(p.startswith("0") or re.fullmatch(r"(?:19|20)\d{2}", p) for p in parts)


def _split_sections(secs: str, act: str) -> list[str]:
    secs = secs.replace(" ", "")
    # An IPC/BNS list "323/504/506" is three sections; a special act's "3/25" is one.
    parts = re.split(r"/|,|व|and|&", secs, flags=re.I) if act in _MAIN_ACTS or not act else [secs]
    out = []
    for p in parts:
        p = p.strip(" .").upper()
        if not p:
            continue
        # Tesseract reads the A of 498A / 304B as a 4 or 8 often enough (tuning pages).
        if act == "IPC" and re.fullmatch(r"\d{3}[48]", p) and int(p[:3]) <= IPC_LAST:
            p = p[:3] + {"4": "A", "8": "B"}[p[3]]
        # a list read without its act is an IPC/BNS list or a short special-act one: no
        # section of theirs has four digits
        out.append(_repaired(p, act) if act or len(p) < 4 else _repaired(p, "IPC"))
    return out


def sections(span: Span, skip: tuple[int, int] | None = None, *, column: bool = False) -> dict[str, Field]:
    """"धारा 379 भादवि", "379/411 IPC", "3/25 Arms Act", "303(2) BNS": fields
    ``sections`` ("379,411"), ``act`` ("IPC") and, for a second act alongside
    ("498A भादवि व 3/4 दहेज प्रतिषेध अधिनियम"), ``special_act`` ("3/4 D.P. Act")."""
    text = span.text
    if skip is not None:
        text = text[: skip[0]] + " " * (skip[1] - skip[0]) + text[skip[1]:]
    # 498A read as "498॥" (tuning pages): same length, so offsets still map to words.
    text = re.sub(r"(?<=\d{3})॥", "A", text)

    out: dict[str, Field] = {}
    for m in _SECTIONS.finditer(text):
        act = _act_of(m)
        secs = _split_sections(m.group("secs"), act)
        if not secs:
            continue
        start, end = m.start("secs"), m.end("secs")
        if act in _MAIN_ACTS and len(secs) == 1 and secs[0].isdigit() and int(secs[0]) < 10:
            # no IPC or BNS offence is a single digit: a rule's stroke read as 1 between
            # the list and its act ("323/ 504/ 506 1 भा0द0वि0", tuning-ledger t034)
            before = _LIST_BEFORE.search(text[:start])
            if before:
                secs, start, end = _split_sections(before.group("secs"), act), before.start("secs"), before.end("secs")
        if "sections" not in out:
            out["sections"] = _field(span, start, end, ",".join(secs), 0.95)
            out["act"] = _field(span, m.start("act"), m.end("act"), act, 0.95)
        elif act != out["act"].value and "special_act" not in out:
            out["special_act"] = _field(span, m.start("secs"), m.end("act"), f"{'/'.join(secs)} {act}", 0.9)
    if "sections" not in out and column:
        # In the sections column a bare list is the sections ("379/411", the act lost).
        m3 = re.match(rf"[\s.,;:]*(?P<secs>{_SEC}(?:\s?(?:/|,|व)\s?{_SEC})*)(?![\d/])", text)
        if m3 and _plausible_bare(m3.group("secs")):
            out["sections"] = _field(span, m3.start("secs"), m3.end("secs"), ",".join(_split_sections(m3.group("secs"), "")), 0.75)
    if "sections" not in out:
        m2 = _SECTIONS_NO_ACT.search(text)
        if m2 and _plausible_bare(m2.group("secs")):
            out["sections"] = _field(span, m2.start("secs"), m2.end("secs"), ",".join(_split_sections(m2.group("secs"), "")), 0.7)
    return out


# ----------------------------------------------------------------------------- dates

_DATE = re.compile(r"(?<![\d/])(\d{1,2})\s?[-./]\s?(\d{1,2})\s?[-./]\s?(\d{4}|\d{2})(?![\d/])")


# A month written as a word, as registers and letters do ("3 जून 2019", "03 June, 2019",
# "जून 3, 2019"): Hindi names with their common spellings, English names and abbreviations.
MONTHS: dict[str, int] = {}
for _n, _names in enumerate((
        ("जनवरी", "january", "jan"), ("फरवरी", "फ़रवरी", "february", "feb"), ("मार्च", "march", "mar"),
        ("अप्रैल", "अप्रेल", "april", "apr"), ("मई", "may"), ("जून", "june", "jun"),
        ("जुलाई", "july", "jul"), ("अगस्त", "august", "aug"),
        ("सितम्बर", "सितंबर", "september", "sept", "sep"), ("अक्टूबर", "अक्तूबर", "october", "oct"),
        ("नवम्बर", "नवंबर", "november", "nov"), ("दिसम्बर", "दिसंबर", "december", "dec")), 1):
    for _m in _names:
        MONTHS[_m] = _n
_MONTH_WORD = "|".join(sorted(map(re.escape, MONTHS), key=len, reverse=True))
_DATE_NAMED = re.compile(
    rf"(?<![\d/])(\d{{1,2}})(?:st|nd|rd|th)?\s?[-.]?\s?({_MONTH_WORD})\.?\s?[-.,]?\s?(\d{{4}})(?!\d)"
    rf"|(?<![\w])({_MONTH_WORD})\.?\s(\d{{1,2}})(?:st|nd|rd|th)?,?\s(\d{{4}})(?!\d)", re.I)


def _named_dates(span: Span) -> list[tuple[int, int, dt.date]]:
    out = []
    for m in _DATE_NAMED.finditer(span.text):
        d, mo, y = (m.group(1), m.group(2), m.group(3)) if m.group(1) else (m.group(5), m.group(4), m.group(6))
        try:
            out.append((m.start(), m.end(), dt.date(int(y), MONTHS[mo.casefold()], int(d))))
        except (ValueError, KeyError):
            continue
    return out


_DATE_LOOSE = re.compile(r"(?<![\d/])(\d{1,2})\s?[-./]?\s(\d{1,2})\s?[-./]?\s(\d{4}|\d{2})(?![\d/])")
# In the date column each separator may be lost on its own ("13-08 2014", "11 08 2014":
# a ruled ledger's thin hyphens, tuning-ledger t001); a four-digit year only, since
# "11 08 20" could be anything.
_SEP = r"(?:\s?[-./]\s?|\s{1,2})"
_DATE_COLUMN = re.compile(rf"(?<![\d/])(\d{{1,2}}){_SEP}(\d{{1,2}}){_SEP}((?:19|20)\d{{2}})(?![\d/])")


def dates(span: Span, *, column: bool = False, year_hint: int | None = None) -> list[Field]:
    """Every date ("14-03-2019", "14/03/19", "14.03.2019"), value ISO. In the date
    column a separator may be lost ("19/ 09 19") and a 9 read as % (tuning pages).
    YEAR_HINT: the register page's year (a 1 read as 9 in the year is put back)."""
    return _dates(span, column=column, year_hint=year_hint)


def _hinted_year(y: int, hint: int | None) -> int:
    if hint is None or y == hint:
        return y
    if _near_year(y, hint) == hint:
        return hint
    # a two-digit year put in the wrong century by its misread digit ("16/09/94" of 2014)
    if _near_year(hint - hint % 100 + y % 100, hint) == hint:
        return hint
    return y


def _dates(span: Span, *, column: bool = False, year_hint: int | None = None) -> list[Field]:
    out = []
    # In the date column a separator may be read as a colon ("26:02.2008", tuning t007).
    text = re.sub(r"(?<=\d):(?=\d)", ".", span.text.replace("%", "9")) if column else span.text
    if column:
        # a month's second digit set apart ("18-0 6 2010", tuning-ledger t025): joined, its
        # space moved after it so every offset still finds its word
        text = re.sub(r"(?<![\d/])(\d{1,2}[-./]\d) (\d)(?= (?:19|20)\d{2}(?!\d))", r"\1\2 ", text)
    found = list(_DATE.finditer(text))
    if column:
        strict = {m.start() for m in found}
        found += [m for m in _DATE_COLUMN.finditer(text) if not any(m.start() <= s < m.end() for s in strict)
                  and not any(f.start() <= m.start() < f.end() for f in found)]
        found.sort(key=lambda m: m.start())
    if column and not found:
        found = list(_DATE_LOOSE.finditer(text))
    if column and not found:
        # a space inside a number ("11-03-2 020"): read the cell without its spaces
        whole = re.sub(r"\s+", "", text)
        for m in _DATE.finditer(whole):
            try:
                d = dt.date(_year(m.group(3)), int(m.group(2)), int(m.group(1)))
            except ValueError:
                continue
            return [Field(whole[m.start():m.end()], d.isoformat(), [word_box(w) for w in span.words],
                          round(mean_conf(span.words) * 0.8, 3))]
    for m in found:
        got = _valid_date(m.group(3), m.group(2), m.group(1), column, year_hint)
        if got is not None:
            out.append(_field(span, m.start(), m.end(), got[0].isoformat(), 0.95 * got[1]))
    for start, end, d in _named_dates(span):
        if 1900 <= d.year <= dt.date.today().year + 1:
            out.append(_field(span, start, end, d.isoformat(), 0.9))
    # in the order printed: a cell's first date is the one its label names
    return sorted(out, key=lambda f: span.text.find(f.text))


# In the date column, a digit OCR misread where it makes no date (tuning t006, t003):
# a month's 0 read as 9 ("13-93-2020"), a day's 1 read as 3 ("32-03-2020").
_MONTH_0 = {"9": "0", "8": "0", "6": "0"}
_DAY_1 = {"3": "1", "7": "1", "4": "1"}


def _valid_date(y: str, mo: str, d: str, column: bool, year_hint: int | None = None) -> tuple[dt.date, float] | None:
    year = _hinted_year(_year(y), year_hint)
    sure = 1.0 if year == _year(y) else 0.9
    if not 1900 <= year <= dt.date.today().year + 1:  # "2923": a misread, no date
        return None
    try:
        return dt.date(year, int(mo), int(d)), sure
    except ValueError:
        if not column:
            return None
    if len(mo) == 2 and mo[0] in _MONTH_0 and int(mo) > 12:
        mo = _MONTH_0[mo[0]] + mo[1]
    if len(d) == 2 and d[0] in _DAY_1 and int(d) > 31:
        d = _DAY_1[d[0]] + d[1]
    try:
        return dt.date(year, int(mo), int(d)), 0.7 * sure
    except ValueError:
        return None


# A date's label in the cell before it: registers keep the occurrence's and the report's
# dates apart ("दिनांक व समय घटना", "दिनांक व समय सूचना"), often in one cell.
_OCCURRED_LABEL = re.compile(r"(?:[घचध]टना|घ0|वारदात|Occurrence|Occurred|Incident)\s?[:.\-]?\s?$", re.I)
_REPORTED_LABEL = re.compile(r"(?:सूचना|सू0|रिपोर्ट|दर्ज|Report(?:ed)?|Registered|FIR)\s?[:.\-]?\s?$", re.I)


_OCCURRED_HEADING = re.compile(r"[घचध]टना|वारदात|occurrence|occurred|incident", re.I)
_REPORTED_HEADING = re.compile(r"सूचना|रिपोर्ट|दर्ज|report|registered|FIR", re.I)


def date_heading_order(heading: str) -> list[str]:
    """Whose dates a date column's heading names, in its order: ["occurred", "date"] for
    "दिनांक घटना / सूचना", ["date"] for "सूचना की तिथि", [] for a bare "दिनांक"."""
    at = {k: m.start() for k, rx in (("occurred", _OCCURRED_HEADING), ("date", _REPORTED_HEADING))
          if (m := rx.search(heading))}
    return sorted(at, key=lambda who: at[who])


def has_date_label(text: str) -> bool:
    """Whether a cell's text labels a date itself (घटना / सूचना before it)."""
    return any(_OCCURRED_LABEL.search(text[: m.start()]) or _REPORTED_LABEL.search(text[: m.start()])
               for m in _DATE.finditer(text))


def labelled_dates(span: Span, *, column: bool = False, year_hint: int | None = None) -> dict[str, Field]:
    """``date`` (of the report) and ``occurred`` from a run of dates: a date labelled
    घटना / occurrence is the occurrence's, one labelled सूचना / रिपोर्ट / report the
    report's; an unlabelled date is the report's (the register's one date column)."""
    found = dates(span, column=column, year_hint=year_hint)
    out: dict[str, Field] = {}
    report_labelled = False
    prev_end = 0
    for f in found:
        at = span.text.find(f.text, prev_end)
        before = span.text[prev_end:at] if at >= 0 else ""
        if at >= 0:
            prev_end = at + len(f.text)
        if _OCCURRED_LABEL.search(before):
            out.setdefault("occurred", f)
        elif _REPORTED_LABEL.search(before):
            if not report_labelled:  # a labelled report date outranks an unlabelled one
                if column and "date" in out and "occurred" not in out:
                    # in a date cell the other date is the occurrence's, its label misread
                    # ("चटना 09.08.2019 / सूचना 14.08.2019", tuning-ledger t011)
                    out["occurred"] = out["date"]
                out["date"], report_labelled = f, True
        elif "date" not in out:
            out["date"] = f
    return out


# ----------------------------------------------------------------------------- vehicles, engines, chassis, mobiles

STATES = ("AN AP AR AS BR CG CH DD DL GA GJ HP HR JH JK KA KL LA LD MH ML MN MP MZ NL OD OR PB PY RJ SK TN TR TS UK "
          "UP WB").split()
# A rule's stroke may be glued before the state ("1UP 76 T 2312", "LUP-78 NN-8563") and a
# separator read as "_" ("UP_78 B 2776"; tuning-ledger t033, tuning-mixed t010, t014).
_VEHICLE = re.compile(rf"(?:(?<![A-Z0-9])|(?<=(?<![A-Z0-9])[1IL|]))({'|'.join(STATES)})\s?[-._]?\s?(\d{{1,2}})\s?[-._]?\s?([A-Z]{{1,3}})?\s?[-._]?\s?(\d{{4}})(?![A-Z0-9])")


def vehicles(span: Span) -> list[Field]:
    """Registration numbers "UP 74 AB 1234", "UP-74 AB-1234", "UP74AB1234"; value compact."""
    return [_field(span, m.start(), m.end(), "".join(g or "" for g in m.groups()), 0.95) for m in _VEHICLE.finditer(span.text.upper())]


_ENGINE_LABEL = re.compile(r"(?:इंजन\s?(?:नं0|नम्बर|नंबर|सं0|संख्या)?|इं0|Engine\s?(?:No\.?)?)\s?[:.\-]?\s?([A-Z0-9]{6,20})(?![A-Z0-9])", re.I)
_CHASSIS_LABEL = re.compile(r"(?:चेसिस\s?(?:नं0|नम्बर|नंबर|सं0|संख्या)?|चे0|Chassis\s?(?:No\.?)?)\s?[:.\-]?\s?([A-Z0-9]{8,20})(?![A-Z0-9])", re.I)
_CODE = re.compile(r"(?<![A-Z0-9])([A-Z0-9]{6,20})(?![A-Z0-9])")


def _is_code(s: str) -> bool:
    return bool(re.search(r"\d", s)) and bool(re.search(r"[A-Z]", s))


def labelled_code(span: Span, kind: str) -> Field | None:
    """An engine or chassis number after its label (इंजन नं0, इं0, Engine No.)."""
    rx = _ENGINE_LABEL if kind == "engine" else _CHASSIS_LABEL
    for m in rx.finditer(span.text):
        if _is_code(m.group(1).upper()):
            return _field(span, m.start(1), m.end(1), m.group(1).upper(), 0.95)
    return None


# A chassis number is a VIN, and India's begin with M (the world manufacturer codes MA-ME
# are India's: MA1, MAK, MBL, MD2, ME4); an engine number is shorter and free-form.
_VIN = re.compile(r"M[A-Z0-9]{13,19}")


def _codes_in(span: Span) -> list[re.Match[str]]:
    return [m for m in _CODE.finditer(span.text.upper()) if _is_code(m.group(1)) and not _VEHICLE.fullmatch(m.group(1))]


def column_code(span: Span, kind: str) -> Field | None:
    """In an engine or chassis column: its code. A cell that holds both (one column under
    "वाहन / इंजन / चेसिस" where OCR lost the other names, tuning-mixed t007) gives the
    chassis its VIN and the engine the code that is none; a lone code is the column's."""
    found = labelled_code(span, kind)
    if found:
        return found
    codes = _codes_in(span)
    if len(codes) > 1:
        vin = [m for m in codes if _VIN.fullmatch(m.group(1))]
        other = [m for m in codes if not _VIN.fullmatch(m.group(1))]
        pick = (vin or codes[-1:]) if kind == "chassis" else (other or codes[:1])
        codes = pick[:1]
    if codes:
        m = codes[0]
        return _field(span, m.start(1), m.end(1), m.group(1), 0.9)
    return None


# The label may be glued on: "मो०8052237939" folds to "मो08052237939", its abbreviation zero
# standing before the number (tuning-ledger t009).
_MOBILE = re.compile(r"(?:(?<!\d)|(?<=[\u0900-\u097f]0))(?:\+?91[\s-]?)?([6-9]\d{9})(?!\d)")


def mobiles(span: Span) -> list[Field]:
    """Ten-digit Indian mobile numbers; a station's CUG number is not a party's."""
    out = []
    for m in _MOBILE.finditer(span.text):
        if re.search(r"CUG", span.text[max(0, m.start() - 16): m.start()], re.I):
            continue
        out.append(_field(span, m.start(1), m.end(1), m.group(1), 0.95))
    return out


# ----------------------------------------------------------------------------- outcome

OUTCOMES: list[tuple[str, str]] = [
    (r"आरोप\s?पत्र|चार्ज\s?शीट|Charge\s?-?sheet|C\.?\s?S\.?\s?No", "charge_sheet"),
    (r"अन्तिम\s?रिपोर्ट|अंतिम\s?रिपोर्ट|Final\s?Report|एफ0\s?आर0", "final_report"),
    (r"गिरफ्तार|Arrested", "arrested"),
    # विवेचरा: its न read as र (tuning-ledger t012)
    (r"विवेच[नर]ा\s?(?:प्रचलित|जारी|[\u0900-\u097f]+0)|Under\s?investigation", "investigation"),
]


def outcome(span: Span) -> Field | None:
    """What became of the case: charge_sheet, final_report, arrested, investigation
    (the first of these the text names, in that order of finality)."""
    for rx, value in OUTCOMES:
        m = re.search(rx, span.text, re.I)
        if m:
            return _field(span, m.start(), m.end(), value, 0.9)
    return None


# ----------------------------------------------------------------------------- people and places

COMPLAINANT = ("वादी", "वादिनी", "वादी-", "वादिनी-", "बादी", "बादी-", "प्रार्थी", "शिकायतकर्ता", "complainant")
ACCUSED = ("अभि0", "अभि0-", "अभियुक्त", "अभियुक्त-", "accused")
RELATION = {"पुत्र": "पुत्र", "पत्र": "पुत्र", "पुत्री": "पुत्री", "पत्नी": "पत्नी", "पु0": "पुत्र", "प0": "पत्नी", "s/o": "पुत्र",
            "d/o": "पुत्री", "w/o": "पत्नी", "आत्मज": "पुत्र", "आत्मजा": "पुत्री", "पत्नि": "पत्नी", "धर्मपत्नी": "पत्नी",
            "पुत्रवधू": "पुत्रवधू"}
DWELLING = ("नि0", "निवासी", "निवासिनी", "निवासीगण", "साकिन", "सा0", "ग्राम", "r/o")
# Titles a clerk writes before a name ("वादी श्री रमेश पुत्र स्व0 मोहन", "श्रीमती सुनीता
# पत्नी श्री ..."): not part of the name. "of" after son/daughter/wife ("son of X").
HONORIFIC = frozenset({"श्री", "श्रीमती", "सुश्री", "कु0", "कुमारी", "स्व0", "स्वर्गीय", "स्व", "श्रीमान", "sri", "shri",
                       "smt", "late"})
# An alias continues the name: "रमेश उर्फ पप्पू" is one person's name as registers print it.
ALIAS = frozenset({"उर्फ", "उर्फ़", "alias"})
STATION = ("थाना", "कोतवाली")
STOP = set(DWELLING) | set(STATION) | set(ACCUSED) | set(COMPLAINANT) | {
    "जनपद", "जिला", "मो0", "मोबाइल", "उम्र", "आयु", "व", "को", "की", "के", "का", "से", "ने", "द्वारा", "पर", "में", "नाम",
    "अज्ञात", "हाजा", ":", "-", "वाहन", "इंजन", "चेसिस", "तथा", "एवं", "महिला", "सूचना", "घटना"}


@dataclass
class _Tok:
    word: Word
    key: str  # folded, lower-case, no punctuation around it
    comma: bool  # the word ends a phrase (",", "।")


# थाना as OCR reads it on ruled cells (धाना, धोना, थान: tuning-mixed t005, t007, t011); no
# name or place is spelled so.
_STATION_MISREAD = re.compile(r"^(?:[थध][ाो]ना|थान)$")
_KOTWALI_MISREAD = re.compile(r"^को[तद][वब]ाली$")  # कोतबाली (tuning-ledger t011)


# A dwelling label glued to the village by a stroke or a mark OCR read between them
# ("नि0|सरायमीरा", "नि०_मानीमऊ": tuning-mixed t017, t011); so is a village to the station
# word after it ("कूसूमखोर.थाना", tuning-ledger t009).
_GLUED_LABEL = re.compile(r"^(नि[0०]|निवासी|ग्राम)[|_.,:;।-]+(\S{2,})$")
_GLUED_STATION = re.compile(r"^(\S{2,}?)[|_.,:;।-]+(थाना|कोतवाली)$")


def _parted(w: Word) -> list[Word]:
    text = w.text.strip()
    m = _GLUED_LABEL.match(text) or _GLUED_STATION.match(text)
    if m is None:
        return [w]
    cut = round(w.width * len(m.group(1)) / max(1, len(text)))
    return [replace(w, text=m.group(1), width=max(1, cut)),
            replace(w, text=m.group(2), left=w.left + cut, width=max(1, w.width - cut))]


def _toks(words: list[Word]) -> list[_Tok]:
    out = []
    for w in (p for word in words for p in _parted(word)):
        t = tidy(w.text).casefold()
        raw = w.text.strip()
        if not t and raw not in (":", "-"):
            continue
        if _STATION_MISREAD.match(t):
            t = "थाना"
        elif _KOTWALI_MISREAD.match(t):
            t = "कोतवाली"
        elif t not in STOP and t.rstrip("ंः") in STOP:
            t = t.rstrip("ंः")  # "महिलां" (tuning-ledger t025)
        out.append(_Tok(w, t or raw, raw.endswith((",", "।", ";"))))
    return out


# OCR's readings of the relation words and labels on the tuning pages (पुंत्र, पूत्र,
# पुत्रौ; वांदी, वादीः; असात, अञ्ञात for अज्ञात).
# Version 4 adds t016-t023's: पृत्र; प्री, पुवी, पढ्री, पदरी for पुत्री; पल्ली for पत्नी;
# अड्ात; चादी, वाद्टी, वाटी for वादी.
# Version 8 adds tuning-mixed's: पुजी for पुत्री (t005), पूत for पुत्र (t007).
_SON = re.compile(r"^प[ुूृं]{0,2}त्र$|^प[ुू]त$")
_DAUGHTER = re.compile(r"^प[ुूृं]{0,2}(?:त्र|्र|व|ढ्र|दर|ज|ब्र)[ीौि]$")
# पन्नी, पर्त्न for पत्नी, पब्री for पुत्री (tuning-ledger t018, t021, t028, t033).
_WIFE = re.compile(r"^प(?:[त्ल]्?न|ल्ल|न्न)[ीि]$|^पर्त्नी?$")
_UNKNOWN = re.compile(r"^अ[ज्ञञसशड्]{1,4}ात$")
_COMPLAINANT_MISREAD = re.compile(r"^[वबच]ा(?:द्?ट?|ट|ड)ी$")


def _is_complainant(key: str) -> bool:
    k = _label(key)
    return k in COMPLAINANT or bool(_COMPLAINANT_MISREAD.match(k))


def relation_of(key: str) -> str | None:
    if key in RELATION:
        return RELATION[key]
    for rx, rel in ((_SON, "पुत्र"), (_DAUGHTER, "पुत्री"), (_WIFE, "पत्नी")):
        if rx.match(key):
            return rel
    return None


def _label(key: str) -> str:
    return re.sub(r"[ंःँ]", "", key).rstrip("-")


# One letter with its vowel sign ("ज", "ति"): a rule's or stamp's crumb, no part of a name.
_ONE_LETTER = re.compile(r"^[\u0915-\u0939\u0905-\u0914][\u093c]?[\u093e-\u094c\u0901-\u0903]?$")


def _is_name_word(t: _Tok) -> bool:
    return (bool(t.key) and t.key not in STOP and not _UNKNOWN.match(t.key) and not re.search(r"\d", t.key)
            and bool(re.search(r"[\u0900-\u097fa-z]", t.key)) and not _ONE_LETTER.match(t.key))


def _phrase(toks: list[_Tok], i: int, most: int) -> tuple[list[_Tok], int]:
    """Name words from toks[i] on: up to MOST, stopping at a stop word, a digit or a comma."""
    out: list[_Tok] = []
    while i < len(toks) and toks[i].key in HONORIFIC:
        i += 1
    while i < len(toks) and len(out) < most and _is_name_word(toks[i]) and relation_of(toks[i].key) is None \
            and not _is_complainant(toks[i].key) and _label(toks[i].key) not in ACCUSED \
            and not (out and toks[i].key.isascii() and not any(t.key.isascii() for t in out)):
        # (a Latin crumb after a Devanagari name, "मुकेश दीक्षित fe", is a rule's or
        # stamp's remnant: tuning-ledger t001, t004, t031)
        out.append(toks[i])
        i += 1
        if out[-1].comma:
            break
        # "X उर्फ Y": the alias and the name after it belong to this name, past MOST
        if i + 1 < len(toks) and toks[i].key in ALIAS and _is_name_word(toks[i + 1]):
            out.append(toks[i])
            most += 2
            i += 1
    return out, i


# Tesseract's misreadings inside names on the tuning pages: श as ञ्च or a final जञ
# (कमलेञ्चः, सुरेजञ for कमलेश, सुरेश), a colon or speck after the word as a final visarga or anusvara (अजयः,
# झाक्यं): no name in a register ends in either, and ञ्च is in none.
_NAME_FIXES = ((re.compile(r"ञ्च|जञ$"), "श"), (re.compile(r"(?<=[\u0915-\u0939\u093e-\u094c\u093c])[ंः]+$"), ""))


def name_value(word: str) -> str:
    """A name word as compared: tidied, with the misreadings above undone, and a word
    one letter from exactly one known name or place (ingest/lexicon: names, villages,
    stations; never built from held-out pages) taken for it (राठोर -> राठौर)."""
    v = tidy(word)
    for rx, to in _NAME_FIXES:
        v = rx.sub(to, v)
    return _known_name(v)


def _word_list(path: Path) -> frozenset[str]:
    """The words of a word-list data file (NFC; "#" lines are comments)."""
    return frozenset(w for line in path.read_text(encoding="utf-8").splitlines()
                     if line.strip() and not line.startswith("#")
                     for w in unicodedata.normalize("NFC", line.strip()).split())


@lru_cache(maxsize=1)
def _name_lexicon() -> dict[int, frozenset[str]]:
    from ingest.gazetteer import LEXICON_DIR

    words = set().union(*(_word_list(LEXICON_DIR / name) for name in ("names.txt", "villages.txt", "stations.txt")))
    by: dict[int, set[str]] = {}
    for w in words:
        by.setdefault(len(w), set()).add(w)
    return {n: frozenset(ws) for n, ws in by.items()}


# A doubled consonant's stacked half OCR loses ("गुडू" for गुड्डू, "मुना" for मुन्ना: the
# conjunct is drawn as one glyph in most Devanagari fonts; tuning-mixed t010, t013, t017).
_GEMINATE = re.compile(r"([\u0915-\u0939])\u094d\1")


@lru_cache(maxsize=1)
def _geminates() -> dict[str, str]:
    """Known names with a doubled consonant, keyed by their reading with it single; a
    reading two names share is no key."""
    by: dict[str, set[str]] = {}
    for words in _name_lexicon().values():
        for w in words:
            single = _GEMINATE.sub(r"\1", w)
            if single != w:
                by.setdefault(single, set()).add(w)
    known = set().union(*_name_lexicon().values())
    return {k: next(iter(v)) for k, v in by.items() if len(v) == 1 and k not in known}


@lru_cache(maxsize=4096)
def _known_name(v: str) -> str:
    from ingest.gazetteer import _distance_one

    table = _name_lexicon()
    if len(v) < 3 or not re.fullmatch(r"[\u0900-\u097f]+", v) or v in table.get(len(v), ()):
        return v
    if v in _geminates():
        return _geminates()[v]
    near = [w for n in (len(v) - 1, len(v), len(v) + 1) for w in table.get(n, ()) if _distance_one(v, w)]
    return near[0] if len(near) == 1 else v


def _tok_field(toks: list[_Tok], sure: float) -> Field:
    words = [t.word for t in toks]
    return Field(" ".join(w.text for w in words), " ".join(name_value(w.text) for w in words).strip(),
                 [word_box(w) for w in words], round(mean_conf(words) * sure, 3))


def _skip_punct(toks: list[_Tok], i: int) -> int:
    while i < len(toks) and toks[i].key in (":", "-", "नाम"):
        i += 1
    return i


@lru_cache(maxsize=1)
def _surnames() -> frozenset[str]:
    return _word_list(Path(__file__).with_name("surnames.txt"))


def _family_name_end(name: list[_Tok]) -> int | None:
    """Where a second person starts in NAME: after an earlier reading of its last word
    (the family name both share), when a name word at least stands either side; or
    after a family name a given name follows ("प्रमोद लोधी राम किशोर", tuning-ledger t014)."""
    last = name[-1].key
    for k in range(1, len(name) - 2):
        if name[k].key == last:
            return k + 1
    values = [name_value(t.word.text) for t in name]
    for k in range(1, len(name) - 1):
        if values[k] in _surnames() and values[k + 1] not in _surnames() and len(values[k + 1]) > 2:
            return k + 1
    return None


def person_at(toks: list[_Tok], i: int, prefix: str, out: dict[str, Field], sure: float, *, lead: int = 0) -> int:
    """NAME (पुत्र|पुत्री|पत्नी RELATIVE)? (नि0 VILLAGE)? (thana STATION)? from toks[i],
    past up to LEAD words that are no name (a code a column gap did not part)."""
    i = _skip_punct(toks, i)
    while lead and i < len(toks) and not _is_name_word(toks[i]):
        i, lead = i + 1, lead - 1
    name, i = _phrase(toks, i, 4)
    if not name:
        return i
    rel_word = relation_of(toks[i].key) if i < len(toks) else None
    cut = _family_name_end(name) if rel_word is None else None
    if cut is not None:
        # the relation word lost: "अमित मिश्रा प्रमोद मिश्रा" is a name and its father's,
        # each ending in the family's name (tuning-ledger t002, t029)
        out[f"{prefix}.name"] = _tok_field(name[:cut], sure)
        out[f"{prefix}.relative"] = _tok_field(name[cut:], sure)
        return i
    out[f"{prefix}.name"] = _tok_field(name, sure)
    if rel_word is not None:
        out[f"{prefix}.relation"] = Field(toks[i].word.text, rel_word, [word_box(toks[i].word)], 0.9)
        rel, i = _phrase(toks, i + 1, 4)
        if rel:
            out[f"{prefix}.relative"] = _tok_field(rel, sure)
    return i


def place_fields(toks: list[_Tok], start: int, end: int, prefix: str, out: dict[str, Field], sure: float) -> None:
    """Village (after नि0 / निवासी / ग्राम) and police station (थाना X, कोतवाली X)
    between toks[start:end]."""
    i = start
    while i < end:
        k = toks[i].key
        if k in DWELLING and f"{prefix}.village" not in out:
            j = _skip_punct(toks, i + 1)
            while j < end and toks[j].key in DWELLING:
                j += 1
            village, j = _phrase(toks[:end], j, 3)
            if village:
                out[f"{prefix}.village"] = _tok_field(village, sure)
            i = j
            continue
        if k in STATION and f"{prefix}.station" not in out:
            j = _skip_punct(toks, i + 1)
            name, j2 = _phrase(toks[:end], j, 1)
            if name:
                st = _tok_field(name, sure)
                if k == "कोतवाली":
                    st = Field(f"{toks[i].word.text} {st.text}", f"कोतवाली {st.value}", [word_box(toks[i].word), *st.boxes], st.confidence)
                elif i > 0 and toks[i - 1].key == "महिला":
                    st = Field(f"महिला थाना {st.text}", f"महिला थाना {st.value}", st.boxes, st.confidence)
                out[f"{prefix}.station"] = st
            i = j2
            continue
        i += 1


# A names cell's line opens with its label; OCR read नि0 as Latin (fo, Flo, to on the
# tuning registers) and अभि0- as अभि80-, 3ipto-, aIpyo-.
_LATIN_DWELLING = re.compile(r"^[a-z]{1,3}[0o]?$")
_ACCUSED_MISREAD = re.compile(r"^(?:अभि[\u0900-\u097f0-9]{0,3}|[a-z0-9]{2,6})$")


def _cell_labels(toks: list[_Tok]) -> None:
    """In a table's names cell: a line's first token read as Latin junk where नि0 or
    अभि0- stands is taken for that label (the cell's lines are NAME..., नि0 ..., अभि0- ...)."""
    seen_person = False
    for i, t in enumerate(toks):
        if relation_of(t.key) is not None:
            seen_person = True
        starts = i == 0 or toks[i - 1].word.line != t.word.line
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if not starts or nxt is None or not _is_name_word(nxt) or _is_complainant(t.key) or _label(t.key) in ACCUSED:
            continue
        if t.key in DWELLING:
            continue
        raw = t.word.text.strip()
        if seen_person and raw.endswith(("-", "–")) and _ACCUSED_MISREAD.match(t.key):
            t.key = "अभि0"
        elif seen_person and _LATIN_DWELLING.match(t.key):
            t.key = "नि0"


def people(words: list[Word], *, first_is_complainant: bool, sure: float = 0.9) -> dict[str, Field]:
    """Complainant and accused: labelled (वादी- / अभि0-), or in a names column the first
    person unlabelled; each with name, relation, relative, village and station."""
    toks = _toks(words)
    if first_is_complainant:
        _cell_labels(toks)
    out: dict[str, Field] = {}
    marks: list[tuple[int, str]] = []
    for i, t in enumerate(toks):
        if _is_complainant(t.key):
            marks.append((i, "complainant"))
        elif _label(t.key) in ACCUSED:
            marks.append((i, "accused"))
    if first_is_complainant and (not marks or marks[0][1] != "complainant"):
        marks.insert(0, (-1, "complainant"))
    for n, (i, role) in enumerate(marks):
        if f"{role}.name" in out:
            continue
        end = marks[n + 1][0] if n + 1 < len(marks) else len(toks)
        found: dict[str, Field] = {}
        j = person_at(toks, i + 1, role, found, sure, lead=2 if i < 0 else 0)
        # A label followed by no "X पुत्र Y" (वादी से, वादी को) names nobody in a letter.
        if f"{role}.name" not in found or (not first_is_complainant and f"{role}.relation" not in found):
            continue
        place_fields(toks, j, end, role, found, sure)
        out.update(found)
    return out


# A letter names the accused in its narrative, unlabelled: "... को पप्पू द्वारा रास्ते के
# विवाद को लेकर वादी को ...", "गाँव के ही मनोज कुशवाहा ने ... वादी के साथ" (tuning
# letters): the name words just before ने / द्वारा, with वादी a few words on.
_AGENT = {"ने", "द्वारा"}
_NOT_AGENT = {"ही", "कि", "गाँव", "गांव", "अनुसार", "तहरीर", "हाजा", "उक्त", "उपरोक्त", "श्रीमान", "महोदय", "अज्ञात", "चोर", "चोरों"}


def narrative_accused(words: list[Word], known: dict[str, Field], sure: float = 0.75) -> dict[str, Field]:
    toks = _toks(words)
    taken = {known[k].value for k in ("complainant.name", "complainant.relative", "complainant.village", "complainant.station")
             if k in known}
    for i, t in enumerate(toks):
        if t.key not in _AGENT or not any(_is_complainant(x.key) for x in toks[i + 1:i + 9]):
            continue
        j = i
        while j > 0 and i - j < 3 and _is_name_word(toks[j - 1]) and toks[j - 1].key not in _NOT_AGENT \
                and relation_of(toks[j - 1].key) is None and not toks[j - 1].comma:
            j -= 1
        name = toks[j:i]
        # the agent opens its clause: after को (a date's), ही (गाँव के ही), कि, अनुसार
        if not name or j == 0 or not (toks[j - 1].key in ("को", "ही", "कि") or toks[j - 1].key.endswith("सार")):
            continue
        f = _tok_field(name, sure)
        if f.value in taken or any(f.value in v for v in taken):
            continue
        return {"accused.name": f}
    return {}


def station_of(words: list[Word]) -> Field | None:
    found: dict[str, Field] = {}
    toks = _toks(words)
    place_fields(toks, 0, len(toks), "page", found, 0.8)
    return found.get("page.station")
