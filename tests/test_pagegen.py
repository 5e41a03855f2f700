"""The synthetic page generator: determinism, truth, sizes, degradations, bad inputs."""

from __future__ import annotations

import io
import json
import random
import re
import shutil
import struct
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont, features

from tests.fixtures import pagegen as pg

ROOT = Path(__file__).resolve().parents[1]
CRIME_RE = re.compile(r"मु[0०]अ[0०]सं[0०] ([0-9०-९]+)/([0-9०-९]{4})")
TO_ASCII = str.maketrans("०१२३४५६७८९", "0123456789")


@pytest.fixture(scope="module")
def letter_150():
    return pg.make_page(3, "letter", dpi=150)


@pytest.fixture(scope="module")
def register_150():
    return pg.make_page(4, "register", dpi=150)


def _flat(text: str) -> str:
    return pg.normalise_text(text)


# ----------------------------------------------------------------------------- truth


def test_same_seed_same_pixels_and_truth():
    a, ta = pg.make_page(7, "register")
    b, tb = pg.make_page(7, "register")
    assert a.dtype == np.uint8 and a.shape == (3508, 2480)
    assert np.array_equal(a, b)
    assert ta.to_dict() == tb.to_dict()
    c, tc = pg.make_page(8, "register")
    assert tc.text != ta.text
    assert not np.array_equal(a, c)


def test_same_seed_same_degraded_pixels():
    a, ta = pg.make_page(5, "letter", dpi=150, profile="medium")
    b, tb = pg.make_page(5, "letter", dpi=150, profile="medium")
    assert np.array_equal(a, b)
    assert ta.meta["degradation"] == tb.meta["degradation"]


def test_letter_truth_has_crime_number_section_and_names():
    for seed in range(6):
        t = pg.make_truth(seed, "letter")
        flat = _flat(t.text)
        (e,) = t.entries
        m = CRIME_RE.search(flat)
        assert m, t.text
        assert f"{m[1]}/{m[2]}".translate(TO_ASCII) == e.crime_no
        assert re.fullmatch(r"\d{1,4}/\d{4}", e.crime_no)
        assert e.section_text in flat
        assert e.section.split()[0].split("/")[0] in e.section_text.translate(TO_ASCII)
        name, latin = e.names[0], e.names_latin[0]
        assert name in flat
        assert all("\u0900" <= ch <= "\u097f" or ch == " " for ch in name)
        assert re.fullmatch(r"[A-Z][A-Za-z.]*( [A-Z][A-Za-z.]*)*", latin)
        assert e.village in flat and e.village_latin.isascii()
        assert t.station in flat and t.kind == "letter"
        assert flat.startswith("कार्यालय थानाध्यक्ष,") and "जनपद कन्नौज" in t.lines[0]
        assert re.search(r"[A-Za-z]{3,} [A-Za-z]{3,}", flat), "letters carry English sentences"


def test_register_truth_rows():
    t = pg.make_truth(11, "register", station="Chhibramau", year=2019)
    assert t.kind == "register" and t.station == "छिबरामऊ" and t.year == 2019
    assert 6 <= len(t.entries) <= 12
    assert "वर्ष 2019" in t.text or "वर्ष २०१९" in t.text
    serials = [e.serial for e in t.entries]
    assert serials == list(range(serials[0], serials[0] + len(serials)))
    dates = [e.date for e in t.entries]
    assert dates == sorted(dates) and all(d.startswith("2019-") for d in dates)
    flat = _flat(t.text)
    for e in t.entries:
        assert e.crime_no.endswith("/2019") and e.act in ("IPC", "Arms Act", "Excise Act")
        assert e.crime_no_text in flat and e.date_text in flat
        assert e.station == "छिबरामऊ" and e.station_latin == "Chhibramau"
    # names may wrap inside their cell; most fit on one line
    assert sum(e.names[0] in flat for e in t.entries) >= len(t.entries) // 2


def test_bns_after_july_2024_and_unknown_station():
    acts = {e.act for s in range(8) for e in pg.make_truth(s, "register", year=2025).entries}
    assert "BNS" in acts and "IPC" not in acts
    with pytest.raises(ValueError):
        pg.make_truth(1, station="Atlantis")
    with pytest.raises(ValueError):
        pg.make_truth(1, "poster")


def test_truth_text_is_normalised_and_json_round_trips():
    for kind in pg.KINDS:
        t = pg.make_truth(21, kind)
        for line in t.lines:
            assert line and line == line.strip() and "  " not in line
        assert unicodedata.normalize("NFC", t.text) == t.text
        back = pg.GroundTruth.from_dict(json.loads(json.dumps(t.to_dict(layout=True), ensure_ascii=False)))
        assert back == t
        assert np.array_equal(np.asarray(pg.render_page(back, dpi=60)), np.asarray(pg.render_page(t, dpi=60)))


