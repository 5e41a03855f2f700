"""The fault matrix: every kind of bad input and of damage we know of, each with the
named outcome it must have, run on the embedded backends and on the real servers.

    .venv/bin/python bench/fault_matrix.py                     # embedded only
    eval "$(scripts/services env)"; .venv/bin/python bench/fault_matrix.py --backends embedded,servers
    ... --json out.json                                        # every row, for a report

Bad input (what an operator can hand us): files inside a bundle, each named in the
report with its reason while the bundle's good page is stored and indexed; and whole
bundles, refused with a reason. Damage (what a disk, an operator or an attacker can do
afterwards): to stored objects and to the index; each must be found and named
(`verify`, `status`, the search index's own errors), must not take the other bundle
down (a reindex still serves it), and must be remedied by what the message says
(`verify --repair`, `reindex`, `reconcile`, ingesting the same scans again).

Counted per backend: kinds tried, kinds handled with their named reason, pages lost
(pages of good content that are neither searchable after the remedy nor named as
damage that cannot be rebuilt: must be 0). tests/test_fault_matrix.py runs exactly
these and fails on any row not handled.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from abhilekh.settings import Settings  # noqa: E402

GOOD_LINES = ["रमेश यादव पुत्र सुरेश ग्राम छिबरामऊ", "मु0अ0सं0 123/2019 धारा 379 भादवि"]
GOOD_WORD = "रमेश"


# ----------------------------------------------------------------------------- inputs


def good_png(path: Path, lines: list[str] = GOOD_LINES) -> bytes:
    from tests.fixtures.synthetic import render_lines

    buf = io.BytesIO()
    Image.fromarray(render_lines(lines, width=1400)).save(buf, "PNG", dpi=(300, 300))
    path.write_bytes(buf.getvalue())
    return buf.getvalue()


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((200, 150), 200, np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


def _tiff(frames: int = 1) -> bytes:
    buf = io.BytesIO()
    imgs = [Image.fromarray(np.full((200, 150), 90 + i, np.uint8)) for i in range(frames)]
    imgs[0].save(buf, "TIFF", save_all=True, append_images=imgs[1:])
    return buf.getvalue()


def _pdf(pages: int = 1, size: tuple[float, float] = (595, 842)) -> bytes:
    import pikepdf

    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page(page_size=size)
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


def _encrypted_pdf() -> bytes:
    import pikepdf

    pdf = pikepdf.open(io.BytesIO(_pdf()))
    buf = io.BytesIO()
    pdf.save(buf, encryption=pikepdf.Encryption(user="secret", owner="secret"))
    return buf.getvalue()


def _zero_page_pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
            b"trailer << /Root 1 0 R >>\n%%EOF\n")


def _damaged_second_frame() -> bytes:
    raw = bytearray(_tiff(2))
    return bytes(raw[: len(raw) - 200])  # the last strip of page 2 cut off


def _bomb_png() -> bytes:
    """A tiny PNG that declares 40000 x 40000 pixels (1.6 gigapixels)."""
    buf = io.BytesIO()
    Image.new("1", (40000, 40000), 1).save(buf, "PNG", optimize=True)
    return buf.getvalue()


def _docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


def _random(n: int, seed: int = 7) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


@dataclass(frozen=True)
class FileKind:
    """A bad file inside an otherwise good bundle."""

    name: str  # what kind of bad input
    file: str  # its name in the bundle
    expect: str  # what its named reason must say
    make: Callable[[Path], None]  # writes it (or the link, pipe, socket) at the given path


def _write(data: bytes | Callable[[], bytes]) -> Callable[[Path], None]:
    return lambda p: p.write_bytes(data() if callable(data) else data)


def _symlink(target: Callable[[Path], Path], directory: bool = False) -> Callable[[Path], None]:
    return lambda p: p.symlink_to(target(p), target_is_directory=directory)


def _outside(p: Path) -> Path:
    outside = p.parent.parent / "outside-the-bundle.txt"
    outside.write_text("a file of this machine nobody meant to hand over")
    return outside


def _folder_outside(p: Path) -> Path:
    folder = p.parent.parent / "another-folder"
    folder.mkdir(exist_ok=True)
    good_png(folder / "page1.png")
    return folder


_SOCKETS: list[socket.socket] = []


def _socket(p: Path) -> None:
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(p))
    _SOCKETS.append(s)


FILE_KINDS: list[FileKind] = [
    FileKind("empty PNG", "b01-empty.png", "file is empty", _write(b"")),
    FileKind("empty PDF", "b02-empty.pdf", "file is empty", _write(b"")),
    FileKind("empty JPEG", "b03-empty.jpg", "file is empty", _write(b"")),
    FileKind("truncated PNG", "b04-truncated.png", "truncated or damaged",
             _write(lambda: _png(np.full((300, 200), 128, np.uint8))[:150])),
    FileKind("truncated JPEG", "b05-truncated.jpg", "cannot be opened", _write(lambda: _jpeg()[:300])),
    FileKind("truncated TIFF", "b06-truncated.tif", "damaged", _write(lambda: _tiff()[:200])),
    FileKind("PNG signature only", "b07-header.png", "cannot be opened", _write(b"\x89PNG\r\n\x1a\n")),
    FileKind("PNG with a bad chunk CRC", "b08-crc.png", "cannot be opened", _write(
        lambda: (lambda raw: raw[:30] + bytes([raw[30] ^ 0xFF]) + raw[31:])(_png(np.zeros((50, 50), np.uint8))))),
    FileKind("JPEG with only its start marker", "b09-soi.jpg", "cannot be opened", _write(b"\xff\xd8\xff")),
    FileKind("WEBP header only", "b10-head.webp", "cannot be opened", _write(b"RIFF\x10\x00\x00\x00WEBPVP8 ")),
    FileKind("BMP with a broken header", "b11-bad.bmp", "cannot be opened", _write(b"BM" + b"\0" * 20)),
    FileKind("JPEG 2000 garbage", "b12-bad.jp2", "cannot be opened",
             _write(b"\x00\x00\x00\x0cjP  \r\n\x87\n" + b"\0" * 50)),
    FileKind("GIF truncated", "b13-cut.gif", "cannot be opened", _write(b"GIF89a\x10\x00\x10\x00\x80\x00\x00")),
    FileKind("text file named .png", "b14-notes.png", "unsupported file type", _write("नोट्स\n".encode())),
    FileKind("HTML named .jpg", "b15-page.jpg", "unsupported file type", _write(b"<html><body>scan</body></html>")),
    FileKind("Word document", "b16-letter.docx", "Office document", _write(_docx)),
    FileKind("old Office document", "b17-letter.doc", "old Microsoft Office",
             _write(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)),
    FileKind("RAR archive", "b18-scans.rar", "compressed archive", _write(b"Rar!\x1a\x07\x00" + b"\0" * 50)),
    FileKind("7z archive", "b19-scans.7z", "compressed archive", _write(b"7z\xbc\xaf\x27\x1c" + b"\0" * 50)),
    FileKind("random bytes named .tif", "b20-noise.tif", "unknown kind of file", _write(lambda: _random(5000))),
    FileKind("password-protected PDF", "b21-locked.pdf", "password", _write(_encrypted_pdf)),
    FileKind("PDF header then garbage", "b22-broken.pdf", "PDF is damaged", _write(b"%PDF-1.4\n" + b"\x00garbage" * 40)),
    FileKind("PDF with no pages", "b23-nopages.pdf", "no pages", _write(_zero_page_pdf)),
    FileKind("PDF over the page limit", "b24-long.pdf", "over the limit", _write(lambda: _pdf(6))),
    FileKind("PDF page too large to rasterise", "b25-poster.pdf", "too large to rasterise",
             _write(lambda: _pdf(1, (14400, 14400)))),
    FileKind("PDF page too slow to render", "b26-slow.pdf", "cannot be decoded", _write(lambda: _pdf(1))),
    FileKind("decompression bomb PNG", "b27-bomb.png", "image too large", _write(_bomb_png)),
    FileKind("file over the size limit", "b28-huge.tif", "over the", _write(lambda: _random(3 * 1024**2))),
    FileKind("multi-page TIFF with a damaged page", "b29-register.tif", "damaged", _write(_damaged_second_frame)),
    FileKind("1 x 20000 image (OpenCV resize asserts)", "b30-sliver.png", "processing failed",
             _write(lambda: _png(np.full((20000, 1), 255, np.uint8)))),
    FileKind("20000 x 1 image", "b31-strip.png", "processing failed",
             _write(lambda: _png(np.full((1, 20000), 0, np.uint8)))),
    FileKind("1 x 1 image (reads as an empty page)", "b32-dot.png", "flagged for review",
             _write(lambda: _png(np.zeros((1, 1), np.uint8)))),
    FileKind("symbolic link out of the bundle", "b33-hostname.png", "pointing outside the bundle", _symlink(_outside)),
    FileKind("dangling symbolic link", "b34-gone.png", "dangling", _symlink(lambda p: p.parent / "no-such-file.png")),
    FileKind("symbolic link to a folder", "b35-more", "link to a folder", _symlink(_folder_outside, True)),
    FileKind("named pipe (FIFO)", "b36-pipe.png", "named pipe", lambda p: os.mkfifo(p)),
    FileKind("socket", "b37-scanner.sock", "socket", _socket),
]
# limits set low so that small files stand for huge ones (the checks are the same)
MIXED_LIMITS: dict[str, Any] = {"max_file_mb": 2.0, "max_image_pixels": 60_000_000, "max_pdf_pages": 5,
                                "pdf_render_timeout": 0.001}


@dataclass(frozen=True)
class BundleKind:
    """A whole bundle refused, or changed under our feet."""

    name: str
    expect: str
    make: Callable[[Path], Path]  # builds it under the folder given; returns what to ingest
    before_ocr: Callable[[Path, Any], None] | None = None  # (bundle, job): runs before each page
    good_pages: int = 0  # pages of good content it has once it is final (the rerun stores them)
    limits: dict[str, Any] = field(default_factory=dict)
    during_plan: Callable[[Path], None] | None = None  # a writer that appends while planning hashes


def _zip(members: dict[str, bytes], name: str = "bundle.zip") -> Callable[[Path], Path]:
    def make(root: Path) -> Path:
        path = root / name
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for member, data in members.items():
                zf.writestr(member, data)
        return path

    return make


def _folder(files: dict[str, bytes | None], name: str = "bundle") -> Callable[[Path], Path]:
    def make(root: Path) -> Path:
        path = root / name
        path.mkdir()
        for f, data in files.items():
            if data is None:
                good_png(path / f)
            else:
                (path / f).write_bytes(data)
        return path

    return make


def _encrypted_zip(root: Path) -> Path:
    path = _zip({"page1.png": _png(np.full((50, 50), 200, np.uint8))}, "locked.zip")(root)
    raw = bytearray(path.read_bytes())
    raw[6] |= 1  # "encrypted" in the local header ...
    raw[raw.rfind(b"PK\x01\x02") + 8] |= 1  # ... and in the central directory
    path.write_bytes(bytes(raw))
    return path


def _lying_zip(root: Path) -> Path:
    """A member that declares 1000 bytes and inflates to 3 MB."""
    path = _zip({"page1.tif": b"\0" * (3 * 1024**2)}, "liar.zip")(root)
    raw = bytearray(path.read_bytes())
    real = (3 * 1024**2).to_bytes(4, "little")
    fake = (1000).to_bytes(4, "little")
    for at in (raw.find(b"PK\x03\x04") + 22, raw.rfind(b"PK\x01\x02") + 24):
        assert raw[at:at + 4] == real
        raw[at:at + 4] = fake
    path.write_bytes(bytes(raw))
    return path


def _truncated_zip(root: Path) -> Path:
    path = _zip({"page1.png": _png(np.full((300, 300), 9, np.uint8))}, "cut.zip")(root)
    path.write_bytes(path.read_bytes()[:120])
    return path


def _zip_bomb(root: Path) -> Path:
    path = root / "bomb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf, zf.open("page1.tif", "w") as member:
        for _ in range(50):
            member.write(b"\0" * (1 << 20))  # 50 MB of zeros, ~50 KB deflated: 1000:1
    return path


def _symlink_zip(root: Path) -> Path:
    path = root / "links.zip"
    with zipfile.ZipFile(path, "w") as zf:
        info = zipfile.ZipInfo("scans/passwd")
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    return path


def _fifo_bundle(root: Path) -> Path:
    path = root / "scanner-pipe"
    os.mkfifo(path)
    return path


def _dangling_bundle(root: Path) -> Path:
    path = root / "moved-away"
    path.symlink_to(root / "nowhere")
    return path


def _swap_page2(bundle: Path, job: Any) -> None:
    if job.page == 2 and not (bundle.parent / ".swapped").exists():
        good_png(bundle / "page2.png", ["अभियुक्त की तलाश जारी है"])
        (bundle.parent / ".swapped").write_text("")


def _append_page1(bundle: Path, job: Any) -> None:
    if job.page == 2 and not (bundle.parent / ".appended").exists():
        with (bundle / "page1.png").open("ab") as f:
            f.write(b"\0" * 1000)
        (bundle.parent / ".appended").write_text("")


def _delete_page2(bundle: Path, job: Any) -> None:
    if job.page == 2 and (bundle / "page2.png").exists() and not (bundle.parent / ".deleted").exists():
        (bundle.parent / "page2.png.kept").write_bytes((bundle / "page2.png").read_bytes())
        (bundle / "page2.png").unlink()
        (bundle.parent / ".deleted").write_text("")


BUNDLE_KINDS: list[BundleKind] = [
    BundleKind("bundle path that does not exist", "does not exist", lambda root: root / "no-such-bundle"),
    BundleKind("empty folder", "the bundle is empty", _folder({})),
    BundleKind("folder with only its metadata file", "the bundle is empty", _folder({"bundle.yaml": b"thana: X\n"})),
    BundleKind("empty zip", "the bundle is empty", _zip({})),
    BundleKind("zip entry climbing out with ..", "outside the extraction folder", _zip({"../evil.png": b"x"})),
    BundleKind("zip entry with an absolute path", "outside the extraction folder", _zip({"/tmp/evil.png": b"x"})),
    BundleKind("zip entry that is a symbolic link", "symbolic link", _symlink_zip),
    BundleKind("password-protected zip", "password-protected", _encrypted_zip),
    BundleKind("truncated zip", "zip archive is damaged", _truncated_zip),
    BundleKind("zip bomb (1000:1)", "times its size", _zip_bomb),
    BundleKind("zip member over the size limit", "not unpacked", _zip({"page1.tif": _random(3 * 1024**2)}),
               limits={"max_file_mb": 2.0}),
    BundleKind("zip whose directory lies about sizes", "cannot be extracted", _lying_zip),
    BundleKind("Word document given as the bundle", "Office document", lambda root: (root / "l.docx", (
        root / "l.docx").write_bytes(_docx()))[0]),
    BundleKind("named pipe given as the bundle", "named pipe", _fifo_bundle),
    BundleKind("dangling link given as the bundle", "does not exist", _dangling_bundle),
    BundleKind("scan swapped between plan and OCR", "changed while it was being ingested",
               _folder({"page1.png": None, "page2.png": None}), _swap_page2, good_pages=2),
    BundleKind("scan appended to after its OCR", "changed while it was being ingested",
               _folder({"page1.png": None, "page2.png": None}), _append_page1, good_pages=2),
    BundleKind("scan deleted during the ingest", "disappeared while it was being ingested",
               _folder({"page1.png": None, "page2.png": None}), _delete_page2, good_pages=2),
    BundleKind("bundle still being written", "still being written", _folder({"page1.png": None}),
               good_pages=1, during_plan=lambda path: path.open("ab").write(b"more")),
]


# ----------------------------------------------------------------------------- damage


@dataclass
class Ctx:
    settings: Settings
    a: str  # the damaged bundle
    b: str  # the other one, which must keep being served
    pages: int  # pages stored in all
    caches: Any


@dataclass(frozen=True)
class DamageKind:
    name: str
    expect: str  # the finding's kind (verify), or what the index error must say
    apply: Callable[[Ctx], None]
    remedy: str  # "repair", "reingest", "reconcile", "reindex", "operator"
    where: str = "store"  # "store" (checked by verify) or "index"
    backends: tuple[str, ...] = ("embedded", "servers")


def _page_json(ctx: Ctx, n: int = 1) -> dict[str, Any]:
    from storage import open_store
    from storage.bundles import page_key

    return json.loads(open_store(ctx.settings).get(page_key(ctx.a, n)))


def _damage(ctx: Ctx, key: str, how: str, data: bytes | None = None) -> None:
    from tests.fixtures.stored import damage

    damage(ctx.settings, key, how, data)


def _edited(ctx: Ctx) -> bytes:
    page = _page_json(ctx)
    page["text"] = "zzqtamper " + page["text"]
    return json.dumps(page, ensure_ascii=False).encode()


def _k(kind: str) -> Callable[[str, int], str]:
    from storage import bundles

    return {"page": lambda b, n: bundles.page_key(b, n), "thumb": lambda b, n: bundles.thumb_key(b, n),
            "pdf": lambda b, n: bundles.pdf_key(b), "manifest": lambda b, n: bundles.manifest_key(b),
            "catalog": lambda b, n: bundles.catalog_key(b)}[kind]


def key(ctx: Ctx, kind: str, n: int = 1) -> str:
    return _k(kind)(ctx.a, n)


def _index(ctx: Ctx):
    from search import open_index

    return open_index(ctx.settings)


def _with_index(ctx: Ctx, fn: Callable[[Any], Any]) -> Any:
    idx = _index(ctx)
    try:
        return fn(idx)
    finally:
        idx.close()


def _stale_normaliser(ctx: Ctx) -> None:
    if ctx.settings.es_url:
        from search.elastic import ElasticIndex

        es = ElasticIndex.from_settings(ctx.settings)
        try:
            for name in es._alias_targets():
                es.client.indices.put_mapping(index=name, meta={"schema_version": 1, "normalise_version": -1})
        finally:
            es.close()
        return
    db = sqlite3.connect(ctx.settings.index_path)
    db.execute("UPDATE meta SET value = '-1' WHERE key = 'normalise_version'")
    db.commit()
    db.close()


def _orphan(ctx: Ctx) -> None:
    from abhilekh.records import BundleMetadata, SearchDocument

    _with_index(ctx, lambda idx: idx.index([SearchDocument("f" * 64, 1, "a page nobody stored", BundleMetadata())]))


def _garbage_index_file(ctx: Ctx) -> None:
    ctx.settings.index_path.write_bytes(b"this was the index file before the disk went bad " * 100)
    for suffix in ("-wal", "-shm"):
        Path(f"{ctx.settings.index_path}{suffix}").unlink(missing_ok=True)


def _leftover_rebuild(ctx: Ctx) -> None:
    Path(f"{ctx.settings.index_path}.rebuild").write_bytes(b"half a rebuild from a killed reindex")


def _alias_over_two(ctx: Ctx) -> None:
    from search.elastic import ElasticIndex

    es = ElasticIndex.from_settings(ctx.settings)
    try:
        es._create_index(f"{es.alias}-v{'1' * 20}", with_alias=True)
    finally:
        es.close()


def _plain_index(ctx: Ctx) -> None:
    from search.elastic import ElasticIndex

    es = ElasticIndex.from_settings(ctx.settings)
    try:
        es.drop()
        es.client.indices.create(index=es.alias)
    finally:
        es.close()


DAMAGE_KINDS: list[DamageKind] = [
    DamageKind("page record deleted", "missing", lambda c: _damage(c, key(c, "page"), "delete"), "repair"),
    DamageKind("page record's bits flipped", "checksum mismatch",
               lambda c: _damage(c, key(c, "page"), "overwrite", _edited(c)), "repair"),
    DamageKind("page record edited, its checksum record rewritten", "checksum mismatch",
               lambda c: _damage(c, key(c, "page"), "rewrite", _edited(c)), "repair"),
    DamageKind("page record edited, its checksum record deleted", "no recorded checksum",
               lambda c: _damage(c, key(c, "page"), "replace", _edited(c)), "repair"),
    DamageKind("page record's checksum record deleted", "no recorded checksum",
               lambda c: _damage(c, key(c, "page"), "drop-checksum"), "repair"),
    DamageKind("page record swapped for another page's", "checksum mismatch",
               lambda c: _damage(c, key(c, "page", 1), "rewrite",
                                 json.dumps(_page_json(c, 2), ensure_ascii=False).encode()), "repair"),
    DamageKind("manifest deleted", "missing", lambda c: _damage(c, key(c, "manifest"), "delete"), "repair"),
    DamageKind("manifest not JSON any more", "unreadable",
               lambda c: _damage(c, key(c, "manifest"), "rewrite", b"{not json"), "repair"),
    DamageKind("manifest's station edited, checksum record rewritten", "checksum mismatch",
               lambda c: _damage(c, key(c, "manifest"), "rewrite", _manifest_elsewhere(c)), "repair"),
    DamageKind("bundle-list entry deleted", "not listed", lambda c: _damage(c, key(c, "catalog"), "delete"),
               "repair"),
    DamageKind("searchable PDF deleted", "missing", lambda c: _damage(c, key(c, "pdf"), "delete"), "reingest"),
    DamageKind("searchable PDF truncated", "checksum mismatch",
               lambda c: _damage(c, key(c, "pdf"), "overwrite", b"%PDF-1.4 cut"), "reingest"),
    DamageKind("thumbnail deleted", "missing", lambda c: _damage(c, key(c, "thumb", 2), "delete"), "repair"),
    DamageKind("thumbnail corrupted", "checksum mismatch",
               lambda c: _damage(c, key(c, "thumb", 2), "overwrite", b"\xff\xd8 not a picture"), "repair"),
    DamageKind("index emptied", "indexed", lambda c: _with_index(c, lambda i: i.clear()), "reconcile", "index"),
    DamageKind("a bundle missing from the index", "indexed", lambda c: _with_index(c, lambda i: i.delete_bundle(c.a)),
               "reconcile", "index"),
    DamageKind("a bundle in the index that storage does not have", "in the index but not in storage", _orphan,
               "reconcile", "index"),
    DamageKind("index folded by another normaliser version", "indexed", _stale_normaliser, "reconcile", "index"),
    DamageKind("index file overwritten with garbage", "the file is damaged", _garbage_index_file, "reindex",
               "index", ("embedded",)),
    DamageKind("half-built index file left by a killed reindex", "searches answered as before", _leftover_rebuild,
               "reindex", "index", ("embedded",)),
    DamageKind("alias over two indices", "points at 2 indices", _alias_over_two, "reindex", "index", ("servers",)),
    DamageKind("plain index where the alias should be", "plain index, not an alias", _plain_index, "operator",
               "index", ("servers",)),
]


def _manifest_elsewhere(ctx: Ctx) -> bytes:
    from storage import open_store
    from storage.bundles import manifest_key

    data = json.loads(open_store(ctx.settings).get(manifest_key(ctx.a)))
    data["metadata"]["thana"] = "another station"
    return json.dumps(data, ensure_ascii=False).encode()


# ----------------------------------------------------------------------------- running


@dataclass
class Row:
    group: str  # "input" | "damage"
    kind: str
    backend: str
    expect: str
    got: str  # the reason or finding, as reported
    handled: bool
    pages_lost: int
    seconds: float = 0.0


def backend_settings(backend: str, home: Path) -> Settings:
    unique = uuid.uuid4().hex[:10]
    values: dict[str, Any] = {"home": home, "es_url": None, "s3_endpoint": None, "ocr_jobs": 2}
    if backend == "servers":
        for var in ("ABHILEKH_ES_URL", "ABHILEKH_S3_ENDPOINT"):
            if not os.environ.get(var):
                raise SystemExit(f"{var} is unset: `scripts/services start`, then `eval \"$(scripts/services env)\"`")
        values.update(es_url=os.environ["ABHILEKH_ES_URL"], es_index=f"faults-{unique}",
                      s3_endpoint=os.environ["ABHILEKH_S3_ENDPOINT"],
                      s3_access_key=os.environ.get("ABHILEKH_S3_ACCESS_KEY"),
                      s3_secret_key=os.environ.get("ABHILEKH_S3_SECRET_KEY"), s3_bucket=f"faults-{unique}")
    return Settings(**values)


def tear_down(settings: Settings) -> None:
    if settings.es_url:
        from search.elastic import ElasticIndex

        es = ElasticIndex.from_settings(settings)
        try:
            es.drop()
            es.client.indices.delete(index=es.alias, ignore_unavailable=True)
        finally:
            es.close()
    if settings.s3_endpoint:
        from storage.s3 import S3Store

        S3Store.from_settings(settings).remove_bucket()


class _Done:
    def __init__(self, value: Any = None, exc: BaseException | None = None) -> None:
        self.value, self.exc = value, exc

    def result(self) -> Any:
        if self.exc is not None:
            raise self.exc
        return self.value


def ingest(settings: Settings, path: Path, before_ocr: Callable[[Any], None] | None = None):
    """One bundle through the batch engine the flows run (plain callables, no Prefect)."""
    from pipelines import bundle as steps
    from pipelines.batch import BundleRequest, ingest_bundles
    from search import open_index
    from storage import open_store

    def submit(job: Any) -> _Done:
        if before_ocr:
            before_ocr(job)
        try:
            return _Done(steps.run_page(job, settings))
        except Exception as exc:  # noqa: BLE001 - a failed future, as the pool gives it
            return _Done(exc=exc)

    def index_fn(manifest: Any, pages: Any) -> int:
        idx = open_index(settings)
        try:
            return steps.index_bundle(manifest, pages, idx, settings)
        finally:
            idx.close()

    [report] = ingest_bundles([BundleRequest(str(path), {"thana": "Tirwa", "title": path.name})], settings, submit,
                              lambda plan, pages: steps.store_bundle(plan, pages, settings, open_store(settings)),
                              index_fn)
    return report


def _searchable(settings: Settings, bundle_id: str | None = None) -> int:
    from search import open_index

    idx = open_index(settings)
    try:
        return idx.count(bundle_id)
    finally:
        idx.close()


def run_inputs(backend: str, root: Path) -> list[Row]:
    rows: list[Row] = []
    # 1. one bundle: a good page and every bad file beside it
    started = time.monotonic()
    settings = backend_settings(backend, root / "mixed-home").model_copy(update=MIXED_LIMITS)
    bundle = root / "mixed" / "bundle"
    bundle.mkdir(parents=True)
    good_png(bundle / "a00-good.png")
    for kind in FILE_KINDS:
        kind.make(bundle / kind.file)
    try:
        report = ingest(settings, bundle)
        reasons = {f["file"]: f["reason"] for f in report.failures}
        for flag in report.flagged:  # a page stored but read with (almost) nothing on it
            reasons.setdefault(f"{flag.source_name} (page {flag.source_page})",
                               f"flagged for review (confidence {flag.confidence})")
        good_indexed = 0
        if report.stored:
            from storage import open_store
            from storage.bundles import page_key

            first = json.loads(open_store(settings).get(page_key(report.bundle_id, 1)))
            good_indexed = int(first["source"] == "a00-good.png" and GOOD_WORD in first["text"]
                               and _searchable(settings, report.bundle_id) == report.pages)
        seconds = (time.monotonic() - started) / len(FILE_KINDS)
        for kind in FILE_KINDS:
            got = next((r for f, r in reasons.items() if f == kind.file or f.startswith(kind.file + " (")), "")
            rows.append(Row("input", kind.name, backend, kind.expect, got or "(not named)",
                            bool(got) and kind.expect in got, 1 - good_indexed, seconds))
    finally:
        for s in _SOCKETS:
            s.close()
        _SOCKETS.clear()
        tear_down(settings)
    # 2. whole bundles
    for n, kind in enumerate(BUNDLE_KINDS):
        started = time.monotonic()
        settings = backend_settings(backend, root / f"b{n}-home").model_copy(update=kind.limits)
        where = root / f"b{n}"
        where.mkdir()
        path = kind.make(where)
        try:
            rows.append(_run_bundle_kind(kind, settings, path))
        finally:
            tear_down(settings)
        rows[-1].seconds = time.monotonic() - started
    return rows


def _run_bundle_kind(kind: BundleKind, settings: Settings, path: Path) -> Row:
    from pipelines import bundle as steps

    hook = (lambda job: kind.before_ocr(path, job)) if kind.before_ocr else None
    original_hash = steps.file_sha256
    if kind.during_plan is not None:
        def hash_while_written(file: Path) -> str:
            digest = original_hash(file)
            kind.during_plan(Path(file))  # type: ignore[misc]
            return digest

        steps.file_sha256 = hash_while_written  # type: ignore[assignment]
    try:
        report = ingest(settings, path, hook)
    finally:
        steps.file_sha256 = original_hash  # type: ignore[assignment]
    got = "; ".join(f"{f['file']}: {f['reason']}" for f in report.failures) or "(not named)"
    handled = not report.stored and kind.expect in got
    lost = 0
    if kind.good_pages:
        kept = path.parent / "page2.png.kept"
        if kept.exists():  # the operator puts the file back
            (path / "page2.png").write_bytes(kept.read_bytes())
        again = ingest(settings, path)  # once the files are final: stored once, all pages
        lost = kind.good_pages - (_searchable(settings, again.bundle_id) if again.stored else 0)
        handled = handled and again.ok and _searchable(settings) == kind.good_pages
    return Row("input", kind.name, "", kind.expect, got[:300], handled, max(0, lost))


def stored_pair(settings: Settings, caches: Any) -> Ctx:
    from tests.fixtures.stored import store_bundle_from

    a, b = caches
    store_bundle_from(a, settings)
    store_bundle_from(b, settings)
    return Ctx(settings, a.bundle_id, b.bundle_id, 4, caches)


def ocr_caches(root: Path) -> tuple[Any, Any]:
    from tests.fixtures.stored import ocr_once

    a = ocr_once(root / "letters-a", root / "cache-a", seed=71, pages=2, station="तिर्वा", thana="Tirwa")
    b = ocr_once(root / "letters-b", root / "cache-b", seed=72, pages=2, station="छिबरामऊ", thana="Chhibramau")
    return a, b


def run_damage(backend: str, root: Path, caches: Any) -> list[Row]:
    rows = []
    for n, kind in enumerate(DAMAGE_KINDS):
        if backend not in kind.backends:
            continue
        started = time.monotonic()
        settings = backend_settings(backend, root / f"d{n}-home")
        try:
            ctx = stored_pair(settings, caches)
            kind.apply(ctx)
            row = _run_damage_kind(kind, ctx)
        finally:
            tear_down(settings)
        row.backend, row.seconds = backend, time.monotonic() - started
        rows.append(row)
    return rows


def _run_damage_kind(kind: DamageKind, ctx: Ctx) -> Row:
    from pipelines import maintenance
    from pipelines.verify import verify_store
    from search.base import SearchError

    s = ctx.settings
    got, named, others_served = "", False, True
    if kind.where == "store":
        found = verify_store(s)
        finding = next((f for f in found.damage if f.bundle_id == ctx.a), None)
        got = f"{finding.kind}: {finding.reason}" if finding else "(verify found nothing)"
        named = finding is not None and finding.kind == kind.expect
        maintenance.reindex(s)  # the other bundle keeps being served meanwhile
        others_served = _searchable(s, ctx.b) == 2
        if kind.remedy == "repair":
            verify_store(s, repair=True)
        elif kind.remedy == "reingest":
            report = ingest(s, ctx.caches[0].path)
            got += f" -> re-ingest: {'repaired' if report.repaired else 'not repaired'}"
        maintenance.reindex(s)
        named = named and verify_store(s).ok
    else:
        try:
            if kind.remedy == "reconcile":
                report = maintenance.reconcile_report(s)
                got = (f"indexed {len(report.fixed)} bundle(s)" if report.fixed else "") + (
                    f"; {len(report.orphans)} bundle(s) are in the index but not in storage" if report.orphans else "")
            else:
                _with_index(ctx, lambda idx: idx.search(GOOD_WORD))
                got = "searches answered as before"
        except SearchError as exc:
            got = str(exc)
        named = kind.expect in got
        if kind.remedy == "reindex":
            maintenance.reindex(s)
        elif kind.remedy == "operator":  # what the message says: delete it, then reindex
            from search.elastic import ElasticIndex

            es = ElasticIndex.from_settings(s)
            try:
                es.client.indices.delete(index=es.alias)
            finally:
                es.close()
            maintenance.reindex(s)
    searchable = _searchable(s) - (_searchable(s, "f" * 64) if kind.name.startswith("a bundle in the index") else 0)
    lost = max(0, ctx.pages - searchable)
    return Row("damage", kind.name, "", kind.expect, got[:300], named and others_served and lost == 0, lost)


def run(backends: list[str], out: Path | None = None, progress: Callable[[Row], None] | None = None) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="abhilekh-faults-") as tmp:
        root = Path(tmp)
        caches = ocr_caches(root / "caches")
        for backend in backends:
            for row in run_inputs(backend, root / f"in-{backend}") + run_damage(backend, root / f"dm-{backend}",
                                                                                   caches):
                row.backend = backend
                rows.append(row)
                if progress:
                    progress(row)
    if out:
        out.write_text(json.dumps([asdict(r) for r in rows], ensure_ascii=False, indent=2), encoding="utf-8")
    return rows


def summary(rows: list[Row]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        s = out.setdefault(r.backend, {"input kinds": 0, "damage kinds": 0, "handled": 0, "pages lost": 0})
        s["input kinds" if r.group == "input" else "damage kinds"] += 1
        s["handled"] += r.handled
        s["pages lost"] += r.pages_lost
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="embedded", help="embedded, servers, or both comma-separated")
    parser.add_argument("--json", type=Path, help="write every row here")
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    lock = threading.Lock()

    def show(r: Row) -> None:
        with lock:
            print(f"{'ok ' if r.handled else 'BAD'} {r.backend:<8} {r.group:<6} {r.kind[:52]:<52} "
                  f"lost={r.pages_lost} | {r.got[:110]}", flush=True)

    cpu = time.process_time()
    rows = run(backends, args.json, show)
    cpu = time.process_time() - cpu
    print(f"\nload average {os.getloadavg()[0]:.2f}; {cpu:.0f} CPU-s in this process (Tesseract not counted)")
    print("| backend | bad-input kinds | damage kinds | kinds tried | handled with a named reason | pages lost |")
    print("|---|---|---|---|---|---|")
    for backend, s in summary(rows).items():
        tried = s["input kinds"] + s["damage kinds"]
        print(f"| {backend} | {s['input kinds']} | {s['damage kinds']} | {tried} | {s['handled']} | {s['pages lost']} |")
    return 0 if all(r.handled and not r.pages_lost for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
