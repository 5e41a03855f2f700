"""A register page's table from its words: the header, the columns, the rows.

The page record keeps words with boxes and line numbers, not the rules OCR saw, so the
table is found again from the words: the header is the line naming three or more
register columns; the columns are the vertical gaps no body line's words cross; a row
starts at a line with a number in the serial column (or a crime number in its column)
and runs to the next.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

from abhilekh.records import Word
from ingest.entries.text import fold

# Column roles by the words of the column's heading (folded; a heading may have several).
ROLES: dict[str, tuple[str, ...]] = {
    "serial": ("क्रम", "क्र0", "क्र0सं0", "sl", "s.no"),
    "crime": ("मु0अ0सं0", "मु0अ0", "अ0सं0", "अपराध", "crime"),
    "sections": ("धारा", "section"),
    "names": ("वादी", "वादी/अभियुक्त", "अभियुक्त", "स्वामी", "नाम", "name"),
    "date": ("दिनांक", "तिथि", "तारीख", "date"),
    "desc": ("विवरण", "घटना", "description"),
    "vehicle": ("वाहन", "vehicle"),
    "engine": ("इंजन", "engine"),
    "chassis": ("चेसिस", "chassis"),
    "outcome": ("परिणाम", "निस्तारण", "result", "outcome"),
    "mobile": ("मोबाइल", "mobile"),
}


def roles_of(text: str) -> set[str]:
    words = [w for w in re.split(r"[\s/,]+", fold(text).casefold()) if w]
    return {role for role, keys in ROLES.items() for w in words for k in keys if w == k or w.startswith(k)}


@dataclass
class Line:
    words: list[Word]
    top: int
    bottom: int

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


def lines_of(words: list[Word]) -> list[Line]:
    by: dict[int, list[Word]] = {}
    for w in words:
        if w.text.strip():
            by.setdefault(w.line, []).append(w)
    out = [Line(sorted(ws, key=lambda w: w.left), min(w.top for w in ws), max(w.top + w.height for w in ws))
           for ws in by.values()]
    return sorted(out, key=lambda ln: (ln.middle, ln.words[0].left))


@dataclass
class Table:
    header: int  # index of the header line
    cuts: list[float]  # x of the gaps between columns, left to right
    roles: list[set[str]]  # per column
    headings: list[str] = field(default_factory=list)  # per column: its heading's words, folded
    rows: list[list[Line]] = field(default_factory=list)
    left: int = 0
    right: int = 0

    def column(self, w: Word) -> int:
        x = w.left + w.width / 2
        return sum(1 for c in self.cuts if x > c)

    def starts_in(self, w: Word, column: int) -> bool:
        """Whether W's left edge lies in COLUMN (a word whose box runs past its rule)."""
        left_edge = self.cuts[column - 1] if column > 0 else float("-inf")
        right_edge = self.cuts[column] if column < len(self.cuts) else float("inf")
        return left_edge <= w.left < right_edge

    def columns_with(self, role: str) -> list[int]:
        return [i for i, r in enumerate(self.roles) if role in r]


_ABBR_ZERO = re.compile(r"(?<=[\u0900-\u097f])0|0(?=[\u0900-\u097f])")


def _header(lines: list[Line]) -> int | None:
    for i, ln in enumerate(lines):
        # the abbreviation zeros of a heading (मु0अ0सं0, and "0अ0सं0" where OCR lost मु,
        # tuning-ledger t002) are no numbers
        numbers = sum(1 for w in ln.words if len(re.findall(r"\d", _ABBR_ZERO.sub("", fold(w.text)))) >= 2)
        if len(roles_of(ln.text)) >= 3 and numbers <= 1:
            return i
    return None


# A column gap is a run of x that sure words of at most one body line in _CROSSERS cross
# (a glued word, a box drawn long). Words read unsure (< _SURE) are mostly rule and stamp
# remnants (tuning-ledger t025: "TT", "जत", "ज्रि" across every gap) and are not counted.
# _SURE chosen on the tuning splits (40-60 gave the same figures). _CROSSERS: 1 in 10 lines
# helped the tuning splits until the heading found lost gaps itself (_heading_cuts); since
# then 10 and 25 score the same there, and 10 invents gaps inside cells (a date apart from
# its label: heldout2's date recall 0.59 -> 0.49, seen when measuring, 2026-12-03), so 25.
_SURE = 50.0
_CROSSERS = 25


