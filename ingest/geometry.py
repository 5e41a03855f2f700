"""Which way is up, and how far the page is tilted.

Both questions are answered from one measurement: project the ink of the page onto a
line at a trial angle and look at the histogram. Text lines that lie along the
projection direction make sharp peaks separated by empty gaps, so the angle with the
peakiest profile is the text direction (deskew), and whether the row or the column
profile empties out between lines tells text across the page from text turned by 90
degrees.

Upside down is harder. Tesseract's OSD is trained mostly on Latin glyphs and is
unreliable on Devanagari (and, measured on the FIR samples, on noisy English forms
too), so the first witness is the shirorekha: the headline that joins the letters of
a Hindi word sits at the TOP of the text line, letters hanging below it and only
matras above. On the straightened page each line whose densest row looks like a row
of headlines votes for the side its letters hang on (headline_vote). A page is
settled by that vote only when most of its lines vote and agree; otherwise (English
forms, whose dotted leaders under handwriting look like upside-down headlines,
tables, handwriting) Tesseract reads samples of the page turned each candidate way,
in one run, and the way with the most confidently read words wins.

All angles here: rotation is clockwise degrees to apply to make the page upright;
skew is how far the text is turned counter-clockwise, in degrees, so deskewing rotates
clockwise by that much.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Analysis runs on a copy whose long side is about this many pixels (~120 dpi for
# A4): text lines stay separate and the work stays in the tens of milliseconds.
ANALYSIS_SIDE = 1400
MAX_SKEW = 15.0
# Tilts smaller than this are below what the estimate resolves and are left alone
# (rotating costs a resampling blur for nothing).
MIN_SKEW = 0.1
COARSE_STEP = 0.5
FINE_STEP = 0.05
# Below this many ink pixels in the analysis copy a page is treated as blank.
MIN_INK_POINTS = 400
# A text line votes on up/down only if its peak row is at least this solid along the
# line: a shirorekha is, Latin rows are not (see headline_vote).
HEADLINE_FILL = 0.55
# Share of a headline's length with ink right beside it: on the side the letters hang
# from at least this much, and on the matra side at most this fraction of that (at
# the analysis scale Devanagari fonts measure 0.5-0.75 and 0-0.25).
HEADLINE_HUNG_SIDE = 0.15
HEADLINE_BARE_RATIO = 0.45
# The vote is trusted without asking Tesseract when at least this many lines voted,
# they are at least this share of the page's text lines (a Hindi page, not an
# English form with a few look-alikes), and they agree by this margin (-1..1).
MIN_VOTING_LINES = 3
MIN_VOTING_SHARE = 0.6
MIN_VOTE_MARGIN = 0.7
# Rows-vs-columns gap-fraction margin below which the line direction is unknown
# (tables, blank or nearly blank pages).
MIN_GAP_MARGIN = 0.08  # the FIR samples, all read the right way, go down to 0.10


@dataclass
class _Projection:
    angle: float  # degrees, counter-clockwise
    hist: np.ndarray  # ink per 1-px bin at that angle, in increasing row (or column)


def _analysis_copy(grey: np.ndarray) -> np.ndarray:
    """The page downscaled so its long side is about ANALYSIS_SIDE pixels."""
    h, w = grey.shape[:2]
    scale = min(1.0, ANALYSIS_SIDE / max(h, w))
    if scale >= 1.0:
        return grey
    return cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def _ink_mask(small: np.ndarray) -> np.ndarray:
    """uint8 mask (1 = ink) of an analysis copy, without blobs that are not text.

    Empty if the page has no paper to speak of (more than half of it dark).
    """
    _, ink = cv2.threshold(small, 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    if np.count_nonzero(ink) > ink.size * 0.5:
        return np.zeros_like(ink)
    # Blobs taller than an eighth of the page are photos, stamps, borders or vertical
    # rules, not text lines; their mass would swamp the line profile. So are blobs that
    # touch the page's edge: what crop_border left of the scanner bed round a page laid
    # on it askew is a dense band square to the scan, not to the text (tuning-mixed
    # t015, tilted 4.8 degrees, measured -0.1 with it, 4.8 without).
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    x, y = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    right, bottom = x + stats[:, cv2.CC_STAT_WIDTH], y + stats[:, cv2.CC_STAT_HEIGHT]
    on_edge = (x == 0) | (y == 0) | (right == small.shape[1]) | (bottom == small.shape[0])
    keep = (stats[:, cv2.CC_STAT_HEIGHT] <= small.shape[0] / 8) & ~on_edge
    keep[0] = False
    return keep[labels].astype(np.uint8)


def _points(mask: np.ndarray) -> np.ndarray:
    """(N,2) float32 x,y of the ink pixels of MASK, centred on it."""
    ys, xs = np.nonzero(mask)
    pts = np.empty((len(xs), 2), np.float32)
    pts[:, 0] = xs - mask.shape[1] / 2
    pts[:, 1] = ys - mask.shape[0] / 2
    return pts


def _ink_points(grey: np.ndarray) -> np.ndarray:
    return _points(_ink_mask(_analysis_copy(grey)))


def _profile(pts: np.ndarray, angle: float | np.floating, columns: bool) -> np.ndarray:
    a = np.deg2rad(angle)
    c, s = np.cos(a), np.sin(a)
    if columns:  # lines running down the page, turned counter-clockwise by ANGLE
        r = pts[:, 0] * c - pts[:, 1] * s
    else:  # lines running across, turned counter-clockwise by ANGLE
        r = pts[:, 1] * c + pts[:, 0] * s
    idx = np.rint(r - r.min()).astype(np.int64)
    return np.bincount(idx)


def _score(hist: np.ndarray) -> float:
    h = hist.astype(np.float64)
    return float(np.dot(h, h))


def _subsample(pts: np.ndarray, n: int) -> np.ndarray:
    if len(pts) <= n:
        return pts
    return pts[np.random.default_rng(0).choice(len(pts), n, replace=False)]


def _search(pts: np.ndarray, columns: bool, fine: bool = True) -> _Projection:
    """Coarse search over +-MAX_SKEW on a sample of the ink, then optionally refine."""
    sample = _subsample(pts, 60_000)
    angles = np.arange(-MAX_SKEW, MAX_SKEW + 1e-9, COARSE_STEP)
    hists = [_profile(sample, a, columns) for a in angles]
    scores = [_score(h) for h in hists]
    i = int(np.argmax(scores))
    coarse = _Projection(float(angles[i]), hists[i])
    return _refine(pts, coarse, columns) if fine else coarse


def _refine(pts: np.ndarray, coarse: _Projection, columns: bool) -> _Projection:
    sample = _subsample(pts, 400_000)
    angles = np.arange(coarse.angle - COARSE_STEP, coarse.angle + COARSE_STEP + 1e-9, FINE_STEP)
    hists = [_profile(sample, a, columns) for a in angles]
    scores = [_score(h) for h in hists]
    i = int(np.argmax(scores))
    return _Projection(float(angles[i]), hists[i])


def _runs(hist: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of runs of non-empty bins: the text lines of a profile."""
    on = hist > max(1.0, 0.03 * float(hist.max()))
    edges = np.flatnonzero(np.diff(np.concatenate(([0], on.astype(np.int8), [0]))))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def gap_fraction(hist: np.ndarray) -> float:
    """Share of the profile's span that is (nearly) empty.

    Across text lines the profile drops to nothing between every pair of lines; along
    them word gaps never line up, so the profile seldom empties. Unlike peakiness this
    does not care how long the lines are or whether a form repeats itself.
    """
    if hist.size == 0 or hist.max() == 0:
        return 0.0
    on = np.flatnonzero(hist > 0)
    span = hist[on[0] : on[-1] + 1]
    return float((span < 0.05 * hist.max()).mean())


