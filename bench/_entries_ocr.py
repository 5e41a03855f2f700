"""OCR the corpus pages once through the production path and cache the page records.

    .venv/bin/python bench/_entries_ocr.py tuning 12 heldout 16

Cached beside the corpus (``<cache>/bench/entries-ocr-v<corpus>/<code>/<split>-<n>/<name>.json``,
a PageText dict plus ``cpu_s``), so the entries bench measures extraction, not OCR. <code> is
bench/quality_corpus.py's hash of the OCR code and settings: keyed on the corpus alone, a
re-run after an OCR change silently scored the old readings (2026-12-03).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from abhilekh.records import PageText  # noqa: E402
from abhilekh.settings import Settings  # noqa: E402
from bench.corpus import VERSION, CorpusPage, cache_root, pages  # noqa: E402
from bench.quality_corpus import code_version  # noqa: E402


def ocr_dir(split: str, n: int) -> Path:
    return cache_root().parent / f"entries-ocr-v{VERSION}" / code_version() / f"{split}-{n}"


def ocr_pages(split: str, n: int, *, progress: bool = True) -> list[tuple[CorpusPage, PageText, float]]:
    """(page, its page record as production OCR gives it, OCR CPU seconds) for the
    first N pages of a split; OCR runs once, later calls read the cache."""
    from ingest.process import process_page

    settings = Settings(ocr_jobs=1)
    out = ocr_dir(split, n)
    out.mkdir(parents=True, exist_ok=True)
    result = []
    for i, p in enumerate(pages(split, n, progress=progress), 1):
        path = out / f"{p.name}.json"
        if not path.exists():
            if progress:
                print(f"  OCR {split} {i}/{n} {p.name}", file=sys.stderr, flush=True)
            t0 = time.process_time()
            r = process_page(p.image(), p.dpi, settings)
            cpu = time.process_time() - t0
            page = PageText(bundle_id=p.name, page=1, source=p.path.name, source_page=1, text=r.text,
                            confidence=round(r.confidence, 2), needs_review=False, width=r.width, height=r.height,
                            dpi=r.dpi, rotation=r.rotation, skew=round(r.skew, 2), words=r.words)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps({**page.to_dict(), "cpu_s": cpu}, ensure_ascii=False), encoding="utf-8")
            tmp.rename(path)
        data = json.loads(path.read_text(encoding="utf-8"))
        cpu = float(data.pop("cpu_s", 0.0))
        result.append((p, PageText.from_dict(data), cpu))
    return result


if __name__ == "__main__":
    args = sys.argv[1:]
    for split, n in zip(args[::2], args[1::2]):
        got = ocr_pages(split, int(n))
        print(f"{split}: {len(got)} pages, {sum(c for *_, c in got):.0f} s OCR CPU", flush=True)
