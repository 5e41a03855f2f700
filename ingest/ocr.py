"""Read one cleaned page: our own lines, each read alone, Latin runs read again in English.

    ocr_image(page, dpi) = layout.find_lines (lines from the ink, see ingest/layout.py)
        -> per line: its image alone with a white margin, read as one line (PSM 7) by
           the engine's primary model (hin); a doubtful line (mean confidence < 92)
           read again cut from the grey page, the more confident reading kept
        -> per word that looks Latin (ASCII letters, or no shirorekha in its box): read
           again with eng, and the more confident reading kept (file numbers, vehicle,
           engine and chassis numbers, "IPC", "FIR No.")
        -> post-correction (ingest.postcorrect: noise, stray marks, digit scripts,
           glued words split by the lexicon)
        -> words in page pixels, text one line per visual line, and an invisible text
           layer drawn from those words (ingest.textlayer)

Every engine call goes through ingest.engine (one resident Tesseract per thread).
`layout="tesseract"` keeps the old path (one Tesseract process per page, its own page
segmentation with PSM `psm`) for comparison in the bench and in tests.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import pytesseract

from abhilekh.records import Word
from ingest.postcorrect import correct_rows

# Tesseract 5 re-reads every doubtful line as white-on-black text. Police records
# have none, and on noisy forms and handwriting that second pass costs ~25% of the
# page time (measured on the FIR samples) and half of an orientation check.
BASE_OPTIONS = ["-c", "tessedit_do_invert=0"]


from ingest.engine import (  # noqa: E402  (re-exported: callers and tests import them from here)
    OcrEngine,
    OcrError,
    OcrResult,
    OcrTimeout,
    available_languages,
    mean_word_confidence,
    open_engine,
)

__all__ = ["OcrEngine", "OcrError", "OcrResult", "OcrTimeout", "available_languages", "mean_word_confidence", "open_engine"]




def _tesseract() -> str:
    return pytesseract.pytesseract.tesseract_cmd


def _environment() -> dict[str, str]:
    # Tesseract's OpenMP threads fight each other when pages run in parallel (one
    # process per core): several multi-threaded Tesseracts are many times slower than
    # the same number single-threaded. Set it for the child only, and let an explicit
    # OMP_THREAD_LIMIT from the operator win.
    env = dict(os.environ)
    env.setdefault("OMP_THREAD_LIMIT", "1")
    return env


def _run(
    image: np.ndarray,
    dpi: int,
    *,
    languages: str,
    psm: int,
    timeout: float,
    outputs: list[str],
    options: list[str] = (),  # type: ignore[assignment]
) -> dict[str, bytes]:
    """Run tesseract once; return the bytes of each requested output (config name)."""
    if image.size == 0:
        raise OcrError("empty image")
    with tempfile.TemporaryDirectory(prefix="abhilekh-ocr-") as tmp:
        src = Path(tmp) / "page.png"
        # Fast PNG: the file lives for one Tesseract run, size does not matter.
        if not cv2.imwrite(str(src), image, [cv2.IMWRITE_PNG_COMPRESSION, 1]):
            raise OcrError("could not write the page image for Tesseract")
        base = Path(tmp) / "out"
        cmd = [
            _tesseract(), str(src), str(base),
            "--dpi", str(int(dpi)), "--psm", str(int(psm)), "-l", languages,
            *BASE_OPTIONS, *options, *outputs,
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout, env=_environment())
        except subprocess.TimeoutExpired as exc:  # the child is killed by run()
            raise OcrTimeout(f"Tesseract took longer than {timeout:g} s on one page") from exc
        except FileNotFoundError as exc:
            raise OcrError(f"tesseract not found ({_tesseract()}); install tesseract-ocr") from exc
        if proc.returncode != 0:
            msg = proc.stderr.decode("utf-8", "replace").strip()
            raise OcrError(f"Tesseract failed (exit {proc.returncode}): {msg[-500:]}")
        result = {}
        for name in outputs:
            out = base.with_suffix("." + name)
            if not out.exists():
                raise OcrError(f"Tesseract wrote no {name} output")
            result[name] = out.read_bytes()
        return result




def parse_tsv(tsv: str) -> list[tuple[int, Word]]:
    """Words in reading order, each with its block number; Word.line counts from 1."""
    rows: list[tuple[int, Word]] = []
    line_no = 0
    last_key = None
    reader = csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE)
    for rec in reader:
        if rec.get("level") != "5":
            continue
        text = (rec.get("text") or "").strip()
        if not text:
            continue
        key = (int(rec["page_num"]), int(rec["block_num"]), int(rec["par_num"]), int(rec["line_num"]))
        if key != last_key:
            line_no += 1
            last_key = key
        rows.append(
            (
                key[1],
                Word(
                    text=text,
                    left=int(rec["left"]),
                    top=int(rec["top"]),
                    width=int(rec["width"]),
                    height=int(rec["height"]),
                    confidence=max(0.0, float(rec["conf"])),
                    line=line_no,
                ),
            )
        )
    return rows


def page_text(rows: list[tuple[int, Word]]) -> str:
    """One line per text line, a blank line between blocks."""
    out: list[str] = []
    last_block = last_line = None
    for block, word in rows:
        if last_line is None:
            out.append(word.text)
        elif block != last_block:
            out.append("\n\n" + word.text)
        elif word.line != last_line:
            out.append("\n" + word.text)
        else:
            out.append(" " + word.text)
        last_block, last_line = block, word.line
    return "".join(out)




def ocr_image(
    image: np.ndarray,
    dpi: int,
    *,
    languages: str = "Devanagari",
    psm: int = 3,
    timeout: float = 180,
    correct: bool = True,
    layout: str = "lines",
    engine: OcrEngine | None = None,
    grey: np.ndarray | None = None,
) -> OcrResult:
    """OCR one page image; raises OcrTimeout past TIMEOUT seconds, OcrError on failure.

    With CORRECT the words go through ingest.postcorrect (noise tokens dropped, stray
    marks and digit scripts repaired) before the text and confidence are made.
    LAYOUT "lines" is ours (see the module docstring); "tesseract" is one Tesseract
    process with page segmentation mode PSM.
    """
    if layout == "lines":
        from ingest.lines import read_page

        return read_page(image, dpi, engine or open_engine(), languages=languages, timeout=timeout, correct=correct,
                         grey=grey)
    out = _run(
        image, dpi, languages=languages, psm=psm, timeout=timeout,
        outputs=["tsv", "pdf"], options=["-c", "textonly_pdf=1"],
    )
    rows = parse_tsv(out["tsv"].decode("utf-8", "replace"))
    if correct:
        rows = correct_rows(rows)
    words = [w for _, w in rows]
    return OcrResult(
        text=page_text(rows),
        words=words,
        confidence=mean_word_confidence(words),
        text_layer_pdf=out["pdf"],
    )


def read_words(
    image: np.ndarray, dpi: int, *, languages: str = "hin+eng", psm: int = 6, timeout: float = 30,
    engine: OcrEngine | None = None,
) -> list[Word]:
    """Words of a quick read of a block of text (PSM 6 or 7); for checks, not pages."""
    from ingest.engine import primary_language

    mode = {6: "block", 7: "line", 3: "page", 4: "column"}.get(psm, "block")
    return (engine or open_engine()).read(image, dpi, mode=mode, languages=primary_language(languages))


def engine_version(engine: OcrEngine | None = None) -> str:
    """What the manifest records: engine, version and models, e.g. 'tesseract 5.5.4 ...'."""
    engine = engine or open_engine()
    return f"{engine.name} {engine.version()}; {engine.describe()}"


@lru_cache(maxsize=1)
def tesseract_version() -> str:
    """The Tesseract command's version, e.g. '5.3.0' (the old per-page path runs it)."""
    try:
        proc = subprocess.run([_tesseract(), "--version"], capture_output=True, timeout=30)
    except FileNotFoundError as exc:
        raise OcrError(f"tesseract not found ({_tesseract()}); install tesseract-ocr") from exc
    first = (proc.stdout or proc.stderr).decode("utf-8", "replace").splitlines()
    if not first:
        raise OcrError("tesseract --version printed nothing")
    return first[0].split()[-1]


