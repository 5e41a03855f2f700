"""The OCR engine seam: read an image at a dpi -> words with boxes and confidences.

    engine = open_engine(settings)         # like open_index / open_store
    words = engine.read(line_image, 300, mode="line", languages="hin")
    engine.version(), engine.describe(), engine.check()

Everything that asks an OCR engine something goes through here: page reading
(ingest.ocr), the orientation check (ingest.geometry), `abhilekh doctor` and the
manifest's engine version. A second engine is one more class with these methods.

TesseractEngine calls Tesseract's C API through tesserocr, one `PyTessBaseAPI` per
thread and per (languages, mode) (the API is not thread-safe; `abhilekh ocr` and the
flows read pages on several threads). A process per call costs ~0.1-0.3 s of model
loading each time; we read a page line by line (30-60 calls a page), which only a
resident model makes affordable. OMP_THREAD_LIMIT=1 is set before the library loads:
one single-threaded Tesseract per core (several multi-threaded ones are many times
slower).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pytesseract

from abhilekh.errors import AbhilekhError
from abhilekh.records import Word

if TYPE_CHECKING:
    from abhilekh.settings import Settings

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

SYSTEM_TESSDATA = Path("/usr/share/tesseract-ocr/5/tessdata")
# Known model files, by sha256 of the traineddata: what `doctor` and the manifest say.
KNOWN_MODELS = {
    "187d00e09ac523b0e7c8c3edf93050ffc1caa8083674fd637f6a493178c5caff": "hin 4.0.0_best_int (npm @tesseract.js-data/hin 1.0.0)",
    "5dc5d8d640a212c9d6184921ba103b186f50e0fed9ee716c53e6b312b400d747": "eng 4.0.0_best_int (npm @tesseract.js-data/eng 1.0.0)",
}
PLAIN = {"eng"}  # models read without their word lists (see _api)
MODES = {"page": 3, "column": 4, "block": 6, "line": 7, "word": 8, "raw_line": 13}


class OcrError(AbhilekhError, RuntimeError):
    """The engine failed on an image (missing model, crash, bad image)."""


class OcrTimeout(OcrError):
    """The engine did not finish a page within its time limit."""


class OcrEngine(Protocol):
    name: str

    def read(self, image: np.ndarray, dpi: int, *, mode: str = "line", languages: str | None = None) -> list[Word]:
        """Words in reading order with boxes in IMAGE's pixels; Word.line from 1."""

    def version(self) -> str: ...

    def describe(self) -> str: ...

    def check(self) -> list[str]:
        """Problems that stop reading ([] when all is well), each saying how to fix it."""


def default_tessdata() -> Path:
    """Debian's tessdata: its fast Devanagari and eng models won the model choice on the
    tuning set (bench/ocr_bench.py --models; docs/benchmarks.md). ABHILEKH_OCR_TESSDATA
    points elsewhere, e.g. at the best_int models `ABHILEKH_OCR_MODELS=best_int
    scripts/install` fetches."""
    return SYSTEM_TESSDATA


@lru_cache(maxsize=32)
def model_name(path: Path) -> str:
    """'hin 4.0.0_best_int (...)' for a known file, else '<lang> (<dir>)'."""
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return f"{path.stem} (missing)"
    known = KNOWN_MODELS.get(digest)
    if known:
        return known
    where = "Debian tessdata_fast" if path.resolve().parent == SYSTEM_TESSDATA else str(path.parent)
    return f"{path.stem} ({where})"


@dataclass
class _Api:
    api: object
    lock: threading.Lock


class TesseractEngine:
    name = "tesseract"

    def __init__(self, tessdata: Path | None = None, languages: str = "hin") -> None:
        self.tessdata = Path(tessdata) if tessdata else default_tessdata()
        self.languages = languages
        self._local = threading.local()

    # -- the API, one per thread
    def _api(self, languages: str, psm: int):
        import tesserocr

        cache = getattr(self._local, "apis", None)
        if cache is None:
            cache = self._local.apis = {}
        key = (languages, psm)
        api = cache.get(key)
        if api is None:
            missing = [lang for lang in languages.split("+") if not (self.tessdata / f"{lang}.traineddata").exists()]
            if missing:
                raise OcrError(f"no Tesseract model for {', '.join(missing)} in {self.tessdata}; run scripts/install")
            # Latin runs are mostly codes (file, vehicle, engine, chassis numbers), not
            # words: without the dictionaries eng reads MA1TA2YD as printed, not MAITA2YD.
            variables = {"load_system_dawg": "0", "load_freq_dawg": "0"} if languages in PLAIN else {}
            try:
                api = tesserocr.PyTessBaseAPI(path=str(self.tessdata) + "/", lang=languages, psm=psm,
                                              oem=tesserocr.OEM.LSTM_ONLY, variables=variables)
            except RuntimeError as exc:
                raise OcrError(f"Tesseract could not load {languages} from {self.tessdata}: {exc}") from exc
            # Police records have no white-on-black text: the inverted re-read of doubtful
            # lines costs ~25% of the time for nothing (measured on the FIR samples).
            api.SetVariable("tessedit_do_invert", "0")
            cache[key] = api
        return api

    def read(self, image: np.ndarray, dpi: int, *, mode: str = "line", languages: str | None = None) -> list[Word]:
        import tesserocr
        from PIL import Image

        if image.size == 0:
            raise OcrError("empty image")
        api = self._api(languages or self.languages, MODES[mode])
        api.SetImage(Image.fromarray(image))
        api.SetSourceResolution(int(dpi))
        if not api.Recognize():
            raise OcrError("Tesseract could not recognise the image")
        words: list[Word] = []
        it = api.GetIterator()
        if it is None:
            return words
        level = tesserocr.RIL.WORD
        line_no = 0
        for w in tesserocr.iterate_level(it, level):
            try:
                if w.IsAtBeginningOf(tesserocr.RIL.TEXTLINE):
                    line_no += 1
                text = (w.GetUTF8Text(level) or "").strip()
                box = w.BoundingBox(level)
                conf = float(w.Confidence(level))
            except RuntimeError:  # an empty word: nothing to report
                continue
            if text and box:
                x0, y0, x1, y1 = box
                words.append(Word(text=text, left=x0, top=y0, width=x1 - x0, height=y1 - y0,
                                  confidence=max(0.0, conf), line=max(1, line_no)))
        return read_once(words) if mode in ("line", "raw_line") else words

    def version(self) -> str:
        import tesserocr

        return tesserocr.tesseract_version().split()[1]

    def models(self) -> list[str]:
        langs = dict.fromkeys([*self.languages.split("+"), "eng"])  # lines, then Latin runs
        return [model_name(self.tessdata / f"{lang}.traineddata") for lang in langs]

    def describe(self) -> str:
        return f"Tesseract {self.version()} (tesserocr), models: {'; '.join(self.models())}"

    def check(self) -> list[str]:
        problems = []
        for lang in {*self.languages.split("+"), "eng"}:
            if not (self.tessdata / f"{lang}.traineddata").exists():
                problems.append(f"model {lang} missing in {self.tessdata}: run scripts/install")
        if not problems:
            try:
                self.read(np.full((40, 120), 255, np.uint8), 300)
            except Exception as exc:  # noqa: BLE001 - every failure becomes advice
                problems.append(f"Tesseract does not run: {exc}")
        return problems


