"""Column rules OCR read as letters: take them out of a register page's words.

A ruled register's broken or dashed column rules survive cleaning as short vertical
strokes, and Tesseract reads each as ``I``, ``1``, ``।``, ``t``, ``!`` on every line
(tuning-ledger t001: 60 such words at five x positions). They fill the gaps the table's
columns are found from, so cells ran together ("विजय घटना" as one father's name), and a
stroke glued to a cell's first word reads as a digit ("1342/2014", "13/25")::

    words ─ narrow stroke-letters ─ their x, seen on ≥ 3 lines ─ rules
          ─ drop stroke-letter words standing on a rule
          ─ strip a stroke-letter glued to a rule at a word's start or end ─ words

Printed text keeps a margin from its rule, so a word whose edge sits on the rule
itself (within a stroke's width) starts or ends with the rule, not with a letter.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import replace

from abhilekh.records import Word

# What a thin vertical stroke is read as.
_STROKE_CHARS = "Il1|।iIjJtf!][lT"
_STROKES = re.compile(rf"^[{re.escape(_STROKE_CHARS)}]{{1,3}}$|^(?:ft|Tt|jp)$")
_MIN_LINES = 3


def _is_stroke(w: Word) -> bool:
    return bool(_STROKES.match(w.text.strip().rstrip(".,"))) and w.width <= 1.1 * max(w.height, 1)


def rule_positions(words: list[Word]) -> list[float]:
    """The x of each vertical rule: where stroke-letters stand on three or more lines."""
    strokes = sorted((w.left + w.width / 2, w.line) for w in words if _is_stroke(w))
    if not strokes:
        return []
    tol = max(4.0, 0.25 * statistics.median(w.height for w in words))
    rules, group = [], [strokes[0]]
    for x, line in strokes[1:]:
        if x - group[-1][0] <= tol:
            group.append((x, line))
            continue
        rules.append(group)
        group = [(x, line)]
    rules.append(group)
    return [statistics.median(x for x, _ in g) for g in rules if len({line for _, line in g}) >= _MIN_LINES]


def is_stretched(w: Word) -> bool:
    """A horizontal rule's remnant read as a letter or two: a box many letters wide for
    the one or two OCR gave it, read unsure ("जत" 228 px wide and 35 high, "न" 346 px,
    tuning-ledger t025). Across a column gap it hides the gap."""
    text = w.text.strip()
    return len(text) <= 3 and w.width > 2.5 * max(w.height, 1) * max(len(text), 1) and w.confidence < 60


def without_rules(words: list[Word], rules: list[float] | None = None) -> list[Word]:
    """WORDS without the column rules read as letters (unchanged where no rule is seen),
    and without horizontal rules' remnants. RULES: their rule_positions, when the caller
    has them already."""
    rules = rule_positions(words) if rules is None else rules
    words = [w for w in words if not is_stretched(w)]
    if not rules:
        return words
    tol = max(4.0, 0.25 * statistics.median(w.height for w in words))
    stroke = max(6, round(tol))

    def on_rule(x: float) -> bool:
        return any(abs(x - r) <= tol for r in rules)

    out = []
    for w in words:
        text = w.text.strip()
        if _STROKES.match(text) and (on_rule(w.left + w.width / 2) or on_rule(w.left + stroke / 2)):
            continue
        if len(text) > 1 and text[0] in _STROKE_CHARS and on_rule(w.left + stroke / 2):
            w = replace(w, text=text[1:], left=w.left + stroke, width=max(1, w.width - stroke))
            text = w.text
        crossed = [r for r in rules if w.left + tol < r < w.left + w.width - tol]
        stretched = bool(crossed) and w.width > 1.5 * max(w.height, 1) * len(text)
        if len(text) > 1 and text[-1] in _STROKE_CHARS and (on_rule(w.left + w.width - stroke / 2) or stretched):
            # the box runs to the stroke, across any empty cells between ("2014।" 550 px
            # wide over an empty vehicle cell, t001), even to a rule not seen on three
            # lines: the word ends before the first rule
            first = min(r for r in rules if r > w.left + tol)
            w = replace(w, text=text[:-1], width=max(1, round(first - tol - w.left)))
        out.append(w)
    return out