# ----------------------------------------------------------------------------- rendering


@pytest.mark.parametrize("dpi,size", [(300, (2480, 3508)), (200, (1654, 2339)), (150, (1240, 1754))])
def test_image_size_per_dpi(dpi, size):
    img, _ = pg.make_page(2, "letter", dpi=dpi)
    assert (img.shape[1], img.shape[0]) == size == pg.page_size(dpi)
    ink = (img < 128).mean()
    assert 0.005 < ink < 0.2
    assert img[:20].min() == 255, "top margin is blank paper"


def test_raqm_shapes_devanagari():
    assert features.check("raqm")
    path = pg.FONT_FAMILIES["noto-sans"].deva
    words = "प्रेषित कार्यालय क्षेत्राधिकारी"

    def draw(engine):
        f = ImageFont.truetype(path, 40, layout_engine=engine)
        im = Image.new("L", (700, 80), 255)
        ImageDraw.Draw(im).text((5, 10), words, font=f, fill=0)
        return np.asarray(im)

    assert not np.array_equal(draw(ImageFont.Layout.RAQM), draw(ImageFont.Layout.BASIC))


def test_every_installed_font_renders_and_keeps_truth():
    t = pg.make_truth(9, "letter")
    base = np.asarray(pg.render_page(t, dpi=72))
    fonts = pg.available_fonts()
    assert "noto-sans" in fonts
    for f in fonts:
        img = np.asarray(pg.render_page(t, dpi=72, font=f))
        assert img.shape == base.shape and 0.01 < (img < 128).mean() < 0.25, f
    with pytest.raises(ValueError):
        pg.render_page(t, font="no-such-font")


def test_mixed_line_is_split_into_script_runs():
    runs = pg._runs("मोटरसाइकिल UP 74 AB 1234 चोरी, Final Report")
    assert [s for s, _ in runs] == ["deva", "latin", "deva", "latin"]
    assert "".join(t for _, t in runs) == "मोटरसाइकिल UP 74 AB 1234 चोरी, Final Report"
    assert runs[0][1] == "मोटरसाइकिल " and runs[1][1] == "UP 74 AB 1234 "


# ----------------------------------------------------------------------------- degradations


def test_rotate_swaps_dims_and_inverts(letter_150):
    img, _ = letter_150
    r90 = pg.rotate(img, 90)
    assert r90.shape == (img.shape[1], img.shape[0])
    assert np.array_equal(pg.rotate(r90, 270), img)
    assert np.array_equal(pg.rotate(pg.rotate(img, 180), 180), img)
    # clockwise: the page's top margin ends up on the right
    assert r90[:, -10:].min() == 255 and img[:10].min() == 255
    with pytest.raises(ValueError):
        pg.rotate(img, 45)


def test_dark_border_darkens_edges_only(letter_150):
    img, _ = letter_150
    out = pg.dark_border(img, 60, sides="lt")
    assert out.shape == img.shape
    assert out[:, :30].mean() < 70 and out[:30, :].mean() < 70
    assert out[-30:, -30:].mean() == img[-30:, -30:].mean() == 255
    assert np.array_equal(out[100:-100, 100:-100], img[100:-100, 100:-100])
    colour = pg.dark_border(pg.coloured_paper(img, "cream", rng=1), 40, sides="r")
    assert colour.ndim == 3 and colour[:, -20:].mean() < 70


def test_skew_changes_dominant_angle(letter_150):
    img, _ = letter_150
    assert abs(pg.dominant_angle(img)) <= 0.3
    for angle in (4.0, -2.5):
        a = pg.dominant_angle(pg.skew(img, angle))
        assert abs(a - angle) <= 0.5, (angle, a)
    big = pg.skew(img, 5, expand=True)
    assert big.shape[0] > img.shape[0] and big.shape[1] > img.shape[1]
    assert pg.skew(img, 5).shape == img.shape


def test_noise_blur_jpeg_fade(letter_150):
    img, _ = letter_150
    n1, n2 = pg.noise(img, 0.2, 3), pg.noise(img, 0.2, 3)
    assert np.array_equal(n1, n2) and (n1 != img).mean() > 0.4  # white clips half the noise
    assert not np.array_equal(n1, pg.noise(img, 0.2, 4))
    assert abs(float(n1.mean()) - float(img.mean())) < 8
    lap = lambda a: float(np.var(np.diff(a.astype(np.float32), axis=1)))  # noqa: E731
    assert lap(pg.blur(img, 2.0)) < 0.5 * lap(img)
    hi, lo = pg.jpeg(img, 90), pg.jpeg(img, 20)
    assert hi.shape == img.shape and hi.dtype == np.uint8
    err = lambda a: float(np.abs(a.astype(np.int16) - img).mean())  # noqa: E731
    assert 0 < err(hi) < err(lo)
    faded = pg.fade(img, 0.5)
    assert img.min() == 0 and 120 <= faded.min() <= 135 and faded.max() == 255


