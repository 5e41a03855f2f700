"""Entries as a table for officers' spreadsheets: CSV (UTF-8 with BOM, so Excel shows
Devanagari) and XLSX (openpyxl), the same columns in both."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from search.entries_core import SHOWN, EntryDocument

# Column headings in both languages: officers read either.
HEADINGS: dict[str, str] = {
    "bundle": "बण्डल / Bundle", "page": "पृष्ठ / Page", "row": "क्रम / Row", "thana": "थाना (बण्डल) / Thana",
    "serial": "क्रम सं0 / Serial", "crime_no": "मु0अ0सं0 / Crime No.", "sections": "धारा / Sections",
    "act": "अधिनियम / Act", "date": "दिनांक / Date", "complainant.name": "वादी / Complainant",
    "complainant.relative": "पिता/पति / Father or husband", "complainant.village": "ग्राम / Village",
    "accused.name": "अभियुक्त / Accused", "station": "थाना (प्रविष्टि) / Station", "vehicle": "वाहन / Vehicle",
    "engine": "इंजन / Engine", "chassis": "चेसिस / Chassis", "mobile": "मोबाइल / Mobile",
    "outcome": "परिणाम / Outcome", "file_no": "पत्रांक / File No.", "letter_date": "पत्र दिनांक / Letter date",
    "subject": "विषय / Subject",
}
COLUMNS = ("bundle", "page", "row", "thana", *SHOWN)


def rows(entries: Iterable[EntryDocument]) -> Iterable[list[str | int]]:
    yield [HEADINGS[c] for c in COLUMNS]
    for e in entries:
        yield [e.bundle_id, e.page, e.index, e.metadata.thana, *(e.values.get(c, "") for c in SHOWN)]


def to_csv(entries: Iterable[EntryDocument]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    for row in rows(entries):
        writer.writerow(row)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(entries: Iterable[EntryDocument]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("entries")
    for row in rows(entries):
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
