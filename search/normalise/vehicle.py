"""Vehicle registration numbers: one key (``vh80n0088``) robust to misread state letters."""

from __future__ import annotations

import re

from search.normalise.notation import Notation, _notation_tokens

# vehicle registration numbers: one key robust to misread state letters
#
# "UP80EA0088", "UP-80 EA-0088", "यूपी 80 ईए 0088": state, RTO district (1-2 digits),
# series (0-3 letters), number (1-4 digits). The Devanagari OCR model reads the Latin
# state letters and series badly ("UP-80" -> "७P-80", "9-76", "79-74", "P-75";
# "TS-3703" -> "15-3703"; "H" -> "॥4"; "UP74UB4647" -> "097484647") but keeps the
# district and number digits, so the key is those two only: ``vh<district>n<number>``
# (``vh80n0088``; district without leading zero).
#
# An index adds the key for every 1-2 digit number D followed on the same line, after
# at most two "series" tokens (a word of <= 3 letters in any script, or a 1-2 digit
# number) and at most 4 punctuation marks, by a 4-digit number L; not when D, the
# series and L are a date (14-07-2015, 09.07.2015) or L starts a chain (2015/16). A
# 3-4 digit run before a letter series also gives its last two digits as D ("L980DR6791"),
# and a lone 7-10 digit run gives its last 4 digits with each 2-digit window before
# them as D (a plate read without spaces). A query gets the key only for a number
# written with a state word first (2 Latin letters, or a Devanagari spelling: यूपी,
# उप्र, ...), zero-padded to 4 digits.

# State codes as typed in Devanagari (folded; उ0प्र0 folds to उप्र).
_STATE_WORDS = frozenset("यूपी उप्र एमपी डीएल एचआर आरजे बीआर यूके एमएच जीजे पीबी".split())
_VEH_DATE = re.compile(r"(\d{1,2})([-./])(\d{1,2})\2(\d{4}|\d{2})")
_VEH_RUN = re.compile(r"(?<![\d/.\-])\d{7,10}(?![\d/.\-])")


def _is_date(text: str) -> bool:
    m = _VEH_DATE.fullmatch(text)
    return m is not None and int(m.group(1)) <= 31 and int(m.group(3)) <= 12


def vehicle_notations(prefolded: str, query: bool = False) -> list[Notation]:
    """Vehicle numbers in ``prefold(text)`` as ``Notation`` (key ``vh80n0088``; numbers:
    the district and the number as written), in order; an index may get more than one
    key for one plate. ``query``: the stricter query form (a state word first)."""
    if not prefolded or not any(c.isdigit() for c in prefolded):
        return []
    toks = _notation_tokens(prefolded)
    n = len(toks)
    out: list[Notation] = []
    longest = 2 if query else 4
    for i in [k for k, t in enumerate(toks) if t[0] == "n" and len(t[1]) <= longest]:
        _, text, start, _ = toks[i]
        # the state word before the district (optionally joined by - or .)
        s = i - 1
        if s >= 0 and toks[s][0] == "p" and toks[s][1] in "-.":
            s -= 1
        state = -1
        if s >= 0 and toks[s][0] == "w" and "\n" not in prefolded[toks[s][3] : start]:
            w = toks[s][1]
            if (len(w) == 2 and w.isascii()) or (query and w in _STATE_WORDS):
                state = s
        if query and state < 0:
            continue
        words = digits = punct = 0
        j = i + 1
        found = -1
        wrapped = False
        while j < n:
            if "\n" in prefolded[toks[j - 1][3] : toks[j][2]]:
                wrapped = not query
                break
            kj, tj = toks[j][0], toks[j][1]
            if kj == "p" and punct < 4 and not query:
                punct += 1
            elif kj == "p" and tj in "-." and punct < 2:
                punct += 1
            elif kj == "w" and len(tj) <= 3 and words + digits < 2:
                words += 1
            elif kj == "n" and len(tj) <= 2 and words + digits < 2 and not query:
                digits += 1
            elif kj == "n" and (len(tj) == 4 or (query and len(tj) <= 4)):
                found = j
                break
            else:
                break
            j += 1
        misread_state = s >= 0 and s < i - 1 and len(toks[s][1]) <= 2 and toks[s][0] in "wn"
        if found < 0 and wrapped and (state >= 0 or misread_state or words):
            # The plate wraps in its table cell: the rest is on the next line, after
            # the other columns' text. Its first 4-digit number outside a chain.
            line_end = prefolded.find("\n", toks[j][2])
            while j < n and (line_end < 0 or toks[j][2] < line_end):
                if toks[j][0] == "n" and len(toks[j][1]) == 4 and not (
                    (j + 1 < n and toks[j + 1][1] in "/." and toks[j + 1][2] == toks[j][3])
                    or (j > 0 and toks[j - 1][1] in "/." and toks[j - 1][3] == toks[j][2])
                ):
                    found = j
                    break
                j += 1
        if found < 0:
            continue
        district = text
        if len(text) > 2:  # "980" in "L980DR6791": the state read as a digit
            if not words or toks[i + 1][0] != "w" or toks[i + 1][2] != toks[i][3]:
                continue
            district = text[-2:]
        if found == i + 2 and toks[i + 1][1] == "/" and toks[i + 1][2] == toks[i][3]:
            continue  # N/YYYY: a crime number
        if found + 2 < n and toks[found + 1][1] in "/." and toks[found + 2][0] == "n" and (
            toks[found + 1][3] == toks[found + 2][2]
        ):
            continue  # the 4 digits start a chain (2015/16, 1234.5)
        if not query:
            before = toks[i - 2][2] if i >= 2 and toks[i - 1][1] in "-./" and toks[i - 2][0] == "n" else start
            if _is_date(prefolded[start : toks[found][3]]) or _is_date(prefolded[before : toks[found][3]]):
                continue
        if int(district) == 0:
            continue  # no RTO district 00: a misread state letter
        number = toks[found][1].rjust(4, "0")
        first = state if state >= 0 else i
        out.append(Notation(f"vh{int(district)}n{number}", toks[first][2], toks[found][3],
                            (district, toks[found][1])))
    if not query:
        for m in _VEH_RUN.finditer(prefolded):
            run = m.group()
            head = run[:-4]
            for k in range(len(head) - 1):
                if int(head[k : k + 2]) == 0:
                    continue
                out.append(Notation(f"vh{int(head[k : k + 2])}n{run[-4:]}", m.start(), m.end(),
                                    (head[k : k + 2], run[-4:])))
        out.sort(key=lambda nt: nt.start)
    return out
