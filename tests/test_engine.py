"""ingest.engine, ingest.layout, ingest.textlayer: the seam, our lines, our text layer."""

from __future__ import annotations

import re
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

from abhilekh.records import Word
from abhilekh.settings import Settings
from ingest import engine as eng
from ingest.layout import find_lines
from ingest.textlayer import text_layer_pdf
from tests.fixtures import synthetic

LINES = ["रमेश यादव पुत्र सुरेश ग्राम छिबरामऊ", "मु0अ0सं0 123/2019 धारा 379 भादवि", "वाहन संख्या UP 78 AB 1234 थाना कोतवाली"]


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    from ingest.clean import binarise

    return binarise(synthetic.render_lines(LINES, width=1500, font_px=44))


def test_factory_gives_one_engine_per_configuration() -> None:
    a, b = eng.open_engine(Settings()), eng.open_engine(Settings())
    assert a is b and a.name == "tesseract"
    with pytest.raises(eng.OcrError, match="unknown OCR engine"):
        eng.open_engine(Settings(ocr_engine="nope"))


def test_engine_reads_a_line_with_boxes_in_its_image(page: np.ndarray) -> None:
    e = eng.open_engine(Settings())
    layout = find_lines(page, 300)
    line = layout.lines[0]
    crop = page[line.top - 10 : line.bottom + 10, line.left - 10 : line.right + 10]
    words = e.read(crop, 300, mode="line")
    assert [w.text for w in words][:2] == ["रमेश", "यादव"]
    h, w = crop.shape
    assert all(0 <= x.left and x.left + x.width <= w and 0 <= x.top and x.top + x.height <= h for x in words)
    assert re.match(r"^\d+\.\d+", e.version())
    assert "Devanagari" in e.describe() and e.check() == []


def test_missing_models_are_reported_with_the_fix(tmp_path: Path) -> None:
    e = eng.TesseractEngine(tmp_path, "hin")
    assert any("scripts/install" in p for p in e.check())
    with pytest.raises(eng.OcrError, match="scripts/install"):
        e.read(np.full((40, 100), 255, np.uint8), 300)


def test_one_api_per_thread_reads_alike(page: np.ndarray) -> None:
    e = eng.TesseractEngine(None, "Devanagari")
    results: list[list[str]] = []
    barrier = threading.Barrier(3)

    def work() -> None:
        barrier.wait()
        results.append([w.text for w in e.read(page, 300, mode="block")])

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3 and results[0] == results[1] == results[2] and results[0]


def test_layout_finds_every_line_through_rules_and_a_streak(page: np.ndarray) -> None:
    ruled = synthetic.add_ruling(page.copy(), rows=[5, 250], cols=[8])  # a margin rule, two rules
    ruled[:, 700:703] = 0  # a scanner streak through every line
    from ingest.clean import remove_ruling_lines

    layout = find_lines(remove_ruling_lines(ruled, 300, min_vertical_in=0.4), 300)
    assert len(layout.lines) == 3
    assert [ln.top for ln in layout.lines] == sorted(ln.top for ln in layout.lines)


def test_text_layer_carries_our_words_at_our_boxes(tmp_path: Path) -> None:
    words = [Word("धारा", 100, 50, 120, 40, 90, 1), Word("379", 240, 52, 70, 38, 90, 1),
             Word("SP/KNJ/PRO/2013/989", 100, 150, 500, 40, 90, 2)]
    f = tmp_path / "layer.pdf"
    f.write_bytes(text_layer_pdf(words, 1000, 400, 300))
    html = subprocess.run(["pdftotext", "-bbox", str(f), "-"], capture_output=True, text=True, check=True).stdout
    found = {m.group(5): [float(m.group(i)) for i in range(1, 5)] for m in re.finditer(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', html)}
    assert set(found) == {"धारा", "379", "SP/KNJ/PRO/2013/989"}
    k = 72 / 300
    x0, y0, x1, y1 = found["SP/KNJ/PRO/2013/989"]
    assert x0 == pytest.approx(100 * k, abs=1) and x1 == pytest.approx(600 * k, abs=1.5)
    assert y0 <= 170 * k <= y1


def test_a_line_tesseract_reads_twice_over_is_read_once() -> None:
    """A clean line image from the grey page (tuning-ledger t013) on which Tesseract's LSTM
    gives "रानी बाथम पत्नी विनोद बाथम" twice, the second run over the first's pixels: each
    word comes out once, and no word stands on another of its own text."""
    import cv2

    image = cv2.imread(str(Path(__file__).parent / "fixtures" / "repeated_line.png"), cv2.IMREAD_GRAYSCALE)
    words = eng.open_engine(Settings()).read(image, 300, mode="line", languages="hin")
    texts = [w.text for w in words]
    assert texts.count("रानी") == 1 and texts.count("विनोद") == 1, texts
    for i, a in enumerate(words):
        for b in words[i + 1:]:
            if a.text == b.text:
                assert min(a.left + a.width, b.left + b.width) - max(a.left, b.left) <= 0.5 * min(a.width, b.width)


def test_read_once_keeps_the_surer_of_two_words_on_the_same_pixels() -> None:
    def w(text: str, left: int, width: int, conf: float) -> Word:
        return Word(text, left, 10, width, 30, conf, 1)
    got = eng.read_once([w("रानी", 41, 62, 80.0), w("बाथम", 118, 62, 93.0), w("रानी", 34, 63, 93.0), w("घटना", 300, 80, 90.0)])
    assert [(x.text, x.left) for x in got] == [("रानी", 34), ("बाथम", 118), ("घटना", 300)]
    # another text on the same pixels is no repeat: a date whose box OCR drew over a stroke
    over = [w("|", 461, 41, 27.0), w("14-03-2013", 465, 423, 5.0)]
    assert eng.read_once(over) == over
    apart = [w("UP", 0, 40, 90.0), w("74", 45, 30, 90.0)]  # touching, not overlapping
    assert eng.read_once(apart) == apart
