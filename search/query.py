"""What an officer types, parsed once and identically for every search backend.

``parse_query(text)`` turns free text into a ``ParsedQuery`` made only of folded word
tokens (``search.normalise.fold``): no character of the input ever reaches a search
engine's own query syntax, so quotes, ``AND (``, ``NEAR(``, ``'; DROP TABLE`` or HTML
are just words or nothing. ``check_query(text)`` refuses, with a message that says why,
what cannot be searched as typed: text with nothing to search for (punctuation or
operators only), over ``MAX_QUERY_CHARS`` characters, or with more than ``MAX_CLAUSES``
words and numbers. Nothing is cut silently.

Syntax understood:
- words: every word must match (AND);
- ``"quoted words"``: a phrase (tokens adjacent, in order); an unbalanced quote is
  ignored and its words are read as plain words;
- ``word*``: prefix (at least 2 characters after folding);
- a typed word that folds into several tokens is a phrase: ``13/01/2019`` ->
  ``["13", "01", "2019"]``;
- police abbreviations are joined before words are split, so ``मु0 अ0 सं0 123/2019``
  gives the crime number ``cr123y2019`` (its context words are not required);
- ``AND``, ``OR``, ``NOT``, ``NEAR`` typed in capitals are dropped (every word is
  required anyway); all other punctuation is a word separator;
- a relation word between names (पुत्र, पुत्री, पत्नी: ``RELATION_WORDS``) is not
  required when other words are typed: "राम पुत्र श्याम" asks for राम next to श्याम.

How a backend must evaluate it (``clauses``, ``tolerant_clauses`` and
``proximity_boost`` spell this out as ``Match`` alternatives, which each engine turns
into its own syntax):
- four indexed fields (``search.normalise.index_fields``): ``folded`` (``fold`` of page
  text + title + file no + thana, with notation keys), ``translit`` (one transliteration
  key per token, joined pair keys, stray crime keys), ``grams`` (character n-grams of long
  tokens) and ``loose`` (code skeletons, loose crime and vehicle keys);
- the query is an AND of clauses; each clause is an OR of ``Match`` alternatives;
- first tier (``clauses``): a word matches its folded token or its transliteration key,
  in either script, so "Ramesh Yadav" and रमेश यादव find the same pages; adjacent words
  also match the key of both joined ("Ram Prakash" finds रामप्रकाश and back). Police
  notation (``search.normalise.notations``: crime numbers and sections in any written
  form) and vehicle numbers match their canonical key; a code (engine, chassis,
  mobile, file number: ``search.normalise.codes``) its typed tokens as a phrase;
- relevance: BM25 with field weights ``FIELD_WEIGHTS``, times a factor for names as
  names (``proximity_boost``): 1, plus ``PAIR_BOOST`` for each pair of consecutive
  words found side by side in the order typed and half that for each pair within
  ``NAME_SLOP`` words of each other, in either script;
- second tier (``tolerant_clauses``), when the first finds fewer than
  ``FUZZY_MIN_HITS`` pages: the pages only OCR-tolerant matching finds, after every
  first-tier hit, scored by ``fuzzy_score`` below the lowest first-tier score. A word
  may also be any indexed token within ``fuzzy_edits`` edits (folded and key), or found
  inside a longer OCR token (its n-grams as a phrase in ``grams``); a crime number,
  vehicle or code also matches its ``loose`` keys, and sections typed with a crime
  number are not required. Every clause is still required.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from search.base import QueryRefused
from search.normalise import (
    finish_fold,
    fold,
    is_latin,
    latin_key,
    notations,
    pair_keys,
    prefold,
    query_grams,
    query_loose,
    shape_key,
    vehicle_notations,
    word_key,
)

__all__ = [
    "FIELD_WEIGHTS",
    "FUZZY_ALONE",
    "FUZZY_LENGTHS",
    "FUZZY_MAX_EXPANSIONS",
    "FUZZY_MIN_HITS",
    "MAX_CLAUSES",
    "MAX_QUERY_CHARS",
    "NAME_SLOP",
    "PAIR_BOOST",
    "Match",
    "Notation",
    "ParsedQuery",
    "QueryRefused",
    "check_query",
    "clauses",
    "edit_distance",
    "code_edits",
    "fuzzy_edits",
    "fuzzy_expand",
    "fuzzy_score",
    "joined_keys",
    "key_of",
    "latin_key_of",
    "parse_query",
    "proximity_boost",
    "tolerant_clauses",
    "translit_tokens",
]

T = TypeVar("T")

FIELD_WEIGHTS = {"folded": 1.0, "translit": 0.6, "grams": 0.3, "loose": 0.5}
PAIR_BOOST = 1.0
NAME_SLOP = 1  # words of a name may be one word apart ("रमेश कुमार यादव" for "रमेश यादव")
MAX_QUERY_CHARS = 500  # the web page's search box holds as many
MAX_CLAUSES = 24  # words, phrases, prefixes, numbers and codes
MIN_PREFIX = 2
# Parsing looks at no more than this much text (check_query refuses longer queries
# before a search; this only bounds the work of callers that parse without checking).
_PARSE_LIMIT = 4 * MAX_QUERY_CHARS
# OCR-error tolerance: when the exact query finds fewer than FUZZY_MIN_HITS pages, pages
# where a word is within a few edits (Damerau, in code points) of a typed word are
# added AFTER every exact hit. Edits allowed by the typed token's length, per field,
# as Elasticsearch's ``fuzziness: AUTO:low,high``: below low 0, below high 1, else 2.
# A transliteration key is shorter than its word and already loose (vowel length,
# aspiration, v/b are one letter), so one edit there needs a longer key: a 4-letter
# key one edit away is another name (Anita/Amit: anit/amit).
FUZZY_MIN_HITS = 10
FUZZY_LENGTHS = {"folded": (4, 7), "translit": (5, 8)}
FUZZY_MAX_EXPANSIONS = 50
CODE_FUZZY = (12, 15)  # skeleton lengths for one and for two edits (code_edits)
# Words shorter than this (code points) are matched within edits only next to another
# word typed with them, when there is one (tolerant_clauses).
FUZZY_ALONE = 7
LOST_START_MIN = 2  # letters of a key left when a name's first letters are lost

# Relation words between a name and a father's or husband's name (folded).
RELATION_WORDS = frozenset("पुत्र पुत्री पत्नी पुत्रवधू पु पुत्रि".split())
_QUOTES = re.compile('["\u201c\u201d\u201e\u00ab\u00bb]')
_OPERATORS = re.compile(r"(?<![A-Za-z0-9])(?:AND|OR|NOT|NEAR)(?![A-Za-z0-9])")
_CODE_CHUNK = re.compile(r"^[^a-z0-9\u0900-\u097f]*([a-z0-9]+(?:[/\-.][a-z0-9]+)*)[^a-z0-9\u0900-\u097f]*$")


@dataclass
class ParsedQuery:
    terms: list[str] = field(default_factory=list)  # folded single words (AND)
    phrases: list[list[str]] = field(default_factory=list)  # folded token sequences
    prefixes: list[str] = field(default_factory=list)  # folded word prefixes
    latin_keys: list[str] = field(default_factory=list)  # keys of the words (both scripts)
    notations: list[Notation] = field(default_factory=list)  # crime numbers, sections, codes
    overflow: int = 0  # items typed beyond MAX_CLAUSES (check_query refuses them)

    @property
    def is_empty(self) -> bool:
        return not (self.terms or self.phrases or self.prefixes or self.notations)


@dataclass(frozen=True)
class Notation:
    """A crime number, section, vehicle or other code recognised in the query.

    A page matches in the first tier when its folded field holds ``key``
    (``cr123y2019``, ``sec379``, ``vh80n0088``; None for a code, which has no canonical
    token) or the folded ``phrase`` when one is given (a vehicle or code as typed; none
    for crime numbers: "11/2019" must not find the date 05/11/2019). ``loose``: its
    second-tier keys in ``loose``. ``numbers`` are what snippets mark of a crime number."""

    key: str | None
    phrase: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    loose: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """"crime", "section", "vehicle" or "code"."""
        if self.key is None:
            return "code"
        return {"cr": "crime", "se": "section", "vh": "vehicle"}[self.key[:2]]


def _add(items: list[T], item: T, budget: list[int], q: ParsedQuery) -> None:
    if item in items:
        return
    if budget[0] > 0:
        items.append(item)
        budget[0] -= 1
    else:
        q.overflow += 1


def _code_runs(pre: str) -> list[tuple[int, int]]:
    """Spans of typed codes in prefolded query text: runs of whitespace-separated Latin
    letter/digit chunks that ``search.normalise.query_loose`` keys, where every chunk has
    a digit or is a short letter group (SP KNJ PRO 2013 989) and two or more chunks have
    digits, or one chunk that mixes them or is a number of 10 digits or more (a mobile
    number; a date has 8)."""
    chunks = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", pre)]
    out = []
    i = 0
    while i < len(chunks):
        j = i
        digit_chunks = 0
        while j < len(chunks):
            m = _CODE_CHUNK.match(chunks[j][2])
            if m is None:
                break
            core = m.group(1)
            has_digit = any(c.isdigit() for c in core)
            if not has_digit and (len(core) > 3 or not core.isalpha()):
                break
            digit_chunks += has_digit
            j += 1
        while j > i and not any(c.isdigit() for c in chunks[j - 1][2]):
            j -= 1  # a run ends with its last chunk with a digit
        if j > i:
            text = pre[chunks[i][0] : chunks[j - 1][1]]
            # one chunk: letters and digits mixed, or a long number (a mobile number)
            digits = text.strip().replace("-", "")
            single = j - i == 1 and (any(c.isalpha() for c in text) or (digits.isdigit() and len(digits) >= 10))
            if (digit_chunks >= 2 or single) and query_loose(text):
                out.append((chunks[i][0], chunks[j - 1][1]))
                i = j
                continue
        i = max(i + 1, j) if j > i else i + 1
    return out


def parse_query(text: str) -> ParsedQuery:
    """Parse free text into folded terms, phrases, prefixes and notations (never raises)."""
    q = ParsedQuery()
    if not text or not isinstance(text, str):
        return q
    text = text[:_PARSE_LIMIT]
    budget = [MAX_CLAUSES]
    parts = _QUOTES.split(text)
    if len(parts) % 2 == 0:  # odd number of quotes: the last one opens nothing
        parts[-2:] = [parts[-2] + " " + parts[-1]]
    for i, part in enumerate(parts):
        if i % 2 == 1:  # inside quotes
            toks = fold(part).split()
            if len(toks) > 1:
                _add(q.phrases, toks, budget, q)
            elif toks:
                _add(q.terms, toks[0], budget, q)
            continue
        part = _OPERATORS.sub(" ", part)
        pre = prefold(part)
        # A vehicle number must be whole typed words: ME4JF50ALAY21529 is a chassis.
        vehicles = [nt for nt in vehicle_notations(pre, query=True) if _whole_words(pre, nt.start, nt.end)]
        found = sorted(notations(pre) + vehicles, key=lambda nt: nt.start)
        spans: list[tuple[int, int, Notation]] = []
        last = 0
        span = (-1, -1)
        for nt in found:
            if nt.start < last and (nt.start, nt.end) != span:
                continue  # overlaps a notation found before (a list shares its span)
            span = (nt.start, nt.end)
            last = max(last, nt.end)
            typed = pre[nt.start : nt.end]
            if nt.key.startswith("vh"):
                # A vehicle number also matches as written (its folded tokens, in order),
                # and in the second tier by its re-read key and its skeleton.
                item = Notation(nt.key, tuple(finish_fold(typed).split()), (), (nt.key, *query_loose(typed)))
            elif nt.key.startswith("cr"):
                item = Notation(nt.key, (), tuple(dict.fromkeys(nt.numbers)), (nt.key,))
            else:
                item = Notation(nt.key, (), tuple(dict.fromkeys(nt.numbers)))
            spans.append((nt.start, nt.end, item))
        rest = _blank(pre, [(a, b) for a, b, _ in spans])
        for a, b in _code_runs(rest):
            typed = rest[a:b]
            spans.append((a, b, Notation(None, tuple(finish_fold(typed).split()), (), query_loose(typed))))
        spans.sort(key=lambda x: x[0])
        for _, _, item in spans:
            if item.key is None or all(x.key != item.key for x in q.notations):
                _add(q.notations, item, budget, q)
        pre = _blank(pre, [(a, b) for a, b, _ in spans])
        for chunk in pre.split():
            is_prefix = chunk.endswith("*")
            toks = finish_fold(chunk).split()
            if not toks:
                continue
            if len(toks) > 1:
                _add(q.phrases, toks, budget, q)
            elif is_prefix and len(toks[0]) >= MIN_PREFIX:
                _add(q.prefixes, toks[0], budget, q)
            else:
                _add(q.terms, toks[0], budget, q)
    if any(t not in RELATION_WORDS for t in q.terms):
        # "राम पुत्र श्याम": the relation says how the names are typed, not a word the page
        # must hold as typed (पु0, पुत्री, S/o, or misread); the names stay side by side
        kept = [t for t in q.terms if t not in RELATION_WORDS]
        q.terms[:] = kept
    for tok in [*q.terms, *(t for p in q.phrases for t in p)]:
        key = key_of(tok)
        if key and key not in q.latin_keys:
            q.latin_keys.append(key)
    for keys in joined_keys(q):
        for key in keys:
            if key not in q.latin_keys:
                q.latin_keys.append(key)
    return q


def _whole_words(text: str, start: int, end: int) -> bool:
    return (start == 0 or text[start - 1].isspace()) and (end == len(text) or text[end].isspace())


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with each span replaced by one space (positions after it move)."""
    if not spans:
        return text
    out = []
    last = 0
    for a, b in sorted(spans):
        if a < last:
            continue
        out.append(text[last:a])
        out.append(" " * (b - a))  # keep positions: later spans index the same text
        last = b
    out.append(text[last:])
    return "".join(out)


