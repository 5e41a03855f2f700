"""Read a page line by line (ingest.layout finds the lines), Latin words again in English.

Why a second model for Latin: Tesseract's hin model knows Latin letters but reads
codes by Hindi habits (`SP/KNJ/PRO/2013/989` came out `SP/IKNYPRO/2013/989`, "IPC",
vehicle, engine and chassis numbers suffer alike); eng reads them as printed. Which
words get the second reading, and which reading is kept, is decided per word by what
the image and the two confidences say, never by what the word "should" be.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import replace

import numpy as np

from abhilekh.records import Word
from ingest.engine import OcrEngine, OcrResult, OcrTimeout, mean_word_confidence
from ingest.gazetteer import restore, split_glued
from ingest.layout import TextLine, find_lines, line_image
from ingest.postcorrect import correct_rows

# White margin round a line image, in text heights: Tesseract's line reader wants some
# paper round the ink (tessdoc, "Improve quality": borders).
MARGIN = 0.4
# Gaps between a line's segments (table columns) are shrunk to this many text heights.
GAP = 1.0
# Read each segment of a line (a table cell's line, a phrase) alone: after a column gap
# the line reader repeats or drops a letter ("3349/2022" for "349/2022").
SEGMENTS = os.environ.get("ABHILEKH_OCR_SEGMENTS", "1") == "1"
# Code spans read again from the whole line in eng (_reread_codes); 0 turns it off for
# the bench's comparison.
CODE_SPANS = os.environ.get("ABHILEKH_OCR_CODE_SPANS", "1") == "1"
# The eng reading of a Latin-looking word is kept when its confidence is at least the
# primary reading's minus this (tuning set: 0 gave the lowest CER of 0, 15, 40).
LATIN_MARGIN = 0.0
# ...and for runs holding a code (letters and digits mixed): the Devanagari model reads
# their 1/I, 0/O by Hindi habits, confidently and wrongly; eng reads them as printed at
# a lower confidence (tuning set: chassis numbers).
CODE_MARGIN = 30.0
# Latin-digit words read with less confidence than this are read again in eng.
DOUBTFUL_DIGITS = 80.0
# An unbroken run of ink over this share of a word's width, in its upper half, is a
# shirorekha.
HEADLINE_FILL = 0.7
# ...within the top this share of its box: the shirorekha tops the letters (matras
# above it raise the box a little); the bar of a Latin H or A sits lower.
HEADLINE_ZONE = 0.42


# A code as printed: capitals, digits and the separators codes are set with
# (SP/KNJ/PRO/2013/989, 245/2019, UP 80 AB 1234, MBLHA10AJYE29674, 9876543210).
_CODE_SHAPE = re.compile(r"[A-Z0-9][A-Z0-9/.\-]*")
# What may sit in a digit group as printed besides digits (dates, crime numbers, lists).
_DIGIT_COMPANIONS = set("/.,-:;()")
# A short Devanagari word beside a number read at least this confidently is no suspect.
SHORT_SURE = 85.0
# A line read with a mean confidence under GREY_BELOW is read again cut from the grey
# page (the threshold may have broken or swallowed its strokes; Tesseract thresholds
# the line alone), and that reading is kept when it is GREY_MARGIN more confident.
# Chosen on the tuning set (32 pages: off 0.0446 CER, 75/0 and 85/5 0.0440, 92/3
# 0.0435, 0.0438 with the GREY_SHORTER guard; codes 94.2 -> 96.5 %), then measured on
# held-out (CER 0.240 -> 0.229 guarded, lines lost 8.2 -> 6.8 %): docs/benchmarks.md.
# ABHILEKH_OCR_GREY_LINES=0 turns it off.
GREY_LINES = os.environ.get("ABHILEKH_OCR_GREY_LINES", "1") == "1"
GREY_BELOW = 92.0
GREY_MARGIN = 3.0
# ...and when it holds at most this many letters and signs fewer: the grey reading
# may be confident and short (धर्मेन्द्र read धर्मे, tests/test_ocr_failures.py seed 62).
GREY_SHORTER = 2
# The eng reading of a code span is kept over the primary one when its confidence is at
# least the primary's minus this (tuning set, 8 pages: see docs/benchmarks.md, ocr10).
CODE_SPAN_MARGIN = 30.0
# ...and never below this: a code read this unsurely by eng is no better evidence.
CODE_SPAN_FLOOR = 50.0


def _mean(words: list[Word]) -> float:
    """Mean confidence of every word read (junk included: it is the doubt); -1 for none."""
    return float(np.mean([w.confidence for w in words])) if words else -1.0


def _has_latin(text: str) -> bool:
    return any("A" <= ch <= "Z" or "a" <= ch <= "z" for ch in text)


def _is_devanagari(text: str) -> bool:
    return any("\u0900" <= ch <= "\u097f" and not "\u0966" <= ch <= "\u096f" for ch in text)


def has_headline(crop: np.ndarray) -> bool:
    """Does the word image carry a shirorekha (a near-solid row in its upper half)?"""
    ink = crop < 128
    if ink.shape[0] < 4 or ink.shape[1] < 4:
        return False
    upper = ink[: max(2, int(ink.shape[0] * HEADLINE_ZONE))]
    cols = np.flatnonzero(ink.any(axis=0))
    width = (cols[-1] - cols[0] + 1) if cols.size else ink.shape[1]
    # The longest unbroken run of ink along any upper row: a headline joins the
    # letters of a word; the tops of Latin capitals (P, T, E) never span the word.
    padded = np.pad(upper, ((0, 0), (1, 1))).astype(np.int8)
    d = np.diff(padded, axis=1)
    longest = 0
    for r in range(upper.shape[0]):
        starts, ends = np.flatnonzero(d[r] == 1), np.flatnonzero(d[r] == -1)
        if starts.size:
            longest = max(longest, int((ends - starts).max()))
    return longest >= HEADLINE_FILL * width


def _is_code(text: str) -> bool:
    """Letters and digits mixed in one token (MBLHA10AJYE29674, SO-KAN/12/2019, UP78AB1234)."""
    return len(text) >= 5 and _has_latin(text) and any("0" <= ch <= "9" for ch in text)


def _kind(word: Word, crop: np.ndarray) -> str:
    """'latin' (ASCII letters, or Devanagari letters read where the image has no
    shirorekha), 'neutral' (digits and punctuation only) or 'deva'."""
    if _has_latin(word.text):
        return "latin"
    if not _is_devanagari(word.text):
        # Latin digits the primary model is unsure of: eng reads digit groups far
        # better (tuning set: its 3113/2006 for 113/2006 came with confidence 17).
        doubtful = word.confidence < DOUBTFUL_DIGITS and any("0" <= ch <= "9" for ch in word.text)
        return "latin" if doubtful else "neutral"
    return "deva" if has_headline(crop) else "latin"


def _runs(kinds: list[str]) -> list[tuple[int, int]]:
    """[start, end) of runs of words to read again in English: Latin-looking words and
    the digits and punctuation between or beside them (UP 76 M 8485, 379 IPC)."""
    runs = []
    i = 0
    while i < len(kinds):
        if kinds[i] != "latin":
            i += 1
            continue
        a = i
        while a > 0 and kinds[a - 1] == "neutral":
            a -= 1
        b = i + 1
        while b < len(kinds) and kinds[b] in ("latin", "neutral"):
            b += 1
        while b > i + 1 and kinds[b - 1] == "neutral" and (b == len(kinds) or kinds[b] != "latin"):
            b -= 1  # trailing digits stay with the run only if they sit between Latin words
        b = max(b, i + 1)
        runs.append((a, b))
        i = b
    return runs


def _crop(img: np.ndarray, words: list[Word], pad: int) -> tuple[np.ndarray, int, int]:
    x0 = max(0, min(w.left for w in words) - pad)
    y0 = max(0, min(w.top for w in words) - pad)
    x1 = min(img.shape[1], max(w.left + w.width for w in words) + pad)
    y1 = min(img.shape[0], max(w.top + w.height for w in words) + pad)
    return img[y0:y1, x0:x1], x0, y0


def _reread_latin(engine: OcrEngine, img: np.ndarray, dpi: int, words: list[Word], pad: int) -> tuple[list[Word], int]:
    kinds = []
    for w in words:
        crop = img[w.top : w.top + w.height, w.left : w.left + w.width]
        kinds.append(_kind(w, crop) if crop.size else "neutral")
    out: list[Word] = []
    calls = 0
    done = 0
    for a, b in _runs(kinds):
        out.extend(words[done:a])
        run = words[a:b]
        crop, x0, y0 = _crop(img, run, pad)
        calls += 1
        eng = engine.read(crop, dpi, mode="line", languages="eng") if crop.size else []
        primary = _mean(run)
        margin = CODE_MARGIN if any(_is_code(w.text) for w in run) else LATIN_MARGIN
        if eng and not any(_is_devanagari(e.text) for e in eng) and \
                float(np.mean([e.confidence for e in eng])) >= primary - margin:
            out.extend(replace(e, left=e.left + x0, top=e.top + y0, line=run[0].line) for e in eng)
        else:
            out.extend(run)
        done = b
    out.extend(words[done:])
    return out, calls


def _digit_suspect(text: str) -> bool:
    """A digit group holding what codes are not printed with: '30%' for 309/, '७?' for UP.
    Not: 245/2019, २६०/२०१४, 26.02.2008, UP78AB1234 (as a code is printed), नि0 (an
    abbreviation's zero)."""
    digits = sum(ch.isdigit() for ch in text)
    if not digits:
        return False
    if _is_devanagari(text):
        # Devanagari letters glued into a number; one zero after each letter is an
        # abbreviation (नि0, भा०द०वि०), not a number.
        return re.search(r"[0-9\u0966-\u096f]{2}", text) is not None
    body = text.rstrip(",;:.")
    latin = all(ch in _DIGIT_COMPANIONS or "0" <= ch <= "9" or "A" <= ch <= "Z" for ch in body)
    deva = all(ch in _DIGIT_COMPANIONS or "\u0966" <= ch <= "\u096f" for ch in body)
    return not (latin or deva)


def _code_suspects(words: list[Word], img: np.ndarray) -> list[bool]:
    """Which words of a line look like a code misread: a suspect digit group, or a word
    beside a digit group that is short or junk and not Devanagari with a headline
    (the Devanagari model reads Latin UP as 'ए?', H as 'म', W as '॥')."""
    has_digit = [any(ch.isdigit() for ch in w.text) for w in words]
    out = []
    for i, w in enumerate(words):
        if has_digit[i]:
            # ...or a number beside a Latin code word: the second half of a vehicle
            # number ('77-0741' for ZZ-0741 after UP-78) is read as digits.
            beside = [words[j].text for j in (i - 1, i + 1) if 0 <= j < len(words)]
            out.append(_digit_suspect(w.text) or any(_has_latin(t) and t.isascii() for t in beside))
            continue
        near = (i > 0 and has_digit[i - 1]) or (i + 1 < len(words) and has_digit[i + 1])
        letters = [ch for ch in w.text if ch.isalnum() or "\u0900" <= ch <= "\u097f"]
        if not near or len(letters) > 3:
            out.append(False)
            continue
        if not _is_devanagari(w.text):
            out.append(True)  # Latin capitals, punctuation: what eng reads best
            continue
        # A short Devanagari word with junk in it ('ए?' for UP, tuning t019), or read
        # unsurely with no shirorekha; से, को, व beside a number read confidently stay
        # (tuning t013).
        crop = img[max(0, w.top) : w.top + w.height, max(0, w.left) : w.left + w.width]
        junk = any(not (ch.isalnum() or "\u0900" <= ch <= "\u0963") for ch in w.text)
        out.append(junk or (w.confidence < SHORT_SURE and not (crop.size and has_headline(crop))))
    return out


def _overlap(a0: int, a1: int, b0: int, b1: int) -> int:
    return max(0, min(a1, b1) - max(a0, b0))


def _reread_codes(engine: OcrEngine, img: np.ndarray, dpi: int, words: list[Word]) -> tuple[list[Word], int]:
    """Code spans read again from the whole line in eng, where the primary reading of a
    line holds code suspects (_code_suspects). The line, not a crop: eng reads a code
    far better with its neighbours round it (tuning t007: 'UP 74 H' from a crop at
    confidence < 59, from the line at 82-83). Each run of code-shaped eng words that
    holds a digit replaces the primary words under it when those hold a suspect and
    eng is confident enough (CODE_SPAN_MARGIN, CODE_SPAN_FLOOR). Boxes stay in IMG's
    pixels."""
    suspects = _code_suspects(words, img)
    if not any(suspects):
        return words, 0
    eng = engine.read(img, dpi, mode="line", languages="eng")
    shaped = [bool(_CODE_SHAPE.fullmatch(e.text.rstrip(",;:"))) for e in eng]
    runs: list[list[Word]] = []
    cur: list[Word] = []
    for e, ok in zip([*eng, None], [*shaped, False]):
        if ok and e is not None:
            cur.append(e)
            continue
        # Unsure words at a run's ends are eng's guesses at the Hindi words beside the
        # code ('UT' for चोरी, '4' for से), not part of it.
        while cur and cur[-1].confidence < CODE_SPAN_FLOOR:
            cur.pop()
        while cur and cur[0].confidence < CODE_SPAN_FLOOR:
            cur.pop(0)
        if cur:
            runs.append(cur)
        cur = []
    taken: list[tuple[int, int, list[Word]]] = []  # primary [a, b) -> eng words
    for run in runs:
        if not any(ch.isdigit() for e in run for ch in e.text):
            continue
        x0, x1 = min(e.left for e in run), max(e.left + e.width for e in run)
        under = [i for i, w in enumerate(words) if _overlap(w.left, w.left + w.width, x0, x1) * 2 > w.width]
        if not under:
            continue
        a, b = under[0], under[-1] + 1
        # The primary words under the run, and the eng words under those (no letter
        # of the line is lost or read twice at the span's ends).
        px0, px1 = min(w.left for w in words[a:b]), max(w.left + w.width for w in words[a:b])
        if px0 < x0 or px1 > x1:
            extra = [e for e in eng if _overlap(e.left, e.left + e.width, px0, px1) * 2 > e.width]
            if any(not _CODE_SHAPE.fullmatch(e.text.rstrip(",;:")) for e in extra):
                continue
            run = sorted({id(e): e for e in [*run, *extra]}.values(), key=lambda e: e.left)
        if not any(suspects[a:b]):
            continue
        clean = [not s and _is_devanagari(w.text) for w, s in zip(words[a:b], suspects[a:b])]
        if any(clean):
            continue  # a Hindi word read well is never replaced by eng's guess
        primary = _mean(words[a:b])
        conf = float(np.mean([e.confidence for e in run]))
        if conf >= CODE_SPAN_FLOOR and conf >= primary - CODE_SPAN_MARGIN:
            if not taken or a >= taken[-1][1]:
                taken.append((a, b, run))
    if not taken:
        return words, 1
    out: list[Word] = []
    done = 0
    for a, b, run in taken:
        out.extend(words[done:a])
        out.extend(replace(e, line=words[a].line) for e in run)
        done = b
    out.extend(words[done:])
    return out, 1


def _lexicon(words: list[Word], img: np.ndarray) -> list[Word]:
    """Glued words split and near misses restored (ingest.gazetteer), on image evidence."""
    out: list[Word] = []
    for w in words:
        crop = img[max(0, w.top) : w.top + w.height, max(0, w.left) : w.left + w.width]
        out.extend(restore(piece) for piece in split_glued(w, crop if crop.size else None))
    return out


def _letters(words: list[Word]) -> int:
    return sum(ch.isalnum() or "\u0900" <= ch <= "\u097f" for w in words for ch in w.text)


def read_page(image: np.ndarray, dpi: int, engine: OcrEngine, *, languages: str | None = None,
              timeout: float = 180, correct: bool = True, grey: np.ndarray | None = None) -> OcrResult:
    from ingest.engine import primary_language
    from ingest.textlayer import text_layer_pdf

    started = time.monotonic()
    from ingest.clean import bilevel_page, to_grey
    from ingest.pdf import is_bilevel

    bw = to_grey(image)
    if not is_bilevel(bw):
        # A page kept grey (shading, a shadow, a photo) is read from its local
        # threshold; its grey image is still what the access copy shows.
        bw = bilevel_page(bw, dpi, method="sauvola")
    layout = find_lines(bw, dpi)
    margin = max(8, int(MARGIN * layout.text_height)) if layout.text_height else 8
    gap = max(margin, int(GAP * layout.text_height))
    primary = primary_language(languages)
    rows: list[tuple[int, Word]] = []
    calls = 0
    for n, line in enumerate(layout.lines, 1):
        if time.monotonic() - started > timeout:
            raise OcrTimeout(f"reading took longer than {timeout:g} s on one page")
        pieces = [TextLine(s.left, line.top, s.right, line.bottom, s.labels, [s]) for s in line.segments] \
            if SEGMENTS and line.segments else [line]
        for piece in pieces:
            li = line_image(bw, layout, piece, margin, gap)
            words = engine.read(li.image, dpi, mode="line", languages=primary)
            calls += 1
            if not words:
                # The line reader gives up on some lines with marks above and below
                # them; the raw line reader (no layout analysis at all) does not.
                words = engine.read(li.image, dpi, mode="raw_line", languages=primary)
                calls += 1
            if grey is not None and GREY_LINES and _mean(words) < GREY_BELOW:
                gi = line_image(bw, layout, piece, margin, gap, source=grey)
                alt = engine.read(gi.image, dpi, mode="line", languages=primary)
                calls += 1
                if alt and _mean(alt) > _mean(words) + GREY_MARGIN and _letters(alt) >= _letters(words) - GREY_SHORTER:
                    words, li = alt, gi
            words, extra = _reread_latin(engine, li.image, dpi, words, max(4, margin // 2))
            calls += extra
            if CODE_SPANS:
                words, extra = _reread_codes(engine, li.image, dpi, words)
                calls += extra
            if correct:
                words = _lexicon(words, li.image)
            for w in words:
                rows.append((n, replace(w, left=li.to_page(w.left, w.width), top=w.top + li.top, line=n)))
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
