"""What an officer types, parsed once and identically for every search backend.

``parse_query(text)`` turns free text into a ``ParsedQuery`` made only of folded word
tokens (``search.normalise.fold``): no character of the input ever reaches a search
engine's own query syntax, so quotes, ``AND (``, ``NEAR(``, ``'; DROP TABLE`` or HTML
are just words or nothing.

Syntax understood:
- words: every word must match (AND);
- ``"quoted words"``: a phrase (tokens adjacent, in order); an unbalanced quote is
  ignored and its words are read as plain words;
- ``word*``: prefix (at least 2 characters after folding);
- a typed word that folds into several tokens is a phrase: ``123/2019`` ->
  ``["123", "2019"]``, ``UP78AB1234`` -> ``["up", "78", "ab", "1234"]``;
- police abbreviations are joined before words are split, so ``मु0 अ0 सं0 123/2019``
  gives the term ``मुअसं`` and the phrase ``["123", "2019"]``;
- ``AND``, ``OR``, ``NOT``, ``NEAR`` typed in capitals are dropped (every word is
  required anyway); all other punctuation is a word separator.

How a backend must evaluate it (``clauses`` and ``proximity_boost`` spell this out):
- two indexed fields: ``folded`` (``fold`` of page text + title + file no + thana) and
  ``translit`` (``transliterate`` of the same);
- the query is an AND of clauses; each clause is an OR of ``Match`` alternatives;
- a Latin-script term or a phrase with a Latin token also matches its keys in
  ``translit`` (so "Ramesh Yadav" finds रमेश यादव); Devanagari and numbers match
  ``folded`` only;
- relevance: BM25 with field weights ``FIELD_WEIGHTS``; pages where all the plain terms
  occur as a phrase, in the order typed, get their score multiplied by
  ``PHRASE_BOOST``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from search.normalise import finish_fold, fold, is_latin, latin_key, prefold, word_key

__all__ = [
    "FIELD_WEIGHTS",
    "MAX_CLAUSES",
    "PHRASE_BOOST",
    "Match",
    "ParsedQuery",
    "clauses",
    "highlight_terms",
    "latin_key_of",
    "parse_query",
    "proximity_boost",
    "translit_tokens",
]

FIELD_WEIGHTS = {"folded": 1.0, "translit": 0.6}
PHRASE_BOOST = 2.0
MAX_QUERY_CHARS = 1000
MAX_CLAUSES = 24  # terms + phrases + prefixes kept, in typed order
MIN_PREFIX = 2

_QUOTES = re.compile('["\u201c\u201d\u201e\u00ab\u00bb]')
_OPERATORS = re.compile(r"(?<![A-Za-z0-9])(?:AND|OR|NOT|NEAR)(?![A-Za-z0-9])")


@dataclass
class ParsedQuery:
    terms: list[str] = field(default_factory=list)  # folded single words (AND)
    phrases: list[list[str]] = field(default_factory=list)  # folded token sequences
    prefixes: list[str] = field(default_factory=list)  # folded word prefixes
    latin_keys: list[str] = field(default_factory=list)  # latin_key of Latin terms

    @property
    def is_empty(self) -> bool:
        return not (self.terms or self.phrases or self.prefixes)


def _add(items: list, item, budget: list[int]) -> None:
    if item not in items and budget[0] > 0:
        items.append(item)
        budget[0] -= 1


def parse_query(text: str) -> ParsedQuery:
    """Parse free text into folded terms, phrases and prefixes (never raises)."""
    q = ParsedQuery()
    if not text or not isinstance(text, str):
        return q
    text = text[:MAX_QUERY_CHARS]
    budget = [MAX_CLAUSES]
    parts = _QUOTES.split(text)
    if len(parts) % 2 == 0:  # odd number of quotes: the last one opens nothing
        parts[-2:] = [parts[-2] + " " + parts[-1]]
    for i, part in enumerate(parts):
        if i % 2 == 1:  # inside quotes
            toks = fold(part).split()
            if len(toks) > 1:
                _add(q.phrases, toks, budget)
            elif toks:
                _add(q.terms, toks[0], budget)
            continue
        part = _OPERATORS.sub(" ", part)
        for chunk in prefold(part).split():
            is_prefix = chunk.endswith("*")
            toks = finish_fold(chunk).split()
            if not toks:
                continue
            if len(toks) > 1:
                _add(q.phrases, toks, budget)
            elif is_prefix and len(toks[0]) >= MIN_PREFIX:
                _add(q.prefixes, toks[0], budget)
            else:
                _add(q.terms, toks[0], budget)
    for tok in [*q.terms, *(t for p in q.phrases for t in p)]:
        key = latin_key_of(tok)
        if key and key not in q.latin_keys:
            q.latin_keys.append(key)
    return q


def latin_key_of(token: str) -> str | None:
    """The ``translit`` key of a Latin-script folded token; None for other tokens."""
    return latin_key(token) if is_latin(token) else None


def translit_tokens(tokens: list[str]) -> list[str] | None:
    """A phrase as it appears in ``translit``, if it has a Latin token (else None)."""
    if not any(is_latin(t) for t in tokens):
        return None
    return [word_key(t) for t in tokens]


def highlight_terms(q: ParsedQuery) -> set[str]:
    """Folded tokens to mark in snippets: the terms and every phrase token."""
    out = set(q.terms)
    for p in q.phrases:
        out.update(p)
    return out


@dataclass(frozen=True)
class Match:
    """One thing a page field must contain: a phrase (a term is a 1-token phrase)
    or, with ``prefix``, a phrase whose last token is a prefix."""

    field: str  # "folded" or "translit"
    tokens: tuple[str, ...]
    prefix: bool = False


def clauses(q: ParsedQuery) -> list[list[Match]]:
    """The query as an AND of ORs of ``Match`` (empty for an empty query)."""
    out: list[list[Match]] = []
    for term in q.terms:
        alts = [Match("folded", (term,))]
        key = latin_key_of(term)
        if key:
            alts.append(Match("translit", (key,)))
        out.append(alts)
    for phrase in q.phrases:
        alts = [Match("folded", tuple(phrase))]
        keys = translit_tokens(phrase)
        if keys:
            alts.append(Match("translit", tuple(keys)))
        out.append(alts)
    for prefix in q.prefixes:
        alts = [Match("folded", (prefix,), prefix=True)]
        key = latin_key_of(prefix)
        if key and len(key) >= MIN_PREFIX:
            alts.append(Match("translit", (key,), prefix=True))
        out.append(alts)
    return out


def proximity_boost(q: ParsedQuery) -> list[Match]:
    """Alternatives that earn ``PHRASE_BOOST``: the plain terms as one phrase.

    Empty when there are fewer than two terms.
    """
    if len(q.terms) < 2:
        return []
    alts = [Match("folded", tuple(q.terms))]
    keys = translit_tokens(q.terms)
    if keys and all(is_latin(t) for t in q.terms):
        alts.append(Match("translit", tuple(keys)))
    return alts
