"""Words OCR gave twice: one word read by two passes, both kept, boxes on top of each other.

Seen on tuning-ledger pages (t005, t013: "अंकित" at x 730 and 774 on one line, "रानी बाथम
बाथम" twice over): a names cell then reads "रानी रानी बाथम बाथम". The page record keeps both
(the OCR issue owns why); the rules read each word once. A word is a double when another
word of the same text on the same line covers half of the narrower box's width; the surer
reading stays, in its place.
"""

from __future__ import annotations

from abhilekh.records import Word
from ingest.entries.text import fold


def _overlap(a: Word, b: Word) -> float:
    shared = min(a.left + a.width, b.left + b.width) - max(a.left, b.left)
    return max(0, shared) / max(1, min(a.width, b.width))


def without_doubles(words: list[Word]) -> list[Word]:
    """WORDS with each double read once (the surer reading kept); order kept."""
    by_text: dict[tuple[int, str], list[int]] = {}
    for i, w in enumerate(words):
        by_text.setdefault((w.line, fold(w.text)), []).append(i)
    drop: set[int] = set()
    for same in by_text.values():
        for n, i in enumerate(same):
            for j in same[n + 1:]:
                if i in drop or j in drop or _overlap(words[i], words[j]) < 0.5:
                    continue
                drop.add(j if words[i].confidence >= words[j].confidence else i)
    return [w for i, w in enumerate(words) if i not in drop]
