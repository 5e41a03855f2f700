"""One e-file as a zip for e-Office's migrate-file step: its PDFs, metadata, notes and
movements.

    <file>.zip
        metadata.json       the file's fields, its bundles/page ranges, member checksums
        metadata.csv        the same fields, one row (the sheet e-Office's bulk upload reads)
        notes.json          every note, oldest first (corrections are notes naming the one corrected)
        movements.json      the whole movement history
        movements.csv
        documents/NN-<bundle>[-pFROM-TO].pdf   each part: the bundle's searchable PDF,
                            or just its pages FROM..TO (text layer kept)

The caller hands over ``pdf_of`` (bundle id -> the stored PDF's bytes), so this room
stays off the storage floor. Not PDF/A yet: the PDFs are the access copies as stored
(issue 12 asks for PDF/A-2b validated by veraPDF; follow-up).
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

from efiles.model import Actor, EFile, Part
from efiles.service import EFiles

__all__ = ["export_efile", "export_name"]

FORMAT = "abhilekh-efile-export/1"


def export_name(file_no: str) -> str:
    """A file name from a file number: SP/KNJ/PRO/2013/989 -> SP_KNJ_PRO_2013_989.zip."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in file_no).strip("._") or "efile"
    return f"{safe}.zip"


def _part_pdf(part: Part, pdf: bytes) -> bytes:
    if part.whole:
        return pdf
    with pikepdf.open(io.BytesIO(pdf)) as source:
        count = len(source.pages)
        first, last = part.page_from or 1, min(part.page_to or count, count)
        if first > count:
            raise ValueError(f"pages {part.page_from}-{part.page_to} beyond the bundle's {count} pages")
        out = pikepdf.new()
        for n in range(first, last + 1):
            out.pages.append(source.pages[n - 1])
        buffer = io.BytesIO()
        out.save(buffer)
        return buffer.getvalue()


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
    documents = []
    for n, part in enumerate(efile.parts, 1):
        suffix = "" if part.whole else f"-p{part.page_from}-{part.page_to}"
        name = f"documents/{n:02d}-{part.bundle_id[:16]}{suffix}.pdf"
        members[name] = _part_pdf(part, pdf_of(part.bundle_id))
        documents.append({"file": name, "bundle_id": part.bundle_id, "page_from": part.page_from,
                          "page_to": part.page_to})
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
        "efile": fields, "documents": documents,
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
