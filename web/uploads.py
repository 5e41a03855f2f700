"""Scanning operators' uploads: one bundle of scans and its facts, saved under
ABHILEKH_HOME/uploads/<job>/ and ingested in the background by the same pipeline as the
CLI (`abhilekh batch` with a one-row manifest: a Prefect flow run), one job at a time.

A job is a folder: ``job.json`` (who, the facts, the state), ``scans/`` (the files as
uploaded), ``log.txt`` (the command's output) and ``report/report.json`` (the batch
report: pages, pages to review, quarantined files and why). States: uploading → queued →
running → done | failed. A resumable upload (the page's JavaScript) declares its files
first (``parts``: name and size) and sends each in chunks at an offset; each chunk is
appended to ``scans/<name>.part`` and fsynced before it is acknowledged, so the bytes a
chunk was acknowledged for survive a server killed at any moment, and the file's size on
disk is the offset to continue from (asked with HEAD; the tus protocol's core). Jobs left queued or running when the server stopped are run
again when it starts (the ingest resumes from its work directory: pages already read
are not read twice); an flock on the job's folder keeps two server workers from running
the same job.
"""

from __future__ import annotations

import csv
import fcntl
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from abhilekh.settings import Settings

STATES = ("uploading", "queued", "running", "done", "failed")
SCAN_SUFFIXES = {".tif", ".tiff", ".jpg", ".jpeg", ".png", ".pdf", ".zip"}


@dataclass
class Job:
    id: str
    user: str
    metadata: dict[str, Any]
    files: list[str]
    state: str = "uploading"
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    exit_code: int | None = None
    pages_expected: int | None = None
    error: str = ""
    parts: list[dict[str, Any]] = field(default_factory=list)  # resumable: [{"name", "size"}]

    @classmethod
    def load(cls, folder: Path) -> Job:
        data = json.loads((folder / "job.json").read_text(encoding="utf-8"))
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def uploads_dir(settings: Settings) -> Path:
    return settings.home / "uploads"


