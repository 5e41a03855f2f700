"""Make a scanned page easy to read, for Tesseract and for a person.

Each step is a pure function (array in, array out) that can be tried alone;
`clean_page` runs them in this order:

    to_grey -> normalise_resolution -> crop_border -> normalise_background
    -> flatten_streaks -> detect_orientation / rotate -> estimate_skew / deskew -> denoise
    -> is_tonal?  yes: keep the grey page (photos, shading)
                  no:  binarise -> (over TEXTURED_INK of it ink? the darkest of three
                       grey classes only) -> remove_ruling_lines -> despeckle
                       -> remove_isolated_specks

The result is what both OCR and the PDF access copy see: bilevel (0/255) for text
pages, so they compress to a few tens of kilobytes and Tesseract gets clean strokes;
normalised grey for pages with photographs or shading, which binarisation would ruin.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ingest.geometry import deskew, detect_orientation, estimate_skew, rotate_right_angle

__all__ = [
    "CleanedPage",
    "binarisation_method",
    "binarise",
    "bilevel_page",
    "clean_page",
    "darkest_class_threshold",
    "crop_border",
    "denoise",
    "deskew",
    "despeckle",
    "detect_orientation",
    "estimate_noise",
    "estimate_skew",
    "flatten_streaks",
    "is_tonal",
    "normalise_background",
    "local_threshold_spread",
    "normalise_resolution",
    "remove_isolated_specks",
    "remove_ruling_lines",
    "rotate_right_angle",
    "second_readings",
    "to_grey",
]

TARGET_DPI = 300
# Tesseract wants body-text x-height of ~20-30 px: below ~250 dpi typed text falls
# under it, above ~400 dpi it only costs time (and PDF bytes) for no accuracy.
MIN_DPI = 250
MAX_DPI = 400
# Noise (grey levels, see estimate_noise) above which a page is median-filtered and
# despeckled; clean scans measure under 1.
NOISY = 3.0
# Vertical strokes longer than this (inches) are rules, margin lines or scanner
# streaks: no letter, digit or bracket of body or heading text is half as tall. Much
# shorter than the horizontal limit, which must spare long shirorekhas; a vertical
# kernel cannot hit those.
VERTICAL_RULE_IN = 0.4
# Share of a binarised text page that is ink above which the threshold took the paper's
# texture for ink (tuning and tuning-mixed, 56 pages: 0.02-0.07 on every page but one
# mottled, noisy 200-dpi memo at 0.36, whose text then could not be found at all).
TEXTURED_INK = 0.15
# Std of tile thresholds (grey levels) above which a page gets a local threshold.
SPREAD_FOR_SAUVOLA = 10.0  # evenly inked synthetic pages: ~3; half faded: ~16


@dataclass
class CleanedPage:
    image: np.ndarray  # uint8 grey (H,W): 0/255 for text pages; what OCR and PDF see
    dpi: int
    rotation: int  # clockwise degrees applied: 0, 90, 180 or 270
    skew: float  # degrees of counter-clockwise tilt that were corrected
    # The straightened, background-normalised grey page the image was made from, and
    # how it was binarised ("" for tonal pages): kept for second readings.
    grey: np.ndarray | None = None
    method: str = ""
    noisy: bool = False  # noise measured above NOISY: despeckled


def to_grey(image: np.ndarray) -> np.ndarray:
    """uint8 single-channel copy of a grey, BGR or BGRA page (16-bit scaled down)."""
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype == bool:
        image = image.astype(np.uint8) * 255
    elif image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    raise ValueError(f"not an image array: shape {image.shape}")


def normalise_resolution(
    grey: np.ndarray, dpi: int, *, target: int = TARGET_DPI, low: int = MIN_DPI, high: int = MAX_DPI
) -> tuple[np.ndarray, int]:
    """Resample to TARGET dpi if DPI is below LOW or above HIGH; returns (image, dpi)."""
    if low <= dpi <= high or dpi <= 0:
        return grey, dpi
    f = target / dpi
    interp = cv2.INTER_CUBIC if f > 1 else cv2.INTER_AREA
    return cv2.resize(grey, None, fx=f, fy=f, interpolation=interp), target


def _small(grey: np.ndarray, factor: int) -> np.ndarray:
    h, w = grey.shape
    return cv2.resize(grey, (max(1, w // factor), max(1, h // factor)), interpolation=cv2.INTER_AREA)


def crop_border(grey: np.ndarray, dpi: int = TARGET_DPI) -> np.ndarray:
    """Remove the dark band a scanner lid leaves around the paper.

    Dark regions thicker than ~2 mm that run along at least a fifth of an image edge,
    of one flat tone (BORDER_FLATNESS: a shadow with text in it is not border), are
    border, not content: they are whitened (so the wedges of a skewed sheet go
    too) and the page is cropped to the paper. Text strokes are far thinner than
    2 mm, so text touching the edge survives the opening that finds the border.
    """
    f = 4
    small = _small(grey, f)
    h, w = small.shape
    paper = float(np.percentile(small, 90))
    dark = (small < min(paper * 0.45, 110)).astype(np.uint8)
    k = max(3, int(dpi / f / 12))  # ~2 mm
    solid = cv2.morphologyEx(dark, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(solid, connectivity=8)
    border = np.zeros(n, bool)
    for i in range(1, n):
        x, y, bw, bh = stats[i, :4]
        touches = [
            (x == 0, bh / h),
            (x + bw == w, bh / h),
            (y == 0, bw / w),
            (y + bh == h, bw / w),
        ]
        border[i] = any(t and extent >= 0.2 for t, extent in touches) and _flat(small[labels == i])
    if not border.any():
        return grey
    mask = border[labels].astype(np.uint8)
    mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))  # the blurred edge of the band
    # The paper is the largest region that is not border.
    m, plabels, pstats, _ = cv2.connectedComponentsWithStats(1 - mask, connectivity=4)
    if m < 2:
        return grey  # all border: leave it for a person to look at
    i = 1 + int(np.argmax(pstats[1:, cv2.CC_STAT_AREA]))
    x, y, bw, bh = (int(v) for v in pstats[i, :4])
    out = grey.copy()
    full = cv2.resize(mask, (grey.shape[1], grey.shape[0]), interpolation=cv2.INTER_NEAREST)
    out[full > 0] = 255
    # Paper reaching the edge of the small copy reaches the edge of the page (the small
    # copy drops the last few pixels that do not fill a whole block).
    y1 = grey.shape[0] if y + bh == h else (y + bh) * f
    x1 = grey.shape[1] if x + bw == w else (x + bw) * f
    return out[y * f : y1, x * f : x1]


# A scanner lid's band is near black, or one flat dark tone; a shadow cast over the
# paper (a fold, a book's spine, the lid left open) is mid-grey with the text showing
# inside it, so its darkest and lightest pixels lie far apart. Grey levels, measured on
# the quarter-size copy (tuning set: lid bands median 24-35, shadows 60 and up).
BORDER_FLATNESS = 45.0
BORDER_BLACK = 50.0


def _flat(values: np.ndarray) -> bool:
    lo, mid, hi = np.percentile(values, (5, 50, 95))
    return float(mid) < BORDER_BLACK or float(hi - lo) < BORDER_FLATNESS


def normalise_background(grey: np.ndarray, dpi: int = TARGET_DPI) -> np.ndarray:
    """Divide out uneven light and paper tone, so paper is white and ink keeps contrast.

    The background is estimated as a local maximum over ~5 mm (wider than any pen or
    type stroke) on a quarter-size copy, smoothed, and divided out.
    """
    f = 4
    small = _small(grey, f)
    k = max(3, int(dpi / f * 0.2)) | 1  # ~5 mm
    bg = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    bg = cv2.blur(bg, (k, k))
    bg = cv2.resize(bg, (grey.shape[1], grey.shape[0]), interpolation=cv2.INTER_LINEAR)
    bg = np.maximum(bg, 1)
    return cv2.divide(grey, bg, scale=255)


def flatten_streaks(grey: np.ndarray, dpi: int = TARGET_DPI) -> np.ndarray:
    """Lift scanner streaks: narrow bands, dark or pale, running the page's whole height.

    A streak (dirt on the scan bar) darkens a few columns of paper AND of the ink that
    crosses them. Binarised, it is a vertical "rule", and erasing the rule takes the
    strokes of every digit it crosses with it (a 4 read as 1, a 1 lost: 240 -> 210).
    normalise_background cannot see it (its window is ~5 mm wide). Here each column's
    paper level is measured in bands ~1 inch tall (the 90th percentile: text never
    covers most of a column's pixels) and compared with its neighbours' over ~3 mm; only
    narrow dips are divided out, so a tinted page, a photograph or a shaded box (as wide
    as the window) is left alone. A printed vertical rule is a dip too: it is paled, and
    remove_ruling_lines still finds it.
    """
    h, w = grey.shape
    band = min(max(8, int(dpi)), h) // 4 * 4  # rows per band: ~1 inch (a strip: all of it)
    if band < 8:
        return grey
    n = h // band
    rows = grey[: n * band : 4].reshape(n, band // 4, w)  # every 4th row is plenty for a percentile
    paper = np.percentile(rows, 90, axis=1).astype(np.float32)  # (n, w)
    k = max(5, int(dpi * 0.12)) | 1  # ~3 mm: wider than any streak, narrower than a box
    around = cv2.dilate(paper, np.ones((1, k), np.uint8))  # the brightest paper nearby
    ratio = np.clip(paper / np.maximum(around, 1.0), 0.2, 1.0)
    # Noise on a clean page dips a percent or two: leave that to the binariser.
    ratio[ratio > 0.93] = 1.0
    # A streak runs the page's whole height; a printed column rule stops at its table's
    # top and bottom (and is left to remove_ruling_lines, which also spares text on it).
    whole_height = (ratio < 1.0).mean(axis=0) >= 0.75
    ratio[:, ~whole_height] = 1.0
    if (ratio == 1.0).all():
        return grey
    gain = cv2.resize(1.0 / ratio, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(grey.astype(np.float32) * gain, 0, 255).astype(np.uint8)


def estimate_noise(grey: np.ndarray) -> float:
    """Standard deviation of pixel noise (Immerkaer's operator, median for robustness).

    Text edges are sparse, so the median of the operator's response is set by the
    paper, where it measures grain and scanner noise.
    """
    sample = grey[::2, ::2] if grey.size > 4_000_000 else grey
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
    resp = cv2.filter2D(sample.astype(np.float32), -1, kernel)
    return float(1.4826 * np.median(np.abs(resp)) / 6.0)


def denoise(grey: np.ndarray, *, noise: float | None = None) -> np.ndarray:
    """A 3x3 median on noisy pages only.

    Filtering a clean page only thins matras, nukta and the abbreviation dot, so pages
    whose noise is below ~3 grey levels pass through untouched.
    """
    if noise is None:
        noise = estimate_noise(grey)
    if noise < NOISY:
        return grey
    return cv2.medianBlur(grey, 5 if noise > 12 else 3)


def is_tonal(grey: np.ndarray, *, tile: int = 32, share: float = 0.02) -> bool:
    """Does the page carry photographs or shading that binarising would destroy?

    Counts tiles that are mostly mid-grey. Anti-aliased text edges are mid-grey too but
    only along strokes, never over most of a tile.
    """
    mid = ((grey > 60) & (grey < 195)).astype(np.uint8)
    h, w = mid.shape
    th, tw = h // tile, w // tile
    if th == 0 or tw == 0:
        return False
    frac = cv2.resize(mid[: th * tile, : tw * tile].astype(np.float32), (tw, th), interpolation=cv2.INTER_AREA)
    return float((frac > 0.6).mean()) >= share


def local_threshold_spread(grey: np.ndarray, *, tile: int = 256) -> float:
    """Spread (std) of the Otsu thresholds of the page's inked tiles, in grey levels.

    Where ink is equally dark everywhere every tile picks about the same threshold;
    where some of it is faded (carbon copies, old ballpoint, a pencil note) those
    tiles pick a much lighter one, and no single global threshold serves both.
    """
    half = _small(grey, 2)
    t = tile // 2
    found = []
    for y in range(0, half.shape[0] - t + 1, t):
        for x in range(0, half.shape[1] - t + 1, t):
            block = half[y : y + t, x : x + t]
            lo, hi = np.percentile(block, (0.5, 99.5))
            if hi - lo < 40:  # blank paper or a flat patch: nothing to threshold
                continue
            level, _ = cv2.threshold(block, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
            found.append(level)
    return float(np.std(found)) if len(found) >= 2 else 0.0


def sauvola(grey: np.ndarray, dpi: int = TARGET_DPI, *, k: float = 0.2, r: float = 128.0) -> np.ndarray:
    """Sauvola's local threshold: ink where darker than mean*(1+k*(std/R-1)).

    The mean and spread are computed on a half-size copy and the threshold surface is
    scaled back: it is smooth anyway, and this keeps the step a fraction of a second.
    """
    half = _small(grey, 2).astype(np.float32)
    win = max(7, int(dpi / 2 * 0.12)) | 1  # ~3 mm at full size: a few strokes wide
    mean = cv2.boxFilter(half, -1, (win, win), borderType=cv2.BORDER_REFLECT)
    sq = cv2.sqrBoxFilter(half, -1, (win, win), borderType=cv2.BORDER_REFLECT)
    std = np.sqrt(np.maximum(sq - mean * mean, 0))
    thresh = mean * (1 + k * (std / r - 1))
    thresh = cv2.resize(thresh, (grey.shape[1], grey.shape[0]), interpolation=cv2.INTER_LINEAR)
    return np.where(grey > thresh, 255, 0).astype(np.uint8)


def binarise(grey: np.ndarray, dpi: int = TARGET_DPI, *, method: str = "auto") -> np.ndarray:
    """0 (ink) / 255 (paper). 'auto': global Otsu unless local thresholds disagree.

    On a background-normalised page evenly inked text is cut cleanly by one global
    threshold, which keeps strokes whole; when parts of the page are much fainter
    than others (see local_threshold_spread), Sauvola's local threshold follows them.
    """
    if method == "auto":
        method = binarisation_method(grey)
    if method == "otsu":
        _, bw = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        return bw
    if method == "sauvola":
        return sauvola(grey, dpi)
    raise ValueError(f"unknown binarisation method {method!r}")


def remove_ruling_lines(
    bw: np.ndarray, dpi: int = TARGET_DPI, *, min_length_in: float = 1.6, min_vertical_in: float | None = None
) -> np.ndarray:
    """Erase straight horizontal lines longer than MIN_LENGTH_IN inches and vertical ones
    longer than MIN_VERTICAL_IN (default the same).

    Only lines much longer than a word go: a short kernel would also take the
    shirorekha, the headline that joins the letters of each Devanagari word. Lines are
    found on a half-size copy (long kernels are slow at full size), and strokes that
    cross a removed line are bridged again so letters are not cut in two.
    """
    f = 2
    ink = (bw < 128).astype(np.uint8)
    small = cv2.resize(ink, (bw.shape[1] // f, bw.shape[0] // f), interpolation=cv2.INTER_AREA)
    small = (small > 0).astype(np.uint8)
    length = max(10, int(min_length_in * dpi / f))
    v_length = max(10, int((min_vertical_in or min_length_in) * dpi / f))
    horiz = cv2.morphologyEx(small, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))
    vert = cv2.morphologyEx(small, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, v_length)))
    if not horiz.any() and not vert.any():
        return bw
    size = (bw.shape[1], bw.shape[0])
    # Cover the anti-aliased edges of each line, and the pixel or two a line found on
    # the half-size copy can be off by across its width (left standing, that sliver
    # reads as a column of "|"). Grown across the line only, never along it.
    g = 2 * max(1, round(dpi / 150)) + 1
    h_band = cv2.dilate(cv2.resize(horiz, size, interpolation=cv2.INTER_NEAREST), np.ones((g, 1), np.uint8))
    v_band = cv2.dilate(cv2.resize(vert, size, interpolation=cv2.INTER_NEAREST), np.ones((1, g), np.uint8))
    kept = ink & (1 - (h_band | v_band))
    # Bridge strokes across the erased band: a band pixel is ink again if there is
    # kept ink right above and below it (a letter crossing a row rule) or right left
    # and right of it (crossing a column rule). Text merely touching a rule stays off.
    # Just wider than the band of a typical 1-3 px rule: wider would also bridge the
    # gaps between words and leave stubs of the rule standing in them.
    t = 2 * max(3, round(dpi / 100)) + g
    v_bridge = cv2.morphologyEx(kept, cv2.MORPH_CLOSE, np.ones((t, 1), np.uint8))
    h_bridge = cv2.morphologyEx(kept, cv2.MORPH_CLOSE, np.ones((1, t), np.uint8))
    restored = kept | (ink & h_band & v_bridge) | (ink & v_band & h_bridge)
    return np.where(restored > 0, 0, 255).astype(np.uint8)


def despeckle(bw: np.ndarray, dpi: int = TARGET_DPI) -> np.ndarray:
    """Remove isolated ink specks smaller than ~0.15 mm across.

    Small enough that the anusvara, nukta and the 0 of मु0अ0सं0 (each several pixels
    across at 300 dpi) stay.
    """
    ink = (bw < 128).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    max_area = max(1, int(round(4 * (dpi / 300) ** 2)))
    small = stats[:, cv2.CC_STAT_AREA] <= max_area
    small[0] = False
    if not small.any():
        return bw
    out = bw.copy()
    out[small[labels]] = 255
    return out


def remove_isolated_specks(bw: np.ndarray, dpi: int = TARGET_DPI, *, max_mm: float = 0.5, gap_mm: float = 0.8) -> np.ndarray:
    """Remove small ink blobs (under ~MAX_MM across) with no other ink within GAP_MM.

    Scanner dust and salt noise lie alone on the paper; the marks of writing that are
    as small (anusvara, nukta, the dot of a date, the colon, the abbreviation mark)
    always sit within a fraction of a millimetre of their letters, so they stay.
    """
    ink = (bw < 128).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if n < 2:
        return bw
    px = dpi / 25.4
    side = max(2, round(max_mm * px))
    small = (stats[:, cv2.CC_STAT_WIDTH] <= side) & (stats[:, cv2.CC_STAT_HEIGHT] <= side)
    small[0] = False
    if not small.any():
        return bw
    big = ((labels > 0) & ~small[labels]).astype(np.uint8)
    r = max(1, round(gap_mm * px))
    near = cv2.dilate(big, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    touched = np.bincount(labels[near > 0], minlength=n) > 0
    lonely = small & ~touched
    if not lonely.any():
        return bw
    out = bw.copy()
    out[lonely[labels]] = 255
    return out


def clean_page(
    image: np.ndarray,
    dpi: int,
    *,
    orient: bool = True,
    remove_lines: bool = True,
) -> CleanedPage:
    """Run every cleaning step on one page image (grey or BGR) scanned at DPI."""
    grey = to_grey(image)
    grey, dpi = normalise_resolution(grey, dpi)
    grey = crop_border(grey, dpi)
    # Measured before the background is divided out: that pushes paper to 255 and
    # clips away half of the noise.
    noise = estimate_noise(grey)
    grey = normalise_background(grey, dpi)
    grey = flatten_streaks(grey, dpi)
    rotation = detect_orientation(grey, dpi) if orient else 0
    grey = rotate_right_angle(grey, rotation)
    skew = estimate_skew(grey)
    grey = deskew(grey, skew)
    grey = denoise(grey, noise=noise)
    if is_tonal(grey):
        return CleanedPage(grey, dpi, rotation, skew, grey=grey)
    method = binarisation_method(grey)
    bw = bilevel_page(grey, dpi, method=method, remove_lines=remove_lines, noisy=noise >= NOISY)
    return CleanedPage(bw, dpi, rotation, skew, grey=grey, method=method, noisy=noise >= NOISY)


def binarisation_method(grey: np.ndarray) -> str:
    """'sauvola' when local thresholds disagree (see binarise), else 'otsu'."""
    return "sauvola" if local_threshold_spread(grey) > SPREAD_FOR_SAUVOLA else "otsu"


def darkest_class_threshold(grey: np.ndarray) -> int:
    """The lower cut of Otsu's three-class split of the grey levels (ink | texture |
    paper): the grey level at or below which a pixel is ink when the paper is mottled."""
    hist = np.bincount(grey.ravel(), minlength=256).astype(np.float64)
    p = hist / max(hist.sum(), 1.0)
    levels = np.arange(256, dtype=np.float64)
    w = np.cumsum(p)  # weight of levels 0..t
    m = np.cumsum(p * levels)  # their first moment
    total = m[-1]
    # classes [0, t1], (t1, t2], (t2, 255] for every t1 < t2: maximise sum w_k mu_k^2
    w0, m0 = w[:, None], m[:, None]
    w1, m1 = w[None, :] - w0, m[None, :] - m0
    w2, m2 = 1.0 - w[None, :], total - m[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        score = m0 * m0 / w0 + m1 * m1 / w1 + m2 * m2 / w2
    score[~np.triu(np.ones((256, 256), bool), 1)] = -np.inf
    score[~np.isfinite(score)] = -np.inf
    t1, _ = np.unravel_index(int(np.argmax(score)), score.shape)
    return int(t1)


def bilevel_page(
    grey: np.ndarray, dpi: int, *, method: str, remove_lines: bool = True, noisy: bool = False
) -> np.ndarray:
    """The bilevel half of clean_page: binarise -> (textured paper? the darkest class
    only) -> ruling lines -> specks."""
    bw = binarise(grey, dpi, method=method)
    if np.count_nonzero(bw == 0) > TEXTURED_INK * bw.size:
        bw = np.where(grey > darkest_class_threshold(grey), 255, 0).astype(np.uint8)
    if remove_lines:
        bw = remove_ruling_lines(bw, dpi, min_vertical_in=VERTICAL_RULE_IN)
    if noisy:
        bw = despeckle(bw, dpi)
    return remove_isolated_specks(bw, dpi)


def second_readings(page: CleanedPage, *, remove_lines: bool = True) -> list[tuple[str, np.ndarray]]:
    """Other renderings of a cleaned page worth reading when the first read badly.

    On faded, blurred pages one threshold can break the strokes that the other keeps,
    and Tesseract's own thresholding of the grey page can beat both. "turned" is the
    page upside down: the headline vote can be fooled by text sitting on ruled lines
    of a damaged register, and upside-down text reads with hardly any confidence.
    The caller reads each and keeps the most confident. Same size as page.image.
    """
    turned = ("turned", rotate_right_angle(page.image, 180))
    if page.grey is None or not page.method:
        return [turned]
    other = "otsu" if page.method == "sauvola" else "sauvola"
    return [
        (other, bilevel_page(page.grey, page.dpi, method=other, remove_lines=remove_lines, noisy=page.noisy)),
        ("grey", page.grey),
        turned,
    ]