def check_query(text: str | None) -> ParsedQuery:
    """The parsed query, or ``QueryRefused`` saying why it cannot be searched as typed.

    Blank text is no query (a search with filters browses them); text with characters
    but no word or number to look for, text longer than ``MAX_QUERY_CHARS`` and more
    than ``MAX_CLAUSES`` words are refused."""
    text = text or ""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryRefused(
            f"the query is {len(text)} characters long; the limit is {MAX_QUERY_CHARS}: "
            "search for the name, number or words that matter / "
            f"खोज {len(text)} अक्षरों की है; सीमा {MAX_QUERY_CHARS} अक्षर है"
        )
    parsed = parse_query(text)
    if parsed.overflow:
        n = MAX_CLAUSES + parsed.overflow
        raise QueryRefused(
            f"the query has {n} words and numbers; the limit is {MAX_CLAUSES}: "
            f"leave out common words / खोज में {n} शब्द हैं; सीमा {MAX_CLAUSES} है"
        )
    if parsed.is_empty and text.strip():
        raise QueryRefused(
            f"nothing to search for in {text.strip()[:40]!r}: type a name, word or number / "
            "खोजने के लिए कुछ नहीं: नाम, शब्द या संख्या लिखें"
        )
    return parsed


def key_of(token: str) -> str | None:
    """The ``translit`` key of a folded word with letters (either script); None for a
    number or a token without letters."""
    if not any(c.isalpha() for c in token):
        return None
    return word_key(token)


