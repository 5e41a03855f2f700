"""``fold``: Unicode, digits, nukta, nasals, police abbreviations, tokens (see the package's docstring)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from search.normalise.chars import (
    _ANUSVARA,
    _FAST_TOKEN,
    _GROUP_RE,
    _INITIALS,
    _IS_DEV,
    _NEEDS_NFC,
    _NEEDS_TRANSLATE,
    _PANCHAM,
    _QUICK_INITIALS,
    _QUICK_MARK,
    _RUN_RE,
    _SEGMENT_RE,
    _VIRAMA,
    SPACED_ABBREVIATIONS,
    _general_tokeniser,
    _translate_one,
)

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
