"""Text the field rules read: a run of OCR words as one string, offsets back to words.

Local folding only (digits, NFC, spacing): ingest may not import search.normalise, and
the rules need far less than the index does.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from abhilekh.records import Word

_DEVA_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")
# The clerk's abbreviation dot, typed as a Devanagari zero (मु०अ०सं०) or a Latin one.
_ABBR = re.compile(r"(?<=[\u0900-\u097f])[०0](?=[\u0900-\u097f\s\-:.,/]|$)")


def fold(text: str) -> str:
    """NFC, Devanagari digits as ASCII, the abbreviation mark as 0, one space."""
    text = unicodedata.normalize("NFC", text)
    # zero-width (non-)joiners OCR leaves inside a conjunct ("भा०द्\u200c०वि०")
    text = text.replace("\u200c", "").replace("\u200d", "")
    text = _ABBR.sub("0", text)
    text = text.translate(_DEVA_DIGITS)
    return re.sub(r"\s+", " ", text).strip()


def tidy(text: str) -> str:
    """A name or place as compared: folded, without the punctuation around it."""
    text = fold(text)
    text = re.sub(r"[,।|;:()\[\]\"'“”.]+", " ", text)
    text = re.sub(r"\s*-\s*$|^\s*-\s*", "", text)
    return re.sub(r"\s+", " ", text).strip(" -")


@dataclass
class Span:
    """Words joined by single spaces; ``words_at`` maps a character range back."""

    words: list[Word]
    text: str
    starts: list[int]

    @classmethod
    def of(cls, words: list[Word]) -> Span:
        parts, starts, pos = [], [], 0
        for w in words:
            t = fold(w.text)
            starts.append(pos)
            parts.append(t)
            pos += len(t) + 1
        return cls(words, " ".join(parts), starts)

    def words_at(self, start: int, end: int) -> list[Word]:
        out = []
        for w, s in zip(self.words, self.starts, strict=True):
            e = s + len(fold(w.text))
            if s < end and e > start:
                out.append(w)
        return out


def box(words: list[Word]) -> list[int]:
    if not words:
        return [0, 0, 0, 0]
    return [min(w.left for w in words), min(w.top for w in words),
            max(w.left + w.width for w in words), max(w.top + w.height for w in words)]


def word_box(w: Word) -> list[int]:
    return [w.left, w.top, w.left + w.width, w.top + w.height]


def mean_conf(words: list[Word]) -> float:
    if not words:
        return 0.0
    return sum(max(0.0, min(100.0, w.confidence)) for w in words) / len(words) / 100.0
