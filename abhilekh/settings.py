"""One settings object, read from ABHILEKH_* environment variables and `.env`."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "abhilekh"


class Settings(BaseSettings):
    """Everything abhilekh can be told, each field documented in the README."""

    model_config = SettingsConfigDict(
        env_prefix="ABHILEKH_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    home: Path = Field(default_factory=_default_home)

    # OCR
    # Tesseract's `Devanagari` script model reads Hindi and Latin letters with one
    # network: on our generated registers and letters it was about 2x faster than
    # `hin+eng` with lower character error (bench/ocr_bench.py). Page segmentation
    # mode 4 (one column of variable-size lines) reads register tables row by row;
    # the default mode 3 reads them column by column and scrambles the entries.
    ocr_languages: str = "Devanagari"
    ocr_psm: int = 4  # only for ocr_layout="tesseract"
    # "lines": our own line finding, each line read alone (ingest/layout.py); "tesseract":
    # Tesseract's page segmentation (the path before issue 10), kept for comparison.
    ocr_layout: str = "lines"
    ocr_engine: str = "tesseract"  # ingest.engine.open_engine
    # Models directory; unset: the one scripts/install fills (~/.cache/abhilekh/tessdata)
    # if present, else Debian's.
    ocr_tessdata: Path | None = None
    ocr_jobs: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1))
    ocr_page_timeout: float = 180.0
    # A page whose OCR fails this many times in a row is stored as an image-only page
    # flagged for review, so one unreadable page cannot hold back its whole bundle.
    ocr_page_attempts: int = Field(default=2, ge=1)
    # Prefect's temporary local API (embedded default): its first start creates its
    # SQLite database; seen taking > 180 s on a 2-core machine at load 16.
    prefect_start_timeout: float = Field(default=300.0, gt=0)
    pdf_dpi: int = 300
    pdf_render_timeout: float = 300.0  # seconds for one PDF page to render; slower pages are quarantined
    # Calibrated on bench/ocr_bench.py: well-read pages score 84-93, the one page with
    # CER > 0.10 scored 61; 75 flags exactly it (thin evidence: recheck on more pages).
    review_confidence: float = 75.0

    # Input limits: anything beyond these is quarantined, not read.
    max_file_mb: float = 500.0
    max_image_pixels: int = 120_000_000
    max_pdf_pages: int = 2000
    # A zip may unpack to at most this many times its own size (and never past the disk
    # actually free): real scans deflate a few times at most, bombs a thousand.
    zip_max_ratio: float = 200.0

    # Backends: unset means the embedded ones under `home`.
    es_url: str | None = None  # one URL, or several separated by commas (a cluster's nodes)
    es_index: str = "abhilekh-pages"
    # Shape of an index, applied when one is created (first use, reindex, clear).
    # Sized for one district (docs/operations.md, "Index shards"): ~20 stations of
    # tens of thousands of pages is ~1M pages, 4-8 GB in Elasticsearch (3.7 KB a page
    # measured), and one shard holds 10-50 GB well; more primaries would only make
    # every search visit more shards. Replicas "0-1" (auto-expand): a copy on a second
    # node as soon as there is one, so a node can be lost; none on a single node,
    # which could never place it and would stay yellow.
    es_shards: int = Field(default=1, ge=1, le=1024)
    es_replicas: str = Field(default="0-1", pattern=r"^\d+(-(\d+|all))?$")
    s3_endpoint: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_bucket: str = "abhilekh"
    s3_secure: bool = False
    # Workflow state (e-files; users and audit may follow): unset = SQLite file
    # <home>/workflow.sqlite3. A postgresql:// URL uses psycopg 3 (efiles/db.py).
    database_url: str | None = None
    # Numbers the system issues for an e-file opened without one (`ingest --file-no`
    # fills it from the cover instead). Fields: {station} {category} (upper-cased
    # letters and digits, at most 6), {year} (the file's first year, else this year),
    # {serial} (per everything before it, from 1; format spec allowed, e.g. {serial:04d}).
    efile_no_pattern: str = "ABH/{station}/{year}/{serial:04d}"

    # Web page
    host: str = "127.0.0.1"
    port: int = 8750
    web_workers: int = 0  # server processes of `abhilekh serve`; 0: one per CPU
    # Search results kept per server process (web.runtime.ResultCache), keyed by the
    # query, filters, stations, paging and the index's generation; 0: none.
    search_cache: int = Field(default=256, ge=0)
    # uvicorn's line per request on stderr: off unless asked for (the audit log records
    # every search and view; the access log cost ~1 % of a request's CPU under load).
    access_log: bool = False
    # The web server appends audit rows by group commit (access/audit.py): one writer
    # thread, one transaction and fsync for all rows waiting; a request is still
    # answered only after its row is durable. False: each request commits its own row.
    audit_group_commit: bool = True

    # Log-in and sessions (access/auth.py)
    secret_key: str | None = None  # signs cookies; unset: made once in <home>/secret_key
    session_hours: float = 12.0  # a session ends this long after log-in
    cookie_secure: bool | None = None  # None: Secure unless host is loopback
    login_max_failures: int = 5  # wrong passwords per user + client before back-off starts
    login_backoff_seconds: float = 30.0  # the first wait after them; doubles with each further failure
    login_window_minutes: float = 15.0  # the longest wait, and how long failures are remembered
    # The audit chain's key (access/audit.py): ABHILEKH_AUDIT_KEY, else the file
    # ABHILEKH_AUDIT_KEY_FILE (default <home>/audit.key, made once). Keep it where those
    # who can write audit.sqlite3 cannot read it.
    audit_key: str | None = None
    audit_key_file: Path | None = None
    audit_anchor_every: int = Field(default=100, ge=1)  # rows between anchors of the chain head in the store
    # Addresses or networks (comma-separated, e.g. "127.0.0.1, 10.0.0.0/8") of the HTTPS
    # proxies in front of `serve`: only their X-Forwarded-For names the client.
    trusted_proxies: str = ""

    # Batches, the nightly inbox, crash safety (pipelines/, docs/scheduling.md)
    batch_bundles: int = 2  # bundles in flight at once; they share the OCR pool
    inbox: Path | None = None  # default: <home>/inbox
    archive: Path | None = None  # default: <home>/archive
    inbox_settle_minutes: float = 30.0  # a bundle folder unchanged this long is complete
    # BUCKET or BUCKET/PREFIX on the ABHILEKH_S3_ENDPOINT server: an inbox of objects
    # (pipelines/s3inbox.py); archive/ and quarantine/ prefixes go in the same bucket.
    inbox_s3_prefix: str | None = None
    retry_attempts: int = 4  # tries for a transient store/index error
    retry_backoff_seconds: float = 1.0  # first wait; doubles each retry
    lock_wait_seconds: float = 6 * 3600.0  # how long an ingest waits for another of the same bundle
    # A pooled batch (pipelines/pool.py): a run whose worker sent no heartbeat this long
    # is taken to be dead and scheduled again (Prefect's workers beat every 30 s).
    pool_stale_seconds: float = Field(default=90.0, gt=0)
    pool_concurrency: int | None = Field(default=None, ge=1)  # the work pool's limit (None: unlimited)
    # ABHILEKH_POOL: the nightly flow submits each complete bundle to this Prefect work
    # pool (one flow run each, as `abhilekh batch --pool` does) instead of ingesting
    # them itself; the workers must read the inbox path (one shared filesystem).
    pool: str | None = None

    @property
    def store_dir(self) -> Path:
        return self.home / "store"

    @property
    def index_path(self) -> Path:
        return self.home / "index.sqlite3"

    @property
    def work_dir(self) -> Path:
        return self.home / "work"

    @property
    def quarantine_dir(self) -> Path:
        return self.home / "quarantine"

    @property
    def prefect_home(self) -> Path:
        return self.home / "prefect"

    @property
    def inbox_dir(self) -> Path:
        return self.inbox or self.home / "inbox"

    @property
    def archive_dir(self) -> Path:
        return self.archive or self.home / "archive"

    @property
    def locks_dir(self) -> Path:
        return self.home / "locks"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def users_path(self) -> Path:
        return self.home / "users.sqlite3"

    @property
    def audit_path(self) -> Path:
        return self.home / "audit.sqlite3"

    @property
    def thumbs_dir(self) -> Path:
        return self.home / "thumbs"

    @property
    def workflow_db_path(self) -> Path:
        return self.home / "workflow.sqlite3"


_active: Settings | None = None


def get_settings() -> Settings:
    """The settings in force: those activated by the caller, else the environment's."""
    return _active if _active is not None else _from_environment()


@lru_cache(maxsize=1)
def _from_environment() -> Settings:
    return Settings()


def activate(settings: Settings | None) -> None:
    """Make `settings` the process-wide settings (tests and embedding programs).

    Prefect tasks read settings through get_settings() rather than receiving them as
    parameters, so secrets never land in the flow-run records on the Prefect server.
    """
    global _active
    _active = settings
