"""Codes on their skeleton: engine / chassis / mobile / file numbers, loose crime and
vehicle keys that survive the letters and marks OCR misreads.

The exact reading of a code is its folded tokens in order (``search.query`` asks for
them as a phrase, in the first tier). These keys are the second tier's, indexed in the
``loose`` field (``index_loose``) and asked for by ``query_loose``:

``ck<skeleton>``  a code of 8-24 letters and digits (with at least 3 digits), typed as
    one word or spread over up to 5 words of one line, with its separators dropped and
    the letters OCR confuses with digits read as those digits (``CLASSES``): HA10EJ0444777,
    "HAIOEJ 0444777" and "HA1OEJ0444777" all give ``ckh4101e10444777``. A 12-digit
    number starting 91 or an 11-digit one starting 0 is also keyed on its last 10
    digits (a mobile number with its country or trunk prefix).

``ct<nnnnn>``  the last five digits of such a code with letters of ``TAIL_MIN`` or more
    characters (an engine or chassis serial), when they end it: what is left when OCR
    garbled its letters.

``dg<a>n<b>``  the last two digit groups (2+ digits each) of a code that has letters,
    after the same reading (SP/KNJ/PRO/2013/989 -> ``dg2013n989``): a file number whose
    letters OCR garbled ("CO-AL/185/2012") still meets the one typed.

``cr<n>y<yyyy>``  crime numbers as OCR breaks them in register tables: the slash read
    as a space ("447 2023"), glued ("3312015"), read as one more digit ("4474 2023",
    "1193 2006"), or with a stray leading digit. Every reading is a key here; the exact
    reading stays in ``folded`` (and a bare N/YYYY's stray-digit key in ``translit``,
    ``stray_crime_keys``), so it ranks first.

``vh<d>n<nnnn>``  vehicle numbers re-read with the letters next to digits taken as the
    digits OCR confuses them with ("UP7SUY6855" -> UP75UY6855); crime numbers are
    re-read so too ("74V/2015" -> 741/2015), and a year that lost a digit ("262/201")
    is read as each year the page itself names that it could be; so is a year no
    register holds (``YEARS``), one digit misread or read in ("274/2911" on a page of
    2011: dotted zeros of typewriter faces read as 9).

``CLASSES`` was measured on the tuning pages' OCR against their truth
(bench/quality_corpus.py): 0/o, 1/i/l/t/j, 5/s, 4/a, 2/z were the letter-for-digit
confusions that occurred there (and ] for J, v for 1 next to a digit); b/8 and g/6 are
Tesseract's classic shape confusions, added for issue 11 (not seen on the tuning pages;
no held-out page was looked at); T read for 7 (``ALSO``), } { ) for J and quotes inside
a code occurred on the tuning pages. Only letters are merged with digits, never a
digit with another digit: a code one digit off stays another code.
"""

from __future__ import annotations

import re
from functools import lru_cache

from search.normalise.notation import Notation, notations
from search.normalise.vehicle import vehicle_notations

__all__ = ["CLASSES", "code_skeleton", "index_loose", "query_loose"]

CLASSES = str.maketrans({"o": "0", "i": "1", "l": "1", "t": "1", "j": "1", "s": "5", "a": "4", "z": "2",
                         "b": "8", "g": "6"})
# A letter OCR also reads for another digit than its class's: its page skeleton is
# indexed with each reading (at most ``MAX_ALSO`` such letters per code), a query's
# with the class's only. T for 7 ("UPT8MR9651" for UP78MR9651) on the tuning pages.
ALSO = {"t": "7"}
MAX_ALSO = 2
# Marks OCR reads for letters inside a code: ] [ } { ) | ! for J / I / l / 1, \/ for V.
_MARKS_AS = (("\\/", "v"), ("]", "j"), ("[", "j"), ("}", "j"), ("{", "j"), (")", "j"), ("|", "1"), ("!", "1"))
# Letters taken as digits only next to a digit, for re-reading vehicle numbers (not
# "a": UP80EA0088 would lose its series).
_NEAR_DIGIT = str.maketrans({"o": "0", "i": "1", "l": "1", "t": "1", "v": "1", "s": "5", "z": "2"})
CODE_MIN, CODE_MAX = 8, 24
CODE_MIN_DIGITS = 3
TAIL_MIN = 11  # engine and chassis numbers; a vehicle number has at most 10
MAX_RUN = 5  # words of one line a code may be spread over (SP KNJ PRO 2013 989)

