"""Build the searchable access copy: a compact page image with Tesseract's text on top.

Tesseract's own PDF renderer embeds the page image as given (~3 MB for a 300-dpi
grey A4 page), so we ask it for the text layer only and encode the image ourselves:
bilevel pages as CCITT G4 or 1-bit Flate, whichever is smaller (~30-100 KB per A4
page), and pages with photographs or shading as greyscale JPEG.
"""

from __future__ import annotations

import io
from typing import Any

import cv2
import img2pdf
import numpy as np
import pikepdf
from PIL import Image

# Greyscale pages: JPEG quality and the resolution they may be brought down to when
# the 300-dpi encoding is over budget. 200 dpi still reads well on screen and paper.
JPEG_QUALITY = 60
GREY_FALLBACK_DPI = 200
GREY_BUDGET_BYTES = 300 * 1024
# A page counts as bilevel when this share of its pixels is pure black or white.
BILEVEL_SHARE = 0.995


def is_bilevel(image: np.ndarray) -> bool:
    """Is the page (nearly) only black and white, so 1 bit per pixel loses nothing?"""
    if image.ndim != 2:
        return False
    hist = np.bincount(image.ravel(), minlength=256)
    extremes = hist[:16].sum() + hist[240:].sum()
    return extremes >= BILEVEL_SHARE * image.size


def _page_layout(width_px: int, height_px: int, dpi: int):
    """img2pdf layout that makes the page exactly pixels/dpi inches, whatever the
    resolution of the embedded image (which may have been brought down)."""
    size = (img2pdf.in_to_pt(width_px / dpi), img2pdf.in_to_pt(height_px / dpi))
    return img2pdf.get_layout_fun(pagesize=size, fit=img2pdf.FitMode.exact)


def _bilevel_candidates(image: np.ndarray, dpi: int) -> list[bytes]:
    bits = Image.fromarray(np.where(image >= 128, 255, 0).astype(np.uint8)).convert("1")
    g4 = io.BytesIO()
    bits.save(g4, format="TIFF", compression="group4", dpi=(dpi, dpi))
    png = io.BytesIO()
    bits.save(png, format="PNG", compress_level=6, dpi=(dpi, dpi))  # optimize=True: 6x slower, ~10% smaller
    return [g4.getvalue(), png.getvalue()]


def _jpeg(image: np.ndarray, dpi: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=JPEG_QUALITY, optimize=True, dpi=(dpi, dpi))
    return buf.getvalue()


