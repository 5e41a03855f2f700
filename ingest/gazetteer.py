"""Lexicon post-correction: split glued words and restore known words, on evidence only.

The word lists are data (ingest/lexicon/*.txt: UP police stations, Kannauj villages,
common names, register vocabulary), one NFC word a line. Two corrections, each needing
the page's own evidence as well as the list, and neither ever producing a word that is
not on the page or in the list:

    split_glued   निवासीग्रामजलालाबाद -> निवासी ग्राम जलालाबाद: the token is not a known
                  word, it is the concatenation of known words (one unknown piece of 2+
                  letters allowed, e.g. a misread last word), AND the image shows a blank
                  gap (shirorekha broken, nothing under it) at every split point (Devanagari words are joined by
                  their headline; two words printed close still leave it broken). A
                  compound name whose headline runs through (रामनरेश) is never split.
    restore       धर्मेन्दर -> धर्मेन्द्र: a Devanagari word not in the lists, read with low
                  confidence (< RESTORE_BELOW), whose only list word at edit distance 1 is
                  that one. Ties and confident reads stay as read.

The lists must never be built from the held-out corpus (bench/corpus.py draws half its
names and villages from vocab.HELDOUT_*, which tests/test_corpus.py keeps out of them).
"""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from abhilekh.records import Word

LEXICON_DIR = Path(__file__).with_name("lexicon")
RESTORE_BELOW = 75.0  # Tesseract word confidence under which a near miss may be restored
MIN_SPLIT = 6  # characters: shorter tokens are never split
MIN_PIECE = 2
# A blank gap counts for a split point within this many characters' width of where the
# split falls by character count (glyph widths vary a lot: ि, ा, conjuncts).
SPLIT_TOLERANCE = 1.8
# The narrowest blank gap that counts, as a share of the word's height.
MIN_GAP = 0.05


@lru_cache(maxsize=1)
def lexicon() -> frozenset[str]:
    words: set[str] = set()
    for path in sorted(LEXICON_DIR.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                words.add(unicodedata.normalize("NFC", line))
    return frozenset(words)


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch) in ("Mn", "Mc")


def _devanagari(text: str) -> bool:
    return all("\u0900" <= ch <= "\u097f" for ch in text)


def segmentations(token: str, words: frozenset[str]) -> list[str] | None:
    """The split of TOKEN into list words (at most one unknown piece) covering most of it
    with the fewest pieces; None when there is none."""
    n = len(token)
    inf = (10**9, 10**9)
    # best[i] = (unknown chars, pieces) for token[:i], with the split points
    best: list[tuple[tuple[int, int], list[int]] | None] = [None] * (n + 1)
    best[0] = ((0, 0), [])
    for i in range(n):
        here = best[i]
        if here is None or (i < n and _is_mark(token[i])):
            continue
        (unk, pieces), cuts = here
        for j in range(i + MIN_PIECE, n + 1):
            if j < n and _is_mark(token[j]):
                continue  # a vowel sign or virama belongs to the letter before it
            piece = token[i:j]
            known = piece in words
            if not known and unk:
                continue  # one unknown piece at most
            score = (unk + (0 if known else len(piece)), pieces + 1)
            there = best[j]
            if there is None or score < there[0]:
                best[j] = (score, cuts + [j])
    last = best[n]
    if last is None:
        return None
    (unk, pieces), cuts = last
    if pieces < 2 or unk > 0.4 * n or last[0] == inf:
        return None
    out, start = [], 0
    for c in cuts:
        out.append(token[start:c])
        start = c
    return out


def headline_breaks(crop: np.ndarray) -> list[int]:
    """Columns (centres) of blank gaps inside the word image: the shirorekha broken and
    nothing under it."""
    ink = crop < 128
    if ink.shape[0] < 6 or ink.shape[1] < 6:
        return []
    # A gap between words is paper from top to bottom; inside a word the shirorekha
    # (or a letter under it) always inks the column.
    band = np.asarray(ink.any(axis=0))
    cols = np.flatnonzero(ink.any(axis=0))
    if cols.size == 0:
        return []
    inside = band[cols[0] : cols[-1] + 1]
    breaks = []
    least = max(2, round(MIN_GAP * ink.shape[0]))  # a glyph's side bearing is not a gap
    x = 0
    while x < inside.size:
        if not inside[x]:
            a = x
            while x < inside.size and not inside[x]:
                x += 1
            if x - a >= least:
                breaks.append(cols[0] + (a + x) // 2)
        x += 1
    return breaks


def split_glued(word: Word, crop: np.ndarray | None) -> list[Word]:
    """WORD as one or more words (see the module docstring); boxes shared out by length."""
    text = word.text
    words = lexicon()
    if len(text) < MIN_SPLIT or text in words or not _devanagari(text) or crop is None:
        return [word]
    pieces = segmentations(text, words)
    if not pieces:
        return [word]
    breaks = headline_breaks(crop)
    if len(breaks) < len(pieces) - 1:
        return [word]
    per_char = word.width / len(text)
    tolerance = max(3.0, SPLIT_TOLERANCE * per_char)
    out, pos = [], 0
    cuts = []
    for piece in pieces[:-1]:
        pos += len(piece)
        expected = pos * per_char
        near = min(breaks, key=lambda b: abs(b - expected))
        if abs(near - expected) > tolerance:
            return [word]  # the image shows no gap where the lists would cut
        cuts.append(near)
    edges = [0, *cuts, word.width]
    for piece, a, b in zip(pieces, edges, edges[1:]):
        out.append(replace(word, text=piece, left=word.left + int(a), width=max(1, int(b - a))))
    return out


def _distance_one(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) == 1
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


@lru_cache(maxsize=1)
def _by_length() -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for w in lexicon():
        out.setdefault(len(w), []).append(w)
    return out


def restore(word: Word) -> Word:
    text = word.text
    if word.confidence >= RESTORE_BELOW or len(text) < 4 or not _devanagari(text) or text in lexicon():
        return word
    table = _by_length()
    near = [w for n in (len(text) - 1, len(text), len(text) + 1) for w in table.get(n, []) if _distance_one(text, w)]
    if len(near) != 1:
        return word
    return replace(word, text=near[0])