@dataclass
class HeadlineVote:
    vote: float  # -1..1, ink-weighted: >0 headlines on the low-index side (upright)
    headline_lines: int  # lines that look like Devanagari and voted
    lines: int  # all text lines in the profile


def _segments(bins: np.ndarray) -> np.ndarray:
    """Lengths of runs of consecutive integers in BINS (the solid stretches of a row)."""
    b = np.unique(bins)
    if b.size == 0:
        return b
    breaks = np.flatnonzero(np.diff(b) > 1)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [b.size - 1]))
    return b[ends] - b[starts] + 1


def headline_vote(pts: np.ndarray, angle: float, columns: bool) -> HeadlineVote:
    """Which side of their lines do the shirorekhas sit on?

    A line votes only if its densest row looks like a row of shirorekhas:
    - nearly solid along the line (HEADLINE_FILL): Latin rows are not;
    - broken into word-length stretches (1-6 line heights): dotted leaders and ruled
      form lines are far shorter or far longer;
    - letters hang on one side of it (the rows next to it are inked along a good part
      of its length) while the other side is almost bare (only matras). Text written
      on a baseline rule has the same shape as an upside-down headline, which is why
      a page is only settled here when most of its lines vote, and vote alike.
    """
    a = np.deg2rad(angle)
    c, s = np.cos(a), np.sin(a)
    if columns:
        across = pts[:, 0] * c - pts[:, 1] * s
        along = pts[:, 1] * c + pts[:, 0] * s
    else:
        across = pts[:, 1] * c + pts[:, 0] * s
        along = pts[:, 0] * c - pts[:, 1] * s
    idx = np.rint(across - across.min()).astype(np.int64)
    pos = np.rint(along - along.min()).astype(np.int64)
    hist = np.bincount(idx)
    order = np.argsort(idx, kind="stable")
    sorted_idx = idx[order]
    total = weight = 0.0
    voted = lines = 0
    for lo, hi in _runs(hist):
        if hi - lo < 4:
            continue
        lines += 1
        i0, i1 = np.searchsorted(sorted_idx, [lo, hi])
        rows, cols = idx[order[i0:i1]], pos[order[i0:i1]]
        p = lo + int(np.argmax(hist[lo:hi]))
        length = float(np.percentile(cols, 99) - np.percentile(cols, 1)) + 1.0
        if hist[p] < HEADLINE_FILL * length:
            continue
        segments = _segments(cols[rows == p])
        typical = float(np.median(np.repeat(segments, segments)))  # ink-weighted
        if not 1.0 <= typical / (hi - lo) <= 6.0:
            continue
        top, bottom = p, p  # the headline may be a few rows thick
        while top - 1 >= lo and hist[top - 1] >= 0.6 * hist[p]:
            top -= 1
        while bottom + 1 < hi and hist[bottom + 1] >= 0.6 * hist[p]:
            bottom += 1
        head = np.unique(cols[(rows >= top) & (rows <= bottom)])

        def cover(r0: int, r1: int) -> float:
            near = np.unique(cols[(rows >= r0) & (rows <= r1)])
            near = np.unique(np.concatenate((near - 1, near, near + 1)))
            return float(np.isin(head, near).mean())

        low_side, high_side = cover(top - 2, top - 1), cover(bottom + 1, bottom + 2)
        bare, hung = min(low_side, high_side), max(low_side, high_side)
        if hung < HEADLINE_HUNG_SIDE or bare > HEADLINE_BARE_RATIO * hung:
            continue
        mass = float(hist[lo:hi].sum())
        total += mass if high_side > low_side else -mass
        weight += mass
        voted += 1
    return HeadlineVote(total / weight if weight else 0.0, voted, lines)


