"""Where the query's words are on a page: boxes to draw over the page image.

The words and their boxes come from the page's stored OCR (`pages/<n>.json`, in the
frame of the cleaned image the PDF shows, which is also the thumbnail's frame). A word
is marked by the matcher the snippets use (`search.snippet`), so the boxes mark the
same words the result list put in <mark>: folded terms, prefixes, Latin spellings of
Devanagari names, spaced police abbreviations, the crime number's own reading, a
name's words where they stand together. ``row_boxes`` spans each OCR line holding a
marked word: the register row the officer is looking for.
"""

from __future__ import annotations

from dataclasses import dataclass

from abhilekh.records import PageText
from search.base import QueryRefused
from search.marking import marked_words  # the snippets' own matcher: one notion of "a hit"
from search.query import check_query

MAX_BOXES = 200  # a query matching most of a page is not helped by more


@dataclass(frozen=True)
class Box:
    """A marked word, in pixels of the page frame (`PageText.width` x `height`)."""

    left: int
    top: int
    width: int
    height: int


def hit_boxes(page: PageText, query: str) -> list[Box]:
    """Boxes of the page's words that the query matches (none for an empty query or one
    the search refuses)."""
    try:
        parsed = check_query(query)
    except QueryRefused:
        return []
    if parsed.is_empty or not page.words:
        return []
    marked = marked_words([w.text for w in page.words], parsed)
    boxes = [Box(w.left, w.top, w.width, w.height)
             for w, hit in zip(page.words, marked) if hit and w.width > 0 and w.height > 0]
    return boxes[:MAX_BOXES]


def row_boxes(page: PageText, query: str) -> list[Box]:
    """One box per OCR line with a marked word, spanning that line's words (its row)."""
    try:
        parsed = check_query(query)
    except QueryRefused:
        return []
    if parsed.is_empty or not page.words:
        return []
    marked = marked_words([w.text for w in page.words], parsed)
    hit_lines = {w.line for w, hit in zip(page.words, marked) if hit}
    rows: dict[int, list[int]] = {}
    for w in page.words:
        if w.line in hit_lines and w.width > 0 and w.height > 0:
            r = rows.setdefault(w.line, [w.left, w.top, w.left + w.width, w.top + w.height])
            r[0], r[1] = min(r[0], w.left), min(r[1], w.top)
            r[2], r[3] = max(r[2], w.left + w.width), max(r[3], w.top + w.height)
    return [Box(x0, y0, x1 - x0, y1 - y0) for _, (x0, y0, x1, y1) in sorted(rows.items())][:MAX_BOXES]
