"""Words back out of a searchable PDF's text layer, for rebuilding a lost page record.

The access copy carries every OCR word invisibly over its page image. When a stored
``pages/<n>.json`` is lost or damaged and the work files are long gone,
``abhilekh verify --repair`` rebuilds it from that layer: poppler's ``pdftotext
-bbox-layout`` gives each word with its box in PDF points, grouped in lines and
blocks; ``pdfimages -list`` gives the page image's size in pixels, the frame the
word boxes of a page record are in. What the layer does not carry (each word's
confidence, the deskew angle) the caller fills in from the manifest.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from abhilekh.records import Word

TIMEOUT = 120


@dataclass
class LayerPage:
    text: str  # lines joined by newlines, blocks by a blank line (as Tesseract writes it)
    words: list[Word] = field(default_factory=list)  # boxes in the page image's pixels
    width: int = 0  # of the page image, in pixels
    height: int = 0
    dpi: int = 300


def read_text_layer(pdf: bytes, page: int, confidence: float = 0.0) -> LayerPage:
    """The words of PAGE (1-based) of PDF, each given CONFIDENCE. Raises RuntimeError
    when poppler cannot read the page."""
    with tempfile.TemporaryDirectory(prefix="abhilekh-pdftext-") as tmp:
        path = Path(tmp) / "document.pdf"
        path.write_bytes(pdf)
        layout = _run(["pdftotext", "-f", str(page), "-l", str(page), "-bbox-layout", str(path), "-"])
        images = _run(["pdfimages", "-f", str(page), "-l", str(page), "-list", str(path)])
    root = ET.fromstring(re.sub(r"<!DOCTYPE[^>]*>", "", layout))
    ns = {"x": "http://www.w3.org/1999/xhtml"}
    node = root.find(".//x:page", ns)
    if node is None:
        raise RuntimeError(f"page {page} has no text layer")
    page_w, page_h = float(node.get("width", 0)), float(node.get("height", 0))
    px_w, px_h, dpi = _image_size(images, page_w, page_h)
    sx, sy = px_w / page_w if page_w else 1.0, px_h / page_h if page_h else 1.0
    words: list[Word] = []
    blocks: list[str] = []
    line_no = 0
    for block in node.iter(f"{{{ns['x']}}}block"):
        lines = []
        for line in block.iter(f"{{{ns['x']}}}line"):
            line_no += 1
            texts = []
            for w in line.iter(f"{{{ns['x']}}}word"):
                text = (w.text or "").strip()
                if not text:
                    continue
                x0, y0 = float(w.get("xMin", 0)), float(w.get("yMin", 0))
                x1, y1 = float(w.get("xMax", 0)), float(w.get("yMax", 0))
                words.append(Word(text, round(x0 * sx), round(y0 * sy), max(1, round((x1 - x0) * sx)),
                                  max(1, round((y1 - y0) * sy)), confidence, line_no))
                texts.append(text)
            if texts:
                lines.append(" ".join(texts))
        if lines:
            blocks.append("\n".join(lines))
    return LayerPage("\n\n".join(blocks), words, px_w, px_h, dpi)


def _run(args: list[str]) -> str:
    proc = subprocess.run(args, capture_output=True, timeout=TIMEOUT)
    if proc.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {proc.stderr.decode('utf-8', 'replace').strip()[:200]}")
    return proc.stdout.decode("utf-8", "replace")


def _image_size(listing: str, page_w: float, page_h: float) -> tuple[int, int, int]:
    """(width, height, x-ppi) of the page's largest image; the page at 300 dpi if none."""
    best = None
    for line in listing.splitlines()[2:]:
        cols = line.split()
        if len(cols) >= 14 and cols[2] == "image":
            w, h, ppi = int(cols[3]), int(cols[4]), int(float(cols[12]))
            if best is None or w * h > best[0] * best[1]:
                best = (w, h, ppi)
    if best is None:
        return round(page_w / 72 * 300), round(page_h / 72 * 300), 300
    return best
