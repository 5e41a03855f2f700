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
  ``PHRASE_BOOST``;
- police notation (``search.normalise.notations``): a crime number or section in any
  written form (``मु0अ0सं0 123/19``, ``मुकदमा अपराध संख्या 123 सन 2019``, ``379 IPC``,
  ``u/s 379``, ``धारा 379 भादवि``) becomes one clause on its canonical token
  (``cr123y2019``, ``sec379``), which indexes add to ``folded``; its context words
  (मुअसं, धारा, IPC, ...) are not required words. A bare number stays a number;
- adjacent Latin terms also match the key of both joined (indexes hold a joined key
  for each adjacent word pair), so "Ram Prakash" finds रामप्रकाश and back;
- vehicle numbers (``search.normalise.vehicle_notations``): "UP80EA0088", "UP 80 EA
  0088", "यूपी 80 ..." become one clause: the key ``vh80n0088`` (RTO district + the
  4-digit number, which indexes add wherever the OCR text has them, however it read
  the state letters) or the typed tokens as a phrase;
- a crime number also matches its key in ``translit``, where indexes put the key read
  without a stray leading digit (``search.normalise.stray_crime_keys``); an exact
  reading in ``folded`` weighs more;
- OCR errors: when the exact query finds fewer than ``FUZZY_MIN_HITS`` pages, the
  backend adds the pages ``fuzzy_clauses`` finds (each word may also be any indexed
  token within ``fuzzy_edits`` edits, a Devanagari word also its transliteration key;
  with a crime number, the sections typed with it
  are not required), after every exact hit, scored by ``fuzzy_score`` below the lowest
  exact score.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from search.normalise import (
    finish_fold,
    fold,
    has_devanagari,
    is_latin,
    latin_key,
    notations,
    prefold,
    vehicle_notations,
    word_key,
)

__all__ = [
    "FIELD_WEIGHTS",
    "FUZZY_LENGTHS",
    "FUZZY_MAX_EXPANSIONS",
    "FUZZY_MIN_HITS",
    "MAX_CLAUSES",
    "PHRASE_BOOST",
    "Match",
    "Notation",
    "ParsedQuery",
    "clauses",
    "edit_distance",
    "fuzzy_clauses",
    "fuzzy_edits",
    "fuzzy_expand",
    "fuzzy_score",
    "highlight_terms",
    "latin_key_of",
    "parse_query",
    "proximity_boost",
    "translit_tokens",
]

T = TypeVar("T")

FIELD_WEIGHTS = {"folded": 1.0, "translit": 0.6}
PHRASE_BOOST = 2.0
MAX_QUERY_CHARS = 1000
MAX_CLAUSES = 24  # terms + phrases + prefixes kept, in typed order
MIN_PREFIX = 2
# OCR-error tolerance: when the exact query finds fewer than FUZZY_MIN_HITS pages, pages
# where a word is within a few edits (Damerau, in code points) of a typed word are
# added AFTER every exact hit. Edits allowed by the typed token's length, per field,
# as Elasticsearch's ``fuzziness: AUTO:low,high``: below low 0, below high 1, else 2.
FUZZY_MIN_HITS = 10
FUZZY_LENGTHS = {"folded": (4, 7), "translit": (4, 8)}
FUZZY_MAX_EXPANSIONS = 50

_QUOTES = re.compile('["\u201c\u201d\u201e\u00ab\u00bb]')
_OPERATORS = re.compile(r"(?<![A-Za-z0-9])(?:AND|OR|NOT|NEAR)(?![A-Za-z0-9])")


@dataclass
class ParsedQuery:
    terms: list[str] = field(default_factory=list)  # folded single words (AND)
    phrases: list[list[str]] = field(default_factory=list)  # folded token sequences
    prefixes: list[str] = field(default_factory=list)  # folded word prefixes
    latin_keys: list[str] = field(default_factory=list)  # latin_key of Latin terms
    notations: list[Notation] = field(default_factory=list)  # crime numbers, sections

    @property
    def is_empty(self) -> bool:
        return not (self.terms or self.phrases or self.prefixes or self.notations)


@dataclass(frozen=True)
class Notation:
    """A crime number or section recognised in the query (``search.normalise.notations``):
    a page matches when its folded field holds ``key`` (``cr123y2019``, ``sec379``) or
    the folded ``phrase`` when one is given (none by ``parse_query``: "11/2019" must not
    find the date 05/11/2019). ``numbers`` are marked in snippets."""

    key: str
    phrase: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()


def _add(items: list[T], item: T, budget: list[int]) -> None:
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
        pre = prefold(part)
        found = sorted(notations(pre) + vehicle_notations(pre, query=True), key=lambda nt: nt.start)
        if found:
            pieces = []
            last = 0
            span = (-1, -1)
            for nt in found:
                if nt.start < last and (nt.start, nt.end) != span:
                    continue  # overlaps a notation found before (a list shares its span)
                span = (nt.start, nt.end)
                if nt.start > last:
                    pieces.append(pre[last : nt.start])
                pieces.append(" ")
                last = max(last, nt.end)
                # A vehicle number also matches as written (its folded tokens, in order).
                phrase = tuple(finish_fold(pre[nt.start : nt.end]).split()) if nt.key.startswith("vh") else ()
                item = Notation(nt.key, phrase, tuple(dict.fromkeys(nt.numbers)))
                if all(x.key != nt.key for x in q.notations):
                    _add(q.notations, item, budget)
            pieces.append(pre[last:])
            pre = "".join(pieces)
        for chunk in pre.split():
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
    for keys in _joined_keys(q):
        for key in keys:
            if key not in q.latin_keys:
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
    for nt in q.notations:
        out.update(nt.numbers)
    return out


