"""OCR benchmark: plain Tesseract vs OCRmyPDF vs abhilekh on one degraded corpus.

    .venv/bin/python bench/ocr_bench.py [--pages 40] [--seed 1] [--jobs 2]
                                        [--skip-ocrmypdf] [--quick]

The corpus is made by tests/fixtures/pagegen.py (registers and letters, Hindi +
English, 200-300 dpi, skew, 90/180/270 rotations, noise, blur, JPEG, tinted paper,
dark borders, ~10% heavily damaged), with its ground-truth text, and cached under
${ABHILEKH_CACHE:-~/.cache/abhilekh}/bench/ocr-corpus-<seed>-<n>. The tools run one
after the other on the same cores, each with JOBS single-threaded Tesseracts:

  tesseract  `tesseract IMG OUT -l hin+eng txt pdf` on the raw image, a pool of JOBS
             processes, OMP_THREAD_LIMIT=1 (its own PDF is what the size column shows)
  ocrmypdf   `ocrmypdf --rotate-pages --deskew --clean -l hin+eng --image-dpi DPI
             --sidecar TXT --jobs 1 IMG OUT.pdf`, a pool of JOBS files at a time (each
             file is one page, so --jobs above 1 would leave cores idle); installed
             into its own venv in the cache directory, never into the project
  abhilekh   the real command, `.venv/bin/abhilekh ocr IMG... --out-dir DIR` with
             ABHILEKH_OCR_JOBS=JOBS; the PDF size (and page confidence) comes from
             ingest.process.process_page, the very function that command runs

CER and WER use pagegen.cer / pagegen.wer: both texts NFC-normalised and every run of
whitespace (newlines too) made one space; CER = character edit distance / reference
length, WER the same over words. Table figures are means over pages.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fixtures.pagegen import cer, make_corpus, make_page, save_image, wer  # noqa: E402

A4_PT2 = 595.28 * 841.89  # A4 area in square points
PROFILES = ("clean", "light", "medium", "heavy")
HIGH_CER = 0.10  # a page this wrong needs a person: what review flags should catch


def cache_dir() -> Path:
    base = os.environ.get("ABHILEKH_CACHE") or str(Path.home() / ".cache" / "abhilekh")
    return Path(base) / "bench"


# ----------------------------------------------------------------------------- corpus


@dataclass
class Page:
    name: str
    image: Path
    truth: str
    dpi: int
    profile: str
    kind: str


def corpus(seed: int, pages: int) -> list[Page]:
    out = cache_dir() / f"ocr-corpus-{seed}-{pages}"
    manifest = out / "corpus.json"
    if not manifest.exists():
        print(f"generating {pages} pages into {out} …", flush=True)
        tmp = out.with_name(out.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        make_corpus(tmp, seed=seed, pages=pages)
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
    data = json.loads(manifest.read_text(encoding="utf-8"))
    result = []
    for item in data["pages"]:
        m = item["meta"]
        result.append(Page(
            m["name"], out / m["image"], (out / m["truth"]).read_text(encoding="utf-8"),
            int(m["dpi"]), m["profile"], item.get("kind") or m["name"].split("-")[1],
        ))
    return result


def clean_renders(seed: int, count: int) -> list[Page]:
    """Undegraded 300-dpi renders, half registers and half letters."""
    out = cache_dir() / f"ocr-clean-{seed}-{count}"
    out.mkdir(parents=True, exist_ok=True)
    result = []
    for i in range(count):
        kind = ("register", "letter")[i % 2]
        name = f"c{i + 1:03d}-{kind}"
        png, txt = out / f"{name}.png", out / f"{name}.txt"
        if not (png.exists() and txt.exists()):
            img, truth = make_page(seed * 1000 + 500 + i, kind, dpi=300, profile="clean")
            save_image(img, png, dpi=300)
            txt.write_text(truth.text + "\n", encoding="utf-8")
        result.append(Page(name, png, txt.read_text(encoding="utf-8"), 300, "clean", kind))
    return result


# ----------------------------------------------------------------------------- tools


@dataclass
class Run:
    tool: str
    texts: dict[str, str] = field(default_factory=dict)
    pdf_bytes: dict[str, int] = field(default_factory=dict)  # per page, A4-normalised
    seconds: float = 0.0
    cpu: float = 0.0  # user+sys seconds of the child processes (Tesseract, OCRmyPDF, abhilekh)
    errors: list[str] = field(default_factory=list)
    note: str = ""


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _single_thread_env() -> dict[str, str]:
    return dict(os.environ, OMP_THREAD_LIMIT="1")


def a4_bytes(pdf: bytes | Path) -> int:
    """PDF size scaled to an A4 page by the page's physical area (mediabox)."""
    import io

    import pikepdf

    data = pdf.read_bytes() if isinstance(pdf, Path) else pdf
    with pikepdf.open(io.BytesIO(data)) as doc:
        area = 0.0
        for page in doc.pages:
            x0, y0, x1, y1 = (float(v) for v in page.mediabox)
            area += abs(x1 - x0) * abs(y1 - y0)
        n = len(doc.pages)
    return round(len(data) * A4_PT2 / (area / n) / n) if area else len(data)


