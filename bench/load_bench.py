"""Load benchmark: simulated officers searching and opening pages against `abhilekh serve`.

    .venv/bin/python bench/load_bench.py                    # 20 officers, 60 s, 10,000 pages
    .venv/bin/python bench/load_bench.py --seconds 20 --users 5 --pages 2000
    ABHILEKH_ES_URL=http://127.0.0.1:9201 .venv/bin/python bench/load_bench.py  # + Elasticsearch

Set-up (not timed): a fresh ABHILEKH_HOME in a temporary directory; N synthetic pages
(bench/_corpus_text.py, from tests/fixtures/vocab.py) indexed directly as
SearchDocuments (no OCR); per bundle a small real PDF (one blank page per page), per
page a thumbnail in the store as ingest makes it (`ingest.thumbnail.make_thumbnail` on
a rendered 300-dpi page, `storage.bundles.thumb_key`; --no-stored-thumbs leaves them
out, as for bundles stored before thumbnails, so the server renders them) and a
manifest in the embedded store; one officer account per simulated user, each granted
one station (every fourth officer two, exercising the merged multi-station search),
with the production argon2 hasher. `abhilekh serve` runs as a subprocess on a free
127.0.0.1 port with its default number of workers (one per CPU; --workers N).

Each simulated officer logs in once (POST /api/login), then loops until time is up:
search on the web page (GET /?q=..., the HTML an officer gets; queries are names in
Devanagari or Latin letters, crime numbers, sections, villages of the officer's own
stations), load the thumbnails of the hits shown (as a browser would; --no-thumbs to
skip), open the first hit's page viewer (with the query: the hit's words boxed on the
page image, from pages/<n>.json) and its PDF (GET .../document.pdf?page=n).
Every request is audited by the server, as in production. --think adds a pause
between iterations (0 = back-to-back, the worst case).

The viewer's large page image (GET .../pages/<n>/large.jpg, rendered from the PDF on
first view and kept) is loaded after each viewer page, as the browser does.

--mode picks what the officers do, comma-separated, each a run of --seconds against the
same built data: `mixed` (the loop above), `search` (only searches) and `page` (only page
views: the viewer page with the query and its large image, over the hits of the
officer's warm-up searches, their large images rendered during warm-up: the steady
state, a page viewed before). `search` and `page` give the server's CPU per request of
that kind alone (the CPU of the server's processes / requests). --think takes a list
too (e.g. 0,1). --port N or --port A-B: the server's port (the first free one of the
range), for a machine where ports are shared out.

Prints one table per backend: requests, throughput, p50/p95/p99 latency, errors and the
server's CPU per request, overall and per request kind. Targets: p95 <= 200 ms and zero
errors; server CPU <= 2.5 ms per request for search and for page views (issue 15).
"""

from __future__ import annotations

import argparse
import asyncio
import html as html_mod
import io
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import pikepdf  # noqa: E402

from abhilekh.records import SearchDocument  # noqa: E402
from abhilekh.settings import Settings  # noqa: E402

# The viewer link carries the query (?q=...), which boxes the hit on the page image.
HIT_LINK = re.compile(r'<a class="open" href="(/bundles/[0-9a-f]{64}/pages/(\d+)(?:\?q=[^"]*)?)"')
THUMB = re.compile(r'<img src="(/bundles/[0-9a-f]{64}/pages/\d+/thumb\.jpg)"')
PASSWORD = "load-bench-pass-1"


def _pdf(pages: int) -> bytes:
    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page(page_size=(595, 842))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


THUMB_VARIANTS = 12  # distinct rendered pages; thumbnails are ~15-25 kB like real ones


def _page_text(doc: SearchDocument, n: int):
    """pages/<n>.json as ingest stores it: the text and a box per word (laid out in
    lines on an A4 page at 300 dpi), so the viewer's hit boxes cost what they would."""
    from abhilekh.records import PageText, Word

    words, x, y = [], 150, 200
    for line, chunk in enumerate(doc.text.split("\n")):
        for w in chunk.split():
            width = 40 * len(w)
            if x + width > 2330:
                x, y = 150, y + 70
            words.append(Word(w, x, y, width, 50, 90.0, line))
            x += width + 30
        x, y = 150, y + 70
    return PageText(bundle_id=doc.bundle_id, page=n, source="bench.pdf", source_page=n,
                    text=doc.text, confidence=doc.confidence, needs_review=False,
                    width=2480, height=max(3508, y + 100), words=words)


