"""abhilekh (अभिलेख, "record"): scanned police records to searchable e-files."""

__version__ = "0.1.0"