def run_tesseract(pages: list[Page], jobs: int, work: Path) -> Run:
    run = Run("tesseract hin+eng (raw)")
    out = work / "tesseract"
    out.mkdir(parents=True, exist_ok=True)

    def one(p: Page) -> None:
        base = out / p.name
        proc = subprocess.run(
            ["tesseract", str(p.image), str(base), "-l", "hin+eng", "txt", "pdf"],
            capture_output=True, env=_single_thread_env(),
        )
        if proc.returncode != 0:
            run.errors.append(f"{p.name}: {proc.stderr.decode(errors='replace')[-200:]}")
            return
        run.texts[p.name] = base.with_suffix(".txt").read_text(encoding="utf-8")
        run.pdf_bytes[p.name] = a4_bytes(base.with_suffix(".pdf"))

    t, c = time.perf_counter(), _children_cpu()
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(one, pages))
    run.seconds, run.cpu = time.perf_counter() - t, _children_cpu() - c
    return run


def ocrmypdf_bin() -> tuple[Path | None, str]:
    """OCRmyPDF in its own venv under the cache (installed on first use)."""
    venv = cache_dir() / "bench-venv"
    exe = venv / "bin" / "ocrmypdf"
    if not exe.exists():
        print(f"installing OCRmyPDF into {venv} (not a project dependency) …", flush=True)
        try:
            subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
            subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "ocrmypdf"], check=True)
        except (subprocess.CalledProcessError, FileNotFoundError) as exc:
            return None, f"could not install OCRmyPDF: {exc}"
    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True).stdout.strip()
    return exe, version


def run_ocrmypdf(pages: list[Page], jobs: int, work: Path) -> Run:
    run = Run("ocrmypdf hin+eng")
    exe, version = ocrmypdf_bin()
    if exe is None:
        run.note = version
        return run
    clean = ["--clean"] if shutil.which("unpaper") else []
    run.note = (
        f"OCRmyPDF {version}; --rotate-pages --deskew {'--clean (unpaper installed with apt-get install unpaper)' if clean else '(no --clean: unpaper not installed; apt-get install unpaper)'}; "
        f"--jobs 1 per file, {jobs} files at a time; default output type (PDF/A via Ghostscript)"
    )
    out = work / "ocrmypdf"
    out.mkdir(parents=True, exist_ok=True)

    def one(p: Page) -> None:
        pdf, txt = out / f"{p.name}.pdf", out / f"{p.name}.txt"
        cmd = [
            str(exe), "--rotate-pages", "--deskew", *clean, "-l", "hin+eng",
            "--image-dpi", str(p.dpi), "--sidecar", str(txt), "--jobs", "1", "--quiet",
            str(p.image), str(pdf),
        ]
        proc = subprocess.run(cmd, capture_output=True, env=_single_thread_env())
        if proc.returncode != 0 or not txt.exists():
            run.errors.append(f"{p.name}: exit {proc.returncode} {proc.stderr.decode(errors='replace')[-300:]}")
            return
        run.texts[p.name] = txt.read_text(encoding="utf-8")
        run.pdf_bytes[p.name] = a4_bytes(pdf)

    t, c = time.perf_counter(), _children_cpu()
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(one, pages))
    run.seconds, run.cpu = time.perf_counter() - t, _children_cpu() - c
    return run


