"""Which words of a page a query matched: what snippets put in <mark> and the viewer boxes.

``marked_words(words, parsed)`` takes a page's raw OCR words in reading order and marks
each word that is part of what the query asked for, by the rules the engines match by
(``search.query``), so an officer sees why the page came back:

- a crime number, section, vehicle or code marks the words of its reading on the page
  (the smallest run of words whose notation or loose key is the query's: "245/2019",
  "मु0अ0सं0 245/19", "2454 2019"), not every word that shares one of its numbers (the
  year, a date with the same year, another crime number of the year);
- a word marks the page words it matches: its folded token, its transliteration key
  (so "Ramesh" marks रमेश), a joined pair ("Ramprakash" marks राम प्रकाश); where it has
  no such match on the page, the words the second tier accepts (within its edits, or
  holding it inside a glued token);
- names as names: when consecutive query words stand side by side in the order typed
  (else near each other, ``NAME_SLOP``), only those occurrences are marked, not every
  other यादव of the page;
- phrases mark their run of words; prefixes the words they start; spaced police
  abbreviations (मु0 अ0 सं0) the pieces that fold together into a query token.

``rows_of`` gives the line numbers of the marked words, for the viewer's row boxes.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from itertools import compress, repeat

from search.normalise import (
    fold,
    fold_word,
    index_loose,
    notations,
    pair_key,
    prefold,
    vehicle_notations,
    word_key,
)
from search.normalise.grams import MIN_QUERY, MIN_TOKEN
from search.query import (
    NAME_SLOP,
    Notation,
    ParsedQuery,
    edit_distance,
    fuzzy_edits,
    joined_keys,
    key_of,
    translit_tokens,
)

__all__ = ["marked_words"]

_ABBREV_PIECE = re.compile(r"^[\u0900-\u0963\u0971-\u097f]+[0\u0966\u0970oO.]$")
_MAX_PIECES = 4
_NOTATION_WINDOW = 6  # raw words a crime number, plate or code may be spread over
# Pages whose word lookups are kept (``_page_words``): a page is shown again and again
# (its hits, its viewer, the next query of the same officer), and these lookups were
# most of a search's CPU when rebuilt for every query term (~25-100 kB a page).
PAGE_CACHE = 512


# A register's words recur page after page (names, villages, the column words): a
# token's transliteration key is worked out once, not on every page it is on.
_word_key = lru_cache(maxsize=65536)(word_key)
_pair_key = lru_cache(maxsize=131072)(pair_key)


class _PageWords:
    """A page's raw words, folded once: the tokens of each word and their
    transliteration keys, and (on first use: numbers-only queries need none) the
    joined key of each pair of neighbours. Marking a term is then one pass of set
    tests over these lists, not a fold of every word per term. Lists, not look-up
    tables: a search's hits are mostly pages not in this cache (10,000 pages, 512
    kept), and building tables of every token cost more than the passes they saved
    (~150 of ~250 us a page). Read-only once built."""

    __slots__ = ("_pair_keys", "flat_keys", "flat_toks", "flat_word", "piece_at", "pieces", "toks")

    def __init__(self, words: tuple[str, ...]) -> None:
        self.toks = toks = [fold_word(w) for w in words]
        # every token of the page in order, its key, and the word it is of: a term is
        # tested against them by map() (C loops), only its hits come back to Python
        self.flat_toks = [t for ts in toks for t in ts]
        self.flat_keys = list(map(_word_key, self.flat_toks))
        self.flat_word = [i for i, ts in enumerate(toks) for _ in ts]
        # the words that may be a piece of a spaced abbreviation (मु0 अ0 सं0)
        self.pieces = pieces = [bool(_ABBREV_PIECE.match(w)) for w in words]
        # where a run of two or more pieces starts: the only places a query term can be
        # spelt out (most pages have a handful, of hundreds of words)
        self.piece_at = [i for i in range(len(words) - 1) if pieces[i] and pieces[i + 1]
                         and (i == 0 or not pieces[i - 1])]
        self._pair_keys: list[str | None] | None = None

    @property
    def pair_keys(self) -> list[str | None]:
        """For each word i: the joined key of words i and i+1 (None: no such pair)."""
        if self._pair_keys is None:
            toks = self.toks
            # two threads may both build it: the same list either way
            self._pair_keys = [_pair_key(a[-1], b[0]) if a and b else None for a, b in zip(toks, toks[1:])]
        return self._pair_keys


@lru_cache(maxsize=PAGE_CACHE)
def _page_words(words: tuple[str, ...]) -> _PageWords:
    return _PageWords(words)


def _tolerant_word(term: str, key: str | None) -> Callable[[tuple[str, ...]], bool]:
    edits = fuzzy_edits(term, "folded")
    key_edits = fuzzy_edits(key or "", "translit")
    inside = len(term) >= MIN_QUERY and any(c.isalpha() for c in term)

    def match(toks: tuple[str, ...]) -> bool:
        for tok in toks:
            if edits and edit_distance(term, tok, edits) <= edits:
                return True
            if inside and len(tok) >= MIN_TOKEN and term in tok:
                return True
            if key is not None:
                k = word_key(tok)
                if key_edits and edit_distance(key, k, key_edits) <= key_edits:
                    return True
                if len(key) >= MIN_QUERY and len(k) >= MIN_TOKEN and key in k:
                    return True
        return False

    return match


def _term_marks(page: _PageWords, term: str, joined: set[str]) -> list[bool]:
    key = key_of(term)
    keys = ({key} if key else set()) | joined
    # a word with a token that is the term, or whose key is the term's (or a joined one)
    marks = [False] * len(page.toks)
    found = map(term.__eq__, page.flat_toks)
    if keys:
        found = map(operator.or_, found, map(keys.__contains__, page.flat_keys))
    for i in compress(page.flat_word, found):
        marks[i] = True
    if key:
        # one word typed, two written: "Ramprakash" marks राम प्रकाश
        pairs = page.pair_keys
        for i in compress(range(len(pairs)), map(operator.eq, repeat(key), pairs)):
            marks[i] = marks[i + 1] = True
    if not any(marks):
        tolerant = _tolerant_word(term, key)
        marks = [tolerant(ts) for ts in page.toks]
    return marks


@lru_cache(maxsize=4096)
def _notation_keys(text: str) -> frozenset[str]:
    pre = prefold(text)
    keys = {nt.key for nt in notations(pre)} | {nt.key for nt in vehicle_notations(pre)}
    return frozenset(keys | set(index_loose(pre)))


def _notation_marks(words: Sequence[str], nt: Notation) -> list[bool]:
    """The words of the smallest runs whose keys include the notation's."""
    marks = [False] * len(words)
    wanted = ({nt.key} if nt.key else set()) | set(nt.loose)
    if nt.key is None and nt.phrase:
        digits = max((t for t in nt.phrase if t.isdigit()), key=len, default="")
    elif nt.kind == "vehicle":
        digits = nt.key[-4:] if nt.key else ""
    else:
        digits = nt.numbers[0] if nt.numbers else ""
    # the run must end in a word holding the code's last digits (OCR may split it)
    digits = (digits.lstrip("0") or digits)[-4:]
    n = len(words)
    for end in range(n):
        if digits and digits not in "".join(fold_word(words[end])):
            continue
        for size in range(1, _NOTATION_WINDOW + 1):
            start = end - size + 1
            if start < 0:
                break
            window = words[start : end + 1]
            if wanted & _notation_keys(" ".join(window)):
                for k in range(start, end + 1):
                    marks[k] = True
                break
            if nt.phrase and _phrase_at(words, start, nt.phrase):
                for k in range(start, end + 1):
                    marks[k] = True
                break
    return marks