def encode_page(image: np.ndarray, dpi: int) -> bytes:
    """A one-page PDF of IMAGE (uint8 grey or BGR), page size = pixels / DPI."""
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    h, w = image.shape
    layout = _page_layout(w, h, dpi)
    if is_bilevel(image):
        # img2pdf copies G4 and PNG data into the PDF as they are (no re-encoding),
        # so the smaller file makes the smaller page.
        data = min(_bilevel_candidates(image, dpi), key=len)
    else:
        data = _jpeg(image, dpi)
        if len(data) > GREY_BUDGET_BYTES and dpi > GREY_FALLBACK_DPI:
            f = GREY_FALLBACK_DPI / dpi
            smaller = cv2.resize(image, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
            data = min(data, _jpeg(smaller, GREY_FALLBACK_DPI), key=len)
    # The same page must give the same bytes, so that a re-run changes nothing: no
    # date, and img2pdf's own writer (its pikepdf engine adds a random /ID).
    return img2pdf.convert(
        data, layout_fun=layout, rotation=img2pdf.Rotation.ifvalid,
        nodate=True, engine=img2pdf.Engine.internal,
    )


def add_text_layer(image_pdf: bytes, text_layer_pdf: bytes) -> bytes:
    """Lay Tesseract's invisible text page over the image page.

    The text page is placed as a form XObject stretched onto the image page's box, so
    if the two differ by rounding (img2pdf and Tesseract compute points from pixels
    separately) the words still sit on their images.
    """
    with pikepdf.open(io.BytesIO(image_pdf)) as base, pikepdf.open(io.BytesIO(text_layer_pdf)) as text:
        if len(base.pages) != 1 or len(text.pages) != 1:
            raise ValueError("add_text_layer expects one-page PDFs")
        page = base.pages[0]
        # What Page.add_overlay does, but under a fixed resource name: add_overlay
        # picks a random one, and the same page must always give the same bytes.
        form = text.pages[0].as_form_xobject()
        name = page.add_resource(form, pikepdf.Name.XObject, pikepdf.Name("/OCRText"))
        placement = page.calc_form_xobject_placement(
            form, name, pikepdf.Rectangle(page.mediabox), allow_shrink=True, allow_expand=True
        )
        page.contents_add(b"q\n", prepend=True)  # the image's graphics state stays its own
        page.contents_add(b"Q\n", prepend=False)
        page.contents_add(placement, prepend=False)
        page.contents_coalesce()
        out = io.BytesIO()
        base.save(
            out,
            compress_streams=True,
            object_stream_mode=pikepdf.ObjectStreamMode.generate,
            deterministic_id=True,
        )
        return out.getvalue()


def assemble(pages: list[bytes], title: str = "") -> bytes:
    """Merge one-page PDFs into one compact, linearised document (fast first page)."""
    if not pages:
        raise ValueError("no pages to assemble")
    out_pdf = pikepdf.new()
    sources = []
    try:
        for data in pages:
            src = pikepdf.open(io.BytesIO(data))
            sources.append(src)
            out_pdf.pages.extend(src.pages)
        _share_fonts(out_pdf)
        if title:
            out_pdf.docinfo["/Title"] = title
            with out_pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
                meta["dc:title"] = title
        out_pdf.docinfo["/Producer"] = "abhilekh"
        buf = io.BytesIO()
        out_pdf.save(
            buf,
            linearize=True,
            compress_streams=True,
            object_stream_mode=pikepdf.ObjectStreamMode.generate,
            deterministic_id=True,
        )
        return buf.getvalue()
    finally:
        for src in sources:
            src.close()
        out_pdf.close()


def _share_fonts(pdf: pikepdf.Pdf) -> None:
    """Point every page's copy of Tesseract's GlyphLessFont at the first one.

    Each text layer carries its own copy of the same font (with its CIDToGIDMap);
    in a 500-page register that is hundreds of identical objects.
    """
    seen: dict[bytes, pikepdf.Object] = {}
    for page in pdf.pages:
        for xobj in _forms(page.obj):
            fonts = xobj.get("/Resources", {}).get("/Font")
            if not isinstance(fonts, pikepdf.Dictionary):
                continue
            for name in list(fonts.keys()):
                font = fonts[name]
                key = _font_key(font)
                if key is None:
                    continue
                if key in seen:
                    fonts[name] = seen[key]
                else:
                    seen[key] = font


def _forms(page: pikepdf.Dictionary):
    resources: Any = page.get("/Resources", {})
    xobjects = resources.get("/XObject", {})
    for key in list(xobjects.keys()):
        xobj = xobjects[key]
        if xobj.get("/Subtype") == "/Form":
            yield xobj


def _font_key(font: pikepdf.Object) -> bytes | None:
    """Identity of a GlyphLessFont: the bytes of its streams (None for other fonts)."""
    try:
        if font.get("/BaseFont") != "/GlyphLessFont":
            return None
        streams = [font.get("/ToUnicode")]
        for desc in font.get("/DescendantFonts", []):
            streams.append(desc.get("/CIDToGIDMap"))
            descriptor = desc.get("/FontDescriptor")
            if descriptor is not None:
                streams.append(descriptor.get("/FontFile2"))
        return b"\0".join(
            s.read_raw_bytes() if isinstance(s, pikepdf.Stream) else b"-" for s in streams
        )
    except (pikepdf.PdfError, AttributeError, TypeError):
        return None
