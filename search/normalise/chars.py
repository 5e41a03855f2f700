"""Character tables and tokenisers shared by every normalisation step (package-internal)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Character tables

_VIRAMA = "\u094d"
_ANUSVARA = "\u0902"

_TRANSLATE: dict[int, str | None] = {
    0x200B: None,  # zero width space
    0x200C: None,  # ZWNJ
    0x200D: None,  # ZWJ
    0x2060: None,  # word joiner
    0xFEFF: None,  # BOM / zero width no-break space
    0x00AD: None,  # soft hyphen
    0x00A0: " ",  # no-break space
    0x093C: None,  # nukta (after NFC every क़ is क + nukta)
    0x0901: _ANUSVARA,  # chandrabindu -> anusvara
    0x0964: " ",  # danda
    0x0965: " ",  # double danda
}
for _i in range(10):
    _TRANSLATE[0x0966 + _i] = str(_i)  # ० - ९
# Precomposed nukta letters (NFC decomposes these, kept here for safety) and the three
# that NFC composes (ऩ ऱ ऴ).
for _src, _dst in {
    "\u0958": "क",
    "\u0959": "ख",
    "\u095a": "ग",
    "\u095b": "ज",
    "\u095c": "ड",
    "\u095d": "ढ",
    "\u095e": "फ",
    "\u095f": "य",
    "\u0929": "न",
    "\u0931": "र",
    "\u0934": "ळ",
}.items():
    _TRANSLATE[ord(_src)] = _dst
_NEEDS_TRANSLATE = re.compile("[" + "".join(re.escape(chr(c)) for c in _TRANSLATE) + "]")
_TRANSLATE_STR = {chr(k): v or "" for k, v in _TRANSLATE.items()}


def _translate_one(m: re.Match[str]) -> str:
    return _TRANSLATE_STR[m.group(0)]


# Text made only of these needs neither NFC nor the general tokeniser below.
_NEEDS_NFC = re.compile("[^\x00-\u02ff\u0900-\u097f\u2000-\u206f\u20a0-\u20cf\ufeff]")

# Devanagari letters and signs (not digits, dandas or the abbreviation sign ॰).
_DEV = "\u0900-\u0963\u0971-\u097f\ua8e0-\ua8ff\u1cd0-\u1cff"
_DEV_CLASS = f"[{_DEV}]"

# Nasal + virama before a consonant of the same class -> anusvara.
_PANCHAM = re.compile("ङ्(?=[कखगघ])|ञ्(?=[चछजझ])|ण्(?=[टठडढ])|न्(?=[तथदध])|म्(?=[पफबभ])")

# An abbreviation group and a run of groups separated by horizontal spaces.
_MARK = r"(?:[0\u0970]|o(?![a-z])|\.)"
_GROUP = rf"(?<![{_DEV}])(?:[{_DEV}]+{_MARK})+[{_DEV}]*"
_GROUP_RE = re.compile(_GROUP)
_RUN_RE = re.compile(rf"{_GROUP}(?:[ \t]+{_GROUP})*")
_SEGMENT_RE = re.compile(rf"([{_DEV}]+)({_MARK})?")
_QUICK_MARK = re.compile(rf"[{_DEV}][0\u0970o.]")
_IS_DEV = re.compile(_DEV_CLASS).fullmatch

# Dotted Latin initials: i.p.c. / u.p -> ipc / up
_INITIALS = re.compile(r"(?<![a-z0-9])[a-z](?:\.[a-z])+\.?(?![a-z0-9])")
_QUICK_INITIALS = re.compile(r"[a-z]\.[a-z]")

# Everything that is not part of a word becomes a space. Word characters: letters,
# numbers (\w without "_") and combining marks Mn/Mc (Python's \w lacks them, which
# would split रमेश at its vowel sign). This matches FTS5 unicode61 with
# categories 'L* N* Co Mn Mc' closely enough that both agree on tokens.


def _mark_ranges() -> str:
    ranges: list[tuple[int, int]] = []
    for cp in range(0x300, 0x10000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        if unicodedata.category(chr(cp)) in ("Mn", "Mc"):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    return "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    )


@lru_cache(maxsize=1)
def _general_tokeniser() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(separator, token) patterns for any script; built on first use (~50 ms)."""
    separator = re.compile(rf"[^\w{_mark_ranges()}]|_")
    # After separators are gone: split runs of digits, Devanagari, and anything else.
    token = re.compile(rf"\d+|{_DEV_CLASS}+|[^\s\d{_DEV}]+")
    return separator, token


# The same in one pass, for text of Latin-1, Devanagari and punctuation only (where
# every combining mark is a Devanagari sign).
_FAST_TOKEN = re.compile(rf"\d+|{_DEV_CLASS}+|[^\W\d_\u0900-\u097f]+")

# Spaced groups (मु0 अ0 सं0) are joined only into these (folded, marks removed).
SPACED_ABBREVIATIONS: frozenset[str] = frozenset(
    unicodedata.normalize("NFC", s)
    for s in """
    मुअसं मुसं अपसं अअसं मुअ उनि वउनि सउनि मउनि उपनि प्रनि हका हेका मुआ मुका
    कानि भादवि भादंवि दप्रसं सीआरपीसी आईपीसी बीएनएस बीएनएसएस भान्यासं उप्र एसओ
    एसएचओ सीओ एसपी एएसपी एसएसपी अपुअ पुअ डीएम एसडीएम एडीएम डीआईजी आईजी आईओ एसआई
    एचसी जीडी एफआईआर एनसीआर सीजेएम एसीजेएम
    """.split()
)