def _phrase_at(words: Sequence[str], start: int, phrase: tuple[str, ...] | list[str], keys: bool = False) -> int:
    """Raw words from ``start`` whose folded tokens (their keys, with ``keys``) begin
    with ``phrase``: how many (0: none)."""
    toks: list[str] = []
    k = start
    while k < len(words) and len(toks) < len(phrase):
        toks.extend(fold_word(words[k]))
        k += 1
    if keys:
        toks = [word_key(t) for t in toks]
    return k - start if tuple(toks[: len(phrase)]) == tuple(phrase) else 0


def _phrase_marks(words: Sequence[str], phrase: list[str]) -> list[bool]:
    marks = [False] * len(words)
    keys = translit_tokens(phrase)  # a phrase with Latin words matches by keys too
    for i in range(len(words)):
        n = _phrase_at(words, i, phrase) or (_phrase_at(words, i, keys, keys=True) if keys else 0)
        if n:
            for k in range(i, i + n):
                marks[k] = True
    return marks


def _abbreviation_marks(words: Sequence[str], page: _PageWords, terms: set[str]) -> list[bool]:
    marks = [False] * len(words)
    n = len(words)
    pieces = page.pieces
    for start in page.piece_at:
        _abbreviation_run(words, pieces, terms, start, n, marks)
    return marks


