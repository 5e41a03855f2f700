"""Adjacent word pairs, joined: "Ram Prakash" meets रामप्रकाश and "Ramprakash" राम प्रकाश."""

from __future__ import annotations

from functools import lru_cache

from search.normalise.transliteration import _HAS_DEV, _HAS_LATIN, latin_key, romanise

# adjacent word pairs, joined: "Ram Prakash" meets रामप्रकाश and "Ramprakash" राम प्रकाश


@lru_cache(maxsize=131072)
def _pair_key(a: str, b: str) -> str:
    if _HAS_DEV.search(a):
        return latin_key(romanise(a) + romanise(b))
    return latin_key(a + b)


@lru_cache(maxsize=262144)
def _pair_class(token: str) -> int:
    """0: never in a pair (short, or starts with a digit); 1: Devanagari; 2: Latin (no
    Devanagari); 3: other."""
    if len(token) < 2 or token[0].isdigit():
        return 0
    if _HAS_DEV.search(token):
        return 1
    return 2 if _HAS_LATIN.search(token) else 3


def pair_key(a: str, b: str) -> str | None:
    """The joined key of two adjacent folded words, None when they make no pair (not
    both Devanagari or both Latin, short, a number): ``pair_keys`` of "a b"."""
    ca = _pair_class(a)
    if (ca == 1 or ca == 2) and _pair_class(b) == ca:
        return _pair_key(a, b)
    return None


def pair_keys(folded: str) -> list[str]:
    """The ``latin_key`` of each adjacent pair of folded words of one script, joined."""
    toks = folded.split()
    classes = [_pair_class(t) for t in toks]
    out = []
    for i in range(len(toks) - 1):
        ca = classes[i]
        if ca and (ca == 1 or ca == 2) and classes[i + 1] == ca:
            out.append(_pair_key(toks[i], toks[i + 1]))
    return out
