"""Read a page line by line (ingest.layout finds the lines), Latin words again in English.

Why a second model for Latin: Tesseract's hin model knows Latin letters but reads
codes by Hindi habits (`SP/KNJ/PRO/2013/989` came out `SP/IKNYPRO/2013/989`, "IPC",
vehicle, engine and chassis numbers suffer alike); eng reads them as printed. Which
words get the second reading, and which reading is kept, is decided per word by what
the image and the two confidences say, never by what the word "should" be.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from abhilekh.records import Word
from ingest.engine import OcrEngine, OcrTimeout
from ingest.layout import find_lines, line_image
from ingest.ocr import OcrResult, mean_word_confidence
from ingest.postcorrect import correct_rows

# White margin round a line image, in text heights: Tesseract's line reader wants some
# paper round the ink (tessdoc, "Improve quality": borders).
MARGIN = 0.4
# The eng reading of a Latin-looking word is kept when its confidence is at least the
# primary reading's minus this (chosen on the tuning set, bench/ocr_bench.py --sweep).
LATIN_MARGIN = 0.0
# A row of the word's upper half inked over this share of its width is a shirorekha.
HEADLINE_FILL = 0.55


def _has_latin(text: str) -> bool:
    return any("A" <= ch <= "Z" or "a" <= ch <= "z" for ch in text)


def _is_devanagari(text: str) -> bool:
    return any("\u0900" <= ch <= "\u097f" and not "\u0966" <= ch <= "\u096f" for ch in text)


def has_headline(crop: np.ndarray) -> bool:
    """Does the word image carry a shirorekha (a near-solid row in its upper half)?"""
    ink = crop < 128
    if ink.shape[0] < 4 or ink.shape[1] < 4:
        return False
    upper = ink[: max(2, int(ink.shape[0] * 0.5))]
    cols = np.flatnonzero(ink.any(axis=0))
    width = (cols[-1] - cols[0] + 1) if cols.size else ink.shape[1]
    return float(upper.sum(axis=1).max()) >= HEADLINE_FILL * width


def _wants_english(word: Word, crop: np.ndarray) -> bool:
    if _has_latin(word.text):
        return True
    # Read as Devanagari but drawn without a headline: a Latin word the primary model
    # turned into Hindi letters.
    return _is_devanagari(word.text) and len(word.text) >= 3 and not has_headline(crop)


def _reread_latin(engine: OcrEngine, img: np.ndarray, dpi: int, words: list[Word], pad: int) -> tuple[list[Word], int]:
    out: list[Word] = []
    calls = 0
    for w in words:
        y0, y1 = max(0, w.top - pad), min(img.shape[0], w.top + w.height + pad)
        x0, x1 = max(0, w.left - pad), min(img.shape[1], w.left + w.width + pad)
        crop = img[y0:y1, x0:x1]
        if crop.size == 0 or not _wants_english(w, crop[pad : pad + w.height, pad : pad + w.width] if w.height and w.width else crop):
            out.append(w)
            continue
        calls += 1
        eng = engine.read(crop, dpi, mode="line", languages="eng")
        if eng and not any(_is_devanagari(e.text) for e in eng):
            conf = float(np.mean([e.confidence for e in eng]))
            if conf >= w.confidence - LATIN_MARGIN:
                out.extend(replace(e, left=e.left + x0, top=e.top + y0, line=w.line) for e in eng)
                continue
        out.append(w)
    return out, calls


def read_page(image: np.ndarray, dpi: int, engine: OcrEngine, *, languages: str | None = None,
              timeout: float = 180, correct: bool = True) -> OcrResult:
    from ingest.engine import primary_language
    from ingest.textlayer import text_layer_pdf

    started = time.monotonic()
    bw = image if image.ndim == 2 else image[:, :, 0]
    layout = find_lines(bw, dpi)
    margin = max(8, int(MARGIN * layout.text_height)) if layout.text_height else 8
    primary = primary_language(languages)
    rows: list[tuple[int, Word]] = []
    calls = 0
    for n, line in enumerate(layout.lines, 1):
        if time.monotonic() - started > timeout:
            raise OcrTimeout(f"reading took longer than {timeout:g} s on one page")
        img, dx, dy = line_image(bw, layout, line, margin)
        words = engine.read(img, dpi, mode="line", languages=primary)
        calls += 1
        words, extra = _reread_latin(engine, img, dpi, words, max(4, margin // 2))
        calls += extra
        for w in words:
            rows.append((n, replace(w, left=w.left + dx, top=w.top + dy, line=n)))
    if correct:
        rows = correct_rows(rows)
    words = [w for _, w in rows]
    text = "\n".join(" ".join(w.text for w in words if w.line == n) for n in sorted({w.line for w in words}))
    height, width = bw.shape[:2]
    return OcrResult(
        text=text, words=words, confidence=mean_word_confidence(words),
        text_layer_pdf=text_layer_pdf(words, width, height, dpi), engine_calls=calls,
        lines_found=len(layout.lines),
    )
