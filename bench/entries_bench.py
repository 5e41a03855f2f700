"""Register entries and letters as records: how many rows and fields extraction gets right.

    .venv/bin/python bench/entries_bench.py [--tuning 24] [--heldout 16] [--json out.json]

Pages come from bench/corpus.py (held-out: ledger and memo layouts, fonts and
degradations the rules never saw; "heldout2", the fresh held-out split, first; then
"heldout", heldout-v1, seen: its totals were read three times while tuning) and are read by the production OCR path once
(bench/_entries_ocr.py caches the page records). Per split:

- entries: a found entry is right when it is the truth's row with the same crime number
  (or, without one, the same serial); precision over found, recall over truth.
- fields, on the matched entries: exact match after normalisation (ingest.entries.text
  .tidy for names, ISO dates, compact vehicle numbers, outcome classes). A field counts
  in the truth only where the page prints it; a value found where the truth has none
  counts against precision (except where the generator does not record the field:
  outcomes outside the ledger, a letter's mobile number).
- baseline: regular expressions over the page text (no layout): a row per line that
  starts with a number, the same value patterns applied to the text that follows.
- time: extraction CPU per page beside the OCR's.

NEVER TUNE ON --heldout: the rules in ingest/entries were fitted on the tuning pages.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from abhilekh.records import PageText  # noqa: E402
from bench._entries_ocr import ocr_pages  # noqa: E402
from bench.corpus import HELDOUT, HELDOUT2, HELDOUT3, TUNING, TUNING_LEDGER, TUNING_MIXED, CorpusPage  # noqa: E402
from ingest.entries import extract_page  # noqa: E402
from ingest.entries.fields import OUTCOMES  # noqa: E402
from ingest.entries.model import Entry, Field  # noqa: E402
from ingest.entries.text import fold, tidy  # noqa: E402

FIELDS = ["serial", "crime_no", "sections", "act", "date", "occurred", "complainant.name", "complainant.relative",
          "complainant.village", "accused.name", "station", "vehicle", "engine", "chassis", "mobile", "outcome"]
LABELS = {HELDOUT3: "heldout3: held-out (fresh, blind)", HELDOUT2: "heldout2 (held-out, seen: measured twice)",
          HELDOUT: "heldout-v1 (seen: measured three times before)", TUNING: "tuning", TUNING_LEDGER: "tuning-ledger (tuning)",
          TUNING_MIXED: "tuning-mixed (tuning: ledgers and memos)"}
TARGETS = {"entries": 0.95, "crime_no": 0.90, "sections": 0.90, "complainant.name": 0.90, "date": 0.90, "vehicle": 0.85}


def outcome_class(text: str) -> str | None:
    for rx, value in OUTCOMES:
        if re.search(rx, fold(text), re.I):
            return value
    return None


def _printed(page_text: str, printed: str | None) -> bool:
    if not printed:
        return False
    words = fold(printed).split()
    return all(w in page_text for w in words)


def truth_fields(page: CorpusPage, e: dict) -> dict[str, str | None]:
    """The truth's value of each field where the page prints it (None: not on the page)."""
    text = fold(page.truth.text)
    kind = page.truth.kind
    names, roles, rels = e.get("names") or [], e.get("roles") or [], e.get("relatives") or []
    comp = next((i for i, r in enumerate(roles) if r == "complainant"), None)
    acc = next((i for i, r in enumerate(roles) if r == "accused"), None)
    secs_text = e.get("section_text") or ""
    out: dict[str, str | None] = {
        "serial": str(e["serial"]) if e.get("serial") is not None and kind not in ("letter", "memo") else None,
        "crime_no": e.get("crime_no") if _printed(text, (e.get("crime_no_text") or "").split()[-1:][0] if e.get("crime_no_text") else None) else None,
        "sections": ",".join(e.get("sections") or []) if _printed(text, secs_text) else None,
        "act": e.get("act") if _printed(text, secs_text) else None,
        "date": e.get("date") if _printed(text, e.get("date_text")) else None,
        "occurred": e.get("occurred") if _printed(text, e.get("occurred_text")) else None,
        "complainant.name": tidy(names[comp]) if comp is not None and _printed(text, names[comp]) else None,
        "complainant.relative": tidy(rels[comp]) if comp is not None and _printed(text, rels[comp]) else None,
        "complainant.village": tidy(e["village"]) if _printed(text, e.get("village")) else None,
        "accused.name": tidy(names[acc]) if acc is not None and _printed(text, names[acc]) else None,
        "station": tidy(e["station"]) if _printed(text, e.get("station")) else None,
        "vehicle": e.get("vehicle") if _printed(text, e.get("vehicle_text")) else None,
        "engine": e.get("engine") if _printed(text, e.get("engine")) else None,
        "chassis": e.get("chassis") if _printed(text, e.get("chassis")) else None,
        "mobile": e.get("mobile") if _printed(text, e.get("mobile")) else None,
        "outcome": outcome_class(e["outcome"]) if e.get("outcome") else None,
    }
    if out["accused.name"] and kind in ("vehicles",):
        out["accused.name"] = None
    return out


