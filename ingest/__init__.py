"""From scans to searchable pages: load -> clean -> ocr -> pdf, composed in process.

- load: find source files (folder, zip, file), reject bad ones (BadInput), read pages.
- clean: pure image steps (grey, resolution, border, light, orientation, skew, noise,
  binarisation, ruling lines) and their composition clean_page; geometry holds the
  orientation and skew measurements.
- ocr: one Tesseract run per page -> words, text, invisible text-layer PDF.
- pdf: compact page images, the text layer laid over them, one document.
- process: process_page, the production path for one page.
- synthetic: rendered Hindi test pages, for tests and benchmarks.
"""
