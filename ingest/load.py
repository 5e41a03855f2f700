"""Find the scans in what an operator hands us, check them, and read their pages.

Every file is judged by its bytes, not its name, and is either read whole or
rejected whole with a `BadInput` that says what is wrong and what to do: a batch
goes on without it and the operator gets a list of files to fix.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageFile, ImageOps

from abhilekh.errors import AbhilekhError

if TYPE_CHECKING:
    from abhilekh.settings import Settings

# A truncated scan must fail loudly, never come back with its lower half grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False

# OS and scanner-software droppings that are never scans.
JUNK_NAMES = {"thumbs.db", "desktop.ini", ".ds_store", "ehthumbs.db", "icon\r"}
JUNK_DIRS = {"__macosx", "$recycle.bin", "system volume information"}

# Zip limits: far beyond any real scan bundle, far below a zip bomb.
MAX_ZIP_TOTAL_BYTES = 32 * 1024**3
MAX_ZIP_MEMBERS = 100_000
# What unpacking must leave free on the work directory's disk: a bundle must never fill
# the disk the store, the index and the other bundles' work files live on.
ZIP_FREE_RESERVE_BYTES = 1024**3

PDFINFO_TIMEOUT = 60


class BadInput(AbhilekhError):
    """A source file we will not read, with a reason a scanning operator can act on."""

    def __init__(self, file: str | os.PathLike[str], reason: str) -> None:
        # A path is reported by its file name (operators know their files by name, and
        # work-directory paths mean nothing to them); a string is taken as given.
        self.file = Path(file).name if isinstance(file, os.PathLike) else str(file)
        self.reason = reason
        super().__init__(f"{self.file}: {reason}")


@dataclass
class SourcePage:
    source: Path
    source_page: int  # 1-based within the file
    image: np.ndarray  # uint8, grey (H,W) or BGR (H,W,3)
    dpi: int


# ---------------------------------------------------------------- finding files


def natural_key(text: str) -> list[tuple[int, int | str]]:
    """Sort key in which page2 comes before page10 (digits compare as numbers)."""
    parts = re.split(r"(\d+)", text.casefold())
    return [(0, int(p)) if p.isdigit() else (1, p) for p in parts if p != ""]


def _path_key(rel: PurePosixPath | Path) -> tuple[list[list[tuple[int, int | str]]], str]:
    # The plain path breaks ties (page2 vs page02) so the order never depends on the disk.
    return [natural_key(part) for part in rel.parts], rel.as_posix()


def _is_junk(name: str) -> bool:
    low = name.casefold()
    return name.startswith(".") or name.startswith("~$") or low in JUNK_NAMES


@dataclass
class Listing:
    """What a bundle holds: the files to read, and every entry refused, by name."""

    files: list[Path]
    refused: list[tuple[str, str]]  # (name within the bundle, reason)
    root: Path  # names are relative to this (the folder, or the unpacked zip)


def _refusal(path: Path, root: Path) -> str | None:
    """Why PATH (an entry of the bundle at ROOT) is not read, or None for a plain file
    (or a link to one inside the bundle). Links are judged by where they lead: a link
    out of the bundle would let anyone who can write the inbox make us read (and copy
    into quarantine) any file this user can read."""
    try:
        st = path.lstat()
    except OSError as exc:
        return f"cannot be looked at ({exc.strerror or exc}); check the folder's permissions"
    if stat.S_ISLNK(st.st_mode):
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return "is a symbolic link to nothing (dangling link); copy the scan itself into the bundle"
        if target.is_dir():
            return "is a symbolic link to a folder, which is not followed; copy the folder itself into the bundle"
        if not target.is_relative_to(root.resolve()):
            return ("is a symbolic link pointing outside the bundle, which is not followed; "
                    "copy the file itself into the bundle")
        st = target.stat()
    if stat.S_ISREG(st.st_mode):
        return None
    if stat.S_ISFIFO(st.st_mode):
        return "is a named pipe (FIFO), not a file; copy the scan itself into the bundle"
    if stat.S_ISSOCK(st.st_mode):
        return "is a socket, not a file; copy the scan itself into the bundle"
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        return "is a device, not a file; copy the scan itself into the bundle"
    return "is not a regular file; copy the scan itself into the bundle"


def _walk_listing(root: Path) -> Listing:
    found: list[tuple[Any, Path]] = []
    refused: list[tuple[str, str]] = []
    for dirpath, dirnames, filenames in os.walk(root):  # followlinks=False: linked folders are judged below
        keep = []
        for d in dirnames:
            if d.startswith(".") or d.casefold() in JUNK_DIRS:
                continue
            path = Path(dirpath) / d
            if path.is_symlink():
                refused.append((path.relative_to(root).as_posix(), _refusal(path, root) or "is a symbolic link"))
                continue
            keep.append(d)
        dirnames[:] = keep
        for name in filenames:
            if _is_junk(name):
                continue
            path = Path(dirpath) / name
            why = _refusal(path, root)
            if why is not None:
                refused.append((path.relative_to(root).as_posix(), why))
                continue
            found.append((_path_key(path.relative_to(root)), path))
    found.sort(key=lambda item: item[0])
    refused.sort(key=lambda item: _path_key(PurePosixPath(item[0])))
    return Listing([p for _, p in found], refused, root)


def _is_zip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(4) in (b"PK\x03\x04", b"PK\x05\x06")


def extract_zip(archive: Path, dest: Path, settings: Settings | None = None) -> Path:
    """Extract ARCHIVE under DEST/<archive stem>, refusing anything unsafe.

    See ``unpack_zip``; this returns only the folder (members left out are not named)."""
    return unpack_zip(archive, dest, settings).root


def unpack_zip(archive: Path, dest: Path, settings: Settings | None = None) -> Listing:
    """Extract ARCHIVE under DEST/<archive stem>, refusing anything unsafe; the files
    extracted and the members left out, each with its reason.

    The whole archive is refused when: a member would land outside the folder
    (absolute paths, '..', symlinks: "zip-slip"); it is password-protected; it has too
    many members; its declared total is beyond MAX_ZIP_TOTAL_BYTES, beyond
    ``ABHILEKH_ZIP_MAX_RATIO`` times its own size, or beyond the disk actually free
    under DEST (less ZIP_FREE_RESERVE_BYTES); or it inflates beyond what it declares
    (a bomb that lies about its sizes, caught while copying). A member larger than
    ``ABHILEKH_MAX_FILE_MB`` is not extracted at all (it would be refused unread, and
    writing it first costs its whole size in disk).

    Why a ratio over the whole archive and not per member: a blank uncompressed TIFF
    page deflates ~1000:1, as far as deflate goes, exactly like a bomb's member; a
    bundle of real scans deflates a few times at most, whatever its blank pages.
    """
    max_member = settings.max_file_mb * 1024**2 if settings else float("inf")
    max_ratio = settings.zip_max_ratio if settings else float("inf")
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BadInput(archive, f"zip archive is damaged ({exc}); re-create it") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_MEMBERS:
            raise BadInput(archive, f"zip archive has {len(infos)} entries; split it into smaller bundles")
        root = (dest / (archive.stem or "archive")).resolve()
        total = 0
        plan: list[tuple[zipfile.ZipInfo, Path]] = []
        refused: list[tuple[str, str]] = []
        for info in infos:
            name = info.filename.replace("\\", "/")
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise BadInput(archive, f"zip entry {name!r} is a symbolic link; re-create the archive without links")
            target = (root / name).resolve()
            if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or not target.is_relative_to(root):
                raise BadInput(
                    archive,
                    f"zip entry {name!r} would be written outside the extraction folder; "
                    "the archive is unsafe, re-create it from the scan folder",
                )
            if info.is_dir():
                continue
            if info.flag_bits & 0x1:
                raise BadInput(archive, "zip archive is password-protected (encrypted); re-create it without a "
                               "password")
            if info.file_size > max_member:
                refused.append((name, f"file is {info.file_size / 1024**2:.0f} MB, over the "
                                f"{max_member / 1024**2:g} MB limit (left in the zip, not unpacked); split it or "
                                "scan at a lower resolution"))
                continue
            total += info.file_size
            if total > MAX_ZIP_TOTAL_BYTES:
                raise BadInput(archive, "zip archive unpacks to more than "
                               f"{MAX_ZIP_TOTAL_BYTES // 1024**3} GB; split it into smaller bundles")
            plan.append((info, target))
        size = max(1, archive.stat().st_size)
        if total > max_ratio * size:
            raise BadInput(archive, f"zip archive unpacks to {total / size:.0f} times its size "
                           f"({total / 1024**2:.0f} MB from {size / 1024**2:.1f} MB), over the limit of "
                           f"{max_ratio:g}x (a zip bomb?); if it is genuine, unzip it and ingest the folder, "
                           "or raise ABHILEKH_ZIP_MAX_RATIO")
        dest.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(dest).free
        if total > free - ZIP_FREE_RESERVE_BYTES:
            raise BadInput(archive, f"zip archive unpacks to {total / 1024**3:.1f} GB, but only "
                           f"{max(0, free - ZIP_FREE_RESERVE_BYTES) / 1024**3:.1f} GB can be used on the disk of "
                           f"{dest}; free some space or split the bundle")
        if root.exists():
            shutil.rmtree(root)  # a crashed earlier run may have left half a copy
        root.mkdir(parents=True)
        written = 0
        for info, target in plan:
            target.parent.mkdir(parents=True, exist_ok=True)
            # Copy in chunks and count: the sizes in the zip's directory can lie.
            try:
                with zf.open(info) as src, target.open("wb") as out:
                    while chunk := src.read(1 << 20):
                        written += len(chunk)
                        if written > MAX_ZIP_TOTAL_BYTES or written > total + (1 << 20):
                            raise BadInput(archive, "zip archive inflates beyond what its directory "
                                           "declares; it is damaged or hostile, re-create it")
                        out.write(chunk)
            except RuntimeError as exc:  # zipfile's "password required" for entries it cannot tell
                raise BadInput(archive, f"zip entry {info.filename!r} cannot be extracted ({exc}); "
                               "re-create the archive without a password") from exc
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
                raise BadInput(archive, f"zip entry {info.filename!r} cannot be extracted ({exc}); "
                               "re-create the archive") from exc
    # Names as operators see them when they open the zip: "<stem>/scan/page1.png".
    listing = _walk_listing(root)
    inner = [(f"{root.name}/{name}", why) for name, why in listing.refused]
    return Listing(listing.files, sorted([(f"{root.name}/{name}", why) for name, why in refused] + inner,
                                         key=lambda item: _path_key(PurePosixPath(item[0]))), root.parent)


def list_sources(path: Path, workdir: Path, settings: Settings | None = None) -> list[Path]:
    """Every candidate file in PATH (folder, .zip or one file), in natural order.

    Unsupported files are listed too, so read_pages can report them rather than
    have them vanish silently. Zips are extracted (safely) under WORKDIR.
    ``find_sources`` also names what was refused (links, pipes, huge zip members).
    """
    return find_sources(path, workdir, settings).files


def find_sources(path: Path, workdir: Path, settings: Settings | None = None) -> Listing:
    """The files in PATH (folder, .zip or one file) in natural order, and every entry
    refused unread, with its reason (see ``_refusal`` and ``unpack_zip``)."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise BadInput(path, "no such file or folder")
    if path.is_dir() and not path.is_symlink():
        return _walk_listing(path)
    why = _refusal(path, path.parent)
    if why is not None and not (path.is_symlink() and why.startswith("is a symbolic link pointing outside")):
        raise BadInput(path, why)
    # Only a file named .zip is unpacked: a .docx is a zip too, and must be reported
    # as the wrong kind of file, not exploded into XML parts.
    if path.is_file() and path.suffix.casefold() == ".zip" and _is_zip(path):
        return unpack_zip(path, Path(workdir), settings)
    if path.is_dir():
        return _walk_listing(path.resolve())
    return Listing([path], [], path.parent)


