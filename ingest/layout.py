"""Find the text lines of a cleaned page ourselves, so no printed line is lost.

Tesseract's own page layout (PSM 3 and 4) drops whole lines of ruled registers when
stubs of erased rules, margin rules or scanner streaks are left on the page (3 of 22
lines read on a page that looked clean). We find lines from the ink instead:

    ink components -> typical text height H (median of text-sized components)
    -> drop what is not text: specks, long thin rule and streak remnants, blobs far
       taller than a line (stamps frames, photos)
    -> "body" components (letters and words, h >= 0.45 H) smeared along the line by
       ~0.9 H into segments (a phrase or a table cell's line)
    -> segments taller than ~1.7 H (two lines touching) split at the emptiest row
    -> small marks (anusvara, matras, dots, the abbreviation 0) joined to the segment
       they sit on
    -> segments on the same height grouped into visual lines, left to right, and the
       lines ordered top to bottom

Each line is cut out as an image holding only its own components (a neighbour's
descender poking into the box is left out) with a white margin, for a single-line
read (PSM 7). Boxes are in page pixels, so words read in a line image map back onto
the page by an offset.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np


@dataclass
class TextLine:
    left: int
    top: int
    right: int
    bottom: int
    labels: list[int] = field(default_factory=list)  # component labels in it
    segments: list[TextLine] = field(default_factory=list)  # its pieces, left to right

    @property
    def height(self) -> int:
        return self.bottom - self.top


@dataclass
class PageLayout:
    lines: list[TextLine]
    text_height: float  # H, pixels
    labels: np.ndarray  # component label image of the page's ink
    dropped: int = 0  # components judged not text


def _text_height(stats: np.ndarray, dpi: int) -> float:
    h = stats[1:, cv2.CC_STAT_HEIGHT]
    mm = dpi / 25.4
    cand = h[(h >= 1.2 * mm) & (h <= 12 * mm)]
    if cand.size < 5:
        return 3.5 * mm
    return float(np.median(cand))


def find_lines(bw: np.ndarray, dpi: int) -> PageLayout:
    """Text lines of a bilevel page (0 ink, 255 paper), top to bottom."""
    ink = (bw < 128).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if n <= 1:
        return PageLayout([], 0.0, labels)
    H = _text_height(stats, dpi)
    x, y, w, h, area = (stats[:, i] for i in range(5))
    mm = dpi / 25.4
    thin = np.minimum(w, h)
    long_ = np.maximum(w, h)
    fill = area / np.maximum(1, w * h)
    # Rule and streak remnants: thin and long, or long, sparse and still flat (a word
    # merged with a rule it touches is as tall as a word: it stays, and is read).
    is_rule = ((thin <= max(2, 0.25 * H)) & (long_ >= 1.5 * H)) | ((long_ >= 6 * H) & (fill < 0.12) & (thin <= 0.6 * H))
    is_rule |= _dashes(x, y, w, h, H)
    is_speck = area <= max(2, round((0.12 * mm) ** 2))
    is_big = (h > 3.2 * H) | (w > 60 * H)
    body = (h >= 0.45 * H) & ~is_rule & ~is_speck & ~is_big
    small = ~body & ~is_rule & ~is_speck & ~is_big
    body[0] = small[0] = False
    dropped = int((is_rule | is_big)[1:].sum())

    # Segments: body boxes smeared along the line on a half-size canvas.
    f = 2
    canvas = np.zeros((bw.shape[0] // f + 1, bw.shape[1] // f + 1), np.uint8)
    ids = np.flatnonzero(body)
    for i in ids:
        canvas[y[i] // f : (y[i] + h[i]) // f + 1, x[i] // f : (x[i] + w[i]) // f + 1] = 1
    gap = max(3, int(0.9 * H / f))
    smeared = cv2.dilate(canvas, np.ones((1, gap), np.uint8))
    m, seg_labels, seg_stats, _ = cv2.connectedComponentsWithStats(smeared, connectivity=4)
    owner = np.zeros(n, np.int32)  # body component -> segment (1-based)
    cy = (y + h / 2) // f
    cx = (x + w / 2) // f
    owner[ids] = seg_labels[np.clip(cy[ids].astype(int), 0, canvas.shape[0] - 1),
                            np.clip(cx[ids].astype(int), 0, canvas.shape[1] - 1)]
    segments: list[TextLine] = []
    for s in range(1, m):
        members = ids[owner[ids] == s]
        if members.size == 0:
            continue
        segments.extend(_split_tall(members, x, y, w, h, H))
    # Small marks join the segment they sit on or under.
    small_ids = np.flatnonzero(small)
    if segments and small_ids.size:
        boxes = np.array([[sg.left, sg.top, sg.right, sg.bottom] for sg in segments], float)
        for i in small_ids:
            mx, my = x[i] + w[i] / 2, y[i] + h[i] / 2
            inside = (boxes[:, 0] - 0.5 * H <= mx) & (mx <= boxes[:, 2] + 0.5 * H)
            dy = np.where(my < boxes[:, 1], boxes[:, 1] - my, np.where(my > boxes[:, 3], my - boxes[:, 3], 0))
            dy = np.where(inside, dy, np.inf)
            j = int(np.argmin(dy))
            if dy[j] <= 0.6 * H:
                sg = segments[j]
                sg.labels.append(int(i))
                sg.left, sg.top = min(sg.left, int(x[i])), min(sg.top, int(y[i]))
                sg.right, sg.bottom = max(sg.right, int(x[i] + w[i])), max(sg.bottom, int(y[i] + h[i]))
    return PageLayout(_visual_lines(segments), H, labels, dropped)


def _dashes(x, y, w, h, H: float) -> np.ndarray:
    """Pieces of dashed or broken rules: short thin strokes, four or more in a row at one
    height (or one column). A hyphen or a dash in the text is never in such a row."""
    out = np.zeros(x.shape, bool)
    horizontal = ((h <= max(2, 0.2 * H)) & (w >= 0.3 * H) & (w >= 4 * h), y + h / 2)
    vertical = ((w <= max(2, 0.2 * H)) & (h >= 0.3 * H) & (h >= 4 * w), x + w / 2)
    for flat, pos in (horizontal, vertical):
        flat[0] = False
        ids = np.flatnonzero(flat)
        if ids.size < DASH_RUN:
            continue
        bins = np.round(pos[ids] / (0.15 * H)).astype(int)
        for b in np.unique(bins):
            near = ids[np.abs(bins - b) <= 1]
            if near.size >= DASH_RUN:
                out[near] = True
    return out


# Dashes of one rule: this many thin strokes on one line.
DASH_RUN = 4


def _box(members, x, y, w, h) -> TextLine:
    return TextLine(int(x[members].min()), int(y[members].min()), int((x[members] + w[members]).max()),
                    int((y[members] + h[members]).max()), [int(i) for i in members])


def _split_tall(members: np.ndarray, x, y, w, h, H: float) -> list[TextLine]:
    """A segment over ~1.7 H tall is two (or more) lines whose smears touched: split
    between the rows where its components' centres cluster."""
    seg = _box(members, x, y, w, h)
    if seg.height <= 1.7 * H or members.size < 2:
        return [seg]
    centres = np.sort(y[members] + h[members] / 2)
    gaps = np.diff(centres)
    k = int(np.argmax(gaps))
    if gaps[k] < 0.5 * H:
        return [seg]
    cut = (centres[k] + centres[k + 1]) / 2
    mid = y[members] + h[members] / 2
    upper, lower = members[mid < cut], members[mid >= cut]
    return _split_tall(upper, x, y, w, h, H) + _split_tall(lower, x, y, w, h, H)