def test_coloured_paper_downsample_stains(letter_150):
    img, _ = letter_150
    y = pg.coloured_paper(img, "yellow", illumination=0.0, rng=0)
    assert y.shape == (*img.shape, 3)
    b, g, r = y[5:40, 5:40].reshape(-1, 3).mean(axis=0)
    assert r > g > b + 20, "yellowed paper"
    assert y[img == 0].max() < 60, "ink stays dark"
    lit = pg.coloured_paper(img, "blue", illumination=0.3, rng=0)
    corners = [lit[:40, :40].mean(), lit[:40, -40:].mean(), lit[-40:, :40].mean(), lit[-40:, -40:].mean()]
    assert max(corners) - min(corners) > 15, "uneven illumination"
    half = pg.downsample(img, 150, 75)
    assert half.shape == (round(img.shape[0] / 2), round(img.shape[1] / 2))
    s = pg.stains(img, 3, 1)
    assert s.shape == img.shape and s.mean() < img.mean() and (s <= img).all()


def test_degrade_profiles(letter_150):
    img, _ = letter_150
    assert np.array_equal(pg.degrade(img, "clean", 1), img)
    specs = [pg.sample_degradation("heavy", random.Random(i)) for i in range(20)]
    assert all(3 <= abs(s.skew) <= 7 and s.noise >= 0.15 and s.jpeg_quality <= 55 for s in specs)
    assert all(s.rotation == 0 for s in specs)
    assert pg.sample_degradation("medium", 4) == pg.sample_degradation("medium", 4)
    heavy = pg.degrade(img, "heavy", 2, dpi=150)
    assert heavy.ndim == 3 and heavy.shape[0] > img.shape[0]
    sideways = pg.degrade(img, pg.DegradeSpec(rotation=90), 1)
    assert sideways.shape == (img.shape[1], img.shape[0])
    with pytest.raises(ValueError):
        pg.degrade(img, "catastrophic", 1)


# ----------------------------------------------------------------------------- bundles, corpus


def test_make_bundle_png(tmp_path):
    truths = pg.make_bundle(tmp_path, seed=1, pages=3, dpi=100)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page1.png", "page2.png", "page3.png", "truth.json"]
    with Image.open(tmp_path / "page2.png") as im:
        assert im.size == pg.page_size(100) and round(im.info["dpi"][0]) == 100
    assert pg.load_truth(tmp_path / "truth.json") == truths
    assert len({(t.station, t.year) for t in truths}) == 1
    serials = [e.serial for t in truths for e in t.entries]
    assert serials == list(range(serials[0], serials[0] + len(serials))), "one register continues over pages"
    assert [t.page_no for t in truths] == [truths[0].page_no + i for i in range(3)]


def test_make_bundle_pdf_and_other_formats(tmp_path):
    import pikepdf

    truths = pg.make_bundle(tmp_path / "pdf", seed=2, pages=2, kind="letter", dpi=100, fmt="pdf")
    assert sorted(p.name for p in (tmp_path / "pdf").iterdir()) == ["scan.pdf", "truth.json"]
    with pikepdf.open(tmp_path / "pdf" / "scan.pdf") as pdf:
        assert len(pdf.pages) == 2
        w, h = (float(v) for v in pdf.pages[0].mediabox[2:])
        assert abs(w - 595.3) < 1 and abs(h - 841.9) < 1, "A4 at the stated dpi"
    assert [t.meta["page"] for t in truths] == [1, 2]
    for fmt, suffix in (("jpg", ".jpg"), ("tif", ".tif")):
        pg.make_bundle(tmp_path / fmt, seed=2, pages=1, dpi=100, fmt=fmt, profile="light")
        with Image.open(tmp_path / fmt / f"page1{suffix}") as im:
            im.load()
            assert round(im.info["dpi"][0]) == 100


def test_make_corpus(tmp_path):
    truths = pg.make_corpus(tmp_path, seed=3, pages=10, dpis=(100,))
    manifest = json.loads((tmp_path / "corpus.json").read_text(encoding="utf-8"))
    assert manifest["count"] == 10 and len(manifest["pages"]) == 10
    profiles = [p["meta"]["profile"] for p in manifest["pages"]]
    assert "heavy" in profiles and set(profiles) <= set(pg.PROFILES)
    assert any(p["meta"]["rotation"] in (90, 180, 270) for p in manifest["pages"])
    for t in truths:
        name = t.meta["name"]
        assert (tmp_path / f"{name}.txt").read_text(encoding="utf-8") == t.text + "\n"
        with Image.open(tmp_path / f"{name}.png") as im:
            wide = im.size[0] > im.size[1]
        assert wide == (t.meta["rotation"] in (90, 270))


