"""The grey cut of a line (ingest.layout.line_image(source=)) that ingest.lines reads a
doubtful line again from; which reading is kept is guarded by tests/test_ocr_failures.py
(seed 62: a confident grey reading that drops letters is not kept)."""

from __future__ import annotations

import numpy as np

from ingest.layout import find_lines, line_image


def _page() -> tuple[np.ndarray, np.ndarray]:
    """A grey page with one line of two 'words', the first with a faint stroke inside it
    that the threshold lost, and the bilevel page made from it."""
    grey = np.full((200, 600), 240, np.uint8)
    grey[80:120, 100:130] = 20   # a word's dark strokes...
    grey[80:120, 150:180] = 20
    grey[95:105, 130:150] = 170  # ...joined by faint ink the threshold dropped
    grey[80:120, 300:340] = 20   # another word, same line
    bw = np.where(grey < 128, 0, 255).astype(np.uint8)
    return grey, bw


def test_a_line_cut_from_the_grey_page_keeps_what_the_threshold_lost() -> None:
    grey, bw = _page()
    layout = find_lines(bw, 300)
    assert layout.lines, "the two dark words make a line"
    line = layout.lines[0]
    plain = line_image(bw, layout, line, 10, 10_000)
    cut = line_image(bw, layout, line, 10, 10_000, source=grey)
    assert plain.image.shape == cut.image.shape
    assert plain.spans == cut.spans and plain.top == cut.top  # same geometry: boxes map back alike
    # the faint stroke is in the grey cut, not in the bilevel one
    assert (cut.image == 170).sum() > 0
    assert (plain.image == 170).sum() == 0
    # the words themselves are there in both
    assert (cut.image == 20).sum() == (plain.image == 0).sum()


def test_other_components_stay_out_of_the_grey_cut() -> None:
    grey, bw = _page()
    grey[10:40, 100:140] = 20  # a word on another line, far above
    bw = np.where(grey < 128, 0, 255).astype(np.uint8)
    layout = find_lines(bw, 300)
    low = max(layout.lines, key=lambda ln: ln.top)
    cut = line_image(bw, layout, low, 60, 10_000, source=grey)
    # the margin reaches up to the other word's rows, which are whitened, not copied
    assert cut.top < 40
    assert (cut.image[: 40 - cut.top] == 20).sum() == 0
