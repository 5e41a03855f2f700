"""ingest.ocr: one real Tesseract run per page, words, text and text layer."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from ingest import ocr
from ingest.ocr import OcrResult, OcrTimeout, ocr_image, page_text, parse_tsv, tesseract_version
from tests.fixtures import synthetic
from tests.fixtures.synthetic import cer

LINES = [
    "रमेश यादव पुत्र सुरेश ग्राम छिबरामऊ",
    "मु0अ0सं0 123/2019 धारा 379 भादवि",
    "वाहन संख्या UP 78 AB 1234 थाना कोतवाली",
]



@pytest.fixture(scope="module")
def lines_image() -> np.ndarray:
    return synthetic.render_lines(LINES, width=1500, font_px=44)


@pytest.fixture(scope="module")
def result(lines_image: np.ndarray) -> OcrResult:
    return ocr_image(lines_image, 300)


def test_reads_hindi_and_english(result: OcrResult) -> None:
    assert cer(result.text, "\n".join(LINES)) < 0.1, result.text
    assert "यादव" in result.text and "धारा" in result.text
    assert "UP" in result.text and "78" in result.text


def test_text_has_one_line_per_text_line(result: OcrResult) -> None:
    lines = [line for line in result.text.splitlines() if line.strip()]
    assert len(lines) == 3
    assert cer(lines[0], LINES[0]) < 0.1


def test_words_carry_boxes_lines_and_confidence(result: OcrResult, lines_image: np.ndarray) -> None:
    h, w = lines_image.shape
    assert len(result.words) >= 15
    assert sorted({word.line for word in result.words}) == [1, 2, 3]
    lines = [word.line for word in result.words]
    assert lines == sorted(lines)  # reading order
    for word in result.words:
        assert word.text.strip()
        assert 0 <= word.left < w and 0 <= word.top < h
        assert word.left + word.width <= w and word.top + word.height <= h
        assert 0 <= word.confidence <= 100
    # Words on the first line lie left to right along it.
    first = [word for word in result.words if word.line == 1]
    assert [x.left for x in first] == sorted(x.left for x in first)
    assert 50 < result.confidence <= 100


# Lines with marks Tesseract reads as words of their own ("|", "~", a quote for the
# backtick, the closing danda as "|"), a label with a visarga for its colon and a number
# half in Devanagari digits: what the page confidence and post-correction are about.
NOISY_LINES = [
    "रमेश यादव | पुत्र सुरेश ` ग्राम छिबरामऊ",
    "विषयः मु0अ0सं0 123/2019 ~ धारा 379",
    "वाहन संख्या ३39210 थाना कोतवाली ।",
]
NOISE = {"|", "~", "'", "`"}


@pytest.fixture(scope="module")
def noisy_image() -> np.ndarray:
    return synthetic.render_lines(NOISY_LINES, width=1500, font_px=44)


@pytest.fixture(scope="module")
def noisy_raw(noisy_image: np.ndarray) -> OcrResult:
    # Tesseract's own page layout reads the marks as words; our line layout mostly
    # never segments them (checked below), so the rules are exercised on this path.
    return ocr_image(noisy_image, 300, correct=False, layout="tesseract", psm=4)


def test_page_confidence_leaves_out_lone_marks(noisy_raw: OcrResult) -> None:
    texts = [w.text for w in noisy_raw.words]
    assert {"|", "~"} <= set(texts), texts  # the marks are there, read as words
    # the closing danda standing alone is a mark too
    words = [w.confidence for w in noisy_raw.words if w.text not in NOISE | {"।"}]
    marks = [w.confidence for w in noisy_raw.words if w.text in NOISE | {"।"}]
    assert noisy_raw.confidence == pytest.approx(sum(words) / len(words), abs=0.01)
    # and counting the marks would give another figure: the check above can tell
    every = [*words, *marks]
    assert noisy_raw.confidence != pytest.approx(sum(every) / len(every), abs=0.01)


def test_text_layer_pdf_is_text_only(result: OcrResult, tmp_path: Path) -> None:
    assert result.text_layer_pdf.startswith(b"%PDF")
    # No page image inside: that is what keeps it small.
    assert len(result.text_layer_pdf) < 20_000
    f = tmp_path / "layer.pdf"
    f.write_bytes(result.text_layer_pdf)
    text = subprocess.run(["pdftotext", str(f), "-"], capture_output=True, text=True, check=True).stdout
    assert "यादव" in text
    info = subprocess.run(["pdfinfo", str(f)], capture_output=True, text=True, check=True).stdout
    width_pt, height_pt = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups())
    assert width_pt == pytest.approx(1500 * 72 / 300, abs=1)
    images = subprocess.run(["pdfimages", "-list", str(f)], capture_output=True, text=True).stdout
    assert len(images.strip().splitlines()) <= 2  # header lines only


def test_blank_page_has_no_words() -> None:
    blank = np.full((600, 800), 255, np.uint8)
    res = ocr_image(blank, 300)
    assert res.text == "" and res.words == [] and res.confidence == 0.0
    assert res.text_layer_pdf.startswith(b"%PDF")


def test_timeout_raises_ocr_timeout() -> None:
    page = synthetic.a4_page()
    with pytest.raises(OcrTimeout):
        ocr_image(page, 300, timeout=0.05)


def test_unknown_language_is_an_ocr_error(lines_image: np.ndarray) -> None:
    with pytest.raises(ocr.OcrError):
        ocr_image(lines_image, 300, languages="xyz_not_a_language")


def test_tesseract_version() -> None:
    assert re.match(r"^\d+\.\d+", tesseract_version())


def test_single_threaded_tesseract_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    assert ocr._environment()["OMP_THREAD_LIMIT"] == "1"
    assert "OMP_THREAD_LIMIT" not in os.environ  # only the child's environment
    monkeypatch.setenv("OMP_THREAD_LIMIT", "2")
    assert ocr._environment()["OMP_THREAD_LIMIT"] == "2"


def test_text_assembly_from_tsv() -> None:
    header = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
    rows = [
        "1\t1\t0\t0\t0\t0\t0\t0\t1000\t1000\t-1\t",
        "5\t1\t1\t1\t1\t1\t10\t10\t50\t20\t91.5\tथाना",
        "5\t1\t1\t1\t1\t2\t70\t10\t50\t20\t88\tकोतवाली",
        "5\t1\t1\t1\t2\t1\t10\t40\t50\t20\t80\t379",
        "5\t1\t1\t2\t1\t1\t10\t70\t50\t20\t70\tIPC",
        "5\t1\t2\t1\t1\t1\t10\t200\t50\t20\t60\tरमेश",
        "5\t1\t2\t1\t1\t2\t70\t200\t50\t20\t10\t|",
        "5\t1\t2\t1\t1\t3\t90\t200\t50\t20\t95\t ",
    ]
    parsed = parse_tsv("\n".join([header, *rows]) + "\n")
    assert page_text(parsed) == "थाना कोतवाली\n379\nIPC\n\nरमेश |"
    words = [w for _, w in parsed]
    assert [w.line for w in words] == [1, 1, 2, 3, 4, 4]
    # The lone '|' is not a real word and does not drag the mean down.
    assert ocr.mean_word_confidence(words) == pytest.approx((91.5 + 88 + 80 + 70 + 60) / 5)


# ---------------------------------------------------------------- post-correction

from abhilekh.records import Word  # noqa: E402
from ingest import postcorrect as pc  # noqa: E402
from ingest.process import best_reading  # noqa: E402


def _w(text: str, conf: float = 90.0, line: int = 1, left: int = 0) -> Word:
    return Word(text=text, left=left, top=10, width=40, height=20, confidence=conf, line=line)


@pytest.mark.parametrize("text", ["`", "|", "_", "` `", "~", "॒", "“", "'", "—"])
def test_speck_marks_are_noise_words(text: str) -> None:
    assert pc.is_noise_word(_w(text, conf=95))


def test_ordinary_punctuation_kept_only_when_sure() -> None:
    assert not pc.is_noise_word(_w("-", conf=95))
    assert pc.is_noise_word(_w("-", conf=40))
    assert pc.is_noise_word(_w(".", conf=30))
    assert not pc.is_noise_word(_w("।", conf=30))
    for word in ("थाना", "379", "मु0अ0सं0", "IPC", "0"):
        assert not pc.is_noise_word(_w(word, conf=5))


def test_noise_edges_stripped_from_words() -> None:
    assert pc.strip_noise_edges("“सेवा") == "सेवा"
    assert pc.strip_noise_edges("`अभि0-|") == "अभि0-"
    assert pc.strip_noise_edges("(गुड्डू)") == "(गुड्डू)"  # ordinary punctuation stays
    assert pc.strip_noise_edges("``") == "``"  # nothing else in it: left to is_noise_word


def test_stray_marks_after_digits_and_abbreviation_marks() -> None:
    assert pc.fix_stray_marks("भा०्द०वि०") == "भा०द०वि०"
    assert pc.fix_stray_marks("मु0ुअ0सं0") == "मु0अ0सं0"
    # Marks on letters are the letters' own.
    for word in ("मु0अ0सं0", "कुरैशी", "प्रेषित।", "भा0द0वि0", "गढ़िया"):
        assert pc.fix_stray_marks(word) == word


def test_label_colon_but_never_a_real_visarga() -> None:
    assert pc.fix_label_colon("विषयः") == "विषय:"
    assert pc.fix_label_colon("पत्रांकः") == "पत्रांक:"
    assert pc.fix_label_colon("अतः") == "अतः"  # a word that ends in a visarga
    assert pc.fix_label_colon("दुःख") == "दुःख"


def test_one_number_one_digit_script() -> None:
    assert pc.unify_number_digits("३39210") == "339210"
    assert pc.unify_number_digits("२६.०५.2०१५") == "२६.०५.२०१५"
    assert pc.unify_number_digits("8३") == "83"  # a tie goes to Latin digits
    # Numbers already in one script, and abbreviation marks, are left alone.
    for text in ("355/2015", "३५५/२०१५", "मु0अ0सं0", "मु०अ०सं०", "नं0", "UP-80", "1,20,000"):
        assert pc.unify_number_digits(text) == text
    # Two separate numbers keep their own scripts.
    assert pc.unify_number_digits("३७९ 379") == "३७९ 379"


def test_correct_rows_drops_noise_and_attaches_danda() -> None:
    rows = [
        (1, _w("`", 20, 1, 0)), (1, _w("प्रेषित", 90, 1, 50)), (1, _w("।", 80, 1, 95)),
        (1, _w("विषयः", 88, 2, 0)), (1, _w("|", 60, 2, 60)), (1, _w("भा०्द०वि०", 70, 2, 90)),
    ]
    out = [w for _, w in pc.correct_rows(rows)]
    assert [w.text for w in out] == ["प्रेषित।", "विषय:", "भा०द०वि०"]
    merged = out[0]
    assert (merged.left, merged.width, merged.confidence) == (50, 85, 80)
    assert page_text(pc.correct_rows(rows)) == "प्रेषित।\nविषय: भा०द०वि०"


def _mixed_digits(text: str) -> bool:
    return any(c in "०१२३४५६७८९" for c in text) and any(c in "0123456789" for c in text)


def test_ocr_image_applies_post_correction_unless_told_not_to(noisy_image: np.ndarray,
                                                              noisy_raw: OcrResult) -> None:
    fixed = ocr_image(noisy_image, 300, layout="tesseract", psm=4)
    raw_texts = [w.text for w in noisy_raw.words]
    fixed_texts = [w.text for w in fixed.words]
    # What Tesseract reads uncorrected: lone marks, a visarga label, a mixed number.
    assert {"|", "~"} <= set(raw_texts) and "विषयः" in raw_texts, raw_texts
    assert any(_mixed_digits(t) for t in raw_texts), raw_texts
    # Corrected: every lone mark dropped and nothing else, the label's colon back, the
    # number in one digit script; the words keep their order.
    noise = [t for t in raw_texts if t in NOISE]
    # ... and the lone closing danda joined to the word before it
    assert raw_texts[-2:] == ["कोतवाली", "।"] and fixed_texts[-1] == "कोतवाली।"
    assert len(fixed_texts) == len(raw_texts) - len(noise) - 1
    assert not NOISE & set(fixed_texts)
    assert "विषय:" in fixed_texts and "विषयः" not in fixed_texts
    assert not any(_mixed_digits(t) for t in fixed_texts), fixed_texts
    kept = [t for t in raw_texts if t not in NOISE][:-2]  # the danda's word checked above
    assert [a for a, b in zip(kept, fixed_texts) if a == b] == [
        t for t in kept if t != "विषयः" and not _mixed_digits(t)]
    assert "|" not in fixed.text and "विषय: मु0अ0सं0" in fixed.text


def test_production_reading_of_noisy_lines_keeps_no_marks(noisy_image: np.ndarray) -> None:
    page = ocr_image(noisy_image, 300)  # the production path: our lines, corrected
    texts = [w.text for w in page.words]
    assert not NOISE & set(texts), texts
    assert "विषय:" in texts and "छिबरामऊ" in texts and "123/2019" in texts, texts
    assert not any(_mixed_digits(t) for t in texts), texts


def test_best_reading_is_the_most_confident() -> None:
    a, b = np.zeros((2, 2), np.uint8), np.ones((2, 2), np.uint8)
    ra, rb = OcrResult("a", confidence=40.0), OcrResult("b", confidence=55.0)
    assert best_reading([(a, ra), (b, rb)])[1] is rb
    assert best_reading([(a, ra), (b, OcrResult("c", confidence=40.0))])[1] is ra


def test_a_doubtful_page_is_read_whole_at_most_twice(monkeypatch: pytest.MonkeyPatch,
                                                     lines_image: np.ndarray) -> None:
    """A page read below RETRY_BELOW had each of its three other renderings read whole
    (four full readings); now each is read in a middle band and at most the best one is
    read whole. The threshold is raised so this clean page takes the doubtful path; the
    readings are real, only counted."""
    import ingest.process as proc
    from abhilekh.settings import Settings

    sizes: list[tuple[int, int]] = []
    real = proc.ocr_image

    def counted(img: np.ndarray, *args, **kwargs):
        sizes.append(img.shape[:2])
        return real(img, *args, **kwargs)

    monkeypatch.setattr(proc, "RETRY_BELOW", 101.0)
    monkeypatch.setattr(proc, "ocr_image", counted)
    page = proc.process_page(lines_image, 300, Settings())
    full = sizes[0]
    assert len(sizes) >= 2, sizes  # the other renderings were tried
    assert sum(s == full for s in sizes) <= 2, sizes
    assert "123/2019" in page.text and "UP 78 AB 1234" in page.text, page.text


def test_the_retry_probe_compares_band_with_band() -> None:
    """Tuning page t026: its first reading's words in the middle band scored 67 (read as
    whole lines), the same band cut from the first rendering 57, the otsu rendering's band
    64 and otsu read whole the better page. The probe must weigh crop against crop, so
    otsu is read whole; against the whole reading's words it was never tried."""
    from ingest.process import PROBE_BAND, _probed

    first_image = np.full((1000, 800), 255, np.uint8)
    otsu, grey = first_image.copy(), first_image.copy()
    band = int(PROBE_BAND[0] * 1000), int(PROBE_BAND[1] * 1000)
    calls: list[tuple[str, bool]] = []
    crops = {"first": 57.0, "otsu": 64.0, "grey": 50.0}

    def read(img: np.ndarray, name: str = "first", band_: tuple[int, int] | None = None) -> OcrResult:
        calls.append((name, band_ is not None))
        if band_ is not None:
            assert band_ == band and img.shape[0] == band[1] - band[0]
            return OcrResult("", confidence=crops[name])
        return OcrResult("whole", confidence=68.7)

    chosen = _probed(first_image, [("otsu", otsu), ("grey", grey)], read)
    assert [c[0] for c in chosen] == ["otsu"], calls
    assert ("first", True) in calls and calls.count(("otsu", False)) == 1
    # and nothing is read whole when no band beats the first rendering's band
    calls.clear()
    crops.update(otsu=55.0, grey=56.0)
    assert _probed(first_image, [("otsu", otsu), ("grey", grey)], read) == []
    assert not [c for c in calls if not c[1]], calls
