"""Records that cross module boundaries: what a bundle and a page are."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


def station_key(thana: str | None) -> str:
    """The one way police stations are compared: ``strip().casefold()``, so
    "Chhibramau " and "chhibramau" are one station. The index's thana filter and facets
    and the users' station grants all go by it."""
    return (thana or "").strip().casefold()


@dataclass(frozen=True)
class BundleMetadata:
    """What a scanning operator types in about one physical file or register."""

    thana: str = ""  # police station / office
    register: str = ""  # register or file type
    year: int | None = None
    year_to: int | None = None  # end of a date range; None means a single year
    file_no: str = ""
    title: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BundleMetadata:
        known: dict[str, Any] = {k: data.get(k) for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)

    def years(self) -> list[int]:
        if self.year is None:
            return []
        end = self.year_to if self.year_to and self.year_to >= self.year else self.year
        return list(range(self.year, end + 1))


@dataclass(frozen=True)
class Word:
    text: str
    left: int
    top: int
    width: int
    height: int
    confidence: float  # 0-100, Tesseract's word confidence
    line: int  # line number within the page, for rebuilding text


@dataclass
class PageText:
    """The OCR result of one page, as stored in `pages/<n>.json`."""

    bundle_id: str
    page: int  # 1-based, in bundle order
    source: str  # source file name the page came from
    source_page: int  # 1-based page within that source file
    text: str
    confidence: float  # mean word confidence, 0-100
    needs_review: bool
    width: int = 0
    height: int = 0
    dpi: int = 300
    rotation: int = 0
    skew: float = 0.0
    words: list[Word] = field(default_factory=list)
    ocr_error: str | None = None  # set when OCR failed and the page is stored as image only
    # The page's index fields, folded once at ingest (search.page.fold_record): a
    # reindex reuses them while the folding code and the searchable text are the same.
    index_fields: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if data["index_fields"] is None:  # pages from before folding at ingest read back the same
            del data["index_fields"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PageText:
        data = dict(data)
        data["words"] = [Word(**w) for w in data.get("words", [])]
        return cls(**data)


@dataclass(frozen=True)
class SearchDocument:
    """One page as the search index sees it; id is `<bundle_id>:<page>`."""

    bundle_id: str
    page: int
    text: str  # raw OCR text, for display
    metadata: BundleMetadata
    confidence: float = 0.0
    needs_review: bool = False
    # search.page.fold_record of this page, if it was folded before (None: fold now)
    index_fields: dict[str, str] | None = field(default=None, compare=False)

    @property
    def id(self) -> str:
        return f"{self.bundle_id}:{self.page}"


@dataclass(frozen=True)
class SearchFilters:
    thana: str | None = None
    register: str | None = None
    year: int | None = None
    # The stations the asker may see (a user's grants); None: every station. Part of
    # the engine query, so totals and facets are counted inside the scope too.
    stations: tuple[str, ...] | None = None


@dataclass
class SearchHit:
    bundle_id: str
    page: int
    score: float
    snippet: str  # plain text around the match
    snippet_html: str  # the same, HTML-escaped, matches wrapped in <mark>
    metadata: BundleMetadata
    confidence: float = 0.0
    needs_review: bool = False
    pdf: str = ""  # where to open it; filled by the caller that knows the store
    # found only by the OCR-tolerant tier (a misread word, a code off by a misread
    # character, a word inside a glued token): ranked below every exact hit
    near: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
