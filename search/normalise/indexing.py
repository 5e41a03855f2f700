"""What an index stores for a page's text: both fields, with every extra key (``index_fields``)."""

from __future__ import annotations

from search.normalise.folding import finish_fold, prefold
from search.normalise.notation import notations, stray_crime_keys
from search.normalise.pairs import pair_keys
from search.normalise.transliteration import transliterate_folded
from search.normalise.vehicle import vehicle_notations


def index_extras(text: str, folded: str, prefolded: str | None = None) -> tuple[str, str]:
    """What an index adds after ``fold(text)`` and ``transliterate_folded`` of it:
    (canonical notation and vehicle tokens for ``folded``; joined pair keys and stray
    crime keys (``stray_crime_keys``) for ``translit``), each a space-separated string,
    possibly empty. ``prefolded``: ``prefold(text)`` when the caller has it already."""
    pre = prefold(text) if prefolded is None else prefolded
    keys = []
    seen = set()
    found = notations(pre)
    for nt in [*found, *vehicle_notations(pre)]:
        if nt.key not in seen:
            seen.add(nt.key)
            keys.append(nt.key)
    weak = [k for k in dict.fromkeys(stray_crime_keys(pre, found)) if k not in seen]
    return " ".join(keys), " ".join([*pair_keys(folded), *weak])


def index_fields(text: str) -> tuple[str, str]:
    """The two indexed fields of a page's searchable text, as every backend stores them:
    (``fold(text)`` + notation tokens, ``transliterate_folded`` of it + pair keys)
    (``index_extras``). Prefolds the text once."""
    pre = prefold(text)
    folded = finish_fold(pre)
    translit = transliterate_folded(folded)
    extra_folded, extra_translit = index_extras(text, folded, pre)
    if extra_folded:
        folded = f"{folded} {extra_folded}"
    if extra_translit:
        translit = f"{translit} {extra_translit}"
    return folded, translit