# ---------------------------------------------------------------- checking files

_IMAGE_MAGIC = [
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),  # BigTIFF
    (b"MM\x00+", "TIFF"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"BM", "BMP"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG2000"),
    (b"\xff\x4f\xff\x51", "JPEG2000"),
]


def sniff(head: bytes) -> str:
    """'PDF', an image format name, or a description of what the bytes are instead."""
    if b"%PDF-" in head[:1024]:
        return "PDF"
    for magic, kind in _IMAGE_MAGIC:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head.startswith(b"PK\x03\x04"):
        return "a zip archive or Office document"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "an old Microsoft Office document"
    if head.startswith((b"Rar!", b"7z\xbc\xaf")):
        return "a compressed archive"
    try:
        head.decode("utf-8")
        return "a text file"
    except UnicodeDecodeError:
        return "an unknown kind of file"


def _check_size(source: Path, settings: Settings) -> None:
    size = source.stat().st_size
    if size == 0:
        raise BadInput(source, "file is empty (0 bytes); copy it again from the scanner or rescan")
    if size > settings.max_file_mb * 1024**2:
        raise BadInput(
            source,
            f"file is {size / 1024**2:.0f} MB, over the {settings.max_file_mb:g} MB limit; "
            "split it or scan at a lower resolution",
        )


