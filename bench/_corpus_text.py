"""Text-only synthetic police-record pages for the search benchmark (no images, no layout).

`tests.fixtures.pagegen.make_truth` lays every page out in millimetres with real font
metrics (about 6 ms a page): too slow for 100,000 pages. This module reuses pagegen's
*content* helpers (the same cases, people, sections, crime numbers, vehicle numbers and
clerk typing styles from `tests.fixtures.vocab`) and writes the text lines directly,
in the reading order `GroundTruth.text` has:

- register pages: a header (thana, register name, year, page no), the column heads, then
  per case 2-3 lines (serial, crime no, sections, complainant, date, description /
  village, thana, outcome / accused); 3-7 cases a page, serials continuing through a
  bundle;
- letters: office header, CUG number, reference and date, addressee, subject, 2-5
  Hindi paragraphs with one English paragraph, signature block, sometimes a copy line.

Pages come in bundles (a register volume or a letter file: one thana, one year, 20-200
pages) carrying the bundle metadata (thana, register, year, file no, title). Pages are
about 1.5-3 KB of UTF-8. Everything is deterministic for a seed.

`corpus(n_pages, seed)` yields `(SearchDocument, [Facts])`: the facts of each case on the
page (names in both scripts, crime number, sections, village), from which the benchmark
draws queries that have answers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass

from abhilekh.records import BundleMetadata, SearchDocument
from tests.fixtures import pagegen as pg
from tests.fixtures import vocab

LETTER_FILE = "पत्रावली (पत्राचार)"


@dataclass(frozen=True)
class Facts:
    """What a query may ask about one case on a page."""

    names: tuple[str, ...]  # Devanagari full names (complainant, accused)
    names_latin: tuple[str, ...]
    variants: tuple[str, ...]  # other Latin spellings of those names
    crime_no: str  # "123/2019"
    sections: tuple[str, ...]  # ("457", "380")
    village: str
    station: str  # Devanagari thana name, as in the bundle metadata
    year: int


def _facts(entry: pg.Entry, station: vocab.Term, year: int) -> Facts:
    return Facts(
        names=tuple(entry.names),
        names_latin=tuple(entry.names_latin),
        variants=tuple(v for vs in entry.name_variants for v in vs),
        crime_no=entry.crime_no,
        sections=tuple(entry.sections),
        village=entry.village,
        station=station.dev,
        year=year,
    )


def _register_page(rng: random.Random, station: vocab.Term, year: int, register: vocab.Term,
                   page_no: int, first_serial: int, start_date: dt.date) -> tuple[str, list[pg.Entry], dt.date]:
    style = pg._Style(rng)
    n = rng.randint(3, 7)
    rows = pg._register_rows(rng, style, station, year, n, first_serial, first_serial, start_date)
    lines = [
        f"{pg._thana(station, style)}, {style.ab('जनपद')} {vocab.DISTRICT.dev}",
        f"{style.ab(register.dev)} वर्ष {style.num(str(year))}, {style.ab('पृष्ठ सं0')} {style.num(str(page_no))}",
        " ".join(style.ab(t) for t, _ in pg.REG_COLS),
    ]
    for cells, _entry in rows:
        serial, crime, section, who, date, desc = cells
        lines.append(" ".join([serial[0], crime[0], section[0], who[0], date[0], desc[0]]))
        lines.append(" ".join([who[1], *desc[1:]]))
        if len(who) > 2:
            lines.append(who[2])
    entries = [e for _, e in rows]
    last = dt.date.fromisoformat(entries[-1].date) if entries else start_date
    return "\n".join(pg._norm(x) for x in lines), entries, last


def _letter_page(rng: random.Random, station: vocab.Term, year: int) -> tuple[str, list[pg.Entry]]:
    """The content of `pagegen._make_letter`, as text lines."""
    style = pg._Style(rng)
    date = pg._random_date(rng, year, 0, 240)
    case = pg._make_case(rng, year, rng.randrange(1, 600), date)
    if case.ct.vehicle:
        case.vehicle = pg._vehicle(rng, style)
    v = pg._values(case, style, station, rng)
    v["incident"] = pg._fill(rng.choice(case.ct.incident), v, style)
    entry = pg._entry(case, style, station, v["crime_text"], None)
    letter_date = case.date + dt.timedelta(days=rng.randrange(5, 120))
    officer = pg._pick_person(rng, "m")
    circle = rng.choice(vocab.CIRCLES)
    addressee = rng.choice(vocab.ADDRESSEES).dev.replace("{circle}", circle.dev).split("|")
    subject = pg._fill(rng.choice(vocab.LETTER_SUBJECTS), v, style)
    opening = pg._fill(rng.choice(vocab.LETTER_OPENINGS), v, style)
    if "पंजीकृत" not in opening:
        opening += " " + pg._fill(rng.choice(vocab.LETTER_REGISTERED), v, style)
    progress = [t for t in vocab.LETTER_PROGRESS if case.accused or "{accused}" not in t]
    middle = [pg._fill(rng.choice(progress), v, style)]
    if case.vehicle:
        middle.append(pg._fill(rng.choice(vocab.LETTER_VEHICLE), v, style))
    if rng.random() < 0.5:
        middle.append(pg._fill("वादी द्वारा बताया गया कि घटना के समय गाँव के कई लोग मौजूद थे, जिनके बयान अंकित किए जा रहे हैं।", v))
    rng.shuffle(middle)
    english = [t for t in vocab.ENGLISH_SENTENCES if case.accused or "{accused_latin}" not in t]
    english_par = pg._fill(" ".join(rng.sample(english, 2)), v) + " " + pg._fill(
        "मोबाइल नम्बर {m} पर वादी से सम्पर्क किया जा सकता है।", {"m": pg._mobile(rng)}, style
    )
    closing = pg._fill(rng.choice(vocab.LETTER_CLOSINGS), v, style)
    n_par = rng.randint(2, min(5, len(middle) + 3))
    if n_par == 2:
        paragraphs = [opening + " " + english_par, closing]
    else:
        paragraphs = [opening, english_par] + middle[: n_par - 3] + [closing]
    ref = (
        style.num(f"{rng.randrange(10, 900)}/{letter_date.year}")
        if rng.random() < 0.5
        else f"{style.ab('एसओ-')}{style.num(str(rng.randrange(10, 900)))}/{style.num(str(letter_date.year))}"
    )
    lines = [
        f"कार्यालय थानाध्यक्ष, {pg._thana(station, style)}, {style.ab('जनपद')} {vocab.DISTRICT.dev}",
        f"CUG {style.ab('मो0 नं0')} {pg._mobile(rng)}",
        f"पत्रांक: {ref} दिनांक: {style.date(letter_date)}",
        "सेवा में,",
        *addressee,
        f"विषय: {subject}",
        "महोदय,",
        *paragraphs,
        "भवदीय,",
        f"({officer.dev})",
        "थानाध्यक्ष",
        pg._thana(station, style),
        f"{style.ab('जनपद')} {vocab.DISTRICT.dev}",
    ]
    if rng.random() < 0.4:
        lines.append(f"प्रतिलिपि: क्षेत्राधिकारी {circle.dev} को सूचनार्थ प्रेषित।")
    return "\n".join(pg._norm(x) for x in lines), [entry]


def corpus(n_pages: int, seed: int = 1) -> Iterator[tuple[SearchDocument, list[Facts]]]:
    """`n_pages` pages in bundles of 20-200, with the facts of their cases."""
    rng = random.Random(seed)
    made = 0
    bundle_no = 0
    while made < n_pages:
        bundle_no += 1
        brng = random.Random(rng.randrange(2**62))
        station = brng.choice(vocab.STATIONS)
        year = brng.randint(2005, 2025)
        size = min(n_pages - made, brng.randint(20, 200))
        bundle_id = hashlib.sha256(f"bench:{seed}:{bundle_no}".encode()).hexdigest()
        is_register = brng.random() < 0.6
        if is_register:
            register = brng.choice(vocab.REGISTER_NAMES)
            md = BundleMetadata(
                thana=station.dev, register=register.dev, year=year,
                file_no=f"{brng.randrange(1, 40)}/{year}", title=f"{register.dev} {year}",
            )
        else:
            register = None
            md = BundleMetadata(
                thana=station.dev, register=LETTER_FILE, year=year,
                year_to=year + 1 if brng.random() < 0.2 else None,
                file_no=f"{brng.randrange(1, 40)}/{year}", title=f"पत्रावली {station.dev} {year}",
            )
        serial = brng.randrange(1, 50)
        date = dt.date(year, 1, 1)
        for page in range(1, size + 1):
            prng = random.Random(brng.randrange(2**62))
            if register is not None:
                if date >= dt.date(year, 12, 20):
                    date = dt.date(year, 1, 1)  # a new volume year-round: keep dates in the year
                text, entries, date = _register_page(
                    prng, station, year, register, max(1, (serial - 1) // 7 + 1), serial, date
                )
                serial += len(entries)
            else:
                text, entries = _letter_page(prng, station, year)
            conf = round(prng.uniform(70.0, 96.0), 1)
            doc = SearchDocument(
                bundle_id=bundle_id, page=page, text=text, metadata=md,
                confidence=conf, needs_review=conf < 75.0,
            )
            yield doc, [_facts(e, station, year) for e in entries]
            made += 1