def latin_key_of(token: str) -> str | None:
    """The ``translit`` key of a Latin-script folded token; None for other tokens."""
    return latin_key(token) if is_latin(token) else None


def translit_tokens(tokens: list[str]) -> list[str] | None:
    """A phrase as it appears in ``translit``, if it has a Latin token (else None)."""
    if not any(is_latin(t) for t in tokens):
        return None
    return [word_key(t) for t in tokens]


@dataclass(frozen=True)
class Match:
    """One thing a page field must contain: a phrase (a term is a 1-token phrase)
    or, with ``prefix``, a phrase whose last token is a prefix; with ``near`` >= 0
    (boosts only), its tokens in any order with at most ``near`` other words between
    each and the next."""

    field: str  # "folded", "translit", "grams" or "loose"
    tokens: tuple[str, ...]
    prefix: bool = False
    fuzzy: int = 0  # > 0: any indexed token within this many edits of tokens[0]
    near: int = -1  # with fuzzy: tokens[0] (fuzzily) within near words of tokens[1]


def joined_keys(q: ParsedQuery) -> list[list[str]]:
    """Per term: keys of it joined with its neighbours of the same script ("Ram Prakash"
    -> the key of "ramprakash", which an index holds for रामप्रकाश and for the pair राम
    प्रकाश; राम प्रकाश the same through ``pair_keys``)."""
    out: list[list[str]] = [[] for _ in q.terms]
    for i in range(len(q.terms) - 1):
        keys = pair_keys(f"{q.terms[i]} {q.terms[i + 1]}")
        for key in keys:
            out[i].append(key)
            out[i + 1].append(key)
    return out