@dataclass
class _Probe:
    kind: str  # 'PDF' or an image format
    pages: int


def _probe(source: Path, settings: Settings) -> _Probe:
    source = Path(source)
    if not source.is_file():
        raise BadInput(source, "no such file")
    _check_size(source, settings)
    with source.open("rb") as fh:
        head = fh.read(1024)
    kind = sniff(head)
    if kind == "PDF":
        return _Probe(kind, len(_pdf_page_sizes(source, settings)))
    if kind in {k for _, k in _IMAGE_MAGIC} | {"WEBP"}:
        with _open_image(source, settings) as img:
            return _Probe(kind, _check_frames(source, img, settings))
    raise BadInput(
        source,
        f"unsupported file type: it is {kind}, not a scan; supply TIFF, JPEG, PNG or a scanned PDF",
    )


def count_pages(source: Path, settings: Settings) -> int:
    """Cheap check and page count, without decoding pixels; raises BadInput."""
    return _probe(source, settings).pages


def validate(source: Path, settings: Settings) -> int:
    """Page count after a full check: every image frame is decoded once.

    Planning a bundle uses this rather than count_pages, so a truncated scan is
    rejected before any page is numbered and a bundle never stops half-way over it.
    PDFs get pdfinfo's structural check; decoding every page would mean rendering it.
    """
    probe = _probe(source, settings)
    if probe.kind != "PDF":
        with _open_image(source, settings) as img:
            for index in range(probe.pages):
                _decode(source, img, index, several=probe.pages > 1)
    return probe.pages


