"""ingest.clean and ingest.geometry: each step on a synthetic scan."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from abhilekh.settings import Settings
from ingest import clean, geometry
from ingest.clean import CleanedPage, clean_page
from ingest.load import read_page
from ingest.ocr import ocr_image
from tests.fixtures import synthetic
from tests.fixtures.synthetic import cer


def prose(n_lines: int, words_per_line: int = 9, seed: int = 1) -> list[str]:
    rnd = random.Random(seed)
    words = " ".join(synthetic.SAMPLE_LINES).split()
    return [" ".join(rnd.choice(words) for _ in range(words_per_line)) for _ in range(n_lines)]


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    """About half an A4 page at 300 dpi of Hindi police prose, upright and straight."""
    return synthetic.render_lines(prose(16), width=2000, height=1800)


def ink_rows_profile_vote(grey: np.ndarray) -> float:
    pts = geometry._ink_points(grey)
    return geometry.headline_vote(pts, 0.0, columns=False).vote


# ---------------------------------------------------------------- simple steps


def test_to_grey_handles_bgr_bgra_and_16bit() -> None:
    bgr = np.zeros((4, 5, 3), np.uint8)
    bgr[..., 2] = 255  # red
    assert clean.to_grey(bgr).shape == (4, 5)
    assert clean.to_grey(np.dstack([bgr, np.full((4, 5), 255, np.uint8)])).shape == (4, 5)
    assert clean.to_grey(np.full((2, 2), 65535, np.uint16)).max() == 255
    grey = np.full((3, 3), 7, np.uint8)
    assert clean.to_grey(grey) is grey


def test_low_resolution_is_upsampled_to_300(page: np.ndarray) -> None:
    small = page[::2, ::2]
    out, dpi = clean.normalise_resolution(small, 150)
    assert dpi == 300 and out.shape == (small.shape[0] * 2, small.shape[1] * 2)
    same, dpi = clean.normalise_resolution(page, 300)
    assert same is page and dpi == 300
    down, dpi = clean.normalise_resolution(page, 600)
    assert dpi == 300 and down.shape[0] == page.shape[0] // 2


def test_dark_border_is_cropped(page: np.ndarray) -> None:
    bordered = synthetic.add_border(page, thickness=120, level=25)
    out = clean.crop_border(bordered)
    h, w = page.shape
    assert abs(out.shape[0] - h) <= 16 and abs(out.shape[1] - w) <= 16
    # No dark band left along any edge.
    for edge in (out[:8], out[-8:], out[:, :8], out[:, -8:]):
        assert edge.mean() > 240
    # Text survives.
    assert (out < 128).sum() > 0.95 * (page < 128).sum()


def test_border_of_skewed_sheet_is_whitened(page: np.ndarray) -> None:
    tilted = synthetic.rotate_bound(page, 4, fill=30)  # dark wedges at the corners
    out = clean.crop_border(tilted)
    corners = [out[:20, :20], out[:20, -20:], out[-20:, :20], out[-20:, -20:]]
    assert all(c.mean() > 240 for c in corners)


def test_page_without_border_is_untouched(page: np.ndarray) -> None:
    assert clean.crop_border(page) is page


def test_uneven_light_is_normalised(page: np.ndarray) -> None:
    shaded = synthetic.add_shading(page, strength=110)
    paper = page == 255
    assert shaded[paper].min() < 160
    out = clean.normalise_background(shaded)
    assert np.percentile(out[paper], 1) > 225
    # Ink stays dark against it.
    assert np.median(out[page == 0]) < 100


def test_noise_estimate_and_denoise(page: np.ndarray) -> None:
    assert clean.estimate_noise(page) < 1.0
    grey_paper = (page * 0.7 + 40).astype(np.uint8)  # so the noise is not clipped at 255
    noisy = synthetic.add_noise(grey_paper, amount=12)
    assert 9 < clean.estimate_noise(noisy) < 15
    assert clean.denoise(page) is page
    assert clean.estimate_noise(clean.denoise(noisy)) < 6


def test_binarise_is_bilevel_and_keeps_the_text(page: np.ndarray) -> None:
    for method in ("otsu", "sauvola", "auto"):
        bw = clean.binarise(synthetic.add_shading(page, 60), method=method)
        assert set(np.unique(bw)) <= {0, 255}
        ink, want = (bw == 0).sum(), (page < 128).sum()
        assert 0.8 * want < ink < 1.25 * want, method


def test_faded_uneven_page_gets_a_local_threshold(page: np.ndarray) -> None:
    # Faint ink (grey 190 on white) on one half, dark ink on the other.
    faded = page.copy()
    faded[:, :1000] = np.where(page[:, :1000] < 128, 190, 255)
    assert clean.local_threshold_spread(page) < clean.SPREAD_FOR_SAUVOLA
    assert clean.local_threshold_spread(faded) > clean.SPREAD_FOR_SAUVOLA
    bw = clean.binarise(faded)
    assert (bw[:, :1000] == 0).sum() > 0.8 * (page[:, :1000] < 128).sum()


def test_despeckle_removes_dust_not_dots() -> None:
    img = clean.binarise(synthetic.render_lines(["मु0अ0सं0 रमेश"], width=900))
    rng = np.random.default_rng(0)
    dusty = img.copy()
    ys, xs = rng.integers(0, img.shape[0], 300), rng.integers(0, img.shape[1], 300)
    dusty[ys, xs] = 0
    out = clean.despeckle(dusty)
    assert (out == 0).sum() <= (img < 128).sum() + 10
    assert (out == 0).sum() >= 0.98 * (img < 128).sum()


def test_photo_page_is_tonal_text_page_is_not(page: np.ndarray) -> None:
    assert not clean.is_tonal(page)
    photo = page.copy()
    yy, xx = np.mgrid[0:500, 0:400]
    photo[100:600, 1500:1900] = (80 + 100 * np.sin(xx / 40.0) * np.cos(yy / 55.0) ** 2).astype(np.uint8)
    assert clean.is_tonal(photo)
    out = clean_page(photo, 300)
    assert len(np.unique(out.image)) > 2  # kept grey, not thresholded away


# ---------------------------------------------------------------- ruling lines


def test_ruling_lines_removed_shirorekha_kept() -> None:
    lines = ["रमेश यादव पुत्र सुरेश ग्राम छिबरामऊ", "मु0अ0सं0 123/2019 धारा 379 भादवि"]
    text = clean.binarise(synthetic.render_lines(lines, width=1700, font_px=44, line_gap=2.2))
    # Row rules in the gaps between text lines, as in a register; column rules
    # run through the text.
    empty = np.flatnonzero((text == 0).sum(axis=1) == 0)
    gaps = np.split(empty, np.flatnonzero(np.diff(empty) > 1) + 1)
    rows = [int(g[len(g) // 2]) for g in gaps if len(g) > 8]
    assert len(rows) >= 3
    cols = [100, 900]
    ruled = synthetic.add_ruling(text, rows, cols, thickness=3)
    out = clean.remove_ruling_lines(ruled)
    for y in rows:
        assert (out[y : y + 3, 40:-40] == 0).mean() < 0.02
    assert (out[20:-20, 100:103] == 0).mean() < 0.1
    # Headlines are long horizontal strokes too, but shorter than a rule: they stay.
    assert (out == 0).sum() > 0.95 * (text == 0).sum()
    # And the words still read.
    result = ocr_image(out, 300)
    assert cer(result.text, "\n".join(lines)) < 0.12, result.text


def test_short_kernel_would_have_eaten_the_headlines() -> None:
    """Guard for the test above: a word-length kernel does remove the shirorekha."""
    text = clean.binarise(synthetic.render_lines(["रमेश यादव पुत्र सुरेश"], width=1200, font_px=44))
    eaten = clean.remove_ruling_lines(text, min_length_in=0.15)
    kept = clean.remove_ruling_lines(text)
    assert (eaten == 0).sum() < 0.9 * (kept == 0).sum()


# ---------------------------------------------------------------- orientation and skew


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_rotated_hindi_page_is_turned_upright(page: np.ndarray, rotation: int) -> None:
    # Turn the page counter-clockwise by ROTATION; the fix is ROTATION clockwise.
    scanned = geometry.rotate_right_angle(page, (360 - rotation) % 360)
    ev = geometry.orientation_evidence(scanned)
    assert ev.confident and ev.rotation == rotation  # settled without Tesseract
    out = clean_page(scanned, 300)
    assert out.rotation == rotation
    assert out.image.shape == page.shape
    assert ink_rows_profile_vote(out.image) > 0.3  # headlines on top again
    assert np.mean(out.image == clean.binarise(page)) > 0.98


@pytest.mark.parametrize("rotation", [180, 90])
def test_english_page_orientation_falls_back_to_tesseract(rotation: int) -> None:
    lines = ["Police Station Kotwali District Kannauj", "Case Crime No 123/2019 under section 379 IPC",
             "Vehicle UP 78 AB 1234 recovered from the accused", "The complainant stated that his motorcycle"]
    upright = synthetic.render_lines(lines, width=1800)
    scanned = geometry.rotate_right_angle(upright, (360 - rotation) % 360)
    assert not geometry.orientation_evidence(scanned).confident  # no headlines to vote
    assert geometry.detect_orientation(scanned, 300) == rotation


@pytest.mark.parametrize("angle", [5.0, -3.0, 12.0])
def test_skewed_page_is_deskewed(page: np.ndarray, angle: float) -> None:
    tilted = synthetic.rotate_bound(page, angle)
    est = geometry.estimate_skew(tilted)
    assert abs(est - angle) < 0.5
    straight = geometry.deskew(tilted, est)
    assert abs(geometry.estimate_skew(straight)) < 0.3
    out = clean_page(tilted, 300)
    assert abs(out.skew - angle) < 0.5 and out.rotation == 0


def test_blank_page_is_left_alone() -> None:
    blank = np.full((1200, 900), 250, np.uint8)
    out = clean_page(blank, 300)
    assert out.rotation == 0 and out.skew == 0.0
    assert (out.image == 0).sum() == 0


# ---------------------------------------------------------------- the composition


def test_clean_page_fixes_a_bad_scan_and_ocr_reads_it() -> None:
    lines = synthetic.SAMPLE_LINES[:4]
    upright = synthetic.render_lines(lines, width=1800, height=900, font_px=44)
    scan = synthetic.rotate_bound(upright, -4)
    scan = geometry.rotate_right_angle(scan, 180)
    scan = synthetic.add_shading(scan, 70)
    scan = synthetic.add_noise(scan, 6)
    scan = synthetic.add_border(scan, 90, 15)
    out = clean_page(np.dstack([scan] * 3), 300)  # colour input, too
    assert isinstance(out, CleanedPage)
    assert out.rotation == 180 and abs(out.skew + 4) < 0.5 and out.dpi == 300
    assert out.image.dtype == np.uint8 and out.image.ndim == 2
    assert set(np.unique(out.image)) <= {0, 255}
    text = ocr_image(out.image, out.dpi).text
    assert cer(text, "\n".join(lines)) < 0.12, text


def test_low_dpi_scan_comes_out_at_300() -> None:
    small = synthetic.render_lines(synthetic.SAMPLE_LINES[:3], width=900, font_px=20)
    out = clean_page(small, 150)
    assert out.dpi == 300 and out.image.shape[1] == 1800


def test_clean_page_cost_on_a4(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a clean A4 page costs, in things that do not depend on the machine's load:
    how many OCR engine reads (none: the page's own lines say it is upright; the
    orientation check reads through ingest.engine, so that is what is counted) and the
    CPU seconds of this process (every OpenCV thread counted; not wall time, which the
    other jobs on the shared cores stretch)."""
    from ingest import engine, ocr

    runs: list[tuple] = []
    real_read = engine.TesseractEngine.read
    real_run = ocr._run

    def counted_read(self, image, dpi, **kw):
        runs.append(("engine", image.shape, kw.get("mode")))
        return real_read(self, image, dpi, **kw)

    def counted_run(image, dpi, **kw):
        runs.append(("process", image.shape, kw["outputs"]))
        return real_run(image, dpi, **kw)

    monkeypatch.setattr(engine.TesseractEngine, "read", counted_read)
    monkeypatch.setattr(ocr, "_run", counted_run)
    a4 = synthetic.render_lines(prose(36, 11), width=2480, height=3508)
    scan = synthetic.rotate_bound(a4, 2)
    clean_page(scan, 300)  # warm up imports and OpenCV
    runs.clear()
    cpu = time.process_time()
    out = clean_page(scan, 300)
    cpu = time.process_time() - cpu
    assert out.rotation == 0 and abs(out.skew - 2) < 0.5
    assert runs == []
    # Measured 0.31 CPU-s (load average 5 on 2 cores); 1.5 s is a fivefold regression.
    assert cpu < 1.5, f"{cpu:.2f} CPU-s (load average {os.getloadavg()[0]:.1f})"


