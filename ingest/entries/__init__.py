"""Register entries and letters as records: a pure, versioned step after OCR.

    extract_page(page: PageText) -> list[Entry]       # one page record in, its entries out
    extract_bundle(bundle_id, pages) -> BundleEntries  # what bundles/<id>/entries.json holds

A register page gives one Entry per row (kind "row"), found from its words' layout
(ingest.entries.rows); a letter or memo gives one Entry (kind "letter") with its file
number, date, from, to and subject beside the case it is about. Field names:

    serial, crime_no, sections, act, special_act, date (of the report), occurred, outcome, vehicle, engine,
    chassis, mobile, complainant.{name,relation,relative,village,station},
    accused.{name,relation,relative,village,station}, station,
    file_no, letter_date, from, to, subject (letters)

Bump EXTRACTOR_VERSION whenever a rule changes what is extracted: `abhilekh reindex`
rebuilds every bundle's entries.json whose version differs.
"""

from __future__ import annotations

from collections.abc import Iterable

from abhilekh.records import PageText
from ingest.entries.extract import extract_page
from ingest.entries.model import BundleEntries, Entry, Field  # noqa: F401 - re-exported

EXTRACTOR_VERSION = 8  # 8: crumbs after a name (a Latin pair, one letter) are no part of it; a village glued to its station word; कोतबाली; महिलां; a dwelling label glued to its village by a mark; a vehicle number with a stroke glued before it or an underscore in it; a memo's subject ends before its form lines; a stroke read as 1 between a sections list and its act; sections with a speck before their act, a danda after it, बि for वि; an outcome under a misread heading read from the unnamed columns; विवेचरा; a name and its father's parted after a family name (ingest/entries/surnames.txt); पन्नी, पर्त्न, पब्री; सूचना and घटना are no name; a names column whose heading OCR lost found by its relation words; a word with a stroke glued on whose box runs over empty cells ends at its rule; a date column's month with its second digit set apart; date labels and their dates parted into two columns; in a date cell the date beside the labelled report is the occurrence; चटना, धटना for घटना; a letter's recovery and receipt-stamp dates are not its case's; थाना misread as धाना ends a village; पुजी, पूत; a known name whose doubled consonant OCR read single; a serial glued to its crime number starts its row; a bare sections list after a speck; broken column rules read as strokes nearly as wide as high; भाएदएवि0 is the IPC; a heading gap parts a ruled cell only between its own column names; a merged codes cell gives the chassis its VIN. 7: a mobile number with its label glued on; words OCR gave twice read once; a name and its father's parted at their family name when the relation word is lost; column gaps from sure words and from the heading; horizontal rules' remnants dropped; a section past its act's last read through the mark beside it; sections read line by line; serials found by how they run on (a step back after a misread too, a stroke hung on one, a box past its rule); a heading whose abbreviation zeros read twice; a crime number opening merged columns starts its row. 6: column rules read as letters (I, 1, ।) taken out, and the rules are the columns; a cell line read just above its serial joins that row; date-column dates with separators lost one at a time. 5: dates with the month as a word (जून, Sept.); titles (श्री, स्व0) before names, उर्फ aliases, आत्मज, सा0, निवासिनी. 2: OCR's misreadings of relation words, labels, अज्ञात; split dates. 3: serials run on. 4: occurrence and report dates by their labels; more OCR misreadings of labels, relations, names, years, dates; a letter's narrative accused

__all__ = ["EXTRACTOR_VERSION", "BundleEntries", "Entry", "Field", "extract_bundle", "extract_page"]


def extract_bundle(bundle_id: str, pages: Iterable[PageText]) -> BundleEntries:
    """Every page's entries. A page the rules fail on is named in ``errors`` with the
    reason and passed by: entries are derived, and must never cost a bundle its ingest."""
    found = BundleEntries(bundle_id, EXTRACTOR_VERSION)
    for page in pages:
        try:
            found.entries.extend(extract_page(page))
        except Exception as exc:  # noqa: BLE001 - one page's odd words must not stop the bundle
            found.errors.append({"page": page.page, "error": f"{type(exc).__name__}: {str(exc)[:300]}"})
    return found
