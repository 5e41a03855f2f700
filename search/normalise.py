"""Text folding for search: the ONE place where Hindi/English text is normalised.

Every backend (SQLite FTS5, Elasticsearch) indexes ``fold(text)`` and
``transliterate(text)`` and queries with the same functions (through
``search.query``), so a page and a query typed in any of the usual spellings meet on
the same tokens. Nothing here depends on a search engine.

fold(text) -> str
    Unicode NFC; zero-width characters, BOM and soft hyphen removed; Devanagari digits
    -> ASCII; nukta letters -> base letter; chandrabindu -> anusvara; a nasal consonant
    + virama before a consonant of its own class -> anusvara (हिन्दी -> हिंदी);
    Latin casefolded; police abbreviations canonical (मु0अ0सं0 / मु०अ०सं० / मु.अ.सं. /
    मु॰अ॰सं॰ / मुoअoसंo / मु0 अ0 सं0 -> ``मुअसं``; उ0नि0 -> ``उनि``); dotted Latin
    initials joined (I.P.C. -> ``ipc``); all other punctuation -> space; a token never
    mixes scripts or letters and digits (UP78AB1234 -> ``up 78 ab 1234``, 123/2019 ->
    ``123 2019``). Output: tokens joined by single spaces. ``fold`` is idempotent.

transliterate(text) -> str
    One loose Latin key per token of ``fold(text)`` (see ``latin_key``); numbers pass
    through. "Ramesh Yadav" and रमेश यादव both give ``rmis ydb``.

The abbreviation rule, precisely. After digit folding and casefolding, a *mark* is
``0``, ``॰`` or ``o`` (``o`` only when no Latin letter follows) or ``.`` directly after
a Devanagari letter/sign. A *group* is a run of Devanagari segments each closed by a
mark, starting at the start of a word, optionally followed by one unmarked segment
(उ0निरीक्षक). The marks of a group are dropped and its segments joined (मु0अ0सं0 ->
मुअसं, सं0123 -> सं 123). A ``.`` only joins segments of at most two aksharas on both
sides, so a full stop between words (रमेश.यादव) is not an abbreviation. Groups separated
only by spaces (मु0 अ0 सं0) are joined when the result is in ``SPACED_ABBREVIATIONS``,
so common text such as ``नि0 ग्रा0 ...`` (निवासी ग्राम) stays two words.
Numbers are never touched by this rule: a mark must follow a Devanagari letter.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "NORMALISE_VERSION",
    "SPACED_ABBREVIATIONS",
    "fold",
    "finish_fold",
    "fold_word",
    "index_extras",
    "index_fields",
    "is_latin",
    "latin_key",
    "notations",
    "pair_keys",
    "prefold",
    "romanise",
    "stray_crime_keys",
    "tokens",
    "transliterate",
    "transliterate_folded",
    "vehicle_notations",
    "word_key",
]

# Bump whenever fold() or transliterate() output changes: indexes built with another
# version must be rebuilt (SqliteIndex does that by itself on open).
NORMALISE_VERSION = 3

# ---------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------
# fold


def _akshara_count(segment: str) -> int:
    """Syllables, roughly: consonants and independent vowels not after a virama."""
    count = 0
    prev = ""
    for ch in segment:
        if ("\u0904" <= ch <= "\u0939" or "\u0958" <= ch <= "\u0961" or ch >= "\u0972") and (
            prev != _VIRAMA
        ):
            count += 1
        prev = ch
    return count


def _parse_group(group: str) -> list[tuple[str, bool]]:
    """Split one matched group into abbreviations: [(joined_text, ends_with_mark)]."""
    segs = _SEGMENT_RE.findall(group)  # [(letters, mark_or_"")]
    out: list[tuple[str, bool]] = []
    current = ""
    for i, (letters, mark) in enumerate(segs):
        current += letters
        if not mark:
            out.append((current, False))
            current = ""
            continue
        if mark == ".":
            nxt = segs[i + 1][0] if i + 1 < len(segs) else ""
            short = _akshara_count(letters) <= 2
            if nxt and not (short and _akshara_count(nxt) <= 2):
                out.append((current, short))  # a full stop between words
                current = ""
                continue
            if not nxt:
                out.append((current, short))
                current = ""
                continue
        elif i + 1 == len(segs):
            out.append((current, True))
            current = ""
    if current:
        out.append((current, True))
    return out


def _join_run(match: re.Match[str]) -> str:
    run = match.group(0)
    groups: list[tuple[str, bool]] = []
    pieces = _GROUP_RE.findall(run)
    for gi, piece in enumerate(pieces):
        parsed = _parse_group(piece)
        if gi < len(pieces) - 1 and len(parsed) > 1:
            # Only the last abbreviation of a piece may join across the space.
            groups.extend((text, False) for text, _ in parsed[:-1])
            groups.append(parsed[-1])
        else:
            groups.extend(parsed)
    if len(groups) == 1:
        return groups[0][0]
    out: list[str] = []
    i = 0
    n = len(groups)
    while i < n:
        joined_to = i
        if groups[i][1]:
            text = groups[i][0]
            for j in range(i + 1, n):
                text += groups[j][0]
                if text in SPACED_ABBREVIATIONS:
                    joined_to = j
                if not groups[j][1]:
                    break
        out.append("".join(g[0] for g in groups[i : joined_to + 1]))
        i = joined_to + 1
    return " ".join(out)


def _join_initials(match: re.Match[str]) -> str:
    return match.group(0).replace(".", "")


def _join_abbreviations(text: str) -> str:
    """Apply the abbreviation rule around each Devanagari letter + mark in ``text``."""
    out: list[str] = []
    done = 0  # text[:done] is settled
    for m in _QUICK_MARK.finditer(text):
        pos = m.start()
        if pos < done:
            continue
        start = pos
        while start > done and _IS_DEV(text[start - 1]):
            start -= 1
        if start > 0 and _IS_DEV(text[start - 1]):
            continue  # a word that started inside the previous replacement
        run = _RUN_RE.match(text, start)
        if run is None:
            continue
        out.append(text[done:start])
        out.append(_join_run(run))
        done = run.end()
    if not out:
        return text
    out.append(text[done:])
    return "".join(out)


def prefold(text: str) -> str:
    """``fold`` without the final tokenisation: characters folded, abbreviations joined.

    Whitespace and punctuation other than abbreviation marks are kept, so a caller can
    still see where a typed word ends (``search.query`` uses this for ``word*`` and for
    ``123/2019`` phrases). ``fold(x) == finish_fold(prefold(x))``.
    """
    if not text:
        return ""
    if not text.isascii():
        # Devanagari needs no NFC once nukta forms are folded by the table below (its
        # only NFC compositions are ऩ ऱ ऴ); anything else outside Latin-1 gets NFC.
        if _NEEDS_NFC.search(text):
            text = unicodedata.normalize("NFC", text)
        if _NEEDS_TRANSLATE.search(text):
            text = _NEEDS_TRANSLATE.sub(_translate_one, text)
        if _VIRAMA in text:
            text = _PANCHAM.sub(_ANUSVARA, text)
    text = text.casefold()
    if _QUICK_MARK.search(text):
        text = _join_abbreviations(text)
    if _QUICK_INITIALS.search(text):
        text = _INITIALS.sub(_join_initials, text)
    return text


def finish_fold(prefolded: str) -> str:
    """The last step of ``fold``: punctuation -> spaces, script/digit runs split."""
    if _NEEDS_NFC.search(prefolded):
        separator, token = _general_tokeniser()
        return " ".join(token.findall(separator.sub(" ", prefolded)))
    return " ".join(_FAST_TOKEN.findall(prefolded))


def fold(text: str) -> str:
    """Fold text for indexing and querying: clean tokens joined by single spaces."""
    return finish_fold(prefold(text))


def tokens(text: str) -> list[str]:
    """``fold(text).split()``."""
    return fold(text).split()


@lru_cache(maxsize=65536)
def fold_word(word: str) -> tuple[str, ...]:
    """Tokens of one raw word (cached; for snippets, which fold word by word)."""
    return tuple(fold(word).split())


# ---------------------------------------------------------------------------------
# transliteration

_CONSONANTS = {
    "क": "k", "ख": "kh", "ग": "g", "घ": "gh", "ङ": "n",
    "च": "ch", "छ": "chh", "ज": "j", "झ": "jh", "ञ": "n",
    "ट": "t", "ठ": "th", "ड": "d", "ढ": "dh", "ण": "n",
    "त": "t", "थ": "th", "द": "d", "ध": "dh", "न": "n",
    "प": "p", "फ": "ph", "ब": "b", "भ": "bh", "म": "m",
    "य": "y", "र": "r", "ल": "l", "ळ": "l", "व": "v",
    "श": "sh", "ष": "sh", "स": "s", "ह": "h",
    "ॺ": "j", "ॻ": "g", "ॼ": "j", "ॾ": "d", "ॿ": "b",
}  # fmt: skip
_VOWELS = {
    "अ": "a", "आ": "aa", "इ": "i", "ई": "ii", "उ": "u", "ऊ": "uu",
    "ऋ": "ri", "ॠ": "rii", "ऌ": "li", "ए": "e", "ऐ": "ai", "ओ": "o", "औ": "au",
    "ऍ": "e", "ऎ": "e", "ऑ": "o", "ऒ": "o", "ॲ": "e", "ऄ": "a",
}  # fmt: skip
_MATRAS = {
    "ा": "aa", "ि": "i", "ी": "ii", "ु": "u", "ू": "uu", "ृ": "ri", "ॄ": "rii",
    "े": "e", "ै": "ai", "ो": "o", "ौ": "au", "ॅ": "e", "ॆ": "e", "ॉ": "o", "ॊ": "o",
    "ॢ": "li", "ॣ": "lii", "ॏ": "au", "ॖ": "u", "ॗ": "uu", "ऺ": "e", "ऻ": "ii",
}  # fmt: skip
_OTHER = {_ANUSVARA: "n", "ः": "h", "ॐ": "om"}


def romanise(word: str) -> str:
    """A plain ASCII romanisation of one folded Devanagari word (रमेश -> ramesha).

    Each consonant carries an inherent ``a`` unless a virama or vowel sign follows;
    ज्ञ is read ``gy`` (ज्ञान -> gyaana). Unknown characters are dropped.
    """
    if "ज्ञ" in word:
        word = word.replace("ज्ञ", "ग्य")
    out: list[str] = []
    n = len(word)
    i = 0
    while i < n:
        ch = word[i]
        cons = _CONSONANTS.get(ch)
        if cons is not None:
            out.append(cons)
            nxt = word[i + 1] if i + 1 < n else ""
            if nxt == _VIRAMA:
                i += 2
                continue
            matra = _MATRAS.get(nxt)
            if matra is not None:
                out.append(matra)
                i += 2
                continue
            out.append("a")
            i += 1
            continue
        rom = _VOWELS.get(ch) or _MATRAS.get(ch) or _OTHER.get(ch)
        if rom:
            out.append(rom)
        elif ch.isascii() and ch.isalnum():
            out.append(ch)
        i += 1
    return "".join(out)


_KEY_KEEP = re.compile(r"[^a-z]+")
_KEY_H = re.compile(r"([bcdfgjklmnpqrstvxyz])h+")
_KEY_DOUBLE = re.compile(r"([a-z])\1+")
_KEY_M = re.compile(r"m(?=[bp])")
_KEY_Y = re.compile(r"(?<=[aeiou])y")
_KEY_ER = re.compile(r"(?<=[bcdfgjklmnpqrstvy])er")
_KEY_TABLE = str.maketrans({"w": "v", "z": "j", "q": "k"})
# Last step: vowels and v/b that Hindi names are romanised with either way
# (Tewari/तिवारी, Rathore/राठौर, Bishungarh/विशुनगढ़, Qureshi/कुरैशी).
_KEY_MERGE = str.maketrans({"e": "i", "o": "u", "v": "b"})
# Whole Latin words spelt many ways (and abbreviated) for one name.
_KEY_ALIASES = {
    w: "mohammad"
    for w in ("mohammed", "mohamed", "mohamad", "muhammad", "muhammed", "mohd", "mohmmad", "mohmad")
}


def latin_key(word: str) -> str:
    """A loose phonetic key for one Latin word (or a ``romanise`` output).

    Lowercase ASCII letters only (accents stripped); ph->f, rh->d (garh, गढ़), x->ks,
    q->k, z->j, w->v, ou->au; ee->i, oo->u; h after a consonant dropped (kh->k, chh->c, sh->s, ...);
    doubled letters collapsed; y after a vowel -> i; every ``a`` except a word-initial
    one dropped (schwa deletion makes it unreliable); ``e`` between a consonant and
    ``r`` dropped (Verma, वर्मा; Dharmender); a final ``ei`` -> ``e`` (Pandey,
    पाण्डेय); a final ``e`` after a consonant dropped (Kishore, किशोर); ng -> n;
    m before b/p -> n (Rampur, रामपुर; Sambhal, संभल); Mohammed, Muhammad, Mohd -> Mohammad;
    last, e -> i, o -> u, v -> b (Tewari, तिवारी; Rathore, राठौर; Bishungarh, विशुनगढ़).
    "Ramesh" and रमेश (ramesha) both give ``rmis``; a word without Latin letters is
    returned unchanged.
    """
    w = word.lower()
    if not w.isascii():
        w = "".join(c for c in unicodedata.normalize("NFKD", w) if not unicodedata.combining(c))
    w = _KEY_KEEP.sub("", w)
    if not w:
        return word
    w = _KEY_ALIASES.get(w, w)
    w = w.replace("ph", "f").replace("rh", "d").replace("x", "ks").translate(_KEY_TABLE)
    w = w.replace("ou", "au").replace("ee", "i").replace("oo", "u")
    w = _KEY_H.sub(r"\1", w)
    w = _KEY_DOUBLE.sub(r"\1", w)
    w = _KEY_Y.sub("i", w)
    w = w[0] + w[1:].replace("a", "")
    if "er" in w:
        w = _KEY_ER.sub("r", w)
    if w.endswith("ei"):
        w = w[:-1]
    if len(w) > 3 and w[-1] == "e" and w[-2] not in "aeiou":
        w = w[:-1]
    w = _KEY_M.sub("n", w.replace("ng", "n"))
    return _KEY_DOUBLE.sub(r"\1", w.translate(_KEY_MERGE))


_HAS_DEV = re.compile(_DEV_CLASS)
_HAS_LATIN = re.compile(r"[a-z\u00c0-\u024f\u1e00-\u1eff]")


def is_latin(token: str) -> bool:
    """True for a folded token written in Latin letters (not digits, not Devanagari)."""
    return bool(_HAS_LATIN.search(token)) and not _HAS_DEV.search(token)


@lru_cache(maxsize=131072)
def word_key(token: str) -> str:
    """The transliteration key of one folded token (Devanagari or Latin; else as is)."""
    if _HAS_DEV.search(token):
        return latin_key(romanise(token))
    if _HAS_LATIN.search(token):
        return latin_key(token)
    return token


def transliterate_folded(folded: str) -> str:
    """``transliterate`` for text that has already been through ``fold``."""
    return " ".join([word_key(t) for t in folded.split()])


def transliterate(text: str) -> str:
    """One Latin key per token of ``fold(text)``, joined by spaces (numbers unchanged)."""
    return transliterate_folded(fold(text))


if sys.flags.optimize == 0:  # cheap self-check at import: the tables are consistent
    assert all(len(k) == 1 for k in (*_CONSONANTS, *_VOWELS, *_MATRAS))


# ---------------------------------------------------------------------------------
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
    return [(_N_KIND[m.lastindex], m.group(), *m.span()) for m in _N_TOKEN.finditer(prefolded)]


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


# ---------------------------------------------------------------------------------
# adjacent word pairs, joined: "Ram Prakash" meets रामप्रकाश and "Ramprakash" राम प्रकाश


@lru_cache(maxsize=131072)
def _pair_key(a: str, b: str) -> str:
    if _HAS_DEV.search(a):
        return latin_key(romanise(a) + romanise(b))
    return latin_key(a + b)


@lru_cache(maxsize=262144)
def _pair_class(token: str) -> int:
    """0: never in a pair (short, or starts with a digit); 1: Devanagari; 2: Latin (no
    Devanagari); 3: other."""
    if len(token) < 2 or token[0].isdigit():
        return 0
    if _HAS_DEV.search(token):
        return 1
    return 2 if _HAS_LATIN.search(token) else 3


def pair_keys(folded: str) -> list[str]:
    """The ``latin_key`` of each adjacent pair of folded words of one script, joined."""
    toks = folded.split()
    classes = [_pair_class(t) for t in toks]
    out = []
    for i in range(len(toks) - 1):
        ca = classes[i]
        if ca and (ca == 1 or ca == 2) and classes[i + 1] == ca:
            out.append(_pair_key(toks[i], toks[i + 1]))
    return out


# ---------------------------------------------------------------------------------
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
    return bool(m) and int(m.group(1)) <= 31 and int(m.group(3)) <= 12


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


_SERIAL_BEFORE = re.compile(r"(?:^|(?<=\s))(\d+)[ \t]+$")


def stray_crime_keys(prefolded: str, found: list[Notation] | None = None) -> list[str]:
    """Crime-number keys without a leading digit that may be a misread ruling line.

    In a register row a crime number stands at a table ruling, which OCR often reads as
    one more leading digit (१४५/२०१० -> २१४५/२०१०, 195/2015 -> 1195/2015). For every
    crime number written bare (no crime word before it) with 3 or more digits, the key
    of the number without its first digit (unless that leaves a leading zero, or the
    row's serial number just before it is the number as read: "1195 1195/2015"). Indexes
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
    return out


def index_extras(text: str, folded: str, prefolded: str | None = None) -> tuple[str, str]:
    """What an index adds after ``fold(text)`` and ``transliterate_folded`` of it:
    (canonical notation and vehicle tokens for ``folded``; joined pair keys and stray
    crime keys (``stray_crime_keys``) for ``translit``), each a space-separated string,
    possibly empty. ``prefolded``: ``prefold(text)`` when the caller has it already."""
    pre = prefold(text) if prefolded is None else prefolded
    keys = []
    seen = set()
    found = notations(pre)
    for nt in [*found, *vehicle_notations(pre)]:
        if nt.key not in seen:
            seen.add(nt.key)
            keys.append(nt.key)
    weak = [k for k in dict.fromkeys(stray_crime_keys(pre, found)) if k not in seen]
    return " ".join(keys), " ".join([*pair_keys(folded), *weak])


def index_fields(text: str) -> tuple[str, str]:
    """The two indexed fields of a page's searchable text, as every backend stores them:
    (``fold(text)`` + notation tokens, ``transliterate_folded`` of it + pair keys)
    (``index_extras``). Prefolds the text once."""
    pre = prefold(text)
    folded = finish_fold(pre)
    translit = transliterate_folded(folded)
    extra_folded, extra_translit = index_extras(text, folded, pre)
    if extra_folded:
        folded = f"{folded} {extra_folded}"
    if extra_translit:
        translit = f"{translit} {extra_translit}"
    return folded, translit