# ---------------------------------------------------------------- real scans

FIR_SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "samples" / "fir"


@pytest.mark.skipif(not FIR_SAMPLES.is_dir(), reason="shared/samples/fir is not beside this clone")
@pytest.mark.parametrize("name", ["Airport_PSAIRPORT-0005-2017-3336__1.jpg", "Lake_Town_PS9__1.jpg"])
def test_real_fir_scan_is_kept_upright_and_flipped_back(name: str) -> None:
    """English form labels, handwriting, dotted leaders, a stamp, ~100 dpi, skewed.

    Dotted leaders under handwriting look like upside-down shirorekhas; these pages
    must not be turned over.
    """
    page = read_page(FIR_SAMPLES / name, 1, Settings())
    assert page.dpi == 100
    out = clean_page(page.image, page.dpi)
    assert out.rotation == 0 and out.dpi == 300 and abs(out.skew) < 3
    flipped = clean_page(geometry.rotate_right_angle(page.image, 180), page.dpi)
    assert flipped.rotation == 180


# ---------------------------------------------------------------- specks, slivers, second readings


def test_isolated_specks_go_marks_beside_letters_stay() -> None:
    img = clean.binarise(synthetic.render_lines(["मु0अ0सं0 12.05.2019 रमेश: सिंह"], width=1400))
    rng = np.random.default_rng(1)
    dusty = img.copy()
    text_rows = np.flatnonzero((img == 0).any(axis=1))
    top, bottom = int(text_rows.min()), int(text_rows.max())
    # Dust 2x2 and 3x3 px, well away from the text line.
    for _ in range(120):
        y = int(rng.choice([rng.integers(0, max(1, top - 25)), rng.integers(min(img.shape[0] - 4, bottom + 25), img.shape[0] - 3)]))
        x = int(rng.integers(0, img.shape[1] - 3))
        s = int(rng.integers(2, 4))
        dusty[y : y + s, x : x + s] = 0
    out = clean.remove_isolated_specks(dusty)
    assert (out[: max(1, top - 20)] == 0).sum() == 0
    assert (out[bottom + 20 :] == 0).sum() == 0
    # Every mark of the text line is still there: dots, anusvara, colon, the 0s.
    assert np.array_equal(out[top - 10 : bottom + 10], img[top - 10 : bottom + 10])


