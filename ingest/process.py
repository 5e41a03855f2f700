"""One page from scan to searchable PDF page: the production path.

`abhilekh ingest`, `abhilekh ocr` and the benchmarks all run exactly this, so a
number measured on it is a number the operators will see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from abhilekh.records import Word
from ingest.clean import clean_page
from ingest.ocr import ocr_image
from ingest.pdf import add_text_layer, encode_page

if TYPE_CHECKING:
    from abhilekh.settings import Settings


@dataclass
class ProcessedPage:
    text: str
    words: list[Word] = field(default_factory=list)
    confidence: float = 0.0
    rotation: int = 0  # clockwise degrees applied to make the page upright
    skew: float = 0.0  # degrees of tilt corrected
    width: int = 0  # of the cleaned image, in pixels; word boxes are in this frame
    height: int = 0
    dpi: int = 300
    pdf_page: bytes = b""  # one-page searchable PDF


def process_page(image: np.ndarray, dpi: int, settings: Settings) -> ProcessedPage:
    """clean -> OCR -> compact image page + invisible text layer.

    Raises ingest.ocr.OcrTimeout past settings.ocr_page_timeout, OcrError if
    Tesseract fails.
    """
    page = clean_page(image, dpi)
    ocr = ocr_image(
        page.image,
        page.dpi,
        languages=settings.ocr_languages,
        psm=settings.ocr_psm,
        timeout=settings.ocr_page_timeout,
    )
    pdf_page = add_text_layer(encode_page(page.image, page.dpi), ocr.text_layer_pdf)
    height, width = page.image.shape[:2]
    return ProcessedPage(
        text=ocr.text,
        words=ocr.words,
        confidence=ocr.confidence,
        rotation=page.rotation,
        skew=page.skew,
        width=width,
        height=height,
        dpi=page.dpi,
        pdf_page=pdf_page,
    )
