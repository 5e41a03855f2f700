"""Snippets for search hits, cut from the RAW OCR text (backend-neutral).

``make_snippet(raw_text, query, width)`` splits the raw text at whitespace, folds each
raw word on its own (``search.normalise.fold_word``) and marks a word when one of its
folded tokens is a query term or phrase token, starts with a query prefix, or has the
transliteration key of a Latin query word (so "Ramesh" marks रमेश). Police
abbreviations spread over several raw words (``मु0 अ0 सं0``) are marked when they
fold together into a query token. The window of about ``width`` characters holding the
most marked words is returned twice: plain text (whitespace collapsed, "…" where the
page was cut) and HTML (every piece ``html.escape``d, marked words in ``<mark>``).
OCR text is untrusted; nothing from it reaches the HTML unescaped. With no marked word,
the snippet is the start of the page.
"""

from __future__ import annotations

import html
import re

from search.normalise import fold, fold_word, word_key
from search.query import ParsedQuery, highlight_terms

__all__ = ["ELLIPSIS", "make_snippet", "marked_words"]

ELLIPSIS = "…"
_WORD = re.compile(r"\S+")
# A raw word that may be one piece of a spaced abbreviation: letters + a mark.
_ABBREV_PIECE = re.compile(r"^[\u0900-\u0963\u0971-\u097f]+[0\u0966\u0970oO.]$")
_MAX_PIECES = 4


def marked_words(words: list[str], query: ParsedQuery) -> list[bool]:
    """For each raw word, whether a snippet marks it (the page viewer boxes the same)."""
    terms = highlight_terms(query)
    prefixes = tuple(query.prefixes)
    keys = set(query.latin_keys)
    marked = []
    for word in words:
        hit = False
        for tok in fold_word(word):
            if (
                tok in terms
                or (prefixes and tok.startswith(prefixes))
                or (keys and word_key(tok) in keys)
            ):
                hit = True
                break
        marked.append(hit)
    if terms:
        n = len(words)
        i = 0
        while i < n:
            if marked[i] or not _ABBREV_PIECE.match(words[i]):
                i += 1
                continue
            joined_to = -1
            for j in range(i + 1, min(n, i + _MAX_PIECES)):
                if not _ABBREV_PIECE.match(words[j]):
                    break
                if fold(" ".join(words[i : j + 1])) in terms:
                    joined_to = j
            if joined_to > 0:
                for k in range(i, joined_to + 1):
                    marked[k] = True
                i = joined_to + 1
            else:
                i += 1
    return marked


def _window(spans: list[tuple[int, int]], marked: list[bool], width: int) -> tuple[int, int]:
    """Word index range [lo, hi] of the best window."""
    n = len(spans)
    hits = [i for i in range(n) if marked[i]]
    if not hits:
        lo = hi = 0
    else:
        best = (0, hits[0], hits[0])
        left = 0
        for right in range(len(hits)):
            while spans[hits[right]][1] - spans[hits[left]][0] > width and left < right:
                left += 1
            count = right - left + 1
            if count > best[0]:
                best = (count, hits[left], hits[right])
        _, lo, hi = best
        # Context: about a third of the spare room before the first match.
        spare = width - (spans[hi][1] - spans[lo][0])
        target = spans[lo][0] - max(0, spare) // 3
        while lo > 0 and spans[lo - 1][0] >= target:
            lo -= 1
    while hi + 1 < n and spans[hi + 1][1] - spans[lo][0] <= width:
        hi += 1
    while lo > 0 and spans[hi][1] - spans[lo - 1][0] <= width:
        lo -= 1
    return lo, hi


def _clip(word: str, width: int) -> str:
    return word if len(word) <= width else word[:width] + ELLIPSIS


def make_snippet(raw_text: str, query: ParsedQuery, width: int = 200) -> tuple[str, str]:
    """(plain, html) snippet of about ``width`` characters around the best matches."""
    width = max(20, int(width))
    found = list(_WORD.finditer(raw_text or ""))
    if not found:
        return "", ""
    words = [m.group(0) for m in found]
    spans = [m.span() for m in found]
    marked = marked_words(words, query) if not query.is_empty else [False] * len(words)
    lo, hi = _window(spans, marked, width)
    head = ELLIPSIS if lo > 0 else ""
    tail = ELLIPSIS if hi < len(words) - 1 else ""
    plain_parts = []
    html_parts = []
    for i in range(lo, hi + 1):
        word = _clip(words[i], width)
        plain_parts.append(word)
        escaped = html.escape(word)
        html_parts.append(f"<mark>{escaped}</mark>" if marked[i] else escaped)
    plain = head + " ".join(plain_parts) + tail
    markup = head + " ".join(html_parts) + tail
    return plain, markup
