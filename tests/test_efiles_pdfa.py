"""The e-file export as PDF/A-2b (efiles/export.py), checked by veraPDF: pages with their
invisible text layer, XMP metadata, sRGB output intent, the notes and movements appendix
with its Devanagari shaped and its font embedded; on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pikepdf
import pytest

from abhilekh.records import Word
from efiles.export import export_efile, pdfa_of
from efiles.model import Actor, Part
from efiles.service import open_efiles
from ingest.pdf import add_text_layer, assemble, encode_page
from ingest.textlayer import text_layer_pdf
from tests.efiles_support import verapdf, wf_settings  # noqa: F401  (fixture)

DPI = 150
PAGE_WORDS = ["वादी", "रमेश", "यादव", "मोटरसाइकिल", "UP78AB1234"]


def _bundle_pdf(pages: int) -> bytes:
    """A bundle's searchable PDF made as ingest makes it: a grey page image and an
    invisible text layer of its words (here given, not read: no OCR needed)."""
    out = []
    for n in range(pages):
        image = np.full((1650, 1275), 235, np.uint8)
        image[200 + 40 * n:260 + 40 * n, 100:1100] = 30  # some ink
        words = [Word(f"{w}{n + 1}" if i == 0 else w, 100 + 210 * i, 200, 190, 50, 90.0, 0)
                 for i, w in enumerate(PAGE_WORDS)]
        out.append(add_text_layer(encode_page(image, DPI), text_layer_pdf(words, 1275, 1650, DPI)))
    return assemble(out, title="bundle")


@pytest.fixture
def exported(wf_settings, tmp_path):  # noqa: F811
    service = open_efiles(wf_settings)
    admin = Actor("admin")
    pdfs = {"b1": _bundle_pdf(3), "b2": _bundle_pdf(2)}
    service.open(admin, subject="अपराध रजिस्टर 2018 – क्षतिग्रस्त पृष्ठ", station="कन्नौज", category="CR",
                 year_from=2017, year_to=2018, file_no="SP/KNJ/CR/2018/7",
                 parts=[Part("b1", 2, 3), Part("b2")])
    service.note(admin, "SP/KNJ/CR/2018/7", "प्रविष्टि क्रमांक १२ की पुष्टि करें — confirm entry 12")
    service.send(admin, "SP/KNJ/CR/2018/7", Actor("ram"), remarks="कृपया आख्या प्रस्तुत करें")
    target = tmp_path / "out" / "x.zip"
    try:
        export_efile(service, admin, "SP/KNJ/CR/2018/7", pdfs.__getitem__, target)
    finally:
        service.close()
    folder = tmp_path / "unzipped"
    with zipfile.ZipFile(target) as z:
        z.extractall(folder)
    return folder


def test_the_export_is_pdf_a_2b_by_verapdf_with_its_words_metadata_and_appendix(exported: Path):
    meta = json.loads((exported / "metadata.json").read_text())
    pdf_path = exported / meta["pdf"]
    assert meta["pdf"] == "SP_KNJ_CR_2018_7.pdf" and meta["pdf_standard"] == "PDF/A-2b"
    code, report = verapdf(pdf_path)
    assert code == 0 and f"PASS {pdf_path}" in report, report

    # Pages 2-3 of b1, all of b2, then the appendix; each part's words still found.
    assert [(d.get("bundle_id"), d["pdf_first_page"], d["pages"]) for d in meta["documents"]][:2] == [
        ("b1", 1, 2), ("b2", 3, 2)]
    text = subprocess.run(["pdftotext", "-layout", str(pdf_path), "-"], capture_output=True, text=True,
                          check=True).stdout
    for word in ["वादी2", "वादी3", "वादी1", "मोटरसाइकिल", "UP78AB1234"]:
        assert word in text, word
    assert text.index("वादी2") < text.index("वादी3") < text.index("वादी1")  # b1 p2, p3, then b2 p1

    with pikepdf.open(pdf_path) as pdf:
        meta_xmp = pdf.open_metadata()
        assert meta_xmp["pdfaid:part"] == "2" and meta_xmp["pdfaid:conformance"] == "B"
        assert meta_xmp["dc:title"] == "अपराध रजिस्टर 2018 – क्षतिग्रस्त पृष्ठ"
        assert meta_xmp["dc:identifier"] == "SP/KNJ/CR/2018/7"
        assert meta_xmp["dc:coverage"] == "कन्नौज"
        assert set(meta_xmp["dc:date"]) == {"2017", "2018"}
        assert {"station कन्नौज", "category CR", "years 2017–2018"} <= set(meta_xmp["dc:subject"])
        (intent,) = pdf.Root.OutputIntents
        assert intent.S == "/GTS_PDFA1" and intent.DestOutputProfile.N == 3  # an RGB profile
        appendix = pdf.pages[-1]
        fonts = [f for _, f in appendix.Resources.Font.items()]
        assert any("LohitDevanagari" in str(f.BaseFont) and f.DescendantFonts[0].FontDescriptor.get("/FontFile2")
                   for f in fonts)  # the appendix font is embedded

    # The appendix: notes and movements in Hindi, as text (pdftotext may split a word
    # at a reordered matra, hence the spaces dropped).
    last = subprocess.run(["pdftotext", "-f", str(len(pikepdf.open(pdf_path).pages)), str(pdf_path), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "SP/KNJ/CR/2018/7" in last and "ram" in last and "confirm entry 12" in last
    assert "आख्या" in last.replace(" ", "")
    assert (exported / "metadata.csv").read_text().startswith("file_no,")
    assert "कृपया आख्या प्रस्तुत करें" in (exported / "movements.csv").read_text()


def test_verapdf_refuses_a_pdf_that_is_not_pdf_a(tmp_path: Path):
    """The checker can fail: the bundle's PDF as stored (no output intent, no PDF/A XMP)."""
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(_bundle_pdf(1))
    code, report = verapdf(plain)
    assert code == 1 and f"NOT-COMPLIANT {plain}" in report and "FAIL" in report, report