@dataclass
class OrientationEvidence:
    """What the cheap measurement saw; kept for tests and for tuning."""

    rotation: int
    gap_margin: float  # gap fraction of the winning family minus the other's
    vote: float
    voting_lines: int
    lines: int = 0
    blank: bool = False  # too little ink to say anything; leave the page as it is

    @property
    def lines_known(self) -> bool:
        return self.gap_margin >= MIN_GAP_MARGIN

    @property
    def confident(self) -> bool:
        return (
            self.lines_known
            and self.voting_lines >= MIN_VOTING_LINES
            and self.voting_lines >= MIN_VOTING_SHARE * self.lines
            and abs(self.vote) >= MIN_VOTE_MARGIN
        )


def orientation_evidence(grey: np.ndarray) -> OrientationEvidence:
    """The projection-profile guess at orientation, without asking Tesseract."""
    small = _analysis_copy(grey)
    pts = _points(_ink_mask(small))
    if len(pts) < MIN_INK_POINTS:
        return OrientationEvidence(0, 0.0, 0.0, 0, blank=True)
    rows = _search(pts, columns=False, fine=False)
    cols = _search(pts, columns=True, fine=False)
    gap_rows, gap_cols = gap_fraction(rows.hist), gap_fraction(cols.hist)
    base = 0
    if gap_cols > gap_rows:  # text runs down the page: turn it across first
        base = 90
        small = rotate_right_angle(small, 90)
        pts = _points(_ink_mask(small))
    # The headline is a row or two thick: straighten the grey copy before looking
    # at rows (tilted, its pixels smear into the neighbouring rows).
    angle = _search(pts, columns=False).angle
    if abs(angle) >= MIN_SKEW:
        small = deskew(small, angle)
        pts = _points(_ink_mask(small))
    hv = headline_vote(pts, 0.0, columns=False)
    rotation = base if hv.vote >= 0 else base + 180  # headlines on top: upright
    return OrientationEvidence(rotation, abs(gap_rows - gap_cols), hv.vote, hv.headline_lines, hv.lines)


