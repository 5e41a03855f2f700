"""``transliterate``: one loose Latin key per folded token, so "Ramesh" meets रमेश."""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import lru_cache

from search.normalise.chars import _ANUSVARA, _DEV_CLASS, _VIRAMA
from search.normalise.folding import fold

# transliteration

_CONSONANTS = {
    "क": "k", "ख": "kh", "ग": "g", "घ": "gh", "ङ": "n",
    "च": "ch", "छ": "chh", "ज": "j", "झ": "jh", "ञ": "n",
    "ट": "t", "ठ": "th", "ड": "d", "ढ": "dh", "ण": "n",
    "त": "t", "थ": "th", "द": "d", "ध": "dh", "न": "n",
    "प": "p", "फ": "ph", "ब": "b", "भ": "bh", "म": "m",
    "य": "y", "र": "r", "ल": "l", "ळ": "l", "व": "v",
    "श": "sh", "ष": "sh", "स": "s", "ह": "h",
    "ॺ": "j", "ॻ": "g", "ॼ": "j", "ॾ": "d", "ॿ": "b",
}  # fmt: skip
_VOWELS = {
    "अ": "a", "आ": "aa", "इ": "i", "ई": "ii", "उ": "u", "ऊ": "uu",
    "ऋ": "ri", "ॠ": "rii", "ऌ": "li", "ए": "e", "ऐ": "ai", "ओ": "o", "औ": "au",
    "ऍ": "e", "ऎ": "e", "ऑ": "o", "ऒ": "o", "ॲ": "e", "ऄ": "a",
}  # fmt: skip
_MATRAS = {
    "ा": "aa", "ि": "i", "ी": "ii", "ु": "u", "ू": "uu", "ृ": "ri", "ॄ": "rii",
    "े": "e", "ै": "ai", "ो": "o", "ौ": "au", "ॅ": "e", "ॆ": "e", "ॉ": "o", "ॊ": "o",
    "ॢ": "li", "ॣ": "lii", "ॏ": "au", "ॖ": "u", "ॗ": "uu", "ऺ": "e", "ऻ": "ii",
}  # fmt: skip
_OTHER = {_ANUSVARA: "n", "ः": "h", "ॐ": "om"}


def romanise(word: str) -> str:
    """A plain ASCII romanisation of one folded Devanagari word (रमेश -> ramesha).

    Each consonant carries an inherent ``a`` unless a virama or vowel sign follows;
    ज्ञ is read ``gy`` (ज्ञान -> gyaana). Unknown characters are dropped.
    """
    if "ज्ञ" in word:
        word = word.replace("ज्ञ", "ग्य")
    out: list[str] = []
    n = len(word)
    i = 0
    while i < n:
        ch = word[i]
        cons = _CONSONANTS.get(ch)
        if cons is not None:
            out.append(cons)
            nxt = word[i + 1] if i + 1 < n else ""
            if nxt == _VIRAMA:
                i += 2
                continue
            matra = _MATRAS.get(nxt)
            if matra is not None:
                out.append(matra)
                i += 2
                continue
            out.append("a")
            i += 1
            continue
        rom = _VOWELS.get(ch) or _MATRAS.get(ch) or _OTHER.get(ch)
        if rom:
            out.append(rom)
        elif ch.isascii() and ch.isalnum():
            out.append(ch)
        i += 1
    return "".join(out)


_KEY_KEEP = re.compile(r"[^a-z]+")
_KEY_H = re.compile(r"([bcdfgjklmnpqrstvxyz])h+")
_KEY_DOUBLE = re.compile(r"([a-z])\1+")
_KEY_M = re.compile(r"m(?=[bp])")
_KEY_Y = re.compile(r"(?<=[aeiou])y")
_KEY_ER = re.compile(r"(?<=[bcdfgjklmnpqrstvy])er")
_KEY_TABLE = str.maketrans({"w": "v", "z": "j", "q": "k"})
# Last step: vowels and v/b that Hindi names are romanised with either way
# (Tewari/तिवारी, Rathore/राठौर, Bishungarh/विशुनगढ़, Qureshi/कुरैशी).
_KEY_MERGE = str.maketrans({"e": "i", "o": "u", "v": "b"})
# Whole Latin words spelt many ways (and abbreviated) for one name.
_KEY_ALIASES = {
    w: "mohammad"
    for w in ("mohammed", "mohamed", "mohamad", "muhammad", "muhammed", "mohd", "mohmmad", "mohmad")
}


