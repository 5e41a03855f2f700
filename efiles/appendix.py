"""The export's appendix: an e-file's notes and movement history as PDF pages.

Drawn with fpdf2, its text shaped by HarfBuzz (uharfbuzz), so Devanagari conjuncts and
matras come out as a reader writes them, in a real font embedded in the file (Lohit
Devanagari, which has Latin too; `scripts/install` installs fonts-lohit-deva). The text
is real text: pdftotext and search find the remarks and notes.
"""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

from efiles.model import EFile, Movement, Note

__all__ = ["APPENDIX_FONT", "appendix_pdf"]

APPENDIX_FONT = Path("/usr/share/fonts/truetype/lohit-devanagari/Lohit-Devanagari.ttf")

ACTION_HINDI = {
    "open": "खोली", "send": "भेजी", "receive": "प्राप्त", "park": "रोकी", "unpark": "फिर चालू",
    "close": "बंद", "reopen": "फिर खोली", "add_part": "भाग जोड़ा",
}


def _when(at: object) -> str:
    return str(at)[:16].replace("T", " ")


def appendix_pdf(efile: EFile, history: list[Movement], notes: list[Note]) -> bytes:
    """A4 pages: the file's fields, then its movements and its notes, oldest first."""
    if not APPENDIX_FONT.exists():
        raise FileNotFoundError(f"{APPENDIX_FONT} is missing: apt-get install fonts-lohit-deva (scripts/install)")
    pdf = FPDF(format="A4")
    pdf.set_creation_date(efile.updated_at)  # the same file gives the same appendix
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_font("deva", fname=str(APPENDIX_FONT))
    pdf.set_text_shaping(True)
    pdf.add_page()
    width = pdf.epw

    def line(text: str, size: float = 10, gap: float = 1.5) -> None:
        pdf.set_font("deva", size=size)
        pdf.multi_cell(width, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    line(f"परिशिष्ट: टिप्पणियाँ और आवाजाही / Appendix: notes and movements — {efile.file_no}", 13, 3)
    line(f"विषय / Subject: {efile.subject}")
    line(f"थाना / Station: {efile.station}    श्रेणी / Category: {efile.category}    "
         f"वर्ष / Years: {efile.years or '-'}")
    line(f"स्थिति / Status: {efile.status_hindi} / {efile.status}    धारक / Holder: {efile.holder}", gap=4)

    line(f"आवाजाही / Movements ({len(history)})", 12, 2)
    for m in history:
        to = f" → {m.to_user}" if m.to_user else ""
        due = f"  (नियत तिथि / due {m.due_date.isoformat()})" if m.due_date else ""
        line(f"{_when(m.at)}  {ACTION_HINDI.get(m.action, m.action)} / {m.action}: {m.actor}{to}{due}", gap=0.5)
        if m.remarks:
            line(f"    टिप्पणी / Remarks: {m.remarks}", 10, 0.5)
        pdf.ln(1.5)

    pdf.ln(3)
    line(f"टिप्पणियाँ / Notes ({len(notes)})", 12, 2)
    if not notes:
        line("कोई टिप्पणी नहीं / No notes")
    for n in notes:
        where = f"  [{n.bundle_id[:12]} पृष्ठ / page {n.page}]" if n.bundle_id and n.page else ""
        corrects = f"  (टिप्पणी #{n.corrects} का सुधार / corrects note #{n.corrects})" if n.corrects else ""
        line(f"#{n.id}  {_when(n.at)}  {n.author}{where}{corrects}", gap=0.5)
        line(f"    {n.text}", gap=2)
    return bytes(pdf.output())