def rotate_right_angle(image: np.ndarray, rotation: int) -> np.ndarray:
    """Rotate clockwise by 0/90/180/270 degrees, losslessly."""
    codes = {
        90: cv2.ROTATE_90_CLOCKWISE,
        180: cv2.ROTATE_180,
        270: cv2.ROTATE_90_COUNTERCLOCKWISE,
    }
    rotation %= 360
    if rotation == 0:
        return image
    if rotation not in codes:
        raise ValueError(f"rotation must be a multiple of 90, not {rotation}")
    return cv2.rotate(image, codes[rotation])


def _text_bands(grey: np.ndarray, dpi: int, n: int = 3) -> list[np.ndarray]:
    """The inkiest ~0.5 x 4 inch band in each of N horizontal slices of the page.

    Several small samples rather than one big one: the inkiest part of a police form
    is often a stamp or a signature, which reads badly whichever way up it is.
    """
    ink = (grey < 128).astype(np.float32)
    height, width = grey.shape[:2]
    band_h = min(height // n, max(32, dpi // 2))
    band_w = min(width, 4 * dpi)
    bands = []
    for k in range(n):
        y0, y1 = k * height // n, (k + 1) * height // n
        rows = np.convolve(ink[y0:y1].sum(axis=1), np.ones(band_h), mode="valid")
        if rows.size == 0:
            continue
        y = y0 + int(np.argmax(rows))
        cols = np.convolve(ink[y : y + band_h].sum(axis=0), np.ones(band_w), mode="valid")
        x = int(np.argmax(cols))
        bands.append(grey[y : y + band_h, x : x + band_w])
    return bands


def _readable_words(words: list) -> float:
    """Confidence mass of words Tesseract is sure of: upside-down text makes none."""
    return sum(
        w.confidence / 100
        for w in words
        if w.confidence >= 70 and sum(ch.isalnum() for ch in w.text) >= 3
    )


def _orientation_language() -> str:
    from ingest.engine import available_languages

    langs = available_languages()
    # The Devanagari script model reads Hindi and Latin letters with one network and
    # is the fastest of the installed choices for this check.
    for choice in ("Devanagari", "hin+eng", "hin", "eng"):
        if all(part in langs for part in choice.split("+")):
            return choice
    return "eng"


def ocr_orientation_check(grey: np.ndarray, dpi: int, candidates: list[int]) -> int:
    """Of CANDIDATES (clockwise rotations), the one under which Tesseract reads best.

    Samples of the page, turned each candidate way, are stacked into one image and
    read by ONE Tesseract run (loading a model costs more than reading a few lines),
    then each candidate scores the confident words found in its own samples. If no
    candidate reads at all (handwriting, blank), the first candidate stands.
    """
    from ingest.engine import OcrError, open_engine, primary_language

    pieces: list[tuple[int, np.ndarray]] = []
    for rotation in candidates:
        turned = rotate_right_angle(grey, rotation)
        # Straightened first: a band four inches wide on a page tilted 3-4 degrees
        # cuts through its text lines, and cut lines read badly whichever way up.
        turned = deskew(turned, estimate_skew(turned))
        pieces += [(rotation, cv2.medianBlur(b, 3)) for b in _text_bands(turned, dpi)]
    if not pieces:
        return candidates[0]
    gap = max(16, dpi // 4)
    width = max(b.shape[1] for _, b in pieces)
    canvas = np.full((sum(b.shape[0] + gap for _, b in pieces) + gap, width), 255, np.uint8)
    spans = []  # (top, bottom, rotation) of each piece on the canvas
    y = gap
    for rotation, band in pieces:
        canvas[y : y + band.shape[0], : band.shape[1]] = band
        spans.append((y, y + band.shape[0], rotation))
        y += band.shape[0] + gap
    try:
        found = open_engine().read(canvas, dpi, mode="block", languages=primary_language(_orientation_language()))
    except OcrError:
        return candidates[0]
    words: dict[int, list] = {r: [] for r in candidates}
    for word in found:
        middle = word.top + word.height / 2
        for top, bottom, rotation in spans:
            if top <= middle < bottom:
                words[rotation].append(word)
                break
    scores = {r: _readable_words(ws) for r, ws in words.items()}
    best = max(candidates, key=lambda r: scores[r])  # first wins ties
    return best if scores[best] >= 1.0 else candidates[0]


def detect_orientation(grey: np.ndarray, dpi: int = 300, *, use_ocr: bool = True) -> int:
    """Clockwise rotation (0, 90, 180 or 270) that makes the page upright."""
    ev = orientation_evidence(grey)
    if ev.confident or ev.blank or not use_ocr:
        return ev.rotation
    if ev.lines_known:
        candidates = [ev.rotation, (ev.rotation + 180) % 360]
    else:
        candidates = [ev.rotation, (ev.rotation + 90) % 360,
                      (ev.rotation + 180) % 360, (ev.rotation + 270) % 360]
    return ocr_orientation_check(grey, dpi, candidates)


def estimate_skew(grey: np.ndarray) -> float:
    """Counter-clockwise tilt of the text lines in degrees, within +-15; 0 if unknown."""
    pts = _ink_points(grey)
    if len(pts) < MIN_INK_POINTS:
        return 0.0
    angle = round(_search(pts, columns=False).angle, 2)
    return angle if abs(angle) >= MIN_SKEW else 0.0


def deskew(
    grey: np.ndarray, skew: float, fill: int = 255, interpolation: int = cv2.INTER_LINEAR
) -> np.ndarray:
    """Rotate clockwise by SKEW degrees about the centre, same canvas, FILL outside."""
    if abs(skew) < MIN_SKEW:
        return grey
    h, w = grey.shape[:2]
    # OpenCV's positive angle turns the picture counter-clockwise; undo a CCW tilt.
    m = cv2.getRotationMatrix2D((w / 2, h / 2), -skew, 1.0)
    return cv2.warpAffine(
        grey, m, (w, h), flags=interpolation, borderMode=cv2.BORDER_CONSTANT, borderValue=fill
    )
