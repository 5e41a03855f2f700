"""Synthetic scanned pages, for tests and benchmarks.

Real police records cannot leave the district, so tests render their own pages:
Devanagari laid out by Pillow's raqm engine (without raqm the matras land in the
wrong place and nothing downstream means anything), then degraded the way a scanner
degrades paper (skew, rotation, dark border, ruling lines, uneven light).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont, features

# Lohit carries Latin letters and digits as well as Devanagari; Noto Sans Devanagari
# has no Latin letters, and Pillow does no font fallback, so "UP 78 AB" would be boxes.
DEVANAGARI_FONT = Path("/usr/share/fonts/truetype/lohit-devanagari/Lohit-Devanagari.ttf")

SAMPLE_LINES = [
    "रमेश यादव पुत्र सुरेश ग्राम छिबरामऊ",
    "मु0अ0सं0 123/2019 धारा 379 भादवि",
    "वाहन संख्या UP 78 AB 1234 थाना कोतवाली",
    "दिनांक 12.05.2019 को समय करीब 10 बजे",
    "वादी मुकदमा ने लिखित तहरीर दी कि",
    "उसकी मोटरसाइकिल घर के बाहर से चोरी हो गई",
    "अभियुक्त की तलाश जारी है विवेचना प्रचलित",
    "जनपद कन्नौज उत्तर प्रदेश पुलिस",
]


def font(size_px: int, path: Path = DEVANAGARI_FONT) -> ImageFont.FreeTypeFont:
    layout = ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC
    return ImageFont.truetype(str(path), size_px, layout_engine=layout)


def render_lines(
    lines: list[str],
    *,
    width: int = 2480,
    height: int | None = None,
    font_px: int = 42,
    margin: int = 150,
    line_gap: float = 1.9,
    background: int = 255,
) -> np.ndarray:
    """Grey page with LINES of text from the top-left margin; ~12 pt at 300 dpi."""
    face = font(font_px)
    step = int(font_px * line_gap)
    if height is None:
        height = 2 * margin + step * len(lines)
    page = Image.new("L", (width, height), background)
    draw = ImageDraw.Draw(page)
    for i, line in enumerate(lines):
        draw.text((margin, margin + i * step), line, font=face, fill=0)
    return np.asarray(page).copy()


def a4_page(n_lines: int = 38, *, font_px: int = 42) -> np.ndarray:
    """A 2480x3508 (A4 at 300 dpi) page of Hindi police-register prose."""
    lines = [SAMPLE_LINES[i % len(SAMPLE_LINES)] for i in range(n_lines)]
    return render_lines(lines, width=2480, height=3508, font_px=font_px)


def rotate_bound(image: np.ndarray, degrees: float, fill: int = 255) -> np.ndarray:
    """Rotate counter-clockwise by DEGREES, growing the canvas so nothing is cut."""
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    return cv2.warpAffine(
        image, m, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=fill
    )


def add_border(image: np.ndarray, thickness: int = 120, level: int = 20) -> np.ndarray:
    """Surround a page with the dark band a flatbed lid leaves around paper."""
    return cv2.copyMakeBorder(
        image, thickness, thickness, thickness, thickness, cv2.BORDER_CONSTANT, value=level
    )


def add_ruling(image: np.ndarray, rows: list[int], cols: list[int], thickness: int = 3) -> np.ndarray:
    """Register ruling: full-width horizontal and full-height vertical lines."""
    out = image.copy()
    for y in rows:
        out[y : y + thickness, :] = 0
    for x in cols:
        out[:, x : x + thickness] = 0
    return out


def add_shading(image: np.ndarray, strength: int = 90) -> np.ndarray:
    """Uneven light: a gradient darkening one side, as from a curled page."""
    h, w = image.shape[:2]
    ramp = np.linspace(0, strength, w, dtype=np.float32)[None, :]
    return np.clip(image.astype(np.float32) - ramp, 0, 255).astype(np.uint8)


def add_noise(image: np.ndarray, amount: float = 8.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noisy = image.astype(np.float32) + rng.normal(0, amount, image.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)
