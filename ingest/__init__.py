"""From scans to searchable pages: load -> clean -> ocr -> pdf, composed in process.

- load: find source files (folder, zip, file), reject bad ones (BadInput), read pages.
- clean: pure image steps (grey, resolution, border, light, orientation, skew, noise,
  binarisation, ruling lines) and their composition clean_page; geometry holds the
  orientation and skew measurements.
- engine: the OCR engine seam (OcrEngine, open_engine); Tesseract via tesserocr.
- layout: our own text lines and table cells from the ink of a cleaned page.
- lines + ocr: each line read alone, Latin runs and codes again in English, lexicon
  post-correction (gazetteer, lexicon/*.txt) -> words, text; textlayer draws the
  invisible text layer from those words.
- pdf: compact page images, the text layer laid over them, one document.
- process: process_page, the production path for one page.
- synthetic: rendered Hindi test pages, for tests and benchmarks.
"""
