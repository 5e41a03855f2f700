"""An invisible text layer drawn from our own words, as a one-page PDF.

The words (text, box in page pixels) come from whatever engine read the page; each is
written in text render mode 3 (invisible) at its box, stretched horizontally (Tz) to
the box's width, so selecting a word in a viewer highlights it on the image and
pdftotext -bbox returns our boxes. The font is the glyphless font Tesseract and
OCRmyPDF use for the same purpose (Tesseract's `pdf.ttf`, a TrueType font whose one
glyph is empty): every character of any script is drawn with it, and the ToUnicode map
says which character it is, so Devanagari (conjuncts, matras) is copied and searched
exactly as read. Character codes are UTF-16 code units in a two-byte CID font
(Identity-H); CIDToGIDMap sends them all to glyph 1.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import pikepdf

from abhilekh.records import Word

GLYPHLESS_FONT = Path("/usr/share/tesseract-ocr/5/tessdata/pdf.ttf")
# The glyph's advance in the font's 1000-unit em: Tesseract draws every character
# 500 units wide and stretches the word to its box with Tz.
CHAR_WIDTH = 500

_TO_UNICODE = b"""/CIDInit /ProcSet findresource begin
12 dict begin
begincmap
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
/CMapName /Adobe-Identity-UCS def
/CMapType 2 def
1 begincodespacerange
<0000> <FFFF>
endcodespacerange
1 beginbfrange
<0000> <FFFF> <0000>
endbfrange
endcmap
CMapName currentdict /CMap defineresource pop
end
end
"""


@lru_cache(maxsize=1)
def _font_bytes() -> bytes:
    if not GLYPHLESS_FONT.exists():
        raise FileNotFoundError(f"{GLYPHLESS_FONT} is missing: apt-get install tesseract-ocr (scripts/install)")
    return GLYPHLESS_FONT.read_bytes()


def _font(pdf: pikepdf.Pdf) -> pikepdf.Object:
    cid_to_gid = pdf.make_stream(b"\x00\x01" * 65536)
    font_file = pdf.make_stream(_font_bytes())
    descriptor = pikepdf.Dictionary(
        Type=pikepdf.Name.FontDescriptor, FontName=pikepdf.Name.GlyphLessFont, Flags=5,
        FontBBox=[0, 0, CHAR_WIDTH, 1000], ItalicAngle=0, Ascent=1000, Descent=0, CapHeight=1000,
        StemV=80, FontFile2=font_file,
    )
    cid_font = pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.CIDFontType2, BaseFont=pikepdf.Name.GlyphLessFont,
        CIDSystemInfo=pikepdf.Dictionary(Registry=pikepdf.String("Adobe"), Ordering=pikepdf.String("Identity"), Supplement=0),
        FontDescriptor=descriptor, DW=CHAR_WIDTH, CIDToGIDMap=cid_to_gid,
    )
    return pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type0, BaseFont=pikepdf.Name.GlyphLessFont,
        Encoding=pikepdf.Name("/Identity-H"), DescendantFonts=[pdf.make_indirect(cid_font)],
        ToUnicode=pdf.make_stream(_TO_UNICODE),
    ))


def _hex(text: str) -> bytes:
    return text.encode("utf-16-be").hex().upper().encode()


def content_stream(words: list[Word], height_px: int, dpi: int) -> bytes:
    """PDF operators drawing WORDS invisibly; page pixels -> points at DPI."""
    k = 72.0 / dpi
    out = [b"BT", b"3 Tr"]
    for w in words:
        text = w.text
        # A space after every word but the last of its line, as Tesseract writes it:
        # text extraction then keeps the words apart.
        n = len(text.encode("utf-16-be")) // 2
        if not n or w.width <= 0 or w.height <= 0:
            continue
        size = max(1.0, w.height * k)
        natural = n * CHAR_WIDTH / 1000 * size
        tz = 100.0 * (w.width * k) / natural
        x = w.left * k
        baseline = (height_px - (w.top + w.height)) * k
        out.append(b"/F1 %.2f Tf %.2f Tz 1 0 0 1 %.2f %.2f Tm <%s> Tj" % (size, tz, x, baseline, _hex(text)))
    out.append(b"ET")
    return b"\n".join(out) + b"\n"


def text_layer_pdf(words: list[Word], width_px: int, height_px: int, dpi: int) -> bytes:
    """A one-page PDF of width/dpi x height/dpi inches with WORDS as invisible text."""
    pdf = pikepdf.new()
    k = 72.0 / dpi
    page = pdf.add_blank_page(page_size=(width_px * k, height_px * k))
    page.obj["/Resources"] = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=_font(pdf)))
    page.obj["/Contents"] = pdf.make_stream(content_stream(_spaced(words), height_px, dpi))
    buf = io.BytesIO()
    pdf.save(buf, compress_streams=True, deterministic_id=True)
    return buf.getvalue()


def _spaced(words: list[Word]) -> list[Word]:
    """Each word but the last on its line carries a trailing space, its box widened to
    the next word's left edge: extractors then see word breaks where we read them."""
    from dataclasses import replace

    out = []
    for i, w in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else None
        if nxt is not None and nxt.line == w.line and nxt.left > w.left + w.width:
            out.append(replace(w, text=w.text + " ", width=nxt.left - w.left))
        else:
            out.append(w)
    return out