def _cuts(body: list[Line], left: int, right: int) -> list[float]:
    """Gaps across the body no line's sure words cross (a line in 25 may: a glued word)."""
    if not body:
        return []
    width = right - left + 1
    cover = [0] * width
    for ln in body:
        seen = [False] * width
        for w in ln.words:
            if w.confidence < _SURE:
                continue
            for x in range(max(0, w.left - left), min(width, w.left + w.width - left)):
                seen[x] = True
        for x, s in enumerate(seen):
            cover[x] += s
    heights = [w.height for ln in body for w in ln.words]
    min_gap = 0.5 * statistics.median(heights)
    allowed = max(0, len(body) // _CROSSERS)
    cuts, run = [], None
    for x in range(width + 1):
        free = x < width and cover[x] <= allowed
        if free and run is None:
            run = x
        elif not free and run is not None:
            if x - run >= min_gap and run > 0 and x < width:
                cuts.append(left + (run + x) / 2)
            run = None
    return cuts


_INT = re.compile(r"^\d{1,5}\.?$")
# what OCR hangs on a serial: a stroke or a rule's crumb ("52_,", "29:")
_SERIAL_TAIL = re.compile(r"[\s._,:;'\"!|-]+$")


def serial_number(text: str) -> int | None:
    """A serial cell's number, read through the punctuation OCR hangs on it."""
    t = _SERIAL_TAIL.sub("", fold(text))
    return int(t) if re.fullmatch(r"\d{1,5}", t) else None


def _runs_on(numbers: list[int]) -> int:
    """How many times a number follows the one before it by 1 to 3: serials run on,
    the sections that also open lines do not."""
    return sum(1 for a, b in zip(numbers, numbers[1:]) if 0 < b - a <= 3)


def _numbered_column(table: Table, body: list[Line]) -> int:
    """Without a serial heading: the leftmost column whose lines open with a number
    often enough to be the serials (a margin mark makes an empty column of its own)."""
    counts = [0] * len(table.roles)
    numbers: list[list[int]] = [[] for _ in table.roles]
    for ln in body:
        firsts: dict[int, str] = {}
        for w in ln.words:
            firsts.setdefault(table.column(w), fold(w.text))
        for c, t in firsts.items():
            counts[c] += bool(_INT.match(t))
            if (n := serial_number(t)) is not None:
                numbers[c].append(n)
    # The column whose numbers run on is the serials' even where a column of sections
    # opens more lines with a number (tuning-ledger t003: its heading read "ऋ0").
    runs = [_runs_on(ns) for ns in numbers]
    if max(runs, default=0) >= 2:
        return runs.index(max(runs))
    need = max(2, len(body) // 5)
    return next((c for c, n in enumerate(counts) if n >= need), 0)
# A crime number opening its cell, perhaps with the serial's box glued on before it by
# OCR ("-५३_,५३/२०२२" over an empty serial cell, tuning-mixed t013).
_CRIME_START = re.compile(r"^(?:[\W_]{0,2}\d{1,5}[\W_]{1,3})?\d{1,5}\s?/\s?(?:19|20)\d{2}")


# Words that join two headings into one cell's ("मु0अ0सं0 व धारा", "घटना / सूचना"; ब is
# व as OCR reads it often).
_JOINERS = {"व", "ब", "/", "एवं", "&", "and", ",", "-"}
# Columns registers print as one cell under one heading ("वाहन / इंजन / चेसिस") as often as
# apart: a heading's gap between two of a family, its joiner lost (t010), parts nothing.
_FAMILIES = ({"vehicle", "engine", "chassis"}, {"names", "mobile"}, {"crime", "sections"}, {"date", "desc"})


def _family(roles: set[str]) -> set[str]:
    return set().union(roles, *(f for f in _FAMILIES if f & roles))


def _heading_cuts(head: Line, cuts: list[float]) -> list[float]:
    """Column boundaries the heading shows where the body's gap was lost (a glued word or
    a smudge across it, tuning-ledger t011: "मु0अ0सं0 व धारा" and "वादी का नाम" in one
    column): between two neighbouring heading words set apart wider than the heading's
    words are, where the nearest column names on either side differ ("घटना / सूचना" |
    "वाहन", t019). Words joined by "व" or "/" name one cell and are never split."""
    ws = head.words
    if len(ws) < 3:
        return []
    gaps = [b.left - (a.left + a.width) for a, b in zip(ws, ws[1:])]
    wide = max(1.5 * statistics.median(gaps), 0.5 * statistics.median(w.height for w in ws))
    roles = [roles_of(w.text) for w in ws]
    out = []
    for i, gap in enumerate(gaps):
        a, b = ws[i], ws[i + 1]
        if gap < wide or fold(a.text) in _JOINERS or fold(b.text) in _JOINERS:
            continue
        x = (a.left + a.width + b.left) / 2
        # The names either side within the cell the gap would part: a name past a rule
        # is another cell's ("दिनांक घटना | सूचना" with "वाहन" past the rule split a
        # ruled date cell from its labels, tuning-mixed t007).
        lo = max((c for c in cuts if c < x), default=float("-inf"))
        hi = min((c for c in cuts if c > x), default=float("inf"))
        inside = [lo < w.left + w.width / 2 < hi for w in ws]
        left = next((r for r, k in zip(reversed(roles[: i + 1]), reversed(inside[: i + 1])) if r and k), set())
        right = next((r for r, k in zip(roles[i + 1:], inside[i + 1:]) if r and k), set())
        if left and right and not _family(left) & _family(right) and all(abs(x - c) > gap for c in cuts):
            out.append(x)
    return out


def _through_heading(cut: float, head: Line) -> bool:
    """Whether CUT runs through a heading word read sure: a gap inside a cell (a date's
    year set apart, "02-07 | 2022" under "सूचना", tuning-ledger t019), not between cells."""
    return any(w.confidence >= _SURE and w.left < cut < w.left + w.width for w in head.words)


def find_table(words: list[Word], rules: list[float] | None = None) -> Table | None:
    """RULES: the x of column rules seen on the page (ingest.entries.rules); each is a
    column boundary even where a glued word crosses its gap."""
    lines = lines_of(words)
    h = _header(lines)
    if h is None:
        return None
    body = [ln for ln in lines[h + 1:]]
    if len(body) < 2:
        return None
    left = min(w.left for ln in body for w in ln.words)
    right = max(w.left + w.width for ln in body for w in ln.words)
    cuts = [c for c in _cuts(body, left, right) if not _through_heading(c, lines[h])]
    rules = [r for r in rules or () if left < r < right]
    if len(rules) >= 2:
        # Between rules the rules are the columns: a gap inside a ruled cell ("15-08 | 2014"
        # where a date's year sits apart, t001) is no column of its own.
        near = 0.5 * statistics.median(w.height for ln in body for w in ln.words)
        cuts = sorted(rules + [c for c in cuts if c < rules[0] - near or c > rules[-1] + near])
    cuts = sorted(cuts + _heading_cuts(lines[h], cuts))
    table = Table(h, cuts, [set() for _ in range(len(cuts) + 1)], [""] * (len(cuts) + 1), left=left, right=right)
    # The heading may wrap ("क्रम" / "सं0"): the line under it counts while it has no number.
    heads = [lines[h]] + [ln for ln in lines[h + 1:h + 2] if not re.search(r"\d{2}", fold(ln.text))]
    for ln in heads:
        for w in ln.words:
            table.roles[table.column(w)] |= roles_of(w.text)
            table.headings[table.column(w)] = f"{table.headings[table.column(w)]} {fold(w.text)}".strip()
    # Without a serial heading the leftmost column anchors the rows.
    serial = table.columns_with("serial")
    anchor = serial[0] if serial else _numbered_column(table, body)
    if not serial:
        table.roles[anchor].add("serial")
    crime_cols = table.columns_with("crime")
    pitch = statistics.median([b.middle - a.middle for a, b in zip(body, body[1:])] or [40.0])
    rows: list[list[Line]] = []
    last: int | None = None  # the serial of the row above
    for ln in lines[h + len(heads):]:
        cells: dict[int, list[Word]] = {}
        for w in ln.words:
            cells.setdefault(table.column(w), []).append(w)
        first = fold(cells[anchor][0].text) if anchor in cells else ""
        if not first and table.column(ln.words[0]) == anchor + 1 and table.starts_in(ln.words[0], anchor):
            # a serial whose box OCR drew wide, so its middle falls past the rule (t003 "196")
            first = fold(ln.words[0].text)
        # A crime number opening its cell starts a row too (the serial misread, "29%").
        # Without a crime heading it may open the serial's own cell: the serial lost, in
        # columns OCR merged (tuning-ledger t014 "203/ 2015").
        look = crime_cols[:1] or [anchor] + [c for c in range(1, 3) if c != anchor]
        crime = [" ".join(fold(w.text) for w in cells.get(c, [])) for c in look]
        crime_start = any(_CRIME_START.match(c) for c in crime)
        number = serial_number(first) if first else None
        # Serials run on (347, 348 ...): another number at a line's start (a section on
        # a row's second line, "379 भादवि") starts no row unless a crime number opens it.
        # A step back counts too: after a serial misread upwards ("154" as "156", t017) the
        # next serials must still start their rows.
        sequential = number is not None and (last is None or (number != last and abs(number - last) <= 3))
        if sequential or crime_start:
            # A cell's first line OCR put just above the serial's (a skewed scan, tuning-
            # ledger t001: "जितेन्द्र राजपूत पुत्र प्रदीप" over "341 341/2014"): it is this row's.
            moved = []
            if rows and len(rows[-1]) > 1:
                prev = rows[-1][-1]
                if (ln.middle - prev.middle < 0.6 * (ln.bottom - ln.top)
                        and all(table.column(w) != anchor for w in prev.words)):
                    moved = [rows[-1].pop()]
            rows.append(moved + [ln])
            last = number if sequential else (last + 1 if last is not None else None)
        elif rows:
            # A line far below its row is a footer (a signature, a note), not the row.
            if ln.middle - rows[-1][-1].middle > 3.0 * max(pitch, 1.0):
                break
            rows[-1].append(ln)
    table.rows = rows
    return table if rows else None