def test_the_appendix_alone_passes_once_made_pdf_a(wf_settings, tmp_path: Path):  # noqa: F811
    """A file with no notes, one movement, and no parts' pages beyond one."""
    service = open_efiles(wf_settings)
    try:
        efile = service.open(Actor("admin"), subject="GD", station="छिबरामऊ", file_no="GD-1", parts=[Part("b")])
        data, documents = pdfa_of(efile, service.history(Actor("admin"), "GD-1"), [], {"b": _bundle_pdf(1)}.__getitem__)
    finally:
        service.close()
    path = tmp_path / "one.pdf"
    path.write_bytes(data)
    assert documents[-1]["appendix"] and documents[-1]["pdf_first_page"] == 2
    code, report = verapdf(path)
    assert code == 0, report
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert "dc:type" not in pdf.open_metadata()  # no category: no empty dc:type


def test_a_part_that_cannot_be_pdf_a_is_refused_by_name_and_nothing_written(tmp_path: Path):
    """A stored PDF drawing text in a font it does not embed (Helvetica) cannot become
    PDF/A without changing its pages: the export says so and leaves no zip behind."""
    from abhilekh.settings import Settings
    from efiles.export import ExportFailed

    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(595, 842))
    page.obj["/Resources"] = pikepdf.Dictionary(Font=pikepdf.Dictionary(
        F1=pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica)))
    page.obj["/Contents"] = pdf.make_stream(b"BT /F1 12 Tf 72 720 Td (visible words) Tj ET")
    buffer = io.BytesIO()
    pdf.save(buffer)
    service = open_efiles(Settings(home=tmp_path / "home", database_url=None))
    target = tmp_path / "out" / "bad.zip"
    try:
        service.open(Actor("admin"), subject="x", station="कन्नौज", file_no="BAD-1", parts=[Part("b")])
        with pytest.raises(ExportFailed, match="BAD-1.*PDF/A-2b"):
            export_efile(service, Actor("admin"), "BAD-1", {"b": buffer.getvalue()}.__getitem__, target)
    finally:
        service.close()
    assert not target.exists() and not target.with_name("bad.zip.part").exists()