def unrecorded(kind: str, name: str) -> bool:
    """Fields the generator does not record for a layout: a value found there is not
    known to be wrong."""
    return (name == "outcome" and not kind.startswith("ledger")) or (name == "mobile" and kind == "letter")


def found_value(e: Entry, name: str) -> str | None:
    v = e.value(name)
    if v is None:
        return None
    return tidy(v) if name.endswith((".name", ".relative", ".village")) or name == "station" else v


def match(truth: list[dict], found: list[Entry]) -> list[tuple[dict, Entry]]:
    pairs: list[tuple[dict, Entry]] = []
    used: set[int] = set()
    for key in ("crime_no", "serial"):
        for t in truth:
            if any(t is p[0] for p in pairs):
                continue
            tv = str(t.get(key)) if t.get(key) is not None else None
            for i, f in enumerate(found):
                if i not in used and tv is not None and f.value(key) == tv:
                    pairs.append((t, f))
                    used.add(i)
                    break
    return pairs


# ----------------------------------------------------------------------------- the baseline

_BASE_CRIME = re.compile(r"(\d{1,5})\s?/\s?((?:19|20)\d{2})")
_BASE_SECS = re.compile(r"(?:धारा\s)?(\d{2,3}[A-Z]?(?:[/,]\s?\d{2,3}[A-Z]?)*)\s(?:भादवि|भा0द0वि0|IPC|BNS|बीएनएस|बी0एन0एस0)")
_BASE_DATE = re.compile(r"(\d{1,2})[-./](\d{1,2})[-./](\d{2,4})")
_BASE_NAME = re.compile(r"(?:वादी-?|नाम वादी\s?:?)\s?([\u0900-\u097f ]+?)\s(?:पुत्र|पुत्री|पत्नी)\s([\u0900-\u097f ]+?)(?:\sनि0|\sनिवासी|,|$)")
_BASE_VEH = re.compile(r"UP[\s-]?\d{1,2}[\s-]?[A-Z]{0,3}[\s-]?\d{4}")
_BASE_MOB = re.compile(r"(?<!\d)[6-9]\d{9}(?!\d)")


def baseline(page: PageText) -> list[Entry]:
    """Regular expressions over the page text: a row per line starting with a number."""
    text = fold(page.text)
    chunks = re.split(r"\n(?=\d{1,5}\s)", text)
    if len(chunks) == 1:
        chunks = [text]
    out = []
    for i, chunk in enumerate(chunks, 1):
        e = Entry(page.page, i, "row", [0, 0, 0, 0])
        first = re.match(r"(\d{1,5})\s", chunk)
        if first and len(chunks) > 1:
            e.fields["serial"] = Field(first.group(1), first.group(1))
        def put(k: str, v: str, e: Entry = e) -> None:
            e.fields[k] = Field(v, v)

        if m := _BASE_CRIME.search(chunk):
            put("crime_no", f"{int(m.group(1))}/{m.group(2)}")
        if m := _BASE_SECS.search(chunk):
            put("sections", ",".join(re.split(r"[/,]\s?", m.group(1))))
        if m := _BASE_DATE.search(chunk):
            y = int(m.group(3)) + (2000 if len(m.group(3)) == 2 else 0)
            put("date", f"{y:04d}-{int(m.group(2)):02d}-{int(m.group(1)):02d}")
        if m := _BASE_NAME.search(chunk.replace("\n", " ")):
            put("complainant.name", tidy(m.group(1)))
            put("complainant.relative", tidy(m.group(2)))
        if m := _BASE_VEH.search(chunk):
            put("vehicle", re.sub(r"[\s-]", "", m.group(0)))
        if m := _BASE_MOB.search(chunk):
            put("mobile", m.group(0))
        if e.fields.get("crime_no"):
            out.append(e)
    return out


# ----------------------------------------------------------------------------- scoring


