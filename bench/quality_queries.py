"""Known-item queries an officer would type, generated from a corpus page's truth.

``make_queries(pages, seed)`` reads only ``PageTruth.items`` (what is printed on the
page, each with its kind) and ``PageTruth.entries`` (to pair a printed name with its
Latin spelling and village); never the OCR text. Kinds:

  name           a Devanagari name of two or more words, as printed ("रमेश यादव")
  name+village   a name (any length) and the village of its entry ("राजू मलिकपुर")
  name+father    name and father/husband, with or without the relation word
                 ("राजू कमलेश", "राजू पुत्र कमलेश")
  latin name     the entry's Latin spelling of a printed two-word name, its recorded
                 variants, and the common variant spellings of ``latin_variants``
                 (Yadav/Yadaw, Sharma/Sarma, Kushwaha/Kushvaha, Narendra/Narendr)
  crime no       the crime number in the forms officers type (245/2019, 245/19,
                 मु0अ0सं0 245/19, Case Crime No. 245 of 2019, अपराध संख्या 245 सन 2019)
  crime+section  a crime number and its first section, forms mixed
  file no        the file number as printed, lower-cased, or with spaces for the marks
  vehicle        the registration number, compact (UP74GE8894) or spaced
  engine, chassis, mobile   as printed (mobile also as "98765 43210" / "+91 ...")

Wrong queries (``wrong=True``), for precision: the same typed form with one digit of
the crime number, plate or mobile changed, or the first word of a name swapped for a
first name from the vocabulary; each wrong value is printed on no page of the split.
The page they name is the page of the item they were made from: it must not come back
in the top 10.

``pair`` links a Devanagari name query to the Latin queries of the same name: their
top-10 sets are compared.
"""

from __future__ import annotations

import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fixtures import vocab  # noqa: E402

KINDS = ("name", "name+village", "name+father", "latin name", "crime no", "crime+section", "file no",
         "vehicle", "engine", "chassis", "mobile")
WRONG_KINDS = ("wrong crime no", "wrong name", "wrong latin name", "wrong vehicle", "wrong mobile")


@dataclass(frozen=True)
class Query:
    kind: str
    text: str
    page: str  # the corpus page's name
    printed: tuple[str, ...]  # what of the page it asks for, as printed (for "damaged by OCR")
    wrong: bool = False
    pair: str | None = None  # same value for a Devanagari name and its Latin spellings


def latin_variants(name: str) -> list[str]:
    """Common other spellings of a Latin name, one rule each (the issue's list):
    v <-> w, sh -> s, a final -endra -> -endr."""
    out = []
    rules = [(r"v", "w"), (r"w", "v"), (r"sh", "s"), (r"Sh", "S"), (r"endra\b", "endr")]
    for pattern, repl in rules:
        changed = re.sub(pattern, repl, name, count=1)
        if changed != name and changed not in out:
            out.append(changed)
    return out


def _crime_forms(number: str, year: str) -> list[str]:
    yy = year[2:]
    return [
        f"{number}/{year}",
        f"मु0अ0सं0 {number}/{yy}",
        f"{number}/{yy}",
        f"Case Crime No. {number} of {year}",
        f"अपराध संख्या {number} सन {year}",
        f"मु0अ0सं0 {number}/{year}",
    ]


def _section_forms(section: str, act: str) -> list[str]:
    if act == "BNS":
        return [f"धारा {section}", f"{section} BNS", f"u/s {section}", f"धारा {section} बीएनएस"]
    if act == "IPC":
        return [f"धारा {section}", f"{section} IPC", f"u/s {section}", f"{section} भादवि"]
    return [f"धारा {section} {act}", f"{section} {act}"]


def _file_forms(printed: str) -> list[str]:
    return [printed, printed.lower(), re.sub(r"[/\-.]", " ", printed)]


def _vehicle_forms(value: str, printed: str) -> list[str]:
    return [value, printed, value.lower()]


def _mobile_forms(value: str) -> list[str]:
    return [value, f"{value[:5]} {value[5:]}", f"+91 {value}"]


def _change_digit(rng: random.Random, digits: str, taken: set[str], fmt=lambda d: d) -> str | None:
    for _ in range(50):
        i = rng.randrange(len(digits))
        d = rng.choice([c for c in "0123456789" if c != digits[i]])
        if i == 0 and d == "0":
            continue
        new = digits[:i] + d + digits[i + 1 :]
        if fmt(new) not in taken:
            return new
    return None


