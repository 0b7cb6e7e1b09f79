"""Disk-full and permission failures told by their real cause, whichever layer (OS, DuckDB, PostgreSQL) reported them.

A full disk under DuckDB may surface as "Current transaction is aborted" (the first error invalidated the
database) and under PostgreSQL as SQLSTATE 53100: both become a StorageError saying "no space left on device",
where, and what to do. A DuckDB file another process has open (DuckDB allows one process per file) is told as
such, with the process that holds it.
"""

from __future__ import annotations

import errno
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

from kotacerdas.errors import StorageError

_NO_SPACE = re.compile(r"no space left|disk full|could not extend file|not enough space|ENOSPC", re.IGNORECASE)
_DENIED = re.compile(r"permission denied|read-only file system|EACCES|EROFS", re.IGNORECASE)
_ABORTED = re.compile(r"current transaction is aborted|database has been invalidated", re.IGNORECASE)
_FILE_LOCKED = re.compile(
    r'Could not set lock on file "(?P<file>[^"]+)"(?:: Conflicting lock is held in (?P<holder>.+?\(PID \d+\)))?'
)
_NO_SPACE_STATES = {"53100"}  # PostgreSQL disk_full
_DENIED_STATES = {"42501"}  # PostgreSQL insufficient_privilege
LOW_SPACE_BYTES = 1 << 20


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo += [getattr(e, "orig", None), e.__cause__, e.__context__]


def free_bytes(path: Path) -> int | None:
    """Free space on the file system of `path` (or of its nearest existing folder)."""
    for folder in [path, *path.parents]:
        if folder.exists():
            return shutil.disk_usage(folder).free
    return None


def storage_failure(exc: BaseException, what: str, path: Path | None = None) -> StorageError | None:
    """A StorageError naming the real cause of `exc` when it is a full disk or a refused permission; else None.

    `what` names what was being written (e.g. "the warehouse at duckdb:///…"); `path` is the file written, whose
    file system is checked when the database only says its transaction was aborted."""
    errors = list(_chain(exc))
    text = " | ".join(str(e) for e in errors)
    codes = {e.errno for e in errors if isinstance(e, OSError)}
    states = {getattr(e, "sqlstate", None) for e in errors}
    free = free_bytes(path) if path is not None else None
    full = (
        errno.ENOSPC in codes
        or bool(_NO_SPACE.search(text))
        or bool(states & _NO_SPACE_STATES)
        or (bool(_ABORTED.search(text)) and free is not None and free < LOW_SPACE_BYTES)
    )
    if full:
        room = f"; {free} bytes free on {path.parent if path else 'its disk'}" if free is not None else ""
        return StorageError(
            f"cannot write {what}: no space left on device{room}; nothing of this write was kept",
            hint="free disk space or move the folder to a larger disk, then re-run the partition",
        )
    if (locked := _FILE_LOCKED.search(text)) is not None:
        holder = f" ({locked.group('holder')})" if locked.group("holder") else ""
        return StorageError(
            f"cannot write {what}: the DuckDB file {locked.group('file')} is open in another process{holder}; "
            "DuckDB allows one process per file, so nothing was written",
            hint="wait for the other run (or close the program holding the file) and run again; for writers in "
            "several processes or on several hosts at once, use PostgreSQL (KOTACERDAS_WAREHOUSE_URL)",
        )
    if codes & {errno.EACCES, errno.EPERM, errno.EROFS} or _DENIED.search(text) or states & _DENIED_STATES:
        detail = next((str(e).splitlines()[0] for e in errors if _DENIED.search(str(e))), type(exc).__name__)
        return StorageError(
            f"cannot write {what}: permission denied ({detail})",
            hint="give the pipeline's user write access there (folder rights, or GRANT on the database), then "
            "re-run the partition",
        )
    return None