def _abbreviation_run(words: Sequence[str], pieces: list[bool], terms: set[str], i: int, n: int,
                      marks: list[bool]) -> None:
    """Mark the pieces from ``i`` (a run's start) on that fold into a query term."""
    while i < n:
        if not pieces[i]:
            return
        joined_to = -1
        for j in range(i + 1, min(n, i + _MAX_PIECES)):
            if not pieces[j]:
                break
            if fold(" ".join(words[i : j + 1])) in terms:
                joined_to = j
        if joined_to > 0:
            for k in range(i, joined_to + 1):
                marks[k] = True
            i = joined_to + 1
        else:
            i += 1


def _near_pairs(per_term: list[list[bool]]) -> list[list[bool]]:
    """Per term, only the marks that sit near a mark of the next or previous term, for
    the terms that have any such; the other terms keep all their marks."""
    out = [list(m) for m in per_term]
    reach = NAME_SLOP + 1
    keep: list[set[int]] = [set() for _ in per_term]
    for t in range(len(per_term) - 1):
        a = [i for i, x in enumerate(per_term[t]) if x]
        b = set(i for i, x in enumerate(per_term[t + 1]) if x)
        # side by side in the order typed, where there is such a place; else near
        pairs = [(i, i + 1) for i in a if i + 1 in b]
        if not pairs:
            pairs = [(i, j) for i in a for j in b if i != j and abs(i - j) <= reach]
        for i, j in pairs:
            keep[t].add(i)
            keep[t + 1].add(j)
    for t, kept in enumerate(keep):
        if kept:
            out[t] = [i in kept for i in range(len(out[t]))]
    return out


def marked_words(words: Sequence[str], query: ParsedQuery) -> list[bool]:
    """For each raw word, whether a snippet marks it (the page viewer boxes the same)."""
    n = len(words)
    marks = [False] * n
    if not n or query.is_empty:
        return marks
    page = _page_words(words if isinstance(words, tuple) else tuple(words))
    joined = joined_keys(query)
    per_term = [_term_marks(page, term, set(j)) for term, j in zip(query.terms, joined)]
    per_term = _near_pairs(per_term)
    layers = per_term
    layers += [_notation_marks(words, nt) for nt in query.notations]
    layers += [_phrase_marks(words, p) for p in query.phrases]
    if query.prefixes:
        prefixes = tuple(query.prefixes)
        layers.append([any(t.startswith(prefixes) for t in ts) for ts in page.toks])
    if query.terms:
        layers.append(_abbreviation_marks(words, page, set(query.terms)))
    return list(map(any, zip(*layers))) if layers else marks
