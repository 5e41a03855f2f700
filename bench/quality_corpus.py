"""The corpus pages of bench/corpus.py as the production path reads them, cached.

    from bench.quality_corpus import read_split
    pages = read_split("heldout", 32)     # [ReadPage]: OCR text, words, truth
    .venv/bin/python -m bench.quality_corpus [--tuning 32] [--heldout 32] [--jobs 1]

Every page image goes through ``ingest.process.process_page(image, dpi, Settings())``
(clean -> Tesseract -> text), exactly what ``abhilekh ingest`` runs; nothing is
hand-fixed. The result is cached in
``${ABHILEKH_CACHE:-~/.cache/abhilekh}/bench/quality-ocr/<code>/<split>-<n>/<name>.json``
where ``<code>`` hashes what decides the text: every ``ingest/*.py`` source, the OCR
settings (languages, page segmentation) and ``tesseract --version``. When the OCR
engineer changes ingest/, the next run reads the pages again; an unchanged engine reads
from the cache.

This module only reads ``bench.corpus`` (``pages(split, n)``, its ``PageTruth``); it
does not change it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import corpus  # noqa: E402


@dataclass
class ReadPage:
    name: str
    split: str
    text: str  # OCR text, as the index gets it
    confidence: float
    words: list[dict]  # {"text", "left", "top", "width", "height", "confidence", "line"}
    truth: corpus.PageTruth


def code_version() -> str:
    """A short hash of everything that decides what OCR reads from a page."""
    from abhilekh.settings import Settings

    h = hashlib.sha256()
    for path in sorted((ROOT / "ingest").rglob("*.py")):
        # Entry extraction runs on OCR's output and never feeds it: hashing it made every
        # extractor change re-read 64 pages (~8 min) for identical readings.
        if path.is_relative_to(ROOT / "ingest" / "entries"):
            continue
        h.update(path.relative_to(ROOT).as_posix().encode())
        h.update(path.read_bytes())
    s = Settings()
    h.update(f"{s.ocr_languages}|{s.ocr_psm}".encode())
    try:
        version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True, check=False)
        h.update((version.stdout + version.stderr).encode())
    except OSError:
        h.update(b"no tesseract")
    return h.hexdigest()[:12]


def _cache_dir(split: str, n: int, code: str) -> Path:
    return corpus.cache_root().parent / "quality-ocr" / code / f"{split}-{n}"


def _read_one(args: tuple[str, int]) -> dict:
    path, dpi = args
    import cv2

    from abhilekh.settings import Settings
    from ingest.process import process_page

    image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    t0 = time.process_time()
    done = process_page(image, dpi, Settings())
    return {
        "text": done.text,
        "confidence": float(done.confidence),
        "words": [
            {"text": w.text, "left": w.left, "top": w.top, "width": w.width, "height": w.height,
             "confidence": w.confidence, "line": w.line}
            for w in done.words
        ],
        "cpu_s": round(time.process_time() - t0, 2),
    }


def read_split(split: str, n: int, jobs: int = 1, verbose: bool = True) -> list[ReadPage]:
    """The first ``n`` pages of ``split`` as OCR read them (reading what is not cached)."""
    code = code_version()
    out = _cache_dir(split, n, code)
    out.mkdir(parents=True, exist_ok=True)
    pages = corpus.pages(split, n, progress=verbose)
    todo = [p for p in pages if not (out / f"{p.name}.json").exists()]
    if todo and verbose:
        print(f"  OCR {len(todo)} {split} page(s) through ingest.process (code {code}) into {out}",
              file=sys.stderr, flush=True)
    t0 = time.time()
    # Each worker runs single-threaded Tesseract (ingest.ocr sets OMP_THREAD_LIMIT).
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = pool.map(_read_one, [(str(p.path), p.dpi) for p in todo])
        for k, (p, data) in enumerate(zip(todo, results), 1):
            part = out / f"{p.name}.json.tmp"
            part.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            part.rename(out / f"{p.name}.json")
            if verbose:
                print(f"    {p.name}: confidence {data['confidence']:.0f}, {data['cpu_s']} CPU-s, "
                      f"{k}/{len(todo)} in {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    read = []
    for p in pages:
        data = json.loads((out / f"{p.name}.json").read_text(encoding="utf-8"))
        read.append(ReadPage(p.name, split, data["text"], data["confidence"], data["words"], p.truth))
    return read


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tuning", type=int, default=32)
    ap.add_argument("--heldout", type=int, default=32)
    ap.add_argument("--jobs", type=int, default=1, help="OCR processes (default 1: the machine is shared)")
    a = ap.parse_args(argv)
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    for split, n in ((corpus.TUNING, a.tuning), (corpus.HELDOUT, a.heldout)):
        pages = read_split(split, n, a.jobs)
        print(f"{split}: {len(pages)} pages, mean confidence "
              f"{sum(p.confidence for p in pages) / max(1, len(pages)):.1f} (code {code_version()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
