"""The JSON shapes of the API (pydantic: validated, and documented in /openapi.json)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from abhilekh.records import BundleMetadata

__all__ = ["HealthOut", "HitOut", "LoginIn", "SearchOut", "UserOut"]


class HitOut(BaseModel):
    bundle_id: str
    page: int = Field(description="1-based page within the bundle")
    score: float
    snippet: str = Field(description="plain text around the match")
    snippet_html: str = Field(description="the snippet, HTML-escaped, matches in <mark>")
    metadata: BundleMetadata  # the stdlib dataclass; pydantic validates and documents it
    confidence: float = Field(description="mean OCR word confidence of the page, 0-100")
    pdf: str = Field(description="app URL opening the PDF at this page")
    thumbnail: str = Field(description="app URL of a small JPEG of this page")
    near: bool = Field(default=False, description="found only by OCR-tolerant matching, ranked below exact hits")


class SearchOut(BaseModel):
    total: int
    hits: list[HitOut]
    facets: dict[str, dict[str, int]] = Field(
        default_factory=dict, description='"thana" | "register" | "year" -> value -> pages'
    )
    did_you_mean: str | None = Field(default=None, description="when nothing is found: a spelling the index holds that finds pages")


class LoginIn(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class UserOut(BaseModel):
    name: str
    role: str
    stations: list[str] = Field(description="stations (thana) this user may see; admins: all")


class HealthOut(BaseModel):
    ok: bool
    # where the index and the store are: only for an admin's session (server paths and
    # addresses are nobody else's business)
    index: str | None = None
    store: str | None = None