def safe_name(name: str) -> str:
    """A file name from the browser as a plain name in the scans folder."""
    base = os.path.basename(name.replace("\\", "/")).strip().lstrip(".")
    cleaned = "".join(c if c.isalnum() or c in "-_. " else "_" for c in base)[:120]
    return cleaned or "scan"


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes the ingest command use these settings exactly."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ABHILEKH_")}
    for key, value in settings.model_dump(mode="json").items():
        if value is None:
            continue
        env[f"ABHILEKH_{key.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    env.setdefault("OMP_THREAD_LIMIT", "1")
    return env


def _command() -> list[str]:
    script = Path(sys.executable).with_name("abhilekh")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from cli import main; sys.argv[0] = 'abhilekh'; main()"]


def count_pages(path: Path) -> int | None:
    """Pages a scan holds, for the progress bar (None: not known before it is read)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".pdf":
            out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, timeout=20).stdout
            return next((int(line.split()[-1]) for line in out.splitlines() if line.startswith("Pages:")), None)
        if suffix in {".tif", ".tiff"}:
            from PIL import Image

            with Image.open(path) as im:
                return int(getattr(im, "n_frames", 1))
        if suffix in {".jpg", ".jpeg", ".png"}:
            return 1
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    return None


class OffsetMismatch(Exception):
    """A chunk sent at another offset than the bytes received so far (tus: 409)."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"the upload is at byte {offset}")
        self.offset = offset


class Uploads:
    """The jobs of one deployment, and the thread that runs them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = uploads_dir(settings)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._save_lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None

    # -- jobs ---------------------------------------------------------------------------
    def new(self, user: str, metadata: dict[str, Any]) -> tuple[Job, Path]:
        job = Job(id=time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(4), user=user, metadata=metadata, files=[])
        folder = self.root / job.id
        (folder / "scans").mkdir(parents=True, mode=0o700)
        self.save(job)
        return job, folder / "scans"

    def new_resumable(self, user: str, metadata: dict[str, Any], parts: list[tuple[str, int]]) -> Job:
        """A job whose files come later, in chunks: names made safe and unique now."""
        job, _ = self.new(user, metadata)
        taken: set[str] = set()
        for name, size in parts:
            clean = safe_name(name)
            stem, dot, suffix = clean.rpartition(".")
            n = 1
            while clean.lower() in taken:
                n += 1
                clean = f"{stem}-{n}.{suffix}" if dot else f"{suffix}-{n}"
            taken.add(clean.lower())
            job.parts.append({"name": clean, "size": int(size)})
            if int(size) == 0:  # nothing to send: the ingest names it as empty
                (self.root / job.id / "scans" / clean).touch()
        self.save(job)
        return job

    def _part_paths(self, job: Job, index: int) -> tuple[Path, Path, int]:
        part = job.parts[index]
        scans = self.root / job.id / "scans"
        return scans / (part["name"] + ".part"), scans / part["name"], int(part["size"])

    def offset(self, job: Job, index: int) -> int:
        """Bytes of file INDEX received and kept so far."""
        partial, final, size = self._part_paths(job, index)
        if final.exists():
            return size
        try:
            return partial.stat().st_size
        except FileNotFoundError:
            return 0

    def append(self, job: Job, index: int, offset: int, data: bytes) -> int:
        """Append DATA to file INDEX if OFFSET is where it stands; the new offset.

        Under an flock of the part file (two server workers, a retried chunk), written
        and fsynced before returning: what is acknowledged is on disk. The file's last
        byte renames it to its real name."""
        partial, final, size = self._part_paths(job, index)
        if final.exists():
            raise OffsetMismatch(size)
        if offset + len(data) > size:
            raise ValueError(f"{offset + len(data)} bytes is more than the {size} declared")
        with open(partial, "ab") as out:
            fcntl.flock(out, fcntl.LOCK_EX)
            have = out.seek(0, os.SEEK_END)
            if have != offset:
                raise OffsetMismatch(have)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
            have += len(data)
            if have == size:
                partial.replace(final)
        return have

    def complete(self, job: Job) -> list[str]:
        """The declared files not yet fully received (empty: ready to queue)."""
        return [p["name"] for i, p in enumerate(job.parts) if self.offset(job, i) < int(p["size"])
                or not (self.root / job.id / "scans" / p["name"]).exists()]

    def save(self, job: Job) -> None:
        folder = self.root / job.id
        tmp = folder / f".job.{secrets.token_hex(4)}.json"
        with self._save_lock:
            tmp.write_text(json.dumps(asdict(job), ensure_ascii=False, indent=2), encoding="utf-8")
            tmp.replace(folder / "job.json")

    def get(self, job_id: str) -> Job | None:
        if not job_id.replace("-", "").isalnum() or not (self.root / job_id / "job.json").is_file():
            return None
        try:
            return Job.load(self.root / job_id)
        except (OSError, ValueError, TypeError):
            return None

    def list(self, user: str | None = None) -> list[Job]:
        if not self.root.is_dir():
            return []
        jobs = [j for j in (self.get(p.name) for p in sorted(self.root.iterdir(), reverse=True) if p.is_dir()) if j]
        return [j for j in jobs if user is None or j.user == user]

    def queue(self, job: Job) -> None:
        job.state = "queued"
        job.pages_expected = self._expected(job)
        self.save(job)
        self._wake.set()

    def _expected(self, job: Job) -> int | None:
        counts = [count_pages(self.root / job.id / "scans" / name) for name in job.files]
        return sum(c for c in counts if c) if counts and all(c is not None for c in counts) else None

    def progress(self, job: Job) -> dict[str, Any]:
        """Where the job is: the pages OCR has read so far (from the ingest's work folder)."""
        report = self.report(job)
        done = None
        if job.state == "running" and job.started:
            work = self.settings.work_dir
            # the bundle's work folder is the one (re)written since this job started
            best = 0
            if work.is_dir():
                for d in work.iterdir():
                    if d.is_dir() and len(d.name) == 64 and d.stat().st_mtime >= job.started - 1:
                        best = max(best, sum(1 for _ in d.glob("*.json")))
            done = best
        return {"done": done, "expected": job.pages_expected, "report": report}

    def report(self, job: Job) -> dict[str, Any] | None:
        path = self.root / job.id / "report" / "report.json"
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return data
        except (OSError, ValueError):
            return None

    def log_tail(self, job: Job, chars: int = 3000) -> str:
        try:
            return (self.root / job.id / "log.txt").read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""

    # -- the runner ---------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="abhilekh-uploads", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop with the server: an ingest under way is ended (SIGTERM) and its job left
        "running", so the next start runs it again and the ingest resumes."""
        self._stop.set()
        self._wake.set()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self._thread:
            self._thread.join(timeout=25)

    def _run(self) -> None:
        while not self._stop.is_set():
            for job in reversed(self.list()):  # oldest first
                if self._stop.is_set():
                    return
                if job.state in ("queued", "running"):
                    self._try(job)
            self._wake.wait(timeout=5.0)
            self._wake.clear()

    def _try(self, job: Job) -> None:
        folder = self.root / job.id
        with open(folder / ".lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return  # another server worker runs it
            job = Job.load(folder)
            if job.state not in ("queued", "running"):
                return
            self.execute(job)

    def execute(self, job: Job) -> Job:
        """Run the ingest of one job to its end (in this thread)."""
        folder = self.root / job.id
        manifest = folder / "bundle.csv"
        with manifest.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=["path", "thana", "register", "year", "file_no", "title"])
            writer.writeheader()
            writer.writerow({"path": "scans", **{k: job.metadata.get(k) or "" for k in
                                                 ("thana", "register", "year", "file_no", "title")}})
        job.state, job.started = "running", time.time()
        self.save(job)
        try:
            with open(folder / "log.txt", "a", encoding="utf-8") as log:
                self._proc = subprocess.Popen(
                    [*_command(), "batch", str(manifest), "--report-dir", str(folder / "report")],
                    stdout=log, stderr=subprocess.STDOUT, env=settings_env(self.settings), cwd=folder,
                )
                returncode = self._proc.wait()
            self._proc = None
            if self._stop.is_set() and self.report(job) is None:
                return job  # ended by the server's stop: still "running", run again at the next start
            job.exit_code = returncode
            report = self.report(job)
            job.state = "done" if report is not None else "failed"
            if report is None:
                job.error = f"the ingest ended (exit code {returncode}) without a report; see its log"
        except (OSError, subprocess.SubprocessError) as exc:
            job.state, job.error = "failed", f"the ingest could not run: {exc}"
        job.finished = time.time()
        self.save(job)
        return job
