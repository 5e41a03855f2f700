"""Text folding for search: the ONE place where Hindi/English text is normalised.

Every backend (SQLite FTS5, Elasticsearch) indexes ``fold(text)`` and
``transliterate(text)`` and queries with the same functions (through
``search.query``), so a page and a query typed in any of the usual spellings meet on
the same tokens. Nothing here depends on a search engine.

fold(text) -> str
    Unicode NFC; zero-width characters, BOM and soft hyphen removed; Devanagari digits
    -> ASCII; nukta letters -> base letter; chandrabindu -> anusvara; a nasal consonant
    + virama before a consonant of its own class -> anusvara (हिन्दी -> हिंदी);
    Latin casefolded; police abbreviations canonical (मु0अ0सं0 / मु०अ०सं० / मु.अ.सं. /
    मु॰अ॰सं॰ / मुoअoसंo / मु0 अ0 सं0 -> ``मुअसं``; उ0नि0 -> ``उनि``); dotted Latin
    initials joined (I.P.C. -> ``ipc``); all other punctuation -> space; a token never
    mixes scripts or letters and digits (UP78AB1234 -> ``up 78 ab 1234``, 123/2019 ->
    ``123 2019``). Output: tokens joined by single spaces. ``fold`` is idempotent.

transliterate(text) -> str
    One loose Latin key per token of ``fold(text)`` (see ``latin_key``); numbers pass
    through. "Ramesh Yadav" and रमेश यादव both give ``rmis ydb``.

The abbreviation rule, precisely. After digit folding and casefolding, a *mark* is
``0``, ``॰`` or ``o`` (``o`` only when no Latin letter follows) or ``.`` directly after
a Devanagari letter/sign. A *group* is a run of Devanagari segments each closed by a
mark, starting at the start of a word, optionally followed by one unmarked segment
(उ0निरीक्षक). The marks of a group are dropped and its segments joined (मु0अ0सं0 ->
मुअसं, सं0123 -> सं 123). A ``.`` only joins segments of at most two aksharas on both
sides, so a full stop between words (रमेश.यादव) is not an abbreviation. Groups separated
only by spaces (मु0 अ0 सं0) are joined when the result is in ``SPACED_ABBREVIATIONS``,
so common text such as ``नि0 ग्रा0 ...`` (निवासी ग्राम) stays two words.
Numbers are never touched by this rule: a mark must follow a Devanagari letter.

The package, one module per job; import from ``search.normalise`` only:

    chars            character tables and tokenisers (internal)
    folding          fold, prefold, finish_fold, tokens, fold_word
    transliteration  transliterate, transliterate_folded, latin_key, word_key, romanise
    notation         crime numbers and sections (notations, stray_crime_keys)
    pairs            joined keys of adjacent words (pair_keys)
    vehicle          vehicle registration numbers (vehicle_notations)
    grams            character n-grams of long tokens (index_grams, query_grams)
    codes            code skeletons, loose crime and vehicle keys (index_loose, query_loose)
    shapes           a word as OCR may have misread it (shape_key, index_shapes)
    indexing         index_fields, index_extras: the indexed fields of a page
"""

from __future__ import annotations

from search.normalise.chars import SPACED_ABBREVIATIONS
from search.normalise.codes import CODE_MIN, code_skeleton, index_loose, query_loose
from search.normalise.folding import finish_fold, fold, fold_word, prefold, tokens
from search.normalise.grams import index_grams, query_grams
from search.normalise.indexing import IndexFields, index_extras, index_fields
from search.normalise.notation import Notation, notations, stray_crime_keys
from search.normalise.pairs import pair_key, pair_keys
from search.normalise.shapes import SHAPE_MARK, index_shapes, shape_key
from search.normalise.transliteration import (
    has_devanagari,
    is_latin,
    latin_key,
    romanise,
    transliterate,
    transliterate_folded,
    word_key,
)
from search.normalise.vehicle import vehicle_notations

__all__ = [
    "CODE_MIN",
    "NORMALISE_VERSION",
    "SHAPE_MARK",
    "IndexFields",
    "index_shapes",
    "shape_key",
    "code_skeleton",
    "index_grams",
    "index_loose",
    "query_grams",
    "query_loose",
    "SPACED_ABBREVIATIONS",
    "Notation",
    "finish_fold",
    "fold",
    "fold_word",
    "has_devanagari",
    "index_extras",
    "index_fields",
    "is_latin",
    "latin_key",
    "notations",
    "pair_key",
    "pair_keys",
    "prefold",
    "romanise",
    "stray_crime_keys",
    "tokens",
    "transliterate",
    "transliterate_folded",
    "vehicle_notations",
    "word_key",
]

# Bump whenever what ``index_fields`` makes of a text changes (folding, keys, n-grams):
# indexes built with another version must be rebuilt (both backends empty them on
# open, and the caller re-indexes). 4: the grams and loose fields (issue 11).
NORMALISE_VERSION = 4