_ENGINES: dict[tuple, OcrEngine] = {}
_LOCK = threading.Lock()


def read_once(words: list[Word]) -> list[Word]:
    """A line's words with Tesseract's repeats taken out. On some clean line images its
    LSTM gives the line twice, the second run over the first one's pixels ("रानी बाथम पत्नी
    विनोद बाथम रानी बाथम पत्नी विनोद बाथम", tuning-ledger t013, read from the grey page),
    and a repeat's extra letters made that reading look the fuller one. A word is a repeat
    when it stands over half on an earlier word of the same text (or one holding the other);
    of the two the surer stays. Words of other texts on the same pixels both stay: a first
    version dropped the less sure of any two, and lost dates and codes whose boxes OCR drew
    over a rule's stroke (tuning-mixed entries recall 0.95 -> 0.92)."""
    kept: list[Word] = []
    for w in words:
        clash = next((k for k in kept if _same_text(k.text, w.text)
                      and min(k.left + k.width, w.left + w.width) - max(k.left, w.left) > 0.5 * max(1, min(k.width, w.width))),
                     None)
        if clash is None:
            kept.append(w)
        elif w.confidence > clash.confidence:
            kept[kept.index(clash)] = w
    return sorted(kept, key=lambda w: w.left)


def _same_text(a: str, b: str) -> bool:
    a, b = a.strip(), b.strip()
    return a == b or (min(len(a), len(b)) >= 2 and (a in b or b in a))


def open_engine(settings: Settings | None = None) -> OcrEngine:
    """The engine settings choose (one shared instance per configuration)."""
    name = getattr(settings, "ocr_engine", "tesseract") if settings is not None else "tesseract"
    tessdata = getattr(settings, "ocr_tessdata", None) if settings is not None else None
    languages = getattr(settings, "ocr_languages", None) if settings is not None else None
    key = (name, str(tessdata), languages)
    with _LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            if name != "tesseract":
                raise OcrError(f"unknown OCR engine {name!r} (ABHILEKH_OCR_ENGINE): the one built in is 'tesseract'")
            engine = TesseractEngine(tessdata, primary_language(languages))
            _ENGINES[key] = engine
        return engine


def primary_language(languages: str | None) -> str:
    """The model lines are read with; Latin runs get a second reading in eng (ocr.py).
    Settings from before line reading said 'hin+eng' or 'Devanagari': both map here."""
    if not languages:
        return "hin"
    parts = [p for p in languages.split("+") if p and p != "eng"]
    return "+".join(parts) or "eng"


@dataclass
class OcrResult:
    text: str  # reading order: one line per text line, a blank line between blocks
    words: list[Word] = field(default_factory=list)
    confidence: float = 0.0  # mean word confidence 0-100 over real words; 0 if none
    text_layer_pdf: bytes = b""  # one page, invisible text only, sized pixels/dpi
    engine_calls: int = 1  # engine readings it took (lines, plus Latin words read again)
    lines_found: int = 0  # text lines our layout found (0 on the Tesseract-layout path)


def _is_real_word(text: str) -> bool:
    # Lone punctuation and stray marks carry no meaning and their confidences are noise.
    return any(ch.isalnum() for ch in text)


def mean_word_confidence(words: list[Word]) -> float:
    confs = [w.confidence for w in words if _is_real_word(w.text)]
    return round(sum(confs) / len(confs), 2) if confs else 0.0


@lru_cache(maxsize=1)
def available_languages() -> frozenset[str]:
    """Traineddata names Tesseract can load (eng, hin, Devanagari, osd...)."""
    proc = subprocess.run([pytesseract.pytesseract.tesseract_cmd, "--list-langs"], capture_output=True, timeout=30)
    lines = proc.stdout.decode("utf-8", "replace").splitlines()
    return frozenset(line.strip() for line in lines[1:] if line.strip())