def _visual_lines(segments: list[TextLine]) -> list[TextLine]:
    """Merge segments that share a line's height (overlap over half the smaller one)."""
    segments = sorted(segments, key=lambda s: (s.top + s.bottom) / 2)
    lines: list[list[TextLine]] = []
    for sg in segments:
        best, best_overlap = None, 0.0
        for line in lines[-6:]:  # lines near this height only
            top, bottom = min(s.top for s in line), max(s.bottom for s in line)
            core_top = float(np.median([s.top for s in line]))
            core_bottom = float(np.median([s.bottom for s in line]))
            overlap = min(core_bottom, sg.bottom) - max(core_top, sg.top)
            frac = overlap / max(1.0, min(core_bottom - core_top, sg.height))
            if frac > 0.5 and frac > best_overlap and not any(_collide(sg, s) for s in line):
                best, best_overlap = line, frac
            del top, bottom
        if best is None:
            lines.append([sg])
        else:
            best.append(sg)
    out = []
    for line in lines:
        line.sort(key=lambda s: s.left)
        out.append(TextLine(min(s.left for s in line), min(s.top for s in line), max(s.right for s in line),
                            max(s.bottom for s in line), [lab for s in line for lab in s.labels], line))
    out.sort(key=lambda t: (t.top + t.bottom) / 2)
    return out


def _collide(a: TextLine, b: TextLine) -> bool:
    return a.left < b.right and b.left < a.right


@dataclass
class LineImage:
    image: np.ndarray
    top: int  # page row of the image's first row
    # (first column in the image, last column + 1, page x minus image x) per segment
    spans: list[tuple[int, int, int]]

    def to_page(self, left: int, width: int) -> int:
        """Page x of a box that starts at image column LEFT (and is WIDTH wide)."""
        centre = left + width / 2
        for _start, b, dx in self.spans:
            if centre < b:
                return left + dx
        return left + self.spans[-1][2]


def line_image(bw: np.ndarray, layout: PageLayout, line: TextLine, margin: int, max_gap: int,
               source: np.ndarray | None = None) -> LineImage:
    """The line alone on white with MARGIN pixels round it: only its own components (a
    neighbour's descender in its box is left out), and gaps between its segments
    (table columns) shrunk to at most MAX_GAP: the line reader duplicates or drops the
    first letter after a long blank stretch.

    With SOURCE (the grey page BW was thresholded from, same frame) the line is cut
    from SOURCE instead: the paper round its own components keeps its grey, so strokes
    the threshold broke are there to be read; only other components are whitened."""
    top, bottom = line.top, line.bottom
    segments = line.segments or [line]
    gaps = [min(max_gap, max(0, b.left - a.right)) for a, b in zip(segments, segments[1:])]
    width = sum(s.right - s.left for s in segments) + sum(gaps) + 2 * margin
    out = np.full((bottom - top + 2 * margin, width), 255, np.uint8)
    x = margin
    spans = []
    for i, s in enumerate(segments):
        window = layout.labels[top:bottom, s.left : s.right]
        keep = np.isin(window, np.asarray(s.labels, dtype=window.dtype))
        region = out[margin : margin + bottom - top, x : x + s.right - s.left]
        if source is None:
            region[keep] = bw[top:bottom, s.left : s.right][keep]
        else:
            keep |= window == 0
            region[keep] = source[top:bottom, s.left : s.right][keep]
        end = x + s.right - s.left + (gaps[i] // 2 if i < len(gaps) else margin)
        spans.append((x, end, s.left - x))
        x += s.right - s.left + (gaps[i] if i < len(gaps) else 0)
    return LineImage(out, top - margin, spans)
