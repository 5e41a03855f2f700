"""The one error base: every failure abhilekh reports on purpose derives from it.

    AbhilekhError            transient=False, exit_code=1
    ├── StorageError         storage/base.py   (transient: the server was unreachable)
    │   ├── ObjectNotFound                     (permanent)
    │   └── IntegrityError                     (permanent: the bytes changed)
    ├── SearchError          search/base.py    (transient unless the raiser knows better)
    ├── BadInput             ingest/load.py    (a source file we will not read)
    ├── OcrError             ingest/ocr.py
    ├── UserError            access/users.py   (exit_code=2: the command was wrong)
    ├── BundleBusy           pipelines/locks.py (transient: the other ingest finishes)
    └── PrefectUnavailable   pipelines/prefect_server.py (transient: Prefect's API was slow to start)

Two questions every caller asks of a failure, answered where it is raised rather than
guessed from its class name at every catch site:

``transient``
    Would the same call succeed if tried again in a while (a timeout, a server that is
    restarting)? ``pipelines/retry.py`` retries only these. A refused password, a
    missing object or a checksum mismatch is not transient: retrying only delays the
    message an operator needs to read.
``exit_code``
    The command's exit status when this error ends it (``cli/``): 1 for "it failed",
    2 for "what you asked for is wrong" (as Click uses 2 for bad usage).

A raiser that knows more than its class passes ``transient=`` (for instance
``StorageError(..., transient=False)`` for refused credentials).
"""

from __future__ import annotations

__all__ = ["AbhilekhError"]


class AbhilekhError(Exception):
    """A failure with a message a person can act on."""

    transient: bool = False
    exit_code: int = 1

    def __init__(self, *args: object, transient: bool | None = None) -> None:
        super().__init__(*args)
        if transient is not None:
            self.transient = transient