def test_column_rule_leaves_no_sliver_when_off_by_a_pixel() -> None:
    lines = ["वादी- रेखा सिंह पत्नी राकेश सिंह", "नि0 कटरी, कोतवाली कन्नौज"]
    text = clean.binarise(synthetic.render_lines(lines, width=1700, font_px=44, line_gap=2.2))
    # A 4-px rule starting on an odd column (the half-size copy straddles it).
    ruled = text.copy()
    ruled[:, 1601:1605] = 0
    out = clean.remove_ruling_lines(ruled)
    assert (out[:, 1595:1612] == 0).sum() == 0


def test_second_readings_offer_the_other_threshold_and_the_grey_page(page: np.ndarray) -> None:
    cleaned = clean_page(page, 300)
    assert cleaned.method in ("otsu", "sauvola") and cleaned.grey is not None
    alts = clean.second_readings(cleaned)
    assert [name for name, _ in alts] == ["sauvola" if cleaned.method == "otsu" else "otsu", "grey", "turned"]
    for _, img in alts:
        assert img.shape == cleaned.image.shape
    assert set(np.unique(alts[0][1])) <= {0, 255}
    assert len(np.unique(alts[1][1])) > 2
    tonal = CleanedPage(page, 300, 0, 0.0, grey=page, method="")
    assert [name for name, _ in clean.second_readings(tonal)] == ["turned"]
    assert np.array_equal(alts[2][1], cleaned.image[::-1, ::-1])


