"""Path safety of the landing folder: a file is read only if it is a regular file of the landing folder itself.

Refused, with the reason named and nothing of them read: a symbolic link (the file or any folder on its way),
a file with more than one hard link (it may be a system file linked in), a path that resolves outside the
landing root, and anything that is not a regular file (a FIFO would block the run). The landing root itself may be
a link (a mounted share). The checks are repeated on the opened file, so a swap between check and read fails.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from kotacerdas.errors import SourceError

REFUSED_HINT = (
    "put the file itself in the landing folder (a copy, not a link); files are read only from the landing folder"
)
READ_CHUNK = 1 << 20


def landing_path_problem(path: Path, landing_root: Path) -> str | None:
    """Why `path` must not be read as a file drop of `landing_root` (a short reason), or None if it may."""
    root = Path(os.path.realpath(landing_root))
    given = Path(os.path.abspath(path))
    lexical_root = Path(os.path.abspath(landing_root))
    try:
        rel = given.relative_to(lexical_root)
    except ValueError:
        try:
            rel = given.relative_to(root)
        except ValueError:
            return "refused: outside the landing folder"
    if ".." in rel.parts or not rel.parts:
        return "refused: outside the landing folder"
    current = root
    for part in rel.parts:
        current = current / part
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            return "refused: no such file"
        if stat.S_ISLNK(info.st_mode):
            where = "" if current == root / rel else f" (its folder {current.relative_to(root).as_posix()})"
            return f"refused: a symbolic link{where}"
    return _file_problem(info) or (
        None if Path(os.path.realpath(current)).is_relative_to(root) else "refused: outside the landing folder"
    )


def _file_problem(info: os.stat_result) -> str | None:
    if not stat.S_ISREG(info.st_mode):
        return "refused: not a regular file"
    if info.st_nlink > 1:
        return f"refused: a hard link ({info.st_nlink} names for one file, maybe one outside the landing folder)"
    return None


def read_landing_file(path: Path, landing_root: Path, *, source: str) -> bytes:
    """The bytes of a file drop, after `landing_path_problem`; SourceError naming the reason otherwise."""
    return read_landing_upload(path, landing_root, source=source)[0]


def read_landing_upload(path: Path, landing_root: Path, *, source: str) -> tuple[bytes, float]:
    """The bytes of a file drop and its modification time (POSIX seconds: when the OPD uploaded it), both of the
    one file opened, after `landing_path_problem`; SourceError naming the reason otherwise."""
    problem = landing_path_problem(path, landing_root)
    if problem is None:
        try:
            # O_NOFOLLOW: a link put in its place since the check is not followed; O_NONBLOCK: nor does a FIFO hang
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as exc:
            problem = f"refused: cannot be opened without following a link ({exc.strerror})"
        else:
            with os.fdopen(fd, "rb") as fh:
                problem = _file_problem(os.fstat(fh.fileno()))
                if problem is None:
                    content = fh.read()
                    return content, os.fstat(fh.fileno()).st_mtime  # after reading: these bytes were there by then
    raise SourceError(f"{source}: landing file {path}: {problem}; nothing of it was read", hint=REFUSED_HINT)