# ---------------------------------------------------------------- images


def _open_image(source: Path, settings: Settings) -> Image.Image:
    # Pillow refuses images over twice MAX_IMAGE_PIXELS on open and warns over it;
    # we check dimensions ourselves first, so let Pillow's guard sit at our limit.
    Image.MAX_IMAGE_PIXELS = settings.max_image_pixels
    try:
        return Image.open(source)
    except Image.DecompressionBombError as exc:
        raise _bomb(source, settings, detail=str(exc)) from exc
    except Exception as exc:  # Pillow raises many types for bad headers
        raise BadInput(source, f"image cannot be opened ({exc}); rescan or re-export it") from exc


def _bomb(
    source: Path, settings: Settings, size: tuple[int, int] | None = None, detail: str = ""
) -> BadInput:
    dims = f"{size[0]} x {size[1]} pixels" if size else "more pixels than Pillow will open"
    return BadInput(
        source,
        f"image too large: {dims}, over the limit of {settings.max_image_pixels:,} pixels "
        "(a decompression bomb, or a wrong scanner setting); rescan at 300 dpi — "
        "a real A4 page is under 40 million pixels",
    )


def _check_frames(source: Path, img: Image.Image, settings: Settings) -> int:
    """Number of frames, after checking each frame's declared size (no decoding)."""
    n = getattr(img, "n_frames", 1)
    for i in range(n):
        try:
            img.seek(i)
        except (EOFError, OSError, ValueError) as exc:
            raise BadInput(source, f"page {i + 1} of the image is damaged ({exc}); rescan it") from exc
        w, h = img.size
        if w <= 0 or h <= 0:
            raise BadInput(source, f"page {i + 1} has no pixels; rescan it")
        if w * h > settings.max_image_pixels:
            raise _bomb(source, settings, (w, h))
    img.seek(0)
    return n


def _decode(source: Path, img: Image.Image, index: int, *, several: bool) -> Image.Image:
    """Fully decode frame INDEX; a truncated or corrupt file raises BadInput."""
    try:
        img.seek(index)
        img.load()
        # Cameras and phone scanners record which way is up in EXIF; honour it.
        return img if several else ImageOps.exif_transpose(img)
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError...
        where = f"page {index + 1} of the image" if several else "image"
        raise BadInput(source, f"{where} is truncated or damaged ({exc}); rescan or copy it again") from exc


