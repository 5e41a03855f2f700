"""Where the query's words are on a page: boxes to draw over the page image.

The words and their boxes come from the page's stored OCR (`pages/<n>.json`, in the
frame of the cleaned image the PDF shows, which is also the thumbnail's frame). A word
is marked by the matcher the snippets use (`search.snippet`), so the boxes mark the
same words the result list put in <mark>: folded terms, prefixes, Latin spellings of
Devanagari names, spaced police abbreviations.
"""

from __future__ import annotations

from dataclasses import dataclass

from abhilekh.records import PageText
from search.query import parse_query
from search.snippet import marked_words  # the snippets' own matcher: one notion of "a hit"

MAX_BOXES = 200  # a query matching most of a page is not helped by more


@dataclass(frozen=True)
class Box:
    """A marked word, in pixels of the page frame (`PageText.width` x `height`)."""

    left: int
    top: int
    width: int
    height: int


def hit_boxes(page: PageText, query: str) -> list[Box]:
    """Boxes of the page's words that the query matches (none for an empty query)."""
    parsed = parse_query(query or "")
    if parsed.is_empty or not page.words:
        return []
    marked = marked_words([w.text for w in page.words], parsed)
    boxes = [Box(w.left, w.top, w.width, w.height)
             for w, hit in zip(page.words, marked) if hit and w.width > 0 and w.height > 0]
    return boxes[:MAX_BOXES]