def code_edits(key: str) -> int:
    """Edits a long code's skeleton (an engine or chassis number, ``ck...``) may be off by
    in the second tier. Tesseract misreads these both ways (S for 8, an O added after a
    5), and the codes are random: one character off in twelve is that engine misread,
    not another. A vehicle or mobile number (10 characters) must match whole."""
    if not key.startswith("ck"):
        return 0
    n = len(key) - 2
    return 0 if n < CODE_FUZZY[0] else 1 if n < CODE_FUZZY[1] else 2


def fuzzy_edits(token: str, field: str = "folded") -> int:
    """Edits a fuzzy match of ``token`` may make (0: none); numbers never."""
    if not token or token.isdigit() or not any(c.isalpha() for c in token):
        return 0
    low, high = FUZZY_LENGTHS[field]
    n = len(token)
    return 0 if n < low else 1 if n < high else 2


def _term_alternatives(term: str, joined: list[str]) -> list[Match]:
    alts = [Match("folded", (term,))]
    key = key_of(term)
    if key:
        alts.append(Match("translit", (key,)))
    for k in joined:
        if k != key:
            alts.append(Match("translit", (k,)))
    return alts


def _notation_alternatives(nt: Notation) -> list[Match]:
    alts = []
    if nt.key is not None:
        alts.append(Match("folded", (nt.key,)))
        if nt.kind == "crime":
            # the same number read with a stray leading digit (normalise.stray_crime_keys)
            alts.append(Match("translit", (nt.key,)))
    if nt.phrase:
        alts.append(Match("folded", nt.phrase))
    return alts