def make_queries(pages: list, seed: int = 11) -> list[Query]:
    """Queries (right and wrong) for ``pages`` (objects with ``.name`` and ``.truth``)."""
    rng = random.Random(seed)
    texts = {p.name: p.truth.text for p in pages}
    all_text = "\n".join(texts.values())
    crimes = {i.value for p in pages for i in p.truth.items if i.kind == "crime_no"}
    plates = {i.value for p in pages for i in p.truth.items if i.kind == "vehicle"}
    first_names = [*vocab.FIRST_NAMES, *vocab.HELDOUT_FIRST_NAMES]
    out: list[Query] = []
    n = 0
    for p in pages:
        t = p.truth
        items = {(i.kind, i.text) for i in t.items}
        printed_names = {i.text for i in t.items if i.kind == "name"}
        villages = {i.text for i in t.items if i.kind == "village"}
        for i in t.items:
            n += 1
            if i.kind == "name" and len(i.text.split()) >= 2:
                pair = f"{p.name}:{i.text}"
                out.append(Query("name", i.text, p.name, (i.text,), pair=pair))
                words = i.text.split()
                for _ in range(20):
                    other = rng.choice(first_names)
                    if other.dev not in all_text and other.latin not in all_text:
                        wrong = " ".join([other.dev, *words[1:]])
                        out.append(Query("wrong name", wrong, p.name, (i.text,), wrong=True))
                        break
            elif i.kind == "name_father":
                text = i.value if n % 2 else i.text
                out.append(Query("name+father", text, p.name, (i.text,)))
            elif i.kind == "crime_no":
                number, year = i.value.split("/")
                forms = _crime_forms(number, year)
                out.append(Query("crime no", forms[n % len(forms)], p.name, (i.text,)))
                wrong = _change_digit(rng, number, crimes, lambda d, y=year: f"{d}/{y}")
                if wrong:
                    out.append(Query("wrong crime no", _crime_forms(wrong, year)[n % len(forms)], p.name,
                                     (i.text,), wrong=True))
            elif i.kind == "file_no":
                forms = _file_forms(i.text)
                out.append(Query("file no", forms[n % len(forms)], p.name, (i.text,)))
            elif i.kind == "vehicle":
                forms = _vehicle_forms(i.value, i.text)
                out.append(Query("vehicle", forms[n % len(forms)], p.name, (i.text,)))
                tail = i.value[-4:]
                wrong = _change_digit(rng, tail, plates, lambda d, v=i.value: v[:-4] + d)
                if wrong:
                    out.append(Query("wrong vehicle", _vehicle_forms(i.value[:-4] + wrong, i.text[:-4] + wrong)[
                        n % 3], p.name, (i.text,), wrong=True))
            elif i.kind in ("engine", "chassis"):
                out.append(Query(i.kind, i.value, p.name, (i.text,)))
            elif i.kind == "mobile":
                forms = _mobile_forms(i.value)
                out.append(Query("mobile", forms[n % len(forms)], p.name, (i.text,)))
                wrong = _change_digit(rng, i.value, set(), lambda d: d)
                if wrong and wrong not in all_text:
                    out.append(Query("wrong mobile", _mobile_forms(wrong)[n % 3], p.name, (i.text,), wrong=True))
        for e in t.entries:
            n += 1
            names = [nm for nm in e["names"] if nm in printed_names]
            if e.get("village") and e["village"] in villages and names:
                out.append(Query("name+village", f"{names[0]} {e['village']}", p.name, (names[0], e["village"])))
            crime, printed = e.get("crime_no"), (e.get("crime_no_text") or "").split()[-1:]
            secs = [s for s in e.get("sections") or [] if ("section", s) in items]
            if crime and printed and ("crime_no", printed[0]) in items and secs:
                number, year = crime.split("/")
                cf = _crime_forms(number, year)
                sf = _section_forms(secs[0], e.get("act") or "IPC")
                text = f"{cf[n % len(cf)]} {sf[(n // 2) % len(sf)]}"
                out.append(Query("crime+section", text, p.name, (printed[0], secs[0])))
            for k, (dev, latin) in enumerate(zip(e["names"], e.get("names_latin") or [])):
                if dev not in printed_names or len(dev.split()) < 2:
                    continue
                pair = f"{p.name}:{dev}"
                recorded = e.get("name_variants") or []
                spellings = [latin, *(recorded[k] if k < len(recorded) else [])]
                for v in list(spellings):
                    spellings += [x for x in latin_variants(v) if x not in spellings]
                for s in dict.fromkeys(spellings):
                    out.append(Query("latin name", s, p.name, (dev,), pair=pair))
                words = latin.split()
                for _ in range(20):
                    other = rng.choice(first_names)
                    if other.dev not in all_text and other.latin not in all_text:
                        out.append(Query("wrong latin name", " ".join([other.latin, *words[1:]]), p.name, (dev,),
                                         wrong=True))
                        break
    return out