def latin_key(word: str) -> str:
    """A loose phonetic key for one Latin word (or a ``romanise`` output).

    Lowercase ASCII letters only (accents stripped); ph->f, rh->d (garh, गढ़), x->ks,
    q->k, z->j, w->v, ou->au; ee->i, oo->u; h after a consonant dropped (kh->k, chh->c, sh->s, ...);
    doubled letters collapsed; y after a vowel -> i; every ``a`` except a word-initial
    one dropped (schwa deletion makes it unreliable); ``e`` between a consonant and
    ``r`` dropped (Verma, वर्मा; Dharmender); a final ``ei`` -> ``e`` (Pandey,
    पाण्डेय); a final ``e`` after a consonant dropped (Kishore, किशोर); ng -> n;
    m before b/p -> n (Rampur, रामपुर; Sambhal, संभल); Mohammed, Muhammad, Mohd -> Mohammad;
    last, e -> i, o -> u, v -> b (Tewari, तिवारी; Rathore, राठौर; Bishungarh, विशुनगढ़).
    "Ramesh" and रमेश (ramesha) both give ``rmis``; a word without Latin letters is
    returned unchanged.
    """
    w = word.lower()
    if not w.isascii():
        w = "".join(c for c in unicodedata.normalize("NFKD", w) if not unicodedata.combining(c))
    w = _KEY_KEEP.sub("", w)
    if not w:
        return word
    w = _KEY_ALIASES.get(w, w)
    w = w.replace("ph", "f").replace("rh", "d").replace("x", "ks").translate(_KEY_TABLE)
    w = w.replace("ou", "au").replace("ee", "i").replace("oo", "u")
    w = _KEY_H.sub(r"\1", w)
    w = _KEY_DOUBLE.sub(r"\1", w)
    w = _KEY_Y.sub("i", w)
    w = w[0] + w[1:].replace("a", "")
    if "er" in w:
        w = _KEY_ER.sub("r", w)
    if w.endswith("ei"):
        w = w[:-1]
    if len(w) > 3 and w[-1] == "e" and w[-2] not in "aeiou":
        w = w[:-1]
    w = _KEY_M.sub("n", w.replace("ng", "n"))
    return _KEY_DOUBLE.sub(r"\1", w.translate(_KEY_MERGE))


_HAS_DEV = re.compile(_DEV_CLASS)
_HAS_LATIN = re.compile(r"[a-z\u00c0-\u024f\u1e00-\u1eff]")


def has_devanagari(text: str) -> bool:
    """Whether `text` holds a Devanagari letter or sign."""
    return _HAS_DEV.search(text) is not None


def is_latin(token: str) -> bool:
    """True for a folded token written in Latin letters (not digits, not Devanagari)."""
    return bool(_HAS_LATIN.search(token)) and not _HAS_DEV.search(token)


@lru_cache(maxsize=131072)
def word_key(token: str) -> str:
    """The transliteration key of one folded token (Devanagari or Latin; else as is)."""
    if _HAS_DEV.search(token):
        return latin_key(romanise(token))
    if _HAS_LATIN.search(token):
        return latin_key(token)
    return token


def transliterate_folded(folded: str) -> str:
    """``transliterate`` for text that has already been through ``fold``."""
    return " ".join([word_key(t) for t in folded.split()])


def transliterate(text: str) -> str:
    """One Latin key per token of ``fold(text)``, joined by spaces (numbers unchanged)."""
    return transliterate_folded(fold(text))


if sys.flags.optimize == 0:  # cheap self-check at import: the tables are consistent
    assert all(len(k) == 1 for k in (*_CONSONANTS, *_VOWELS, *_MATRAS))