_CODE_WORD = re.compile(r"^[a-z0-9]+(?:[/\-.]?[a-z0-9]+)*$")
_CODE_JUNK = re.compile(r"[\\%:;,'`\u2018\u2019\u201c\u201d]")
_EDGE = re.compile(r"^[^a-z0-9]+|[^a-z0-9]+$")
_DIGITS = re.compile(r"\d+")
_NOT_ALNUM = re.compile(r"[^a-z0-9]")
_A_DIGIT = re.compile(r"\d")
_DROP_DIGITS = str.maketrans("", "", "0123456789")
_TAIL = re.compile(r"(\d{5})$")
# a number, a gap of spaces (and at most two marks) on the same line, then four digits;
# the lookahead lets "447 4474 2023" give both pairs
# (or the slash misread as one or two marks: "890; 2023", "259% 2011", "260/.2011";
# never a lone slash: a number written N/YYYY is notations' and keeps its leading digit)
_NUMBER_PAIR = re.compile(
    r"(?<![\d/.\-])(?=(\d{1,5})(?:[ \t]+(?:[^\w\n]{0,2}[ \t]*)?|(?!/[ \t]*\d)[;%|/.,:]{1,2}[ \t]*)(\d{4})(?![\d/.\-]))")
_GLUED = re.compile(r"(?<![\d/.\-])(\d{5,9})(?![\d/.\-])")
_LETTER_NEAR_DIGIT = re.compile(r"(?<=\d)[oiltvsz]|[oiltvsz](?=[\d/])")
# a number and a year of 3-5 digits: one that lost a digit ("262/201") or, when no
# register holds it, one misread (2011 read 2911) or with a digit read in (20913)
_ODD_YEAR = re.compile(r"(?<![\d/.\-])(\d{1,5})[ \t]*/[ \t]*(\d{3,5})(?![\d/])")
# The years a register's crime number can carry; a year outside them was misread.
YEARS = (1900, 2035)
_PAGE_YEAR = re.compile(r"(?<!\d)(19\d\d|20\d\d)(?!\d)")


def code_skeleton(text: str) -> str:
    """Letters and digits of ``text`` (lower case), the confusable letters as digits."""
    return re.sub(r"[^a-z0-9]", "", text.lower()).translate(CLASSES)


def _code_words(line: str) -> list[str | None]:
    """Each whitespace word of a folded-characters line: the word without edge
    punctuation, with the marks OCR reads for letters read back as letters and other
    marks inside it dropped, when it is then made of Latin letters, digits and / - .
    only; else None."""
    out: list[str | None] = []
    for raw in line.split():
        word = raw
        for mark, letter in _MARKS_AS:
            if mark in word:
                word = word.replace(mark, letter)
        word = _EDGE.sub("", _CODE_JUNK.sub("", word))
        out.append(word if word and _CODE_WORD.match(word) else None)
    return out


def _readings(joined: str) -> list[str]:
    """The skeletons of a page's code (letters and digits, lower case): the class
    reading first, then those with ``ALSO``'s other digit for some of its letters."""
    out = [joined.translate(CLASSES)]
    at = [i for i, c in enumerate(joined) if c in ALSO][:MAX_ALSO]
    for mask in range(1, 1 << len(at)):
        chars = list(out[0])
        for k, i in enumerate(at):
            if mask >> k & 1:
                chars[i] = ALSO[joined[i]]
        out.append("".join(chars))
    return out


def _skeleton_keys(skeleton: str, letters: bool) -> list[str]:
    keys = [f"ck{skeleton}"]
    tail = _TAIL.search(skeleton)
    if letters and tail and len(skeleton) >= TAIL_MIN:
        keys.append(f"ct{tail.group(1)}")
    if skeleton.isdigit():
        if len(skeleton) == 12 and skeleton.startswith("91"):
            keys.append(f"ck{skeleton[2:]}")
        elif len(skeleton) == 11 and skeleton.startswith("0"):
            keys.append(f"ck{skeleton[1:]}")
    return keys


def _is_code(joined: str) -> bool:
    return CODE_MIN <= len(joined) <= CODE_MAX and sum(c.isdigit() for c in joined) >= CODE_MIN_DIGITS


def _digit_groups_key(words: list[str]) -> str | None:
    """``dg`` key of a code with letters and at least two digit groups at its end."""
    text = "/".join(words)
    if not any(c.isalpha() for c in text):
        return None
    groups = _DIGITS.findall(text.translate(CLASSES))
    if len(groups) < 2 or len(groups[-1]) < 2 or len(groups[-2]) < 2:
        return None
    return f"dg{int(groups[-2])}n{int(groups[-1])}"


def _year(digits: str) -> int | None:
    if len(digits) == 4:
        y = int(digits)
        return y if 1900 <= y <= 2099 else None
    return None


def _crime_readings(number: str, year: int, leading: bool = True) -> list[str]:
    """cr keys of a number as read, without a trailing digit (the slash) and (with
    ``leading``) without a leading one (a ruling line)."""
    out = []
    for n in (number, number[:-1] if len(number) >= 3 else "", number[1:] if leading and len(number) >= 3 else ""):
        if n and not n.startswith("0"):
            out.append(f"cr{int(n)}y{year}")
    return out