def run_abhilekh_cli(pages: list[Page], jobs: int, work: Path, label: str = "abhilekh") -> Run:
    run = Run(label)
    out = work / ("abhilekh-" + label.replace(" ", "-"))
    shutil.rmtree(out, ignore_errors=True)
    env = dict(os.environ, ABHILEKH_OCR_JOBS=str(jobs), ABHILEKH_HOME=str(work / "home"))
    exe = ROOT / ".venv" / "bin" / "abhilekh"
    cmd = [str(exe), "ocr", *(str(p.image) for p in pages), "--out-dir", str(out)]
    t, c = time.perf_counter(), _children_cpu()
    proc = subprocess.run(cmd, capture_output=True, env=env, cwd=ROOT)
    run.seconds, run.cpu = time.perf_counter() - t, _children_cpu() - c
    if proc.returncode != 0:
        run.errors.append(f"exit {proc.returncode}: {proc.stdout.decode(errors='replace')[-500:]}")
    for p in pages:
        txt = out / f"{p.image.stem}.txt"
        if txt.exists():
            run.texts[p.name] = txt.read_text(encoding="utf-8")
    return run


def _process_one(args: tuple[str, str, int]) -> tuple[str, int, float, str]:
    name, path, dpi = args
    from abhilekh.settings import Settings
    from ingest.load import read_pages
    from ingest.process import process_page

    settings = Settings()
    page = next(iter(read_pages(Path(path), settings)))
    result = process_page(page.image, page.dpi, settings)
    return name, a4_bytes(result.pdf_page), result.confidence, result.text


def abhilekh_pages(pages: list[Page], jobs: int) -> dict[str, tuple[int, float, str]]:
    """(A4-normalised PDF bytes, confidence, text) per page, via process_page."""
    with ProcessPoolExecutor(jobs) as pool:
        done = pool.map(_process_one, [(p.name, str(p.image), p.dpi) for p in pages])
        return {name: (size, conf, text) for name, size, conf, text in done}


# ----------------------------------------------------------------------------- figures


@dataclass
class Scores:
    cer: dict[str, float]
    wer: dict[str, float]


def score(run: Run, pages: list[Page]) -> Scores:
    """Missing output counts as all wrong (CER = WER = 1)."""
    c, w = {}, {}
    for p in pages:
        hyp = run.texts.get(p.name)
        c[p.name] = cer(p.truth, hyp) if hyp is not None else 1.0
        w[p.name] = wer(p.truth, hyp) if hyp is not None else 1.0
    return Scores(c, w)


def mean(values) -> float:
    values = list(values)
    return statistics.fmean(values) if values else float("nan")


def pearson(x: list[float], y: list[float]) -> float:
    if len(x) < 3 or statistics.pstdev(x) == 0 or statistics.pstdev(y) == 0:
        return float("nan")
    return statistics.correlation(x, y)


def spearman(x: list[float], y: list[float]) -> float:
    def ranks(v: list[float]) -> list[float]:
        order = sorted(range(len(v)), key=lambda i: v[i])
        r = [0.0] * len(v)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
                j += 1
            for k in range(i, j + 1):
                r[order[k]] = (i + j) / 2
            i = j + 1
        return r

    return pearson(ranks(x), ranks(y))


def review_figures(conf: dict[str, float], cer_: dict[str, float], threshold: float) -> dict:
    names = list(conf)
    flagged = {n for n in names if conf[n] < threshold}
    bad = {n for n in names if cer_[n] > HIGH_CER}
    hit = flagged & bad
    return {
        "threshold": threshold,
        "flagged": len(flagged),
        "bad": len(bad),
        "precision": len(hit) / len(flagged) if flagged else float("nan"),
        "recall": len(hit) / len(bad) if bad else float("nan"),
        "flagged_cer": mean(cer_[n] for n in flagged),
        "unflagged_cer": mean(cer_[n] for n in names if n not in flagged),
    }


