"""Character n-grams: a query word found inside a longer OCR token.

OCR glues words whose gap it missed (``निवासीग्रामजलालाबादथानासौरिख``); no whole-word
match can find ``जलालाबाद`` there. The ``grams`` field holds, for every long token of
a page, its overlapping ``N``-code-point pieces in order, then a boundary mark; a query
word matches inside a token when its own pieces occur there as a phrase (consecutive
positions), which with the boundary mark between tokens means exactly "is a substring
of one indexed token".

Both engines index these pieces as ordinary whitespace-separated tokens: the cut-down
Elasticsearch has no ngram tokenizer (no analysis-common), and an FTS5 trigram table
would count pieces across word gaps and score them its own way; one list made here
gives both the same tokens, hence the same matches and the same BM25 inputs.

Devanagari pieces come from ``fold`` tokens; pieces of the transliteration keys
(``translit``) carry ``KEY_MARK`` first, so "Jalalabad" finds the same glued token
through its key without meeting Latin text's own pieces. ``BOUNDARY`` and ``KEY_MARK``
are private-use characters: FTS5's tokenizer keeps them inside tokens (category Co)
and no text contains them.
"""

from __future__ import annotations

__all__ = ["BOUNDARY", "GRAM", "KEY_MARK", "MIN_QUERY", "MIN_TOKEN", "index_grams", "query_grams"]

GRAM = 3
MIN_TOKEN = 7  # code points: shorter tokens are whole words, found by the other tiers
MIN_QUERY = 4  # a shorter query word is inside too many tokens to mean anything
BOUNDARY = "\ue001"
KEY_MARK = "\ue000"


def _pieces(token: str) -> list[str]:
    return [token[i : i + GRAM] for i in range(len(token) - GRAM + 1)]


def _has_letter(token: str) -> bool:
    return any(c.isalpha() for c in token)


def index_grams(folded: str, translit: str) -> str:
    """The ``grams`` field of a page from its folded and transliterated tokens."""
    out: list[str] = []
    for tok in folded.split():
        if len(tok) >= MIN_TOKEN and _has_letter(tok):
            out += _pieces(tok)
            out.append(BOUNDARY)
    for key in translit.split():
        if len(key) >= MIN_TOKEN and key.isalpha():
            out += [KEY_MARK + p for p in _pieces(key)]
            out.append(BOUNDARY)
    return " ".join(out)


def query_grams(token: str, key: bool = False) -> tuple[str, ...]:
    """The pieces of a query word (folded, or a transliteration key with ``key``) that
    must occur in order in ``grams``; () for a word too short (or with no letter)."""
    if len(token) < MIN_QUERY or not _has_letter(token):
        return ()
    pieces = _pieces(token)
    return tuple(KEY_MARK + p for p in pieces) if key else tuple(pieces)
