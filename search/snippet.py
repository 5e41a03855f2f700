"""Snippets for search hits, cut from the RAW OCR text (backend-neutral).

``make_snippet(raw_text, query, width)`` splits the raw text at whitespace and marks
the words ``search.marking.marked_words`` says the query matched (the crime number,
name or code as found, not every word sharing a part of it). The window of about
``width`` characters holding the most marked words, started at the beginning of the
line (the register row) of its first mark when that fits, is returned twice: plain
text (whitespace collapsed, "…" where the page was cut) and HTML (every piece
``html.escape``d, marked words in ``<mark>``).
OCR text is untrusted; nothing from it reaches the HTML unescaped. With no marked word,
the snippet is the start of the page.
"""

from __future__ import annotations

from functools import lru_cache

from search.marking import marked_words
from search.query import ParsedQuery

__all__ = ["ELLIPSIS", "make_snippet", "marked_words"]

ELLIPSIS = "…"
SPLIT_CACHE = 512  # pages' word splits kept: the same pages come back query after query
# html.escape's five replacements in one C pass (the same output): a snippet escapes
# each of its ~30 words apart, to mark some of them
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"})


@lru_cache(maxsize=SPLIT_CACHE)
def _split(raw_text: str) -> tuple[tuple[str, ...], tuple[tuple[int, int], ...]]:
    """The page's words and their spans (read-only, shared between callers)."""
    # str.split and a find per word: the same words as ``\S+`` (both split at
    # str.isspace) at half the cost of a regex match object per word
    words = tuple(raw_text.split())
    spans = []
    find = raw_text.find
    pos = 0
    for word in words:
        start = find(word, pos)
        pos = start + len(word)
        spans.append((start, pos))
    return words, tuple(spans)


def _window(spans: list[tuple[int, int]], marked: list[bool], width: int, text: str) -> tuple[int, int]:
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
        # Context: the match's row from its start when it fits, else about a third of
        # the spare room before the first match.
        line_start = text.rfind("\n", 0, spans[lo][0]) + 1
        spare = width - (spans[hi][1] - spans[lo][0])
        target = line_start if spans[hi][1] - line_start <= width else spans[lo][0] - max(0, spare) // 3
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
    words_t, spans_t = _split(raw_text or "")
    if not words_t:
        return "", ""
    words, spans = list(words_t), list(spans_t)
    marked = marked_words(words_t, query) if not query.is_empty else [False] * len(words)
    lo, hi = _window(spans, marked, width, raw_text)
    head = ELLIPSIS if lo > 0 else ""
    tail = ELLIPSIS if hi < len(words) - 1 else ""
    plain_parts = []
    html_parts = []
    for i in range(lo, hi + 1):
        word = _clip(words[i], width)
        plain_parts.append(word)
        escaped = word.translate(_ESCAPES)
        html_parts.append(f"<mark>{escaped}</mark>" if marked[i] else escaped)
    plain = head + " ".join(plain_parts) + tail
    markup = head + " ".join(html_parts) + tail
    return plain, markup