def _thumbnails(seed: int) -> list[bytes]:
    """Thumbnails made by the ingest function from rendered 300-dpi pages."""
    import numpy as np

    from ingest.thumbnail import make_thumbnail
    from tests.fixtures.pagegen import render_page

    return [make_thumbnail(np.asarray(render_page(seed + i, dpi=300).convert("L")))
            for i in range(THUMB_VARIANTS)]


def build(home: Path, pages: int, users: int, es_url: str | None, seed: int = 7,
          stored_thumbs: bool = True):
    """Index, store, users. Returns {user: [queries]}."""
    from access.users import UserStore
    from bench._corpus_text import corpus
    from search import open_index
    from storage import open_store
    from storage.bundles import Manifest, SourceFile, pdf_key, save_manifest, save_page, thumb_key

    settings = Settings(home=home, es_url=es_url, s3_endpoint=None,
                        es_index=f"load-bench-{os.getpid()}")
    index, store = open_index(settings), open_store(settings)
    bundles: dict[str, list[SearchDocument]] = defaultdict(list)
    queries: dict[str, list[str]] = defaultdict(list)  # station -> queries with answers
    batch: list[SearchDocument] = []
    t0 = time.perf_counter()
    for doc, facts in corpus(pages, seed):
        bundles[doc.bundle_id].append(doc)
        batch.append(doc)
        for f in facts[:2]:
            qs = queries[doc.metadata.thana]
            if len(qs) < 400:
                qs += [f.names[0], f.names_latin[0], f"मु0अ0सं0 {f.crime_no}",
                       f"धारा {f.sections[0]}", f.village]
        if len(batch) >= 500:
            index.index(batch)
            batch = []
    if batch:
        index.index(batch)
    thumbs = _thumbnails(seed) if stored_thumbs else []
    for b, (bundle_id, docs) in enumerate(bundles.items()):
        n = max(d.page for d in docs)
        store.put(pdf_key(bundle_id), _pdf(n), "application/pdf")
        for doc in docs:
            save_page(store, _page_text(doc, doc.page))
        for page in range(1, n + 1) if thumbs else ():
            store.put(thumb_key(bundle_id, page), thumbs[(b + page) % len(thumbs)], "image/jpeg")
        save_manifest(store, Manifest(
            bundle_id=bundle_id, metadata=docs[0].metadata,
            sources=[SourceFile("bench.pdf", "0" * 64, 1, pages=n)], page_count=n,
            page_confidence=[d.confidence for d in sorted(docs, key=lambda d: d.page)],
            needs_review=[], versions={}, created_at="2025-01-01T00:00:00+00:00"))
    print(f"  indexed {pages} pages in {len(bundles)} bundles "
          f"({time.perf_counter() - t0:.0f} s); {index.describe()}", flush=True)
    index.close()

    stations = sorted(queries)
    accounts = UserStore(settings.users_path)
    plan: dict[str, list[str]] = {}
    for i in range(users):
        mine = [stations[i % len(stations)]]
        if i % 4 == 3:
            mine.append(stations[(i + 1) % len(stations)])
        name = f"officer{i:02d}"
        accounts.add(name, "officer", PASSWORD, mine)
        plan[name] = [q for s in mine for q in queries[s]]
    accounts.add("admin", "admin", PASSWORD)  # renders the large images in "page" warm-up
    accounts.close()
    return settings, plan


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pick_port(spec: str | None) -> int:
    """A free port: any (None), exactly N ("9295"), or the first free one of "A-B"."""
    if not spec:
        return _free_port()
    lo, _, hi = spec.partition("-")
    for port in range(int(lo), int(hi or lo) + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {spec}")


def start_server(settings: Settings, workers: int | None = None,
                 port_spec: str | None = None) -> tuple[subprocess.Popen, str]:
    port = pick_port(port_spec)
    env = {**os.environ, "ABHILEKH_HOME": str(settings.home), "ABHILEKH_PORT": str(port),
           "ABHILEKH_HOST": "127.0.0.1"}
    env.pop("ABHILEKH_ES_URL", None)
    if settings.es_url:
        env["ABHILEKH_ES_URL"] = settings.es_url
        env["ABHILEKH_ES_INDEX"] = settings.es_index
    proc = subprocess.Popen(
        [sys.executable, "-c", "from cli.app import app; app()", "serve",
         *(["--workers", str(workers)] if workers else [])],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180  # a shared machine at load 20+ starts it slowly
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("abhilekh serve exited: " + proc.stderr.read().decode()[-2000:])
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("abhilekh serve did not answer /healthz in 180 s")


async def officer(base: str, name: str, queries: list[str], until: list[float], thumbs: bool,
                  think: float, stats: dict, errors: list, rng: random.Random,
                  mode: str = "mixed", views: list[str] | None = None,
                  gate: asyncio.Barrier | None = None) -> None:
    """One officer's loop, at least one iteration, until `until[0]` (read after the
    log-in). `views` collects the viewer links of the hits (warm-up) and, in mode
    "page", is what the officer opens. With a `gate`, the officer logs in and waits
    there, so that the log-ins (argon2, ~0.1-0.3 s of CPU each) are not measured."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as c:
        r = await c.post("/api/login", json={"username": name, "password": PASSWORD})
        if gate is not None:
            await gate.wait()
        if r.status_code != 200:
            errors.append(f"{name}: login {r.status_code}")
            return

        async def get(kind: str, url: str, **kw) -> httpx.Response | None:
            t = time.perf_counter()
            try:
                resp = await c.get(url, **kw)
            except httpx.HTTPError as exc:
                errors.append(f"{kind}: {exc!r}")
                return None
            stats[kind].append(time.perf_counter() - t)
            if resp.status_code != 200:
                errors.append(f"{kind} {url}: {resp.status_code}")
                return None
            return resp

        async def open_page(view: str) -> None:
            await get("page", view)
            await get("large", view.split("?")[0] + "/large.jpg")

        first = True
        while first or time.monotonic() < until[0]:
            first = False
            if mode == "page" and views:
                await open_page(rng.choice(views))
                if think:
                    await asyncio.sleep(rng.uniform(0.5, 1.5) * think)
                continue
            r = await get("search", "/", params={"q": rng.choice(queries)})
            if r is not None and views is not None:
                views.extend(html_mod.unescape(h[0]) for h in HIT_LINK.findall(r.text)[:3])
            if r is not None and time.monotonic() < until[0] and mode == "mixed":
                html = r.text
                if thumbs:
                    await asyncio.gather(*(get("thumbnail", u) for u in THUMB.findall(html)))
                hit = HIT_LINK.search(html)
                if hit:
                    view, page = html_mod.unescape(hit.group(1)), hit.group(2)
                    await open_page(view)
                    await get("pdf", view.split("/pages/")[0] + "/document.pdf",
                              params={"page": page})
            if think:
                await asyncio.sleep(rng.uniform(0.5, 1.5) * think)


def _tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by process `pid` and its descendants
    (the uvicorn workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    tree, grew = {pid}, True
    while grew:
        grew = False
        for p, (ppid, _) in stats.items():
            if ppid in tree and p not in tree:
                tree.add(p)
                grew = True
    return sum(stats[p][1] for p in tree if p in stats)


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] * 1000


def run(label: str, settings: Settings, plan: dict[str, list[str]], seconds: float,
        thumbs: bool, think: float, workers: int | None = None, mode: str = "mixed",
        port_spec: str | None = None) -> list[tuple]:
    proc, base = start_server(settings, workers, port_spec)
    label = f"{label} {mode} think {think:g}"
    try:
        stats: dict[str, list[float]] = defaultdict(list)
        errors: list[str] = []
        views: dict[str, list[str]] = {n: [] for n in plan}

        async def timed() -> float:
            # Warm-up, not counted: searches per officer (logs in; the hits' links), and
            # in mode "page" each of those pages opened once (its large image rendered).
            warm: dict[str, list[float]] = defaultdict(list)
            warm_for = 3.0 if mode == "page" else 0.01
            warm_until = [time.monotonic() + warm_for]
            await asyncio.gather(*(officer(base, n, q, warm_until, False, 0, warm,
                                           errors, random.Random(-1), "search", views[n])
                                   for n, q in plan.items()))
            if mode == "page":
                async with httpx.AsyncClient(base_url=base, timeout=120) as c:
                    await c.post("/api/login", json={"username": "admin", "password": PASSWORD})
                    seen = sorted({v.split("?")[0] for vs in views.values() for v in vs})
                    for i in range(0, len(seen), 4):
                        await asyncio.gather(*(c.get(v + "/large.jpg") for v in seen[i:i + 4]))
            gate = asyncio.Barrier(len(plan) + 1)
            until = [float("inf")]
            tasks = [asyncio.ensure_future(officer(base, n, q, until, thumbs, think, stats, errors,
                                                   random.Random(i), mode,
                                                   views[n] if mode == "page" else None, gate))
                     for i, (n, q) in enumerate(plan.items())]
            await gate.wait()  # every officer logged in: measure from here
            cpu0 = _tree_cpu(proc.pid), time.process_time()
            t = time.monotonic()
            until[0] = t + seconds
            await asyncio.gather(*tasks)
            cpu.extend([_tree_cpu(proc.pid) - cpu0[0], time.process_time() - cpu0[1]])
            return time.monotonic() - t

        cpu: list[float] = []
        # uvloop (a server dependency) for the client too: the simulated officers share
        # the 2 cores with the server, so every ms the client saves is the server's.
        try:
            import uvloop
        except ImportError:
            elapsed = asyncio.run(timed())
        else:
            elapsed = uvloop.run(timed())
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    everything = [v for vals in stats.values() for v in vals]
    per_request = cpu[0] / len(everything) * 1000 if everything and cpu else float("nan")
    rows = [(label, "all", len(everything), len(everything) / elapsed, _pct(everything, 50),
             _pct(everything, 95), _pct(everything, 99), len(errors), per_request)]
    for kind in ("search", "thumbnail", "page", "large", "pdf"):
        if stats.get(kind):
            v = stats[kind]
            rows.append((label, kind, len(v), len(v) / elapsed, _pct(v, 50), _pct(v, 95),
                         _pct(v, 99), sum(1 for e in errors if e.startswith(kind)), float("nan")))
    if errors:
        print(f"  {len(errors)} error(s), e.g. {errors[:3]}")
    searches = len(stats.get("search", []))
    print(f"  {label}: {searches} searches by {len(plan)} officers in {elapsed:.0f} s "
          f"= {searches / elapsed:.1f} searches/s")
    # Where the 2 cores went: the server's processes, this client, and (the rest of
    # cores x seconds) everything else on the machine, e.g. Elasticsearch.
    if everything and cpu:
        print(f"  CPU: server {cpu[0]:.0f} s ({cpu[0] / len(everything) * 1000:.1f} ms/request), "
              f"bench client {cpu[1]:.0f} s ({cpu[1] / len(everything) * 1000:.1f} ms/request), "
              f"of {elapsed * (os.cpu_count() or 1):.0f} CPU-s available")
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--pages", type=int, default=10_000)
    ap.add_argument("--think", default="0",
                    help="mean pause between an officer's iterations, seconds (0: none); a list: 0,1")
    ap.add_argument("--mode", default="mixed",
                    help="mixed, search, page or a list (mixed,search,page): one run each")
    ap.add_argument("--port", default=None,
                    help="the server's port, N or a range A-B (first free); default any free port")
    ap.add_argument("--no-thumbs", dest="thumbs", action="store_false",
                    help="officers do not load the hits' thumbnails")
    ap.add_argument("--no-stored-thumbs", dest="stored_thumbs", action="store_false",
                    help="store no thumbnails (bundles from before they were made at ingest)")
    ap.add_argument("--workers", type=int, default=None,
                    help="server processes (default: serve's own default, one per CPU)")
    ap.add_argument("--home", type=Path, default=None,
                    help="build the data into DIR and keep it; a later run with the same DIR reuses it "
                         "(SQLite only; a 10,000-page build takes ~5-10 min on a shared 2-core box)")
    ap.add_argument("--backend", choices=["sqlite", "elastic", "both"], default=None,
                    help="default: sqlite, plus elastic when ABHILEKH_ES_URL is set")
    args = ap.parse_args()
    es_url = os.environ.get("ABHILEKH_ES_URL")
    backends = ([args.backend] if args.backend in ("sqlite", "elastic")
                else ["sqlite", "elastic"] if args.backend == "both" or es_url else ["sqlite"])
    if "elastic" in backends and not es_url:
        print("ABHILEKH_ES_URL is unset: cannot run the Elasticsearch backend", file=sys.stderr)
        return 2
    from web.app import default_workers

    workers = args.workers or default_workers(Settings(es_url=None, s3_endpoint=None))
    modes = [m.strip() for m in args.mode.split(",") if m.strip()]
    if not modes or set(modes) - {"mixed", "search", "page"}:
        print(f"--mode: mixed, search or page, not {args.mode!r}", file=sys.stderr)
        return 2
    thinks = [float(t) for t in str(args.think).split(",") if t.strip()]
    print(f"{args.users} officers, {args.seconds:.0f} s, {args.pages} pages, think "
          f"{'/'.join(f'{t:g}' for t in thinks)} s, modes {','.join(modes)}, thumbnails {'on' if args.thumbs else 'off'} "
          f"({'stored at ingest' if args.stored_thumbs else 'rendered on first view'}), "
          f"{workers} server worker(s), {os.cpu_count()} CPUs, search cache "
          f"{os.environ.get('ABHILEKH_SEARCH_CACHE', 'default')}, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rows: list[tuple] = []
    for backend in backends:
        kept = args.home if backend == "sqlite" else None
        tmp = Path(tempfile.mkdtemp(prefix=f"abhilekh-load-{backend}-"))
        try:
            plan_file = kept / "plan.json" if kept else None
            if plan_file is not None and plan_file.exists():
                print(f"[{backend}] reusing {kept} (built before; --pages/--users of that build)", flush=True)
                settings = Settings(home=kept, es_url=None, s3_endpoint=None)
                plan = json.loads(plan_file.read_text())
            else:
                print(f"[{backend}] building …", flush=True)
                settings, plan = build(kept or tmp / "home", args.pages, args.users,
                                       es_url if backend == "elastic" else None,
                                       stored_thumbs=args.stored_thumbs)
                if plan_file is not None:
                    plan_file.write_text(json.dumps(plan, ensure_ascii=False))
            for mode in modes:
                for think in thinks:
                    rows += run(backend, settings, plan, args.seconds, args.thumbs, think, workers, mode,
                                args.port)
            print(f"  load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            if backend == "elastic":
                from search import open_index

                idx = open_index(settings)
                idx.drop()  # type: ignore[attr-defined]
                idx.close()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print()
    print("| run | requests | count | req/s | p50 ms | p95 ms | p99 ms | errors | server CPU ms/req |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, kind, n, rate, p50, p95, p99, errs, cpu_ms in rows:
        cell = "" if cpu_ms != cpu_ms else f"{cpu_ms:.2f}"  # NaN: not measured per kind
        print(f"| {label} | {kind} | {n} | {rate:.1f} | {p50:.0f} | {p95:.0f} | {p99:.0f} | {errs} | {cell} |")
    ok = all(r[5] <= 200 and r[7] == 0 for r in rows if r[1] == "all")
    print(f"\ntarget p95 <= 200 ms and zero errors: {'met' if ok else 'MISSED'}")
    split = [r for r in rows if r[1] == "all" and (" search " in r[0] or " page " in r[0])]
    if split:
        cpu_ok = all(r[8] <= 2.5 for r in split)
        print(f"target server CPU <= 2.5 ms/request for search and page views: {'met' if cpu_ok else 'MISSED'} "
              f"({', '.join(f'{r[0]}: {r[8]:.2f} ms' for r in split)})")
        ok = ok and cpu_ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