# ----------------------------------------------------------------------------- bad inputs


def test_bad_inputs(tmp_path):
    import pikepdf

    reasons = pg.write_bad_inputs(tmp_path)
    assert set(reasons) == {"empty.jpg", "truncated.jpg", "notes.txt", "locked.pdf", "huge.png"}
    assert all(isinstance(v, str) and v for v in reasons.values())
    assert (tmp_path / "empty.jpg").stat().st_size == 0

    data = (tmp_path / "truncated.jpg").read_bytes()
    assert data[:3] == b"\xff\xd8\xff"
    with Image.open(io.BytesIO(data)) as im, pytest.raises(OSError):
        im.load()

    assert (tmp_path / "notes.txt").read_text(encoding="utf-8").strip()

    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(tmp_path / "locked.pdf")
    with pikepdf.open(tmp_path / "locked.pdf", password="u") as pdf:
        assert pdf.is_encrypted and len(pdf.pages) == 1

    huge = tmp_path / "huge.png"
    head = huge.read_bytes()[:33]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    w, h = struct.unpack(">II", head[16:24])
    assert w * h > 100_000_000 and huge.stat().st_size < 1_000_000
    with pytest.raises(Image.DecompressionBombError):
        Image.open(huge)


# ----------------------------------------------------------------------------- accuracy measures


def _naive_distance(a, b):
    d = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, d[0] = d[0], i
        for j, cb in enumerate(b, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (ca != cb))
    return d[-1]


def test_cer_wer():
    assert pg.cer("abc", "abc") == 0.0
    assert pg.cer("abcd", "abxd") == 0.25
    assert pg.cer("abcd", "abd") == 0.25 and pg.cer("abd", "abcd") == pytest.approx(1 / 3)
    assert pg.cer("रमेश  यादव\n", "रमेश यादव") == 0.0
    assert pg.cer("मु0अ0सं0", "मु०अ०सं०") == pytest.approx(3 / 8)
    assert pg.wer("रमेश पुत्र सुरेश", "रमेश पुत्र सुरेश") == 0.0
    assert pg.wer("रमेश पुत्र सुरेश", "रमेश पुत्री सुरेश") == pytest.approx(1 / 3)
    assert pg.wer("a b c d", "a c d") == 0.25
    assert pg.cer("", "") == 0.0 and pg.cer("", "x") == 1.0
    rng = random.Random(0)
    for _ in range(200):
        a = "".join(rng.choice("abc ") for _ in range(rng.randrange(0, 12)))
        b = "".join(rng.choice("abc ") for _ in range(rng.randrange(0, 12)))
        assert pg._levenshtein([ord(c) for c in a], [ord(c) for c in b]) == _naive_distance(a, b)


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract is not installed")
def test_tesseract_reads_a_clean_letter(tmp_path):
    langs = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True).stdout.split()
    if "hin" not in langs:
        pytest.skip("tesseract has no Hindi model (tesseract-ocr-hin)")
    img, truth = pg.make_page(1, "letter", dpi=300)
    pg.save_image(img, tmp_path / "letter.png", dpi=300)
    out = subprocess.run(
        ["tesseract", str(tmp_path / "letter.png"), "-", "-l", "hin+eng"],
        capture_output=True, text=True, timeout=120, env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr
    assert pg.cer(truth.text, out.stdout) < 0.10
    # The truth's items are the ones drawn on this page: every name, the village and the
    # crime number of each entry are read as recorded (a truth describing another page,
    # or items recorded but not drawn, fails here).
    read = " ".join(out.stdout.split())
    items = [x for e in truth.entries for x in (*e.names, e.village, e.crime_no)]
    assert len(items) >= 4
    assert [x for x in items if x not in read] == []


# ----------------------------------------------------------------------------- CLI


def test_cli_bundle_as_module(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "tests.fixtures.pagegen", "bundle", str(tmp_path), "--pages", "2", "--seed", "1",
         "--kind", "letter", "--dpi", "100"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "page1.png" in out.stdout and "truth.json" in out.stdout
    assert (tmp_path / "page2.png").is_file() and len(pg.load_truth(tmp_path / "truth.json")) == 2


def test_cli_corpus_and_bad(tmp_path, capsys):
    assert pg._main(["corpus", str(tmp_path / "c"), "--pages", "2", "--seed", "4"]) == 0
    assert pg._main(["bad", str(tmp_path / "b")]) == 0
    printed = capsys.readouterr().out
    assert "corpus.json" in printed and "locked.pdf" in printed
    assert len(list((tmp_path / "c").glob("*.png"))) == 2