@dataclass(frozen=True)
class Match:
    """One thing a page field must contain: a phrase (a term is a 1-token phrase)
    or, with ``prefix``, a phrase whose last token is a prefix."""

    field: str  # "folded" or "translit"
    tokens: tuple[str, ...]
    prefix: bool = False
    fuzzy: int = 0  # > 0: any indexed token within this many edits of tokens[0]


def _joined_keys(q: ParsedQuery) -> list[list[str]]:
    """Per term: keys of it joined with its Latin neighbours ("Ram Prakash" -> the key of
    "ramprakash", which an index holds for रामप्रकाश and for the pair राम प्रकाश)."""
    out: list[list[str]] = [[] for _ in q.terms]
    for i in range(len(q.terms) - 1):
        a, b = q.terms[i], q.terms[i + 1]
        if is_latin(a) and is_latin(b) and len(a) >= 2 and len(b) >= 2:
            key = latin_key(a + b)
            out[i].append(key)
            out[i + 1].append(key)
    return out


def fuzzy_edits(token: str, field: str = "folded") -> int:
    """Edits a fuzzy match of ``token`` may make (0: none); numbers never."""
    if not token or token.isdigit() or not any(c.isalpha() for c in token):
        return 0
    low, high = FUZZY_LENGTHS[field]
    n = len(token)
    return 0 if n < low else 1 if n < high else 2


def clauses(q: ParsedQuery) -> list[list[Match]]:
    """The query as an AND of ORs of ``Match`` (empty for an empty query)."""
    out: list[list[Match]] = []
    joined = _joined_keys(q)
    for term, extra in zip(q.terms, joined):
        alts = [Match("folded", (term,))]
        key = latin_key_of(term)
        if key:
            alts.append(Match("translit", (key,)))
        for k in extra:
            if k != key:
                alts.append(Match("translit", (k,)))
        out.append(alts)
    for nt in q.notations:
        alts = [Match("folded", (nt.key,))]
        if nt.key.startswith("cr"):
            # the same number read with a stray leading digit (normalise.stray_crime_keys)
            alts.append(Match("translit", (nt.key,)))
        if nt.phrase:
            alts.append(Match("folded", nt.phrase))
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


def fuzzy_clauses(q: ParsedQuery) -> list[list[Match]]:
    """``clauses`` with fuzzy alternatives for the words (not numbers, phrases, prefixes
    or notations; a Devanagari word also by its exact transliteration key),
    and without the section clauses when the query has a crime number
    (the pages of that crime number whose section OCR misread); [] when neither
    applies."""
    out = clauses(q)
    any_fuzzy = False
    relax = any(nt.key.startswith("cr") for nt in q.notations)
    for i, term in enumerate(q.terms):
        edits = fuzzy_edits(term, "folded")
        if edits:
            out[i].append(Match("folded", (term,), fuzzy=edits))
            any_fuzzy = True
        key = latin_key_of(term)
        if key is None and has_devanagari(term):
            # A Devanagari word OCR misread may still sound the same: its key in
            # translit (गुड्डू read as गुडू: both ``gudu``).
            out[i].append(Match("translit", (word_key(term),)))
            any_fuzzy = True
            continue
        edits = fuzzy_edits(key or "", "translit")
        if key and edits:
            out[i].append(Match("translit", (key,), fuzzy=edits))
            any_fuzzy = True
    if relax:
        # A crime number identifies the case: sections typed with it (which OCR reads
        # badly in register tables) are not required in this second tier.
        start = len(q.terms)
        drop = {start + k for k, nt in enumerate(q.notations) if nt.key.startswith("sec")}
        if drop:
            out = [alts for k, alts in enumerate(out) if k not in drop]
            any_fuzzy = True
    return out if any_fuzzy else []


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (substitution, insertion, deletion, adjacent
    transposition: Lucene's fuzzy with ``transpositions``), in code points; any value
    above ``limit`` is returned as ``limit + 1``."""
    la, lb = len(a), len(b)
    if abs(la - lb) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(lb + 1))
    for i in range(1, la + 1):
        cur = [i] + [0] * lb
        ca = a[i - 1]
        best = cur[0]
        for j in range(1, lb + 1):
            cb = b[j - 1]
            v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                v = min(v, prev2[j - 2] + 1)
            cur[j] = v
            if v < best:
                best = v
        if best > limit:
            return limit + 1
        prev2, prev = prev, cur
    return min(prev[lb], limit + 1)


def fuzzy_expand(token: str, edits: int, vocabulary: Iterable[str]) -> list[str]:
    """Indexed tokens (other than ``token``) within ``edits`` of it, best first, at most
    ``FUZZY_MAX_EXPANSIONS``: ordered as Lucene's fuzzy query keeps its top terms
    (similarity 1 - distance / shorter length, then term order)."""
    found = []
    n = len(token)
    chars = set(token)
    # Each edit adds or removes at most one distinct character (a substitution both),
    # so a term within ``edits`` differs from the token in at most 2 * edits distinct
    # characters: a cheap exact pre-filter before the distance itself.
    most = 2 * edits
    for term in vocabulary:
        if term == token or abs(len(term) - n) > edits or len(chars.symmetric_difference(term)) > most:
            continue
        d = edit_distance(token, term, edits)
        if d <= edits:
            found.append((-(1.0 - d / min(n, len(term))), term))
    found.sort()
    return [t for _, t in found[:FUZZY_MAX_EXPANSIONS]]


def fuzzy_score(raw: float, floor: float | None) -> float:
    """The score shown for a page found only through fuzzy matches: always below
    ``floor`` (the lowest exact hit's score; 1.0 when there is none), in the order of the
    engine's own ``raw`` score."""
    raw = max(0.0, float(raw))
    return (floor if floor and floor > 0 else 1.0) * 0.5 * raw / (1.0 + raw)


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
