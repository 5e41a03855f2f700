"""What an index stores for a page's text: both fields, with every extra key (``index_fields``)."""

from __future__ import annotations

from typing import NamedTuple

from search.normalise.codes import index_loose
from search.normalise.folding import finish_fold, prefold
from search.normalise.grams import index_grams
from search.normalise.notation import Notation, notations, stray_crime_keys
from search.normalise.pairs import pair_keys
from search.normalise.shapes import index_shapes
from search.normalise.transliteration import transliterate_folded
from search.normalise.vehicle import vehicle_notations


def index_extras(
    text: str, folded: str, prefolded: str | None = None, found: list[Notation] | None = None
) -> tuple[str, str]:
    """What an index adds after ``fold(text)`` and ``transliterate_folded`` of it:
    (canonical notation and vehicle tokens for ``folded``; joined pair keys and stray
    crime keys (``stray_crime_keys``) for ``translit``), each a space-separated string,
    possibly empty. ``prefolded``: ``prefold(text)`` when the caller has it already."""
    pre = prefold(text) if prefolded is None else prefolded
    keys = []
    seen = set()
    found = notations(pre) if found is None else found
    for nt in [*found, *vehicle_notations(pre)]:
        if nt.key not in seen:
            seen.add(nt.key)
            keys.append(nt.key)
    weak = [k for k in dict.fromkeys(stray_crime_keys(pre, found)) if k not in seen]
    return " ".join(keys), " ".join([*pair_keys(folded), *weak])


class IndexFields(NamedTuple):
    """What every backend indexes for a page's searchable text."""

    folded: str  # fold(text) + notation and vehicle keys: the first tier
    translit: str  # transliteration keys + pair keys + stray crime keys: the first tier
    grams: str  # character n-grams of long tokens (search.normalise.grams): the second tier
    loose: str  # shape keys (shapes), code skeletons and loose crime / vehicle keys (codes): second tier


def index_fields(text: str) -> IndexFields:
    """The indexed fields of a page's searchable text, as every backend stores them:
    ``fold(text)`` + notation tokens, ``transliterate_folded`` of it + pair keys
    (``index_extras``), the n-grams of both, and the shape keys of the words followed by
    the loose code keys. Prefolds the text once."""
    pre = prefold(text)
    folded = finish_fold(pre)
    translit = transliterate_folded(folded)
    grams = index_grams(folded, translit)
    shapes = index_shapes(folded)
    found = notations(pre)
    extra_folded, extra_translit = index_extras(text, folded, pre, found)
    if extra_folded:
        folded = f"{folded} {extra_folded}"
    if extra_translit:
        translit = f"{translit} {extra_translit}"
    exact = set(extra_folded.split())
    codes = [k for k in index_loose(pre, found) if k not in exact]
    loose = " ".join([*shapes, *codes])
    return IndexFields(folded, translit, grams, loose)