# ---------------------------------------------------------------- failure classes (tuning-mixed)


def test_skew_is_read_from_the_text_not_from_the_scanner_bed_left_round_the_page() -> None:
    """tuning-mixed t015, a memo laid 4.8 degrees askew on the scanner: after crop_border
    a dense strip of the bed's dark border is left along the bottom, square to the scan,
    and its mass outvoted the text lines (skew read as -0.1). The fixture is the page at
    the analysis scale, as estimate_skew sees it (bilevel: the same ink mask)."""
    grey = cv2.imread(str(Path(__file__).parent / "fixtures" / "memo_on_scanner_bed.png"), cv2.IMREAD_GRAYSCALE)
    assert abs(geometry.estimate_skew(grey) - 4.8) < 0.2


def test_mottled_paper_is_not_taken_for_ink() -> None:
    """Paper texture and noise darker than Otsu's cut (tuning-mixed t006: 36 % of the
    page came out ink and no line could be found): only the darkest of three grey
    classes is ink, and the page's ink share is that of a text page again."""
    rng = np.random.default_rng(3)
    h, w = 1200, 1600
    # mottled paper: smooth blotches 200-235 with fine noise; text strokes at ~150
    blotches = cv2.resize(rng.uniform(200, 235, (h // 40, w // 40)).astype(np.float32), (w, h),
                          interpolation=cv2.INTER_CUBIC)
    grey = blotches + rng.normal(0, 6, (h, w))
    text = np.zeros((h, w), bool)
    for row in range(100, h - 100, 90):  # lines of "words": bars with a headline
        for x in range(100, w - 200, 260):
            text[row:row + 6, x:x + 200] = True
            text[row:row + 40, x + 20:x + 200:30] = True
    grey[text] = rng.normal(150, 8, int(text.sum()))
    grey = np.clip(grey, 0, 255).astype(np.uint8)
    bw = clean.bilevel_page(grey, 300, method="otsu", remove_lines=False)
    ink = bw == 0
    assert ink.mean() < clean.TEXTURED_INK
    assert (ink & text).sum() > 0.8 * text.sum()  # the strokes are kept
    assert (ink & ~text).sum() < 0.02 * (~text).sum()  # the paper is paper
