"""A scanner streak through a column of crime numbers must not change their digits.

Built from the generator (a tuning-set font and layout): a dark streak, a few pixels
wide and the page's whole height, laid through the second digit of every crime number
of a register page. Before flatten_streaks (ingest/clean.py) the binarised streak was
erased as a rule, with the strokes it crossed: "240/2013" read "210/2013" on 5 of 9 rows.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from abhilekh.settings import Settings
from ingest.clean import flatten_streaks
from ingest.process import process_page
from search.normalise import fold
from tests.fixtures import pagegen as pg

DPI = 300
CODE = re.compile(r"[0-9०-९]+/[0-9०-९]{4}")


def _streaked_register(seed: int, font: str = "noto-sans") -> tuple[np.ndarray, list[str]]:
    truth = pg.make_truth(seed, "register")
    img = np.asarray(pg.render_page(truth, dpi=DPI, font=font)).astype(np.float32)
    latin = pg._family(font).latin
    codes, xs = [], []
    for op in truth.layout:
        if isinstance(op, pg.TextOp) and CODE.fullmatch(op.text.strip()):
            f = pg._font(latin, op.size / 72 * DPI)
            left = op.x / 25.4 * DPI - {"left": 0.0, "center": 0.5, "right": 1.0}[op.align] * f.getlength(op.text)
            xs.append(int(left + f.getlength(op.text[:1]) + 2))  # through the second digit
            codes.append(op.text.strip())
    x = min(xs)
    img[:, x : x + 4] = img[:, x : x + 4] * 0.45 + 25 * 0.55  # as pagegen.streaks blends, at full strength
    return np.clip(img, 0, 255).astype(np.uint8), codes


@pytest.mark.parametrize("seed", [12, 13])
def test_digits_under_a_scanner_streak_are_read_as_printed(seed: int) -> None:
    img, codes = _streaked_register(seed)
    text = fold(process_page(img, DPI, Settings(ocr_page_timeout=120)).text)
    lost = [c for c in codes if fold(c) not in text]
    assert not lost, lost


def test_a_page_without_streaks_is_left_as_it_is() -> None:
    truth = pg.make_truth(21, "letter")
    grey = np.asarray(pg.render_page(truth, dpi=DPI, font="noto-sans"))
    assert np.array_equal(flatten_streaks(grey, DPI), grey)


def test_a_streak_is_lifted_but_a_wide_shaded_box_is_not() -> None:
    grey = np.full((900, 900), 240, np.uint8)
    grey[:, 300:304] = 120  # a streak
    grey[100:800, 500:800] = 180  # a shaded box, far wider than a streak
    out = flatten_streaks(grey, DPI)
    assert out[450, 300:304].min() > 220
    assert abs(int(out[450, 650]) - 180) <= 2