def _to_array(frame: Image.Image) -> np.ndarray:
    """uint8 grey (H,W) or BGR (H,W,3); transparency composited on white paper."""
    mode = frame.mode
    if mode in ("1", "L"):
        return np.asarray(frame.convert("L"))
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(frame.convert("I"), dtype=np.int64)
        top = 65535 if arr.max() > 255 else 255
        return (arr * 255 // top).clip(0, 255).astype(np.uint8)
    if mode in ("LA", "PA", "RGBA") or (mode == "P" and "transparency" in frame.info):
        rgba = frame.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        frame = Image.alpha_composite(paper, rgba)
    rgb = np.asarray(frame.convert("RGB"))
    return np.ascontiguousarray(rgb[:, :, ::-1])


# Common scan resolutions: estimated values snap to the nearest, because a scanner
# that forgot to write its resolution still scanned at one of these.
STANDARD_DPI = (100, 150, 200, 240, 300, 400, 600)


def _image_dpi(img: Image.Image) -> int:
    """DPI from the file if plausible (100-1200); else guessed from the pixel size.

    The guess assumes an A4-ish sheet (11.7 in on the long side; Indian offices also
    use foolscap, close enough) and snaps to a standard scanner resolution, so a
    2480x3508 page is 300 dpi and a 1654x2339 page 200 dpi.
    """
    dpi = img.info.get("dpi")
    if dpi:
        try:
            x = float(dpi[0])  # Pillow has already turned dots/cm into dots/inch
            if 100 <= x <= 1200:
                return int(round(x))
        except (TypeError, ValueError, IndexError):
            pass
    guess = max(img.size) / 11.7
    return min(STANDARD_DPI, key=lambda d: abs(d - guess))


def _read_image(source: Path, settings: Settings) -> Iterator[SourcePage]:
    with _open_image(source, settings) as img:
        n = _check_frames(source, img, settings)
        if n == 1:
            frame = _decode(source, img, 0, several=False)
            yield SourcePage(source, 1, _to_array(frame), _image_dpi(frame))
            return
        # Multi-page: decode every page once before yielding any, so a file with one
        # damaged page is rejected whole; then decode again one page at a time so
        # memory holds one page, not the whole register.
        for i in range(n):
            _decode(source, img, i, several=True)
        for i in range(n):
            frame = _decode(source, img, i, several=True)
            yield SourcePage(source, i + 1, _to_array(frame), _image_dpi(frame))


# ---------------------------------------------------------------- PDFs


def _pdfinfo(source: Path, *args: str) -> str:
    try:
        proc = subprocess.run(
            ["pdfinfo", *args, str(source.resolve())],
            capture_output=True, timeout=PDFINFO_TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        raise BadInput(source, "PDF takes too long to open; it is damaged, re-export it") from exc
    except FileNotFoundError as exc:  # a missing tool is our fault, not the file's
        raise RuntimeError("pdfinfo not found: install poppler-utils") from exc
    err = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        if "password" in err.lower():
            raise BadInput(source, "PDF is password-protected; remove the password and rescan or re-export")
        if "invalid page count 0" in err.lower():
            raise BadInput(source, "PDF has no pages; re-export it")
        raise BadInput(source, f"PDF is damaged and cannot be read ({_first_line(err)}); rescan or re-export it")
    return proc.stdout.decode("utf-8", "replace")


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no detail"


def _pdf_page_sizes(source: Path, settings: Settings) -> list[tuple[float, float]]:
    """Page sizes in points, after checking encryption, page count and pixel budget."""
    info = _pdfinfo(source)
    fields = dict(
        (k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in info.splitlines()) if v
    )
    if fields.get("Encrypted", "no").startswith("yes"):
        # Owner-password-only PDFs open without a password, but their "do not copy"
        # flags forbid exactly what we do; ask for a clean export instead.
        raise BadInput(source, "PDF is encrypted; remove the password or restrictions and rescan or re-export")
    try:
        pages = int(fields["Pages"])
    except (KeyError, ValueError) as exc:
        raise BadInput(source, "PDF has no readable page count; it is damaged, re-export it") from exc
    if pages < 1:
        raise BadInput(source, "PDF has no pages; re-export it")
    if pages > settings.max_pdf_pages:
        raise BadInput(
            source, f"PDF has {pages} pages, over the limit of {settings.max_pdf_pages}; split it into volumes"
        )
    sizes_text = _pdfinfo(source, "-f", "1", "-l", str(pages))
    sizes = [
        (float(m.group(1)), float(m.group(2)))
        for m in re.finditer(r"^Page\s+\d+\s+size:\s+([\d.]+)\s+x\s+([\d.]+)", sizes_text, re.M)
    ]
    if len(sizes) != pages:
        raise BadInput(source, "PDF page tree is damaged; rescan or re-export it")
    for i, (w, h) in enumerate(sizes, 1):
        px = (w / 72 * settings.pdf_dpi) * (h / 72 * settings.pdf_dpi)
        if px > settings.max_image_pixels:
            raise BadInput(
                source,
                f"PDF page {i} is {w / 72:.0f} x {h / 72:.0f} inches, too large to rasterise at "
                f"{settings.pdf_dpi} dpi; re-export it at paper size",
            )
    return sizes


def _read_pdf(
    source: Path, pages: int, settings: Settings, first: int = 1, last: int | None = None
) -> Iterator[SourcePage]:
    from pdf2image import convert_from_path
    from pdf2image.exceptions import (
        PDFInfoNotInstalledError,
        PDFPageCountError,
        PDFPopplerTimeoutError,
        PDFSyntaxError,
    )

    Image.MAX_IMAGE_PIXELS = settings.max_image_pixels
    for i in range(first, (last or pages) + 1):
        # One page per call keeps memory to one rendered page, whatever the PDF's size.
        try:
            images = convert_from_path(
                str(source.resolve()), dpi=settings.pdf_dpi, first_page=i, last_page=i,
                # pdf2image hands it to subprocess, which takes fractions of a second too
                grayscale=True, timeout=settings.pdf_render_timeout,  # type: ignore[arg-type]
            )
        except PDFInfoNotInstalledError as exc:
            raise RuntimeError("poppler-utils (pdftoppm) not installed") from exc
        except (PDFPageCountError, PDFSyntaxError, OSError, ValueError) as exc:
            raise BadInput(source, f"PDF page {i} cannot be rendered ({exc}); rescan or re-export it") from exc
        except (subprocess.TimeoutExpired, PDFPopplerTimeoutError) as exc:
            raise BadInput(source, f"PDF page {i} takes longer than {settings.pdf_render_timeout:g} s to render; "
                           "re-export it (or raise ABHILEKH_PDF_RENDER_TIMEOUT)") from exc
        if len(images) != 1:
            raise BadInput(source, f"PDF page {i} rendered to nothing; rescan or re-export it")
        with images[0] as img:
            yield SourcePage(source, i, np.asarray(img.convert("L")), settings.pdf_dpi)


# ---------------------------------------------------------------- reading


def read_pages(source: Path, settings: Settings) -> Iterator[SourcePage]:
    """Every page of SOURCE as an image, in order; raises BadInput for bad files.

    The whole file is checked before the first page is yielded (sizes, type,
    encryption, page count, pixel budget; for images, every page is decoded once),
    so a file is read whole or rejected whole. A PDF page that poppler cannot render
    is the one failure that can only show up midway.
    """
    source = Path(source)
    probe = _probe(source, settings)
    if probe.kind == "PDF":
        return _read_pdf(source, probe.pages, settings)
    # Generators run lazily; decode single images now so the error surfaces here.
    pages = _read_image(source, settings)
    first = next(pages)
    return _chain(first, pages)


def read_page(source: Path, page: int, settings: Settings) -> SourcePage:
    """Page PAGE (1-based) of SOURCE alone, for a worker that does one page.

    The file gets the same cheap checks as count_pages, then only that page is
    decoded or rendered; damage elsewhere in the file is for count_pages and
    read_pages to find.
    """
    source = Path(source)
    probe = _probe(source, settings)
    if not 1 <= page <= probe.pages:
        raise BadInput(source, f"has {probe.pages} page(s), there is no page {page}")
    if probe.kind == "PDF":
        return next(_read_pdf(source, probe.pages, settings, first=page, last=page))
    with _open_image(source, settings) as img:
        several = probe.pages > 1
        frame = _decode(source, img, page - 1, several=several)
        return SourcePage(source, page, _to_array(frame), _image_dpi(frame))


def _chain(first: SourcePage, rest: Iterator[SourcePage]) -> Iterator[SourcePage]:
    yield first
    yield from rest
