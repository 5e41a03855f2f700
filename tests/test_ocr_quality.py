"""OCR quality on a few held-out pages (bench/corpus.py), through the production path.

A small sample (4 pages, its own draws of the held-out fonts, layouts and degradations)
so CI stays fast; bench/ocr_bench.py measures 32. The limits sit a margin above the
bench's held-out figures (docs/benchmarks.md), so a real regression fails here while
the sample's own spread does not. Nothing is tuned on these pages.
"""

from __future__ import annotations

import os
import statistics

import pytest

from abhilekh.settings import Settings
from bench import corpus
from bench.ocr_bench import codes_found, lines_lost
from ingest.process import process_page
from tests.fixtures.pagegen import cer

# Bench held-out figures (32 pages, docs/benchmarks.md) plus a margin for a 4-page sample.
MAX_MEAN_CER = 0.40  # bench: 0.247
MAX_LINES_LOST = 0.20  # bench: 8.0%
MIN_CODES = 0.45  # bench: 69.8%


@pytest.fixture(scope="module")
def readings(tmp_path_factory):
    old = os.environ.get("ABHILEKH_CACHE")
    os.environ["ABHILEKH_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    try:
        pages = corpus.pages(corpus.HELDOUT, 4, progress=False)
    finally:
        if old is None:
            os.environ.pop("ABHILEKH_CACHE")
        else:
            os.environ["ABHILEKH_CACHE"] = old
    settings = Settings()
    return [(p, process_page(p.image(), p.dpi, settings)) for p in pages]


def test_held_out_pages_read_within_the_bench_margin(readings) -> None:
    cers = [cer(p.truth.text, r.text) for p, r in readings]
    lost = [lines_lost(p, r.text) for p, r in readings]
    codes = [codes_found(p, r.text) for p, r in readings]
    share_lost = sum(a for a, _ in lost) / sum(b for _, b in lost)
    share_codes = sum(a for a, _ in codes) / max(1, sum(b for _, b in codes))
    summary = f"CER {[round(c, 3) for c in cers]}, lines lost {share_lost:.1%}, codes {share_codes:.1%}"
    print(summary)
    assert statistics.fmean(cers) <= MAX_MEAN_CER, summary
    assert share_lost <= MAX_LINES_LOST, summary
    assert share_codes >= MIN_CODES, summary


def test_held_out_pages_keep_their_words_on_the_page(readings) -> None:
    for _, r in readings:
        assert r.words, "some text on every page"
        assert all(0 <= w.left and w.left + w.width <= r.width + 1 and 0 <= w.top and w.top + w.height <= r.height + 1
                   for w in r.words)