def _loose_crime_keys(prefolded: str, found: list[Notation] | None = None) -> list[str]:
    out: list[str] = []
    for nt in notations(prefolded) if found is None else found:
        if nt.key.startswith("cr") and len(nt.numbers[0]) >= 3:
            # the leading digit of a crime number as written is stray_crime_keys' (which
            # checks the row's serial number); here only a slash read as a digit
            out += _crime_readings(nt.numbers[0], int(nt.key.split("y")[1]), leading=False)
    for m in _NUMBER_PAIR.finditer(prefolded):
        year = _year(m.group(2))
        if year is not None:
            out += _crime_readings(m.group(1), year)
    for m in _GLUED.finditer(prefolded):
        run = m.group(1)
        year = _year(run[-4:])
        if year is not None:
            out += _crime_readings(run[:-4], year)
    # A year that lost a digit ("262/201", "249/205.") or cannot be (2911, 20913): each
    # of the page's own years (a register page names its year in its header and dates)
    # it is one digit lost, misread or read in away from. A plausible year is never
    # re-read: 2012 on a page of 2011 may be a case of 2012.
    odd = [m for m in _ODD_YEAR.finditer(prefolded)
           if len(m.group(2)) == 3 or not YEARS[0] <= int(m.group(2)) <= YEARS[1]]
    if odd:
        years = sorted({int(y) for y in _PAGE_YEAR.findall(prefolded)})
        for m in odd:
            for year in years:
                if _one_digit_off(m.group(2), str(year)):
                    out += _crime_readings(m.group(1), year)
    return out


def _one_digit_off(read: str, year: str) -> bool:
    """``read`` is ``year`` with one digit lost, changed or added."""
    if len(read) == len(year):
        return sum(a != b for a, b in zip(read, year)) == 1
    longer, shorter = (read, year) if len(read) > len(year) else (year, read)
    return len(longer) == len(shorter) + 1 and any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))


def _reread(prefolded: str) -> str:
    """The text with letters next to digits in code-like words read as the digits OCR
    confuses them with ("74V/2015" -> 741/2015, "UP7SUY6855" -> UP75UY6855)."""
    lines = []
    for line in prefolded.split("\n"):
        words = []
        for raw in line.split(" "):
            word = _EDGE.sub("", raw)
            if word and _CODE_WORD.match(word) and any(c.isdigit() for c in word):
                raw = _LETTER_NEAR_DIGIT.sub(lambda m: m.group(0).translate(_NEAR_DIGIT), raw)
            words.append(raw)
        lines.append(" ".join(words))
    return "\n".join(lines)


def index_loose(prefolded: str, found: list[Notation] | None = None) -> list[str]:
    """Every second-tier code key of a page's prefolded text, each once, in order.
    ``found``: ``notations(prefolded)`` when the caller has it already."""
    if not prefolded or not _A_DIGIT.search(prefolded):
        return []
    keys: list[str] = []
    for line in prefolded.split("\n"):
        if not _A_DIGIT.search(line):
            continue  # every key needs a digit
        words = _code_words(line)
        n = len(words)
        alnum = [_NOT_ALNUM.sub("", w) if w is not None else "" for w in words]
        digits = [len(a) - len(a.translate(_DROP_DIGITS)) for a in alnum]
        for i in range(n):
            if words[i] is None:
                continue
            length = n_digits = 0
            letters = False
            for j in range(i, min(n, i + MAX_RUN)):
                if words[j] is None:
                    break
                length += len(alnum[j])
                if length > CODE_MAX:
                    break
                n_digits += digits[j]
                letters = letters or n_digits < length
                if not n_digits:
                    continue  # no key without a digit
                if CODE_MIN <= length and n_digits >= CODE_MIN_DIGITS:
                    joined = "".join(alnum[i : j + 1])
                    for reading in _readings(joined):
                        keys += _skeleton_keys(reading, letters)
                if letters:
                    dg = _digit_groups_key([w for w in words[i : j + 1] if w is not None])
                    if dg:
                        keys.append(dg)
    keys += _loose_crime_keys(prefolded, found)
    if _LETTER_NEAR_DIGIT.search(prefolded):
        # only the lines the re-reading changes: the rest gave their keys above
        changed = [b for a, b in zip(prefolded.split("\n"), _reread(prefolded).split("\n")) if a != b]
        if changed:
            again = "\n".join(changed)
            keys += _loose_crime_keys(again)
            keys += [nt.key for nt in vehicle_notations(again)]
    return list(dict.fromkeys(keys))


@lru_cache(maxsize=1024)
def query_loose(prefolded: str) -> tuple[str, ...]:
    """The second-tier code keys of a typed code (one query word or a run of them):
    its skeleton (``ck``) and, for a code with letters, its digit groups (``dg``)."""
    words = [w for w in _code_words(prefolded) if w is not None]
    if not words or len(words) > MAX_RUN:
        return ()
    joined = re.sub(r"[^a-z0-9]", "", "".join(words))
    keys: list[str] = []
    if _is_code(joined):
        keys += _skeleton_keys(joined.translate(CLASSES), any(c.isalpha() for c in joined))
    dg = _digit_groups_key(words)
    if dg:
        keys.append(dg)
    return tuple(dict.fromkeys(keys))

