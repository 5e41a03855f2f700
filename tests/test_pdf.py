"""ingest.pdf and ingest.process: compact pages, text layer in place, one document."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import numpy as np
import pikepdf
import pytest

from abhilekh.settings import Settings
from ingest import clean, geometry
from ingest.ocr import ocr_image
from ingest.pdf import add_text_layer, assemble, encode_page, is_bilevel
from ingest.process import ProcessedPage, process_page
from tests.fixtures import synthetic

LINES = [
    "रमेश यादव पुत्र सुरेश ग्राम छिबरामऊ",
    "मु0अ0सं0 123/2019 धारा 379 भादवि",
    "वाहन संख्या UP 78 AB 1234 थाना कोतवाली",
]


def pdfinfo(path: Path, *args: str) -> str:
    return subprocess.run(["pdfinfo", *args, str(path)], capture_output=True, text=True, check=True).stdout


def page_size_pt(path: Path) -> tuple[float, float]:
    m = re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", pdfinfo(path))
    return float(m.group(1)), float(m.group(2))


def image_list(path: Path) -> list[list[str]]:
    out = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True).stdout
    return [line.split() for line in out.splitlines()[2:]]


def pdftotext(path: Path, *args: str) -> str:
    return subprocess.run(["pdftotext", *args, str(path), "-"], capture_output=True, text=True, check=True).stdout


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    f = tmp_path / name
    f.write_bytes(data)
    return f


@pytest.fixture(scope="module")
def a4_text() -> np.ndarray:
    return clean.binarise(synthetic.a4_page())


@pytest.fixture(scope="module")
def small_page() -> np.ndarray:
    return clean.binarise(synthetic.render_lines(LINES, width=1500, font_px=44))


# ---------------------------------------------------------------- encode_page


def test_a4_text_page_is_small_and_bilevel(a4_text: np.ndarray, tmp_path: Path) -> None:
    assert is_bilevel(a4_text)
    data = encode_page(a4_text, 300)
    assert len(data) < 300 * 1024
    f = write(tmp_path, "a4.pdf", data)
    w, h = page_size_pt(f)
    assert w == pytest.approx(595.2, abs=0.5) and h == pytest.approx(841.9, abs=0.5)
    (img,) = image_list(f)
    # page num type width height color comp bpc enc ...
    assert img[3:8] == ["2480", "3508", "gray", "1", "1"]
    assert img[8] in ("ccitt", "image")  # G4, or 1-bit Flate if that was smaller


def test_photo_page_is_grey_jpeg(tmp_path: Path) -> None:
    page = synthetic.render_lines(LINES * 8, width=2480, height=3508)
    yy, xx = np.mgrid[0:1200, 0:1000]
    page[1600:2800, 700:1700] = (120 + 90 * np.sin(xx / 35.0) * np.cos(yy / 50.0)).astype(np.uint8)
    assert not is_bilevel(page)
    data = encode_page(page, 300)
    assert len(data) < 300 * 1024
    f = write(tmp_path, "photo.pdf", data)
    (img,) = image_list(f)
    assert img[5] == "gray" and img[8] == "jpeg"
    assert page_size_pt(f)[0] == pytest.approx(595.2, abs=0.5)


def test_heavy_grey_page_is_brought_down_to_200_dpi(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 255, (3508, 2480), dtype=np.uint8)  # worst case for JPEG
    f = write(tmp_path, "noise.pdf", encode_page(noisy, 300))
    (img,) = image_list(f)
    assert img[3:5] == ["1653", "2339"]
    # The page is still A4: the image is scaled onto it.
    assert page_size_pt(f) == pytest.approx((595.2, 841.9), abs=0.5)


def test_page_size_follows_dpi(small_page: np.ndarray, tmp_path: Path) -> None:
    f = write(tmp_path, "p.pdf", encode_page(small_page, 150))
    h, w = small_page.shape
    assert page_size_pt(f) == pytest.approx((w * 72 / 150, h * 72 / 150), abs=0.5)


# ---------------------------------------------------------------- text layer


def _word_boxes(path: Path) -> list[tuple[str, float, float, float, float]]:
    html = pdftotext(path, "-bbox")
    return [
        (m.group(5), float(m.group(1)), float(m.group(2)), float(m.group(3)), float(m.group(4)))
        for m in re.finditer(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', html
        )
    ]


@pytest.mark.parametrize("ocr_dpi", [300, 299])
def test_text_layer_sits_on_the_words(small_page: np.ndarray, tmp_path: Path, ocr_dpi: int) -> None:
    """Selecting a word in a viewer must highlight that word on the image.

    With OCR_DPI 299 Tesseract's page is slightly larger than the image page and
    add_text_layer must scale it to fit.
    """
    ocr = ocr_image(small_page, ocr_dpi)
    page = add_text_layer(encode_page(small_page, 300), ocr.text_layer_pdf)
    f = write(tmp_path, "page.pdf", page)
    boxes = {text: box for text, *box in _word_boxes(f)}
    layer = {text: box for text, *box in _word_boxes(write(tmp_path, "layer.pdf", ocr.text_layer_pdf))}
    fit = ocr_dpi / 300  # how much the text page had to shrink to fit the image page
    scale = 72 / 300
    checked = 0
    for word in ocr.words:
        if word.text not in boxes or len(word.text) < 3:
            continue
        x0, y0, x1, y1 = boxes[word.text]
        left, right = word.left * scale, (word.left + word.width) * scale
        assert x0 == pytest.approx(left, abs=1.5)
        # Tesseract stretches each word over its box plus the following space, and
        # pdftotext leaves the space out: the end falls a little short of the box.
        assert left + 0.6 * (right - left) < x1 <= right + 1.5
        # Vertical extent comes from the line's font size, not the word's ink (a
        # conjunct or matra below sticks out): the word's middle must lie inside it.
        assert y0 < (word.top + word.height / 2) * scale < y1
        # Exactly where Tesseract put it, scaled to the image page.
        assert [x0, y0, x1, y1] == pytest.approx([v * fit for v in layer[word.text]], abs=0.3)
        checked += 1
    assert checked >= 5
    assert page_size_pt(f) == pytest.approx((1500 * 72 / 300, small_page.shape[0] * 72 / 300), abs=0.5)
    (img,) = image_list(f)  # still exactly one image: the compact one
    assert img[8] in ("ccitt", "image")


def test_assemble_merges_pages_with_text_and_title(small_page: np.ndarray, tmp_path: Path) -> None:
    pages = []
    texts = []
    for lines in (LINES, LINES[::-1], ["जनपद कन्नौज उत्तर प्रदेश पुलिस"]):
        img = clean.binarise(synthetic.render_lines(lines, width=1500, font_px=44))
        ocr = ocr_image(img, 300)
        texts.append(ocr)
        pages.append(add_text_layer(encode_page(img, 300), ocr.text_layer_pdf))
    doc = assemble(pages, title="थाना कोतवाली रजिस्टर 2019")
    f = write(tmp_path, "doc.pdf", doc)
    info = pdfinfo(f)
    assert re.search(r"Pages:\s+3\b", info)
    assert "थाना कोतवाली रजिस्टर 2019" in info
    assert re.search(r"Optimized:\s+yes", info)  # linearised
    for n, ocr in enumerate(texts, 1):
        page_words = set(pdftotext(f, "-f", str(n), "-l", str(n)).split())
        ocr_words = {w.text for w in ocr.words}
        assert len(ocr_words & page_words) >= 0.9 * len(ocr_words)
    assert "कन्नौज" in pdftotext(f, "-f", "3", "-l", "3")
    # Every page's copy of Tesseract's font is folded into one.
    with pikepdf.open(f) as pdf:
        fonts = [o for o in pdf.objects if isinstance(o, pikepdf.Dictionary)
                 and o.get("/BaseFont") == "/GlyphLessFont" and o.get("/Subtype") == "/Type0"]
        assert len(fonts) == 1
    assert len(doc) < sum(len(p) for p in pages)


def test_same_page_gives_same_bytes(small_page: np.ndarray) -> None:
    """Re-running a bundle must not change its PDF (no dates, no random ids or names)."""
    runs = []
    for _ in range(2):
        ocr = ocr_image(small_page, 300)
        runs.append(assemble([add_text_layer(encode_page(small_page, 300), ocr.text_layer_pdf)], title="t"))
        time.sleep(1.1)  # Tesseract stamps its PDF with the time, to the second
    assert runs[0] == runs[1]


def test_assemble_refuses_nothing() -> None:
    with pytest.raises(ValueError):
        assemble([])


# ---------------------------------------------------------------- process_page


def test_process_page_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest import engine, process

    # The cost that matters, counted: whole-page readings, and every engine call by mode.
    readings: list[tuple] = []
    modes: list[str] = []
    real_ocr_image, real_read = process.ocr_image, engine.TesseractEngine.read

    def counted_page(image, dpi, **kw):
        readings.append(image.shape)
        return real_ocr_image(image, dpi, **kw)

    def counted_read(self, image, dpi, *, mode="line", languages=None):
        modes.append(mode)
        return real_read(self, image, dpi, mode=mode, languages=languages)

    monkeypatch.setattr(process, "ocr_image", counted_page)
    monkeypatch.setattr(engine.TesseractEngine, "read", counted_read)
    upright = synthetic.render_lines(LINES, width=1700, height=700, font_px=44)
    scan = geometry.rotate_right_angle(synthetic.rotate_bound(upright, 3), 180)
    scan = synthetic.add_border(scan, 80, 20)
    settings = Settings(ocr_languages="hin+eng", ocr_page_timeout=60)
    page = process_page(scan, 300, settings)
    assert isinstance(page, ProcessedPage)
    assert page.rotation == 180 and abs(page.skew - 3) < 0.5 and page.dpi == 300
    assert "यादव" in page.text and "धारा" in page.text
    assert 50 < page.confidence <= 100
    assert page.words and all(w.left + w.width <= page.width for w in page.words)
    f = write(tmp_path, "page.pdf", page.pdf_page)
    assert page_size_pt(f) == pytest.approx((page.width * 72 / 300, page.height * 72 / 300), abs=0.5)
    assert "धारा" in pdftotext(f)
    assert len(page.pdf_page) < 60_000
    # One quick block read of sample bands to tell upside down from upright, then one
    # reading of the cleaned page, line by line. A page read this well (confidence >=
    # 70) is not read again from other renderings.
    assert readings == [(page.height, page.width)]
    assert modes.count("block") == 1 and modes[0] == "block"
    assert set(modes[1:]) <= {"line", "raw_line"} and len(modes) > 3
