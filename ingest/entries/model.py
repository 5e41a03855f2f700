"""The records extraction gives: a page's entries, each with its fields.

Stored as ``bundles/<id>/entries.json`` (``BundleEntries.to_dict``); derived from the
page records, so a new EXTRACTOR_VERSION rebuilds them and the pages stay the record.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

Box = list[int]  # [x0, y0, x1, y1] in the page record's pixels


@dataclass
class Field:
    """One value read off an entry: as the page has it and as it is compared."""

    text: str  # as read (OCR), the words it came from joined by spaces
    value: str  # normalised: "245/2019", "2019-03-14", "UP74AB1234", "379,411", "charge_sheet"
    boxes: list[Box] = field(default_factory=list)  # one per word read
    confidence: float = 0.0  # 0-1: the words' OCR confidence times how sure the rule is

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Field:
        return cls(str(d.get("text", "")), str(d.get("value", "")), [list(b) for b in d.get("boxes", [])],
                   float(d.get("confidence", 0.0)))


@dataclass
class Entry:
    """A register row, or the one case (and its file number, date, from, to, subject)
    a letter or memo is about."""

    page: int
    index: int  # 1-based, on its page, top to bottom
    kind: str  # "row" (a register table's row) or "letter"
    box: Box
    fields: dict[str, Field] = field(default_factory=dict)

    def value(self, name: str) -> str | None:
        f = self.fields.get(name)
        return f.value if f is not None else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Entry:
        return cls(int(d["page"]), int(d["index"]), str(d["kind"]), list(d.get("box") or [0, 0, 0, 0]),
                   {k: Field.from_dict(v) for k, v in (d.get("fields") or {}).items()})


@dataclass
class BundleEntries:
    """Every entry of a bundle, with the extractor version that made them."""

    bundle_id: str
    extractor_version: int
    entries: list[Entry] = field(default_factory=list)
    # pages extraction failed on: {"page": n, "error": "..."}; the page itself is kept
    errors: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"bundle_id": self.bundle_id, "extractor_version": self.extractor_version,
                "entries": [e.to_dict() for e in self.entries], "errors": self.errors}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BundleEntries:
        return cls(str(d["bundle_id"]), int(d["extractor_version"]), [Entry.from_dict(e) for e in d.get("entries", [])],
                   list(d.get("errors") or []))
