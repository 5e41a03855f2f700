"""A small preview of a cleaned page, made once at ingest.

The web page shows one per search hit; rendering them from the PDF on first view
(`pdftoppm`, ~100 ms of CPU each) was most of the server's work under load, so ingest
makes them from the image it already has in memory and stores them next to the PDF
(storage/bundles.py `thumb_key`).
"""

from __future__ import annotations

import cv2
import numpy as np

THUMB_WIDTH = 300  # px; the result list shows them at ~150 css px, so sharp on 2x screens
THUMB_QUALITY = 70  # JPEG quality: text shapes stay legible, ~10-20 kB a page


class ThumbnailError(ValueError):
    """The image cannot be made into a thumbnail (empty, wrong shape)."""


def make_thumbnail(image: np.ndarray, width: int = THUMB_WIDTH,
                   quality: int = THUMB_QUALITY) -> bytes:
    """Grayscale JPEG bytes of `image` scaled to `width` pixels wide (never enlarged).

    `image` is the page as shown in the PDF: 2-D grayscale/binary uint8 or 3-channel
    BGR. Pure: no files, no settings.
    """
    if image is None or image.ndim not in (2, 3) or image.size == 0:
        raise ThumbnailError("not a page image")
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if gray.dtype == np.bool_:
        gray = gray.astype(np.uint8) * 255
    elif gray.dtype != np.uint8:
        gray = np.clip(gray, 0, 255).astype(np.uint8)
    h, w = gray.shape[:2]
    if w > width:
        height = max(1, round(h * width / w))
        # INTER_AREA averages the pixels a thumbnail pixel covers: thin strokes of a
        # binarised page turn grey instead of vanishing.
        gray = cv2.resize(gray, (width, height), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", gray, [cv2.IMWRITE_JPEG_QUALITY, int(quality),
                                          cv2.IMWRITE_JPEG_OPTIMIZE, 1])
    if not ok:
        raise ThumbnailError("JPEG encoding failed")
    return buf.tobytes()
