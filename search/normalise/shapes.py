"""Shape keys: a word as OCR may have misread it, for the second tier.

Tesseract's Devanagari models confuse letters that look alike, and the transliteration
key (``word_key``) keeps them apart because they sound different. Measured on the tuning
pages' OCR against their truth (bench/quality_corpus.py): स read as म and back, श read
as ज, च, ञ or ञ्ञ, and anusvara, visarga and virama added or lost (the vowel-length
confusions ौ/ो, ै/े, ु/ू and ब/व the key already ignores). ``shape_key`` reads each of
those groups as one letter and drops the marks, then takes the key; for a Latin word
the same groups in its key (s, m, j, c -> s), so "Umesh", उमेश and the OCR's उमेञ्ञ
all give ``usis``. Indexes hold one shape per word in ``loose`` (``SHAPE_MARK`` first,
in text order, so a name's two words stay side by side there).
"""

from __future__ import annotations

from functools import lru_cache

from search.normalise.transliteration import _HAS_DEV, _HAS_LATIN, latin_key, romanise

__all__ = ["SHAPE_MARK", "index_shapes", "shape_key"]

SHAPE_MARK = "\ue002"
_DEV_GROUPS = str.maketrans({"म": "स", "ज": "श", "च": "श", "ञ": "श",
                             "\u0902": None, "\u0901": None, "\u0903": None, "\u094d": None})
_KEY_GROUPS = str.maketrans({"m": "s", "j": "s", "c": "s"})


@lru_cache(maxsize=131072)
def shape_key(token: str) -> str | None:
    """The shape key of one folded word (None for a number or a token without letters)."""
    if _HAS_DEV.search(token):
        key = latin_key(romanise(token.translate(_DEV_GROUPS)))
    elif _HAS_LATIN.search(token):
        key = latin_key(token)
    else:
        return None
    return SHAPE_MARK + key.translate(_KEY_GROUPS)


def index_shapes(folded: str) -> list[str]:
    """The shape key of each word of a page's folded text, in order."""
    return [k for k in map(shape_key, folded.split()) if k]