def fmt_bytes(n: float) -> str:
    return "–" if n != n else f"{n / 1024:,.0f} KB"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--skip-ocrmypdf", action="store_true")
    ap.add_argument("--quick", action="store_true", help="8 pages, a smoke run")
    ap.add_argument("--clean-pages", type=int, default=None, help="undegraded renders (default 6, quick 2)")
    ap.add_argument("--work", type=Path, default=None, help="keep outputs here (default: a temp dir)")
    a = ap.parse_args(argv)
    if a.quick:
        a.pages = 8
    n_clean = a.clean_pages if a.clean_pages is not None else (2 if a.quick else 6)

    pages = corpus(a.seed, a.pages)
    cleans = clean_renders(a.seed, n_clean)
    work = a.work or Path(tempfile.mkdtemp(prefix="abhilekh-ocr-bench-"))
    work.mkdir(parents=True, exist_ok=True)

    from abhilekh.settings import Settings
    from ingest.ocr import tesseract_version

    settings = Settings()
    print(f"# OCR benchmark {dt.date.today().isoformat()} — {platform.node()}, {os.cpu_count()} cores, "
          f"Tesseract {tesseract_version()}, jobs={a.jobs}")
    print(f"# command: {' '.join([Path(sys.executable).name, 'bench/ocr_bench.py', *(argv if argv is not None else sys.argv[1:])])}")
    counts = {pr: sum(p.profile == pr for p in pages) for pr in PROFILES}
    print(f"# corpus: {len(pages)} pages, seed {a.seed} ({', '.join(f'{k} {v}' for k, v in counts.items())}; "
          f"{sum(p.kind == 'register' for p in pages)} registers; {sum(p.dpi < 250 for p in pages)} at 200 dpi); "
          f"{cache_dir() / f'ocr-corpus-{a.seed}-{a.pages}'}")
    print(f"# abhilekh settings: ocr_languages={settings.ocr_languages} ocr_psm={settings.ocr_psm} "
          f"review_confidence={settings.review_confidence:g}", flush=True)

    load0 = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    runs: list[Run] = []
    print("running plain tesseract …", flush=True)
    runs.append(run_tesseract(pages, a.jobs, work))
    if not a.skip_ocrmypdf:
        print("running ocrmypdf …", flush=True)
        runs.append(run_ocrmypdf(pages, a.jobs, work))
    print("running abhilekh ocr …", flush=True)
    ab = run_abhilekh_cli(pages, a.jobs, work)
    runs.append(ab)
    print("measuring abhilekh PDF pages and confidence (process_page) …", flush=True)
    detail = abhilekh_pages(pages, a.jobs)
    ab.pdf_bytes = {n: d[0] for n, d in detail.items()}
    same = sum(detail[p.name][2] == ab.texts.get(p.name) for p in pages)
    print("running abhilekh ocr on clean renders …", flush=True)
    clean_run = run_abhilekh_cli(cleans, a.jobs, work, "abhilekh clean")

    scores = {r.tool: score(r, pages) for r in runs}
    print()
    print("| tool | CER | WER | pages/min | PDF bytes/page (A4) | CPU s/page | pages/min from CPU time |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    ppm, cpu_ppm = {}, {}
    for r in runs:
        s = scores[r.tool]
        ppm[r.tool] = len(pages) / r.seconds * 60 if r.seconds else float("nan")
        per = r.cpu / len(pages)
        cpu_ppm[r.tool] = 60 * a.jobs / per if per else float("nan")
        size = mean(r.pdf_bytes.values()) if r.pdf_bytes else float("nan")
        print(f"| {r.tool} | {mean(s.cer.values()):.3f} | {mean(s.wer.values()):.3f} | {ppm[r.tool]:.1f} | "
              f"{fmt_bytes(size)} | {per:.1f} | {cpu_ppm[r.tool]:.1f} |")
    print(f"(pages/min: wall clock, {a.jobs} jobs; 'from CPU time' = {a.jobs} cores x 60 / CPU seconds per page, "
          f"what the same work gives on {a.jobs} otherwise idle cores. Load average at start {load0}, at end "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}.)")
    print()
    print("Per-profile CER (pages):")
    print("| tool | " + " | ".join(f"{pr} ({counts[pr]})" for pr in PROFILES) + " |")
    print("|---|" + "---:|" * len(PROFILES))
    for r in runs:
        s = scores[r.tool]
        cells = [f"{mean(s.cer[p.name] for p in pages if p.profile == pr):.3f}" if counts[pr] else "–" for pr in PROFILES]
        print(f"| {r.tool} | " + " | ".join(cells) + " |")
    lo = [p for p in pages if p.dpi < 250]
    hi = [p for p in pages if p.dpi >= 250]
    print()
    print("By resolution / kind (CER): " + "; ".join(
        f"{r.tool}: 200dpi {mean(scores[r.tool].cer[p.name] for p in lo):.3f}, 300dpi {mean(scores[r.tool].cer[p.name] for p in hi):.3f}, "
        f"registers {mean(scores[r.tool].cer[p.name] for p in pages if p.kind == 'register'):.3f}, "
        f"letters {mean(scores[r.tool].cer[p.name] for p in pages if p.kind == 'letter'):.3f}"
        for r in runs))
    clean_cer = score(clean_run, cleans)
    clean_mean = mean(clean_cer.cer.values())
    print()
    print(f"clean renders: CER {clean_mean:.4f} (abhilekh, {len(cleans)} undegraded 300-dpi pages; "
          f"worst {max(clean_cer.cer.values()):.4f}; WER {mean(clean_cer.wer.values()):.3f})")
    print("Text normalisation before comparing: NFC, every whitespace run (newlines too) -> one space, "
          "stripped (pagegen.normalise_text); no other folding. Means are over pages; missing output counts as CER 1.")
    print(f"process_page text identical to `abhilekh ocr` output on {same}/{len(pages)} pages.")
    for r in runs:
        if r.note:
            print(f"note [{r.tool}]: {r.note}")
        for e in r.errors[:5]:
            print(f"error [{r.tool}]: {e}")
    for e in clean_run.errors[:3]:
        print(f"error [abhilekh clean]: {e}")

    # Review flags: do low-confidence pages coincide with high-error pages?
    conf = {n: d[1] for n, d in detail.items()}
    ab_cer = scores[ab.tool].cer
    xs = [conf[p.name] for p in pages]
    ys = [ab_cer[p.name] for p in pages]
    print()
    print(f"Review calibration (abhilekh page confidence vs CER; 'high error' = CER > {HIGH_CER:.2f}, "
          f"{sum(c > HIGH_CER for c in ys)} pages): Pearson r = {pearson(xs, ys):.2f}, Spearman rho = {spearman(xs, ys):.2f}")
    print("| flag below confidence | flagged | precision | recall | mean CER flagged | mean CER not flagged |")
    print("|---:|---:|---:|---:|---:|---:|")
    for th in sorted({settings.review_confidence, 50.0, 60.0, 70.0, 75.0, 80.0, 85.0}):
        f = review_figures(conf, ab_cer, th)
        mark = " (review_confidence)" if th == settings.review_confidence else ""
        print(f"| {th:g}{mark} | {f['flagged']} | {f['precision']:.2f} | {f['recall']:.2f} | "
              f"{f['flagged_cer']:.3f} | {f['unflagged_cer']:.3f} |")
    print("per page (confidence, CER): " + ", ".join(f"{p.name[:4]} {conf[p.name]:.0f}/{ab_cer[p.name]:.2f}" for p in pages))

    # Targets (issue 4)
    tcer = mean(scores[runs[0].tool].cer.values())
    acer = mean(scores[ab.tool].cer.values())
    a4 = mean(ab.pdf_bytes.values())
    print()
    print("Targets (issue 4):")

    def target(ok: bool, text: str) -> None:
        print(f"  {'PASS' if ok else 'MISS'}  {text}")

    target(acer <= 0.25 * tcer, f"CER <= 25% of plain Tesseract's: {acer:.3f} vs {tcer:.3f} ({acer / tcer:.0%})")
    if not a.skip_ocrmypdf and scores.get("ocrmypdf hin+eng") and runs[1].texts:
        ocer = mean(scores["ocrmypdf hin+eng"].cer.values())
        target(acer <= 0.5 * ocer, f"CER <= 50% of OCRmyPDF's: {acer:.3f} vs {ocer:.3f} ({acer / ocer:.0%})")
    else:
        print("  ----  CER vs OCRmyPDF: not run")
    target(ppm[ab.tool] >= 1.2 * ppm[runs[0].tool],
           f"pages/min >= 1.2x plain Tesseract's (wall clock): {ppm[ab.tool]:.1f} vs {ppm[runs[0].tool]:.1f} ({ppm[ab.tool] / ppm[runs[0].tool]:.2f}x)")
    target(cpu_ppm[ab.tool] >= 1.2 * cpu_ppm[runs[0].tool],
           f"  same, from CPU time: {cpu_ppm[ab.tool]:.1f} vs {cpu_ppm[runs[0].tool]:.1f} ({cpu_ppm[ab.tool] / cpu_ppm[runs[0].tool]:.2f}x)")
    target(a4 <= 0.3 * 1024 * 1024, f"PDF <= 0.3 MB per A4 page at 300 dpi: {a4 / 1024:.0f} KB (max {max(ab.pdf_bytes.values()) / 1024:.0f} KB)")
    target(clean_mean <= 0.02, f"clean renders CER <= 0.02: {clean_mean:.4f}")
    if a.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
