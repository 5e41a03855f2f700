"""One page from scan to searchable PDF page: the production path.

`abhilekh ingest`, `abhilekh ocr` and the benchmarks all run exactly this, so a
number measured on it is a number the operators will see.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cv2
import numpy as np

from abhilekh.records import Word
from ingest.clean import clean_page, second_readings
from ingest.engine import open_engine
from ingest.ocr import OcrResult, ocr_image
from ingest.pdf import add_text_layer, encode_page
from ingest.thumbnail import make_thumbnail

if TYPE_CHECKING:
    from abhilekh.settings import Settings

# A page read with a mean word confidence below this is read again from its other
# renderings (the other threshold, the grey page) and the most confident reading is
# kept. On the benchmark corpus well-read pages score 83-93 and only badly damaged
# ones fall below 70, so the extra Tesseract runs are spent on those alone.
RETRY_BELOW = 70.0
# The other renderings are first read in a band across the middle of the page (this
# share of its height, a band the turned page shares with the upright one); only the
# rendering whose band reads more confidently than the first rendering's same band is
# then read whole. Before, each of the three was read whole: a page under 70
# cost four full readings, now at most two (issue 10's speed target: held-out pages
# are mostly read below 70). ABHILEKH_OCR_RETRY=full keeps the old retry for the bench.
PROBE_BAND = (0.35, 0.65)
RETRY = os.environ.get("ABHILEKH_OCR_RETRY", "probe")


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
    thumbnail: bytes = b""  # small grayscale JPEG of the page shown in the PDF


def image_only_page(image: np.ndarray, dpi: int) -> ProcessedPage:
    """The page as a picture with no text layer, for a page OCR could not read: the
    scan is kept in the access copy and the page is flagged, instead of the whole
    bundle waiting on it. No OpenCV clean-up either (it may be what failed)."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    height, width = grey.shape[:2]
    return ProcessedPage(
        text="", confidence=0.0, width=width, height=height, dpi=dpi,
        pdf_page=encode_page(grey, dpi), thumbnail=make_thumbnail(grey),
    )


def best_reading(readings: list[tuple]) -> tuple:
    """Of (..., OcrResult) readings, the one with the highest confidence; the first
    wins ties."""
    return max(readings, key=lambda r: r[-1].confidence)


def _probed(first_image: np.ndarray, alts: list[tuple[str, np.ndarray]], read) -> list[tuple]:
    """The one alternative rendering worth reading whole (or none): each is read in the
    PROBE_BAND of its height and compared with the first rendering read in the same
    band, crop against crop. Compared with the first reading's own words in that band
    instead (lines read whole, never cut by the band's edges), the first looked better
    than it was: tuning page t026 kept its first reading (CER 0.241) over the otsu
    rendering that reads it at 0.144; 96 tuning pages, 5 under RETRY_BELOW, none worse."""
    if not alts:
        return []
    h = first_image.shape[0]
    band = int(PROBE_BAND[0] * h), int(PROBE_BAND[1] * h)
    base = read(first_image[band[0] : band[1]], "first", band).confidence
    probes = [(name, alt, read(alt[band[0] : band[1]], name, band).confidence) for name, alt in alts]
    name, alt, conf = max(probes, key=lambda p: p[-1])
    return [(name, alt, read(alt, name))] if conf > base else []


def process_page(image: np.ndarray, dpi: int, settings: Settings) -> ProcessedPage:
    """clean -> OCR (again from other renderings if it read badly) -> compact image
    page + invisible text layer.

    Raises ingest.ocr.OcrTimeout past settings.ocr_page_timeout, OcrError if
    Tesseract fails.
    """
    page = clean_page(image, dpi)

    def read(img: np.ndarray, name: str = "first", band: tuple[int, int] | None = None) -> OcrResult:
        # The bilevel renderings' doubtful lines are read again from the grey page.
        grey = page.grey if page.method and name in ("first", "otsu", "sauvola") else None
        if grey is not None and band is not None:
            grey = grey[band[0] : band[1]]
        return ocr_image(
            img,
            page.dpi,
            languages=settings.ocr_languages,
            psm=settings.ocr_psm,
            timeout=settings.ocr_page_timeout,
            layout=settings.ocr_layout,
            engine=open_engine(settings),
            grey=grey,
        )

    readings = [("first", page.image, read(page.image))]
    if readings[0][-1].confidence < RETRY_BELOW:
        alts = second_readings(page)
        if RETRY == "full":
            readings += [(name, alt, read(alt, name)) for name, alt in alts]
        else:
            readings += _probed(page.image, alts, read)
    name, shown, ocr = best_reading(readings)
    rotation = (page.rotation + 180) % 360 if name == "turned" else page.rotation
    # The access copy shows the rendering whose words the text layer carries.
    pdf_page = add_text_layer(encode_page(shown, page.dpi), ocr.text_layer_pdf)
    height, width = shown.shape[:2]
    return ProcessedPage(
        text=ocr.text,
        words=ocr.words,
        confidence=ocr.confidence,
        rotation=rotation,
        skew=page.skew,
        width=width,
        height=height,
        dpi=page.dpi,
        pdf_page=pdf_page,
        thumbnail=make_thumbnail(shown),
    )
