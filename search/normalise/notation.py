"""Police notation: crime numbers and sections as canonical tokens (``cr123y2019``, ``sec379``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from search.normalise.chars import _DEV

# police notation: crime numbers and sections as canonical tokens
#
# A crime number is a number and a year: ``123/2019``, ``123/19``, ``मु0अ0सं0 123/2019``,
# ``मुकदमा अपराध संख्या 123 सन 2019``, ``Case Crime No. 123 of 2019``. Wherever one is
# recognised its canonical token ``cr<number>y<yyyy>`` is indexed next to the folded
# text (and a query that contains one asks for that token), so every written form
# meets every other. Two-digit years: 00-39 -> 20xx, 40-99 -> 19xx (``YEAR_PIVOT``).
# Recognised: N/YY or N/YYYY (YYYY 1900-2099) that is not part of a longer chain like a
# date 13/01/23 and not a special act's section (3/25 आर्म्स एक्ट); or, after a crime
# word (मुअसं, अपराध संख्या, crime no, ...), N then सन / वर्ष / of / - / , then YYYY.
#
# A section is ``sec<number>[<letter>]`` (``sec379``, ``sec498a``; sub-sections such as
# 303(2) are left out): numbers after धारा / u/s / section / dhara, numbers directly
# before an act (भादवि, IPC, BNS, आर्म्स एक्ट, ...) or directly after one ("IPC 420"),
# and numbers directly after a crime number in a register row ("395/2023 307").
# Lists (457/380, 323, 504 व 506) give one token per section. A number alone (379) is
# no section: it still matches only the number.

YEAR_PIVOT = 40

_N_TOKEN = re.compile(rf"(\d+)|([a-z]+|[{_DEV}]+)|(\S)")
_N_KIND = (None, "n", "w", "p")  # by Match.lastindex
_CRIME_WORDS = frozenset(
    "मुअसं मुसं अअसं असं मुअ मुकदमा अपराध अभियोग केस crime case cr fir".split()
)
_CRIME_TAIL = frozenset("संख्या सं नं नंबर नम्बर क्रमांक no number num".split())
_YEAR_JOIN = frozenset("सन सन् वर्ष of year".split())
_SECTION_WORDS = frozenset("धारा धाराओं धाराएं धाराये धाराएँ dhara section sections sec us".split())
_ACT_WORDS = frozenset(
    """भादवि भादंवि ipc आईपीसी bns बीएनएस भान्यासं आर्म्स arms आबकारी excise एक्ट act
    अधिनियम दहेज dp गैंगस्टर gangster एनडीपीएस ndps crpc दप्रसं""".split()
)
_LIST_JOIN = frozenset(["/", ",", "व", "and", "&", "एवं", "तथा"])
_SPECIAL_ACTS = frozenset("आर्म्स arms आबकारी excise दहेज dp एक्ट act अधिनियम".split())


def _year(digits: str) -> int | None:
    if len(digits) == 4:
        y = int(digits)
        return y if 1900 <= y <= 2099 else None
    if len(digits) == 2:
        y = int(digits)
        return 2000 + y if y < YEAR_PIVOT else 1900 + y
    return None


@dataclass(frozen=True)
class Notation:
    """One recognised crime number or section: ``key`` is its canonical token;
    ``start``/``end`` its span in the prefolded text (context words included);
    ``numbers`` the folded numbers it is written with (for snippets and phrases)."""

    key: str
    start: int
    end: int
    numbers: tuple[str, ...]


@lru_cache(maxsize=4)
def _notation_tokens(prefolded: str) -> list[tuple[str, str, int, int]]:
    """(kind n/w/p, text, start, end) of each token; cached for the few texts being
    indexed (``notations`` and ``vehicle_notations`` read the same text). Read-only."""
    # lastindex names the one group that matched
    out: list[tuple[str, str, int, int]] = []
    for m in _N_TOKEN.finditer(prefolded):
        kind = _N_KIND[m.lastindex or 0]
        assert kind is not None  # every match matches one of the three groups
        out.append((kind, m.group(), *m.span()))
    return out


def notations(prefolded: str) -> list[Notation]:
    """Crime numbers and sections in ``prefold(text)``, in order (see above)."""
    if not prefolded or not any(c.isdigit() for c in prefolded):
        return []
    toks = _notation_tokens(prefolded)
    n = len(toks)
    out: list[Notation] = []
    used = [False] * n

    def is_(i: int, kind: str, text: str | None = None) -> bool:
        return 0 <= i < n and toks[i][0] == kind and (text is None or toks[i][1] == text)

    def context_start(i: int, words: frozenset[str], tails: frozenset[str] = frozenset()) -> int:
        """Index of the first context word ending right before token i (or -1)."""
        j = i - 1
        while j >= 0 and toks[j][0] == "p" and toks[j][1] in ":.-#":
            j -= 1
        first = -1
        while j >= 0 and toks[j][0] == "w" and (toks[j][1] in words or toks[j][1] in tails):
            first = j
            j -= 1
        if first < 0:
            return -1
        if not any(toks[k][1] in words for k in range(first, i) if toks[k][0] == "w"):
            return -1
        return first

    def u_s_before(i: int) -> int:
        j = i - 1
        while j >= 0 and toks[j][0] == "p" and toks[j][1] in ":.-":
            j -= 1
        if j >= 2 and is_(j, "w", "s") and is_(j - 1, "p", "/") and is_(j - 2, "w", "u"):
            return j - 2
        return -1

    # crime numbers
    crimes_end: dict[int, int] = {}  # token index after a crime number -> its first token
    for i in range(n):
        if toks[i][0] != "n" or used[i] or len(toks[i][1]) > 6:
            continue
        number = str(int(toks[i][1]))
        # N/YY, N/YYYY
        if (
            is_(i + 1, "p", "/")
            and is_(i + 2, "n")
            and not (is_(i - 1, "p", "/") and is_(i - 2, "n"))
            and not (is_(i + 3, "p", "/") and is_(i + 4, "n"))
            and not (is_(i + 3, "w") and toks[i + 3][1] in _SPECIAL_ACTS)
        ):
            year = _year(toks[i + 2][1])
            if year is not None:
                start = context_start(i, _CRIME_WORDS, _CRIME_TAIL)
                first = start if start >= 0 else i
                out.append(Notation(f"cr{number}y{year}", toks[first][2], toks[i + 2][3],
                                    (toks[i][1], toks[i + 2][1], str(year))))
                for k in range(first, i + 3):
                    used[k] = True
                crimes_end[i + 3] = first
                continue
        start = context_start(i, _CRIME_WORDS, _CRIME_TAIL)
        if start < 0:
            continue
        j = i + 1
        if j < n and ((toks[j][0] == "w" and toks[j][1] in _YEAR_JOIN) or toks[j][1] in ",-"):
            j += 1
        if is_(j, "n") and len(toks[j][1]) == 4 and _year(toks[j][1]) is not None:
            year = int(toks[j][1])
            out.append(Notation(f"cr{number}y{year}", toks[start][2], toks[j][3],
                                (toks[i][1], toks[j][1])))
            for k in range(start, j + 1):
                used[k] = True
            crimes_end[j + 1] = start
    # sections
    i = 0
    while i < n:
        if toks[i][0] != "n" or used[i]:
            i += 1
            continue
        # the list of section numbers starting here
        nums: list[tuple[str, int]] = []  # (key, token index)
        j = i
        while is_(j, "n") and not used[j] and len(toks[j][1]) <= 4:
            key = str(int(toks[j][1]))
            end = j
            if is_(j + 1, "w") and len(toks[j + 1][1]) == 1 and toks[j + 1][2] == toks[j][3] and (
                "a" <= toks[j + 1][1] <= "z"
            ):
                key += toks[j + 1][1]  # 498a
                end = j + 1
            if is_(end + 1, "p", "(") and end + 3 < n and toks[end + 3][1] == ")":
                end += 3  # 303(2): the sub-section is left out
            nums.append((key, end))
            k = end + 1
            if k < n and toks[k][1] in _LIST_JOIN and is_(k + 1, "n"):
                j = k + 1
                continue
            break
        if not nums:
            i += 1
            continue
        last = nums[-1][1]
        first = i
        ctx = context_start(i, _SECTION_WORDS)
        if ctx < 0:
            ctx = u_s_before(i)
        act_after = is_(last + 1, "w") and toks[last + 1][1] in _ACT_WORDS
        act_before = (
            is_(i - 1, "w")
            and toks[i - 1][1] in _ACT_WORDS
            and toks[i - 1][1] not in _SPECIAL_ACTS
            and "\n" not in prefolded[toks[i - 1][3] : toks[i][2]]
        )
        after_crime = i in crimes_end
        if ctx >= 0 or act_after or act_before or after_crime:
            if ctx >= 0:
                first = ctx
            elif act_before:
                first = i - 1
            end = last
            while end + 1 < n and toks[end + 1][0] == "w" and toks[end + 1][1] in _ACT_WORDS:
                end += 1
            for key, _ in nums:
                out.append(Notation(f"sec{key}", toks[first][2], toks[end][3], (re.sub(r"\D", "", key),)))
            for k in range(first, end + 1):
                used[k] = True
            i = end + 1
            continue
        i = last + 1
    out.sort(key=lambda nt: nt.start)
    return out



_SERIAL_BEFORE = re.compile(r"(?:^|(?<=\s))(\d+)[ \t]+$")


def stray_crime_keys(prefolded: str, found: list[Notation] | None = None) -> list[str]:
    """Crime-number keys without a leading digit that may be a misread ruling line.

    In a register row a crime number stands at a table ruling, which OCR often reads as
    one more leading digit (१४५/२०१० -> २१४५/२०१०, 195/2015 -> 1195/2015). For every
    crime number written bare (no crime word before it) with 3 or more digits, the key
    of the number without its first digit (unless that leaves a leading zero, or the
    row's serial number just before it is the number as read: "1195 1195/2015"); and
    the key of that serial number when the number is it with one digit more inside or
    at its end ("112 1912/2020"). Indexes
    put these in ``translit`` (lower weight than ``folded``), so an exact crime number
    still ranks first. ``found``: ``notations(prefolded)`` when the caller has it."""
    out = []
    for nt in notations(prefolded) if found is None else found:
        if not nt.key.startswith("cr") or len(nt.numbers) < 3:
            continue  # the N/YY form only (numbers: number, year as written, year)
        digits = nt.numbers[0]
        if len(digits) < 3 or not prefolded.startswith(digits, nt.start) or digits[1] == "0":
            continue
        if nt.start > 0 and prefolded[nt.start - 1].isalnum():
            continue
        serial = _SERIAL_BEFORE.search(prefolded, 0, nt.start)
        if serial and serial.group(1) == digits:
            continue  # "1195 1195/2015": the row's serial number confirms the reading
        out.append(f"cr{int(digits[1:])}y{nt.numbers[2]}")
        row = serial.group(1) if serial else ""
        if len(row) == len(digits) - 1 and row[0] != "0" and row != digits[1:] and any(
            digits[:i] + digits[i + 1 :] == row for i in range(1, len(digits))
        ):
            # "112 1912/2020": a digit read into the number where the row's serial
            # number (which a crime register numbers its rows by) has none
            out.append(f"cr{int(row)}y{nt.numbers[2]}")
    return out
