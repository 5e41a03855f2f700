"""ingest.load: finding source files, rejecting bad ones, reading pages."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import img2pdf
import numpy as np
import pikepdf
import pytest
from PIL import Image

from abhilekh.settings import Settings
from ingest import load
from ingest.load import BadInput, count_pages, list_sources, natural_key, read_page, read_pages
from tests.fixtures.synthetic import render_lines


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", pdf_dpi=100)


def _png(path: Path, size=(300, 200), value=255, dpi=None) -> Path:
    img = Image.new("L", size, value)
    img.save(path, format="PNG", **({"dpi": (dpi, dpi)} if dpi else {}))
    return path


def _text_png_bytes(text: str = "रमेश यादव 379") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(render_lines([text], width=800, font_px=40)).save(buf, format="PNG", dpi=(300, 300))
    return buf.getvalue()


def _pdf(path: Path, pages: int = 1, dpi: int = 150) -> Path:
    imgs = []
    for i in range(pages):
        arr = render_lines([f"पृष्ठ {i + 1}"], width=int(8.27 * dpi), height=int(11.69 * dpi), font_px=40)
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format="PNG", dpi=(dpi, dpi))
        imgs.append(buf.getvalue())
    path.write_bytes(img2pdf.convert(imgs))
    return path


def _reject(path: Path, settings: Settings) -> BadInput:
    """The file is refused both by count_pages and by read_pages, before any page."""
    with pytest.raises(BadInput) as counted:
        count_pages(path, settings)
    with pytest.raises(BadInput) as read:
        list(read_pages(path, settings))
    assert counted.value.reason == read.value.reason
    exc = read.value
    assert exc.file == path.name
    assert str(exc) == f"{path.name}: {exc.reason}"
    return exc


# ---------------------------------------------------------------- listing


def test_natural_key_orders_numbers_as_numbers() -> None:
    names = ["page10.tif", "page2.tif", "Page1.tif", "page2a.tif", "page02b.tif"]
    assert sorted(names, key=natural_key) == [
        "Page1.tif", "page2.tif", "page2a.tif", "page02b.tif", "page10.tif",
    ]


def test_list_sources_folder_natural_order_skips_hidden_and_junk(tmp_path: Path) -> None:
    root = tmp_path / "bundle"
    (root / "vol2").mkdir(parents=True)
    (root / "vol10").mkdir()
    (root / ".git").mkdir()
    (root / "__MACOSX").mkdir()
    for rel in ["page10.png", "page2.png", "page1.png", "vol2/p1.png", "vol10/p1.png",
                ".hidden.png", "Thumbs.db", ".DS_Store", ".git/x.png", "__MACOSX/._p.png",
                "notes.txt"]:
        (root / rel).write_bytes(b"x")
    got = [p.relative_to(root).as_posix() for p in list_sources(root, tmp_path / "work")]
    assert got == ["notes.txt", "page1.png", "page2.png", "page10.png", "vol2/p1.png", "vol10/p1.png"]


def test_list_sources_single_file(tmp_path: Path) -> None:
    f = _png(tmp_path / "one.png")
    assert list_sources(f, tmp_path / "work") == [f]


def test_list_sources_missing_path(tmp_path: Path) -> None:
    with pytest.raises(BadInput):
        list_sources(tmp_path / "nope", tmp_path / "work")


def test_zip_is_extracted_in_natural_order(tmp_path: Path) -> None:
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in ["scan/page10.png", "scan/page9.png", "scan/page1.png",
                     "__MACOSX/scan/._page1.png", "scan/.DS_Store"]:
            zf.writestr(name, _text_png_bytes())
    work = tmp_path / "work"
    got = list_sources(archive, work)
    assert [p.name for p in got] == ["page1.png", "page9.png", "page10.png"]
    for p in got:
        assert p.is_file() and p.resolve().is_relative_to(work.resolve())
    # The extracted files are real scans that read.
    assert count_pages(got[0], Settings()) == 1


@pytest.mark.parametrize("evil", ["../evil.png", "scan/../../evil.png", "/tmp/abhilekh-evil.png"])
def test_zip_slip_is_rejected(tmp_path: Path, evil: str) -> None:
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("scan/page1.png", _text_png_bytes())
        zf.writestr(evil, b"gotcha")
    work = tmp_path / "deep" / "work"
    with pytest.raises(BadInput) as exc:
        list_sources(archive, work)
    assert exc.value.file == "bad.zip"
    assert "outside" in exc.value.reason
    assert not (tmp_path / "deep" / "evil.png").exists()
    assert not (tmp_path / "evil.png").exists()
    assert not Path("/tmp/abhilekh-evil.png").exists()


def test_zip_symlink_member_is_rejected(tmp_path: Path) -> None:
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("scan/passwd")
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(BadInput, match="symbolic link"):
        list_sources(archive, tmp_path / "work")


def test_zip_with_absurd_size_is_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The real limit is tens of GB; shrink it rather than write that much.
    monkeypatch.setattr(load, "MAX_ZIP_TOTAL_BYTES", 100_000)
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.tif", b"\0" * 200_000)
    assert archive.stat().st_size < 5_000
    with pytest.raises(BadInput, match="unpacks to more than"):
        list_sources(archive, tmp_path / "work")


def test_docx_is_not_unpacked(tmp_path: Path, settings: Settings) -> None:
    doc = tmp_path / "letter.docx"
    with zipfile.ZipFile(doc, "w") as zf:
        zf.writestr("word/document.xml", "<w/>")
    assert list_sources(doc, tmp_path / "work") == [doc]
    assert "zip archive or Office document" in _reject(doc, settings).reason


# ---------------------------------------------------------------- rejecting


def test_zero_byte_file(tmp_path: Path, settings: Settings) -> None:
    f = tmp_path / "empty.tif"
    f.touch()
    assert "empty" in _reject(f, settings).reason


def test_file_over_size_limit(tmp_path: Path) -> None:
    f = _png(tmp_path / "big.png", size=(2000, 2000))
    f.write_bytes(f.read_bytes() + b"\0" * 20_000)
    assert "limit" in _reject(f, Settings(max_file_mb=0.01)).reason


def test_text_file_named_like_an_image(tmp_path: Path, settings: Settings) -> None:
    f = tmp_path / "page1.jpg"
    f.write_text("मु0अ0सं0 123/2019 — not a scan\n", encoding="utf-8")
    exc = _reject(f, settings)
    assert "text file" in exc.reason and "TIFF" in exc.reason


def test_plain_txt(tmp_path: Path, settings: Settings) -> None:
    f = tmp_path / "notes.txt"
    f.write_text("hello\n")
    assert "not a scan" in _reject(f, settings).reason


def test_truncated_jpeg(tmp_path: Path, settings: Settings) -> None:
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (600, 800), dtype=np.uint8)).save(buf, format="JPEG", quality=90)
    f = tmp_path / "cut.jpg"
    f.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    # The header is intact, so counting succeeds; decoding must not.
    assert count_pages(f, settings) == 1
    with pytest.raises(BadInput, match="truncated or damaged"):
        list(read_pages(f, settings))


def test_decompression_bomb_png(tmp_path: Path, settings: Settings) -> None:
    # A tiny PNG whose header claims 30000 x 30000 pixels.
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 30001)) + chunk(b"IEND", b"")
    f = tmp_path / "bomb.png"
    f.write_bytes(data)
    assert f.stat().st_size < 200
    assert "pixels" in _reject(f, settings).reason


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_bomb_under_pillows_own_guard_is_still_caught(tmp_path: Path) -> None:
    f = _png(tmp_path / "wide.png", size=(4000, 3000))
    # 12 Mpx is over our limit but under twice it, where Pillow only warns.
    assert "4000 x 3000" in _reject(f, Settings(max_image_pixels=10_000_000)).reason


def test_encrypted_pdf(tmp_path: Path, settings: Settings) -> None:
    plain = _pdf(tmp_path / "plain.pdf")
    f = tmp_path / "locked.pdf"
    with pikepdf.open(plain) as pdf:
        pdf.save(f, encryption=pikepdf.Encryption(owner="owner", user="user"))
    assert "password" in _reject(f, settings).reason


def test_owner_password_only_pdf(tmp_path: Path, settings: Settings) -> None:
    plain = _pdf(tmp_path / "plain.pdf")
    f = tmp_path / "restricted.pdf"
    with pikepdf.open(plain) as pdf:
        pdf.save(f, encryption=pikepdf.Encryption(owner="owner", user=""))
    assert "encrypted" in _reject(f, settings).reason


def test_corrupt_pdf(tmp_path: Path, settings: Settings) -> None:
    f = tmp_path / "broken.pdf"
    f.write_bytes(b"%PDF-1.4\n" + b"\x00garbage" * 200)
    assert "damaged" in _reject(f, settings).reason


def test_pdf_with_too_many_pages(tmp_path: Path) -> None:
    f = _pdf(tmp_path / "long.pdf", pages=3, dpi=50)
    assert "3 pages" in _reject(f, Settings(max_pdf_pages=2)).reason


def test_pdf_page_too_large_to_rasterise(tmp_path: Path) -> None:
    f = tmp_path / "poster.pdf"
    f.write_bytes(img2pdf.convert(_text_png_bytes(), layout_fun=img2pdf.get_layout_fun((14400, 14400))))
    assert "too large" in _reject(f, Settings(pdf_dpi=300)).reason


# ---------------------------------------------------------------- reading


def test_png_with_dpi_and_colour_is_read_as_bgr(tmp_path: Path, settings: Settings) -> None:
    img = Image.new("RGB", (400, 300), (255, 255, 255))
    img.putpixel((10, 20), (255, 0, 0))
    f = tmp_path / "colour.png"
    img.save(f, dpi=(200, 200))
    (page,) = list(read_pages(f, settings))
    assert page.image.shape == (300, 400, 3) and page.image.dtype == np.uint8
    assert tuple(page.image[20, 10]) == (0, 0, 255)  # BGR
    assert page.dpi == 200 and page.source == f and page.source_page == 1


def test_dpi_guessed_from_a4_size_when_missing(tmp_path: Path, settings: Settings) -> None:
    f = _png(tmp_path / "a4.png", size=(2480, 3508))
    (page,) = list(read_pages(f, settings))
    assert page.dpi == 300 and page.image.shape == (3508, 2480)
    f = _png(tmp_path / "a4-200.png", size=(1654, 2339), dpi=72)  # implausible: ignored
    (page,) = list(read_pages(f, settings))
    assert page.dpi == 200


def test_multipage_tiff(tmp_path: Path, settings: Settings) -> None:
    frames = [Image.new("L", (500, 700), v) for v in (255, 128, 0)]
    f = tmp_path / "register.tif"
    frames[0].save(f, save_all=True, append_images=frames[1:], compression="tiff_deflate", dpi=(300, 300))
    assert count_pages(f, settings) == 3
    pages = list(read_pages(f, settings))
    assert [p.source_page for p in pages] == [1, 2, 3]
    assert [int(p.image.mean()) for p in pages] == [255, 128, 0]
    assert all(p.dpi == 300 and p.image.shape == (700, 500) for p in pages)


def test_bilevel_group4_tiff(tmp_path: Path, settings: Settings) -> None:
    f = tmp_path / "g4.tif"
    Image.fromarray(render_lines(["रमेश यादव"], width=900)).convert("1").save(
        f, compression="group4", dpi=(300, 300)
    )
    (page,) = list(read_pages(f, settings))
    assert page.image.ndim == 2 and set(np.unique(page.image)) == {0, 255}


def test_multipage_tiff_with_damaged_page_is_rejected_whole(tmp_path: Path, settings: Settings) -> None:
    frames = [Image.fromarray(np.random.default_rng(i).integers(0, 255, (400, 400), dtype=np.uint8)) for i in range(3)]
    f = tmp_path / "damaged.tif"
    frames[0].save(f, save_all=True, append_images=frames[1:])  # uncompressed strips
    data = bytearray(f.read_bytes())
    # Cut the file short inside the last page's pixels: the page directory survives
    # only if it sits before the pixels, so write it that way and truncate the tail.
    f.write_bytes(bytes(data[: len(data) - 60_000]))
    with pytest.raises(BadInput):
        pages = read_pages(f, settings)
        next(iter(pages))  # nothing may be yielded before the damage is found


def test_scanned_pdf_is_rasterised_page_by_page(tmp_path: Path, settings: Settings) -> None:
    f = _pdf(tmp_path / "case.pdf", pages=2, dpi=150)
    assert count_pages(f, settings) == 2
    pages = list(read_pages(f, settings))
    assert [p.source_page for p in pages] == [1, 2]
    for p in pages:
        assert p.dpi == 100  # settings.pdf_dpi
        h, w = p.image.shape  # A4 at 100 dpi, grey
        assert abs(w - 827) <= 2 and abs(h - 1169) <= 2
        assert (p.image < 128).any()  # the text is there


def test_read_page_reads_one_page(tmp_path: Path, settings: Settings) -> None:
    frames = [Image.new("L", (300, 400), v) for v in (255, 128, 0)]
    tif = tmp_path / "register.tif"
    frames[0].save(tif, save_all=True, append_images=frames[1:], dpi=(200, 200))
    page = read_page(tif, 2, settings)
    assert page.source_page == 2 and int(page.image.mean()) == 128 and page.dpi == 200
    pdf = _pdf(tmp_path / "case.pdf", pages=3, dpi=50)
    page = read_page(pdf, 3, settings)
    assert page.source_page == 3 and page.dpi == settings.pdf_dpi
    with pytest.raises(BadInput, match="no page 4"):
        read_page(pdf, 4, settings)
    with pytest.raises(BadInput, match="no page 2"):
        read_page(_png(tmp_path / "one.png"), 2, settings)


def test_validate_decodes_images_so_truncation_is_found_before_planning(tmp_path):
    from abhilekh.settings import Settings
    from ingest.load import BadInput, count_pages, validate
    from tests.fixtures.pagegen import write_bad_inputs

    write_bad_inputs(tmp_path)
    settings = Settings(home=tmp_path / "home")
    assert count_pages(tmp_path / "truncated.jpg", settings) == 1  # the header alone looks fine
    with pytest.raises(BadInput, match="truncated"):
        validate(tmp_path / "truncated.jpg", settings)