def score(pages: list[tuple[CorpusPage, PageText, float]], extractor) -> dict:
    n_truth = n_found = n_match = 0
    tp: dict[str, int] = defaultdict(int)
    fp: dict[str, int] = defaultdict(int)
    fn: dict[str, int] = defaultdict(int)
    cpu = 0.0
    ocr_cpu = 0.0
    misses: list[str] = []
    for page, record, ocr_s in pages:
        t0 = time.process_time()
        found = extractor(record)
        cpu += time.process_time() - t0
        ocr_cpu += ocr_s
        truth = page.truth.entries
        n_truth += len(truth)
        n_found += len(found)
        pairs = match(truth, found)
        n_match += len(pairs)
        paired = {id(t) for t, _ in pairs}
        misses.extend(f"{page.name} {t.get('serial')} entry: not found (crime {t.get('crime_no')})"
                      for t in truth if id(t) not in paired)
        for t, f in pairs:
            want = truth_fields(page, t)
            for name in FIELDS:
                w, g = want[name], found_value(f, name)
                if w is None and (g is None or unrecorded(page.truth.kind, name)):
                    continue
                if w is not None and g == w:
                    tp[name] += 1
                else:
                    if g is not None:
                        fp[name] += 1
                    if w is not None:
                        fn[name] += 1
                    if len(misses) < 400:
                        misses.append(f"{page.name} {t.get('serial')} {name}: want {w!r} got {g!r}")
    def pr(a: int, b: int) -> float | None:
        return round(a / b, 3) if b else None
    res = {
        "pages": len(pages),
        "entries": {"truth": n_truth, "found": n_found, "precision": pr(n_match, n_found), "recall": pr(n_match, n_truth)},
        "fields": {name: {"n": tp[name] + fn[name], "precision": pr(tp[name], tp[name] + fp[name]),
                          "recall": pr(tp[name], tp[name] + fn[name])} for name in FIELDS},
        "cpu_ms_page": round(1000 * cpu / max(1, len(pages)), 1),
        "cpu_share_of_ocr": round(cpu / ocr_cpu, 4) if ocr_cpu else None,
        "misses": misses,
    }
    return res


def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.2f}"


def table(name: str, ours: dict, base: dict) -> str:
    rows = [f"### {name} ({ours['pages']} pages, {ours['entries']['truth']} entries in the truth)", "",
            "| | n | precision | recall | baseline precision | baseline recall |", "|---|---|---|---|---|---|"]
    e, b = ours["entries"], base["entries"]
    rows.append(f"| entries found | {e['truth']} | {_fmt(e['precision'])} | {_fmt(e['recall'])} | {_fmt(b['precision'])} | {_fmt(b['recall'])} |")
    for f in FIELDS:
        o, bb = ours["fields"][f], base["fields"][f]
        if not o["n"] and o["precision"] is None:
            continue
        rows.append(f"| {f} | {o['n']} | {_fmt(o['precision'])} | {_fmt(o['recall'])} | {_fmt(bb['precision'])} | {_fmt(bb['recall'])} |")
    rows.append("")
    rows.append(f"Extraction {ours['cpu_ms_page']} ms CPU a page, {100 * (ours['cpu_share_of_ocr'] or 0):.2f} % of the OCR's CPU.")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tuning", type=int, default=24)
    ap.add_argument("--heldout", type=int, default=16, help="heldout-v1 pages (seen: measured three times before)")
    ap.add_argument("--heldout2", type=int, default=16, help="heldout2's pages (seen: measured twice)")
    ap.add_argument("--heldout3", type=int, default=12, help="the fresh, blind held-out split's pages")
    ap.add_argument("--tuning-ledger", type=int, default=12, help="ledger layouts on tuning-style pages")
    ap.add_argument("--tuning-mixed", type=int, default=0, help="ledgers and memos on tuning-style pages")
    ap.add_argument("--only", choices=[TUNING, TUNING_LEDGER, TUNING_MIXED, HELDOUT, HELDOUT2, HELDOUT3])
    ap.add_argument("--misses", action="store_true", help="print each wrong field (tuning only: never read held-out misses to tune)")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    report = {}
    for split, n in ((HELDOUT3, a.heldout3), (HELDOUT2, a.heldout2), (HELDOUT, a.heldout), (TUNING, a.tuning),
                     (TUNING_LEDGER, a.tuning_ledger), (TUNING_MIXED, a.tuning_mixed)):
        if a.only and split != a.only or n <= 0:
            continue
        pages = ocr_pages(split, n)
        ours, base = score(pages, extract_page), score(pages, baseline)
        report[split] = {"ours": ours, "baseline": base}
        print(table(LABELS[split], ours, base))
        print()
        if a.misses and split in (TUNING, TUNING_LEDGER, TUNING_MIXED):
            print("\n".join(ours["misses"]))
    if a.json:
        a.json.write_text(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
