"""The OCR corpus is the same bytes in every process (bench/corpus.py, scanlike.py).

Held-out figures and tests/test_ocr_quality.py compare runs with each other and with
docs/benchmarks.md; that only means something if a page is the same pixels each time it
is generated. Augraphy's Folding once drew its fold noise from numba's own unseeded,
per-thread generators, so every process made a different held-out page 2 and 4.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Held-out pages 2 and 4 carry augraphy's Folding; tuning page 1 the tuning pipeline.
# A fresh interpreter each time: the generators and numba's threads start anew.
SCRIPT = """
import hashlib, json, sys
sys.path.insert(0, sys.argv[1])
from bench import corpus
out = {}
for split, index in ((corpus.HELDOUT, 1), (corpus.HELDOUT, 3), (corpus.TUNING, 0)):
    s = corpus.SPLITS[split]
    plan = corpus._plan(s, 4)[index]
    img, truth = corpus.make_page(s, plan)
    out[f"{split}-{index}"] = {
        "augraphy": truth.degradation["augraphy"],
        "image": hashlib.sha256(img.tobytes()).hexdigest(),
        "truth": hashlib.sha256(json.dumps(truth.to_dict(), ensure_ascii=False, sort_keys=True).encode()).hexdigest(),
    }
print(json.dumps(out))
"""


def _generate() -> dict:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(ROOT)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_corpus_pages_are_the_same_bytes_in_two_processes() -> None:
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda _: _generate(), range(2))
    assert "Folding" in first["heldout-1"]["augraphy"] and "Folding" in first["heldout-3"]["augraphy"], first
    assert first == second
