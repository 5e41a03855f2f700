"""One e-file as a zip for e-Office's migrate-file step: one PDF/A-2b, its metadata
sheet, notes and movements.

    <file>.zip
        metadata.json       the file's fields, where each part starts in the PDF, member checksums
        metadata.csv        the same fields, one row (the sheet e-Office's bulk upload reads)
        <file>.pdf          PDF/A-2b: every part's pages (a bundle's searchable PDF, or just
                            its pages FROM..TO, invisible text layer kept), then the appendix
                            of notes and movements; XMP: dc:title (subject), dc:identifier
                            (file number), dc:coverage (station), dc:type (category),
                            dc:date (years), dc:subject (the same as keywords); sRGB output
                            intent (the profile shipped with pikepdf, checked by its sha256)
        notes.json          every note, oldest first (corrections are notes naming the one corrected)
        movements.json      the whole movement history
        movements.csv

pikepdf.pdfa writes the PDF/A and checks what it wrote with its own allowlist validator
(nothing is exported that it denies); the tests check it again with veraPDF
(scripts/verapdf). The caller hands over ``pdf_of`` (bundle id -> the stored PDF's
bytes), so this room stays off the storage floor.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pikepdf
import pikepdf.pdfa

from efiles.appendix import appendix_pdf
from efiles.model import Actor, EFile, EFileError, Movement, Note, Part
from efiles.service import EFiles

__all__ = ["ExportFailed", "export_efile", "export_name", "pdfa_of", "srgb_profile"]


class ExportFailed(EFileError):
    """A part's PDF cannot be made PDF/A (pikepdf's validator denies it): nothing is
    written, and the message names the file and the first reasons."""

FORMAT = "abhilekh-efile-export/2"
# The sRGB profile pikepdf ships (pikepdf/pdfa/data/sRGB.icc, pikepdf pinned in
# pyproject.toml): its bytes are checked, so a changed profile is noticed, not exported.
SRGB_SHA256 = "2a92d4bae450b76d8b0aa42193df974d75f62738ecebf74f01c5e75b12a95796"


def export_name(file_no: str) -> str:
    """A file name from a file number: SP/KNJ/PRO/2013/989 -> SP_KNJ_PRO_2013_989.zip."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in file_no).strip("._") or "efile"
    return f"{safe}.zip"


def srgb_profile() -> bytes:
    """The output intent's ICC profile, verified."""
    path = Path(pikepdf.__file__).parent / "pdfa" / "data" / "sRGB.icc"
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != SRGB_SHA256:
        raise ValueError(f"{path}: not the sRGB profile expected (sha256 differs); reinstall pikepdf")
    return data


def _part_range(part: Part, count: int) -> range:
    if part.whole:
        return range(1, count + 1)
    first, last = part.page_from or 1, min(part.page_to or count, count)
    if first > count:
        raise ValueError(f"pages {part.page_from}-{part.page_to} beyond the bundle's {count} pages")
    return range(first, last + 1)


def _keywords(efile: EFile) -> list[str]:
    words = [f"file no. {efile.file_no}", f"station {efile.station}"]
    if efile.category:
        words.append(f"category {efile.category}")
    if efile.years:
        words.append(f"years {efile.years}")
    return words