def clauses(q: ParsedQuery) -> list[list[Match]]:
    """The first tier: the query as an AND of ORs of ``Match`` (empty for an empty
    query), in the order terms, notations, phrases, prefixes."""
    out: list[list[Match]] = []
    for term, joined in zip(q.terms, joined_keys(q)):
        out.append(_term_alternatives(term, joined))
    for nt in q.notations:
        out.append(_notation_alternatives(nt))
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


def tolerant_clauses(q: ParsedQuery) -> list[list[Match]]:
    """The second tier: ``clauses`` with the OCR-tolerant alternatives (see the module
    docstring), and without the section clauses when the query has a crime number (the
    pages of that crime number whose section OCR misread); [] when it would find
    nothing more than the first tier."""
    out = clauses(q)
    exact_len = [len(alts) for alts in out]
    words = [(t, key_of(t)) for t in q.terms]
    for i, (term, key) in enumerate(words):
        alts = out[i]
        # A short word one edit away is as likely another name as a misreading: next to
        # a neighbour typed with it (a name's other word) it is the same name.
        neighbours = [words[j] for j in (i - 1, i + 1) if 0 <= j < len(words) and words[j][1]]
        alone = len(term) >= FUZZY_ALONE or not neighbours
        # Within edits on its key only (not as written), so a name typed in either
        # script finds the same pages (bench/search_quality.py: same top-10).
        for name, token, others in (("translit", key, [n[1] for n in neighbours]),):
            edits = fuzzy_edits(token or "", name)
            if not token or not edits:
                continue
            if alone:
                alts.append(Match(name, (token,), fuzzy=edits))
            else:
                alts += [Match(name, (token, other), fuzzy=edits, near=NAME_SLOP) for other in others if other]
        shape = shape_key(term)
        # a short word's shape is another common name's too (रमेश, राजेश: rsis): only next
        # to its neighbour, and not for a word typed alone
        if shape and (len(term) >= FUZZY_ALONE or neighbours):
            if alone:
                alts.append(Match("loose", (shape,)))
            else:
                alts += [Match("loose", (shape, s), near=NAME_SLOP) for s in map(shape_key, (n[0] for n in neighbours)) if s]
        nxt = words[i + 1][1] if i + 1 < len(words) else None
        if key and nxt:
            # The first letters of a table cell lost at its ruling (गीता शर्मा read as
            # "ता शर्मा", रोहित as "हित"): the key without its first one or two letters,
            # right before the next word typed.
            for cut in (1, 2):
                if len(key) - cut >= LOST_START_MIN:
                    alts.append(Match("translit", (key[cut:], nxt)))
        pieces = query_grams(term)
        if pieces:
            alts.append(Match("grams", pieces))
        if key:
            pieces = query_grams(key, key=True)
            if pieces:
                alts.append(Match("grams", pieces))
    more = any(len(alts) > n for alts, n in zip(out, exact_len))
    start = len(q.terms)
    for k, nt in enumerate(q.notations):
        for key in nt.loose:
            out[start + k].append(Match("loose", (key,)))
            more = True
            edits = code_edits(key)
            if edits:
                out[start + k].append(Match("loose", (key,), fuzzy=edits))
    if any(nt.kind == "crime" for nt in q.notations):
        # A crime number identifies the case: sections typed with it (which OCR reads
        # badly in register tables) are not required in this second tier.
        drop = {start + k for k, nt in enumerate(q.notations) if nt.kind == "section"}
        if drop:
            out = [alts for k, alts in enumerate(out) if k not in drop]
            more = True
    return out if more else []


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
    """The score shown for a page found only through the second tier: always below
    ``floor`` (the lowest exact hit's score; 1.0 when there is none), in the order of the
    engine's own ``raw`` score."""
    raw = max(0.0, float(raw))
    return (floor if floor and floor > 0 else 1.0) * 0.5 * raw / (1.0 + raw)


def proximity_boost(q: ParsedQuery) -> list[tuple[float, list[Match]]]:
    """Names as names: per pair of consecutive typed words with letters, (weight,
    alternatives) that add the weight to a page's factor: ``PAIR_BOOST`` when the two
    stand side by side in the order typed, ``PAIR_BOOST / 2`` more when they are within
    ``NAME_SLOP`` words of each other in either order ("रमेश कुमार यादव" for "रमेश
    यादव"); as folded tokens or as keys, so the same for either script. Empty when there
    are fewer than two such words."""
    out: list[tuple[float, list[Match]]] = []
    for a, b in zip(q.terms, q.terms[1:]):
        ka, kb = key_of(a), key_of(b)
        if ka is None or kb is None:
            continue
        out.append((PAIR_BOOST, [Match("folded", (a, b)), Match("translit", (ka, kb))]))
        out.append((PAIR_BOOST / 2, [Match("folded", (a, b), near=NAME_SLOP),
                                     Match("translit", (ka, kb), near=NAME_SLOP)]))
    return out
