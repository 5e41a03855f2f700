"""bench/corpus.py: a tuning and a held-out set that share nothing the OCR is fitted to."""

from __future__ import annotations

import numpy as np
import pytest

from bench import corpus
from ingest.gazetteer import lexicon
from tests.fixtures import vocab
from tests.fixtures.pagegen import normalise_text


def test_no_word_list_knows_the_held_out_names_and_villages() -> None:
    """Half the held-out people and villages come from vocab.HELDOUT_*: if a lexicon had
    them, restoring them would be fitting to the pages we judge on."""
    words = lexicon()
    held = [p.dev for p in vocab.HELDOUT_FIRST_NAMES + vocab.HELDOUT_SURNAMES] + [t.dev for t in vocab.HELDOUT_VILLAGES]
    pieces = {w for name in held for w in name.split()}
    assert not pieces & words, sorted(pieces & words)
    tuning = {p.dev for p in vocab.FIRST_NAMES + vocab.SURNAMES} | {t.dev for t in vocab.VILLAGES}
    assert not set(held) & tuning


def test_splits_share_no_font_layout_or_degradation() -> None:
    t, h = corpus.SPLITS[corpus.TUNING], corpus.SPLITS[corpus.HELDOUT]
    assert not set(t.kinds) & set(h.kinds)
    assert not set(t.fonts) & set(h.fonts)
    assert t.pipeline != h.pipeline and not h.hand_profiles
    from tests.fixtures import scanlike

    names = lambda f: {n for n, _, _ in f()}  # noqa: E731
    assert not names(scanlike._tuning) & names(scanlike._heldout)


def test_the_fresh_heldout_split_shares_nothing_with_tuning_and_prints_both_dates() -> None:
    t, h2 = corpus.SPLITS[corpus.TUNING], corpus.SPLITS[corpus.HELDOUT2]
    assert not set(t.kinds) & set(h2.kinds) and not set(t.fonts) & set(h2.fonts)
    assert h2.seed not in (t.seed, corpus.SPLITS[corpus.HELDOUT].seed) and h2.pipeline != t.pipeline
    assert set(h2.fonts) - set(corpus.SPLITS[corpus.HELDOUT].fonts)  # a font no split had
    from tests.fixtures import pagegen as pg

    truth = pg.make_truth(7, "ledger-dated")  # not a held-out page's seed
    text = pg.normalise_text(truth.text).replace("\n", " ")
    for e in truth.entries:
        assert e.occurred and e.occurred_text in text and e.date_text in text and e.occurred <= e.date


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> dict:
    import os

    old = os.environ.get("ABHILEKH_CACHE")
    os.environ["ABHILEKH_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    try:
        return {"tuning": corpus.tuning_pages(3), "heldout": corpus.heldout_pages(3),
                "again": corpus.pages(corpus.HELDOUT, 3, progress=False)}
    finally:
        if old is None:
            os.environ.pop("ABHILEKH_CACHE")
        else:
            os.environ["ABHILEKH_CACHE"] = old


def test_pages_carry_the_documented_truth(small: dict) -> None:
    for split in ("tuning", "heldout"):
        for page in small[split]:
            img = page.image()
            assert img.dtype == np.uint8 and page.dpi in (200, 300)
            t = page.truth
            assert t.text and t.lines and t.items
            flat = normalise_text(t.text)
            for item in t.items:
                assert item.text in flat, item
            for line in t.lines:
                x0, y0, x1, y1 = line.box
                assert 0 <= x0 < x1 and 0 <= y0 < y1 and line.text
            if t.kind in ("register", "ledger", "vehicles"):
                assert t.entries and all(e["box_px"] for e in t.entries)
            assert t.codes, "every page carries a file, crime or vehicle number"
    assert {p.truth.kind for p in small["heldout"]} <= {"ledger", "memo"}


def test_pages_are_reproducible(small: dict) -> None:
    a, b = small["heldout"], small["again"]
    assert [p.truth.to_dict() for p in a] == [p.truth.to_dict() for p in b]
    assert all(np.array_equal(x.image(), y.image()) for x, y in zip(a, b))