def pdfa_of(efile: EFile, history: list[Movement], notes: list[Note],
            pdf_of: Callable[[str], bytes]) -> tuple[bytes, list[dict[str, Any]]]:
    """The file as one PDF/A-2b (parts, then the appendix) and where each part starts."""
    out = pikepdf.new()
    sources = []
    documents = []
    try:
        for part in efile.parts:
            source = pikepdf.open(io.BytesIO(pdf_of(part.bundle_id)))
            sources.append(source)
            pages = _part_range(part, len(source.pages))
            documents.append({"bundle_id": part.bundle_id, "page_from": part.page_from, "page_to": part.page_to,
                              "pdf_first_page": len(out.pages) + 1, "pages": len(pages)})
            for n in pages:
                out.pages.append(source.pages[n - 1])
        appendix = pikepdf.open(io.BytesIO(appendix_pdf(efile, history, notes)))
        sources.append(appendix)
        documents.append({"appendix": "notes and movements", "pdf_first_page": len(out.pages) + 1,
                          "pages": len(appendix.pages)})
        out.pages.extend(appendix.pages)
        title = efile.subject or efile.file_no
        out.docinfo["/Title"] = title
        out.docinfo["/Producer"] = "abhilekh"
        with out.open_metadata(set_pikepdf_as_editor=False) as meta:
            meta["dc:title"] = title
            meta["dc:identifier"] = efile.file_no
            meta["dc:coverage"] = efile.station
            if efile.category:
                meta["dc:type"] = [efile.category]
            if efile.year_from is not None:
                meta["dc:date"] = [str(y) for y in range(efile.year_from, (efile.year_to or efile.year_from) + 1)]
            meta["dc:subject"] = set(_keywords(efile))
            meta["pdf:Keywords"] = "; ".join(_keywords(efile))
        buffer = io.BytesIO()
        # Writes, reopens and validates; raises PdfaError (nothing written) if it does not pass.
        try:
            pikepdf.pdfa.save(out, buffer, "2b", output_intent=srgb_profile(), output_condition_identifier="sRGB")
        except pikepdf.pdfa.PdfaError as exc:
            reasons = "; ".join(str(f) for f in list(getattr(exc.report, "findings", []))[:3]) or str(exc)
            raise ExportFailed(f"{efile.file_no}: PDF/A-2b नहीं बन सका / could not be made PDF/A-2b: {reasons}") from None
        return buffer.getvalue(), documents
    finally:
        for source in sources:
            source.close()
        out.close()


def _csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in columns})
    return out.getvalue()


def export_efile(service: EFiles, actor: Actor, file_no: str, pdf_of: Callable[[str], bytes],
                 out: Path | io.BytesIO) -> EFile:
    """Write `file_no`'s export zip to `out` (a path or a buffer); returns the file exported."""
    efile = service.get(actor, file_no)
    history = service.history(actor, file_no)
    notes = service.notes(actor, file_no)
    members: dict[str, bytes] = {}
    pdf_name = export_name(file_no).removesuffix(".zip") + ".pdf"
    members[pdf_name], documents = pdfa_of(efile, history, notes, pdf_of)
    moves = [m.to_dict() for m in history]
    members["notes.json"] = json.dumps([n.to_dict() for n in notes], ensure_ascii=False, indent=2).encode()
    members["movements.json"] = json.dumps(moves, ensure_ascii=False, indent=2).encode()
    members["movements.csv"] = _csv(moves, ["at", "action", "actor", "to_user", "remarks", "due_date",
                                            "status_after"]).encode()
    fields = efile.to_dict()
    columns = ["file_no", "subject", "station", "category", "year_from", "year_to", "status", "holder",
               "created_by", "created_at", "closed_at"]
    members["metadata.csv"] = _csv([fields], columns).encode()
    metadata = {
        "format": FORMAT, "exported_at": datetime.now(UTC).isoformat(), "exported_by": actor.name,
        "efile": fields, "pdf": pdf_name, "pdf_standard": "PDF/A-2b", "documents": documents,
        "sha256": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(members.items())},
    }
    members["metadata.json"] = json.dumps(metadata, ensure_ascii=False, indent=2).encode()
    if isinstance(out, Path):
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".part")
        _write_zip(tmp, members)
        tmp.replace(out)  # never a half-written zip under the real name
    else:
        _write_zip(out, members)
    return efile


def _write_zip(target: Path | io.BytesIO, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name in ["metadata.json", *sorted(k for k in members if k != "metadata.json")]:
            z.writestr(name, members[name])
