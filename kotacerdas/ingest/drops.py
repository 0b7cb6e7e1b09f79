"""Find OPD file drops in the landing folder and place each file in its (city, OPD, period) partition.

A scan looks at the file sources of one cadence: monthly (the default, what the monthly file-drop sensor runs)
or yearly; files of the other cadence's sources belong to another job and are left out, not reported.

Only files with a declared extension are data: the pattern's own (`*.csv`), or those of the source's format when
the pattern leaves it open (`capaian_{month}.*`). A `.bak`, `~`, `.tmp` or `.part` copy beside the real file, an
Excel lock file (`~$…`) and a source's ready markers are left out, so they neither trigger nor block a run.
Each placed file carries a content fingerprint (size and sha256, never mtime) and whether its marker is present.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from kotacerdas.config import FileSource, ProjectConfig
from kotacerdas.ingest.landing_paths import landing_path_problem
from kotacerdas.privacy import scrub_file_name
from kotacerdas.schemas import Cadence, get_table

FORMAT_SUFFIXES = {"csv": (".csv", ".txt", ".tsv"), "xlsx": (".xlsx", ".xlsm"), "json": (".json",)}
_TEMPORARY = re.compile(r"(~|\.(bak|tmp|temp|part|partial|crdownload|swp|old|orig))$", re.IGNORECASE)
_FIELDS = {"city": r"\d{2}\.\d{2}", "opd": r"[A-Z][A-Z0-9_-]*", "month": r"\d{4}-(?:0[1-9]|1[0-2])", "year": r"\d{4}"}


@dataclass(frozen=True)
class DroppedFile:
    path: Path  # absolute
    relpath: str  # relative to the landing folder, with forward slashes
    size: int
    mtime: float
    source: str | None = None  # the file source whose pattern it matches; None when unplaceable
    city: str | None = None
    opd: str | None = None
    period: str | None = None  # YYYY-MM, or YYYY in a scan of the yearly sources
    problem: str | None = None  # why it cannot be placed
    sha256: str | None = None  # of the content, for placed files
    ready_when: str = "stable"  # the source's rule (`stable` or `marker`)
    marker: bool = False  # the source's marker file is present beside it

    @property
    def month(self) -> str | None:
        """The partition of a monthly scan (what the monthly sensor requests runs for)."""
        return self.period

    @property
    def label(self) -> str:
        """The relpath as it may be stored (sensor cursor, run key, logs): personal data in it pseudonymised."""
        return scrub_file_name(self.relpath)

    @property
    def fingerprint(self) -> str:
        """Changes when the content changes (a new upload is a new run); a touched but unchanged file does not."""
        return f"{self.label}:{self.size}:{self.sha256 or int(self.mtime * 1000)}"


def declared_suffixes(source: FileSource) -> tuple[str, ...]:
    """The extensions a file of `source` may have: the pattern's own, else those of the source's format."""
    literal = PurePosixPath(source.pattern).suffix.lower()
    if literal and not any(c in literal for c in "*?[]{}"):
        return (literal,)
    if source.format == "auto":
        return tuple(s for suffixes in FORMAT_SUFFIXES.values() for s in suffixes)
    return FORMAT_SUFFIXES[source.format]


def is_data_file(source: FileSource, path: Path) -> bool:
    """A file of `source` proper: a declared extension, not a temporary or backup copy, not an Excel lock file."""
    name = path.name
    if name.startswith("~$") or _TEMPORARY.search(name):
        return False
    return path.suffix.lower() in declared_suffixes(source)


def marker_path(source: FileSource, path: Path) -> Path:
    return path.with_name(path.name + source.marker_suffix)


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """`{city}/{opd}/capaian_indikator_{month}.csv` → a regex with named groups; glob `*` still works."""
    out, pos = [], 0
    for match in re.finditer(r"\{(city|opd|month|year)\}", pattern):
        out.append(fnmatch.translate(pattern[pos : match.start()]).removeprefix("(?s:").removesuffix(r")\Z"))
        out.append(f"(?P<{match.group(1)}>{_FIELDS[match.group(1)]})")
        pos = match.end()
    out.append(fnmatch.translate(pattern[pos:]).removeprefix("(?s:").removesuffix(r")\Z"))
    return re.compile("^" + "".join(out) + "$")


def scan_landing(project: ProjectConfig, landing_dir: Path, cadence: Cadence = "monthly") -> list[DroppedFile]:
    """Every file under the landing folder, placed by the first file source whose pattern it matches; files of
    the sources of tables of the other cadence are left out."""
    every = [s for s in project.sources.sources if isinstance(s, FileSource)]
    regexes = [(s, pattern_regex(s.pattern)) for s in every]
    sources = [s for s in every if get_table(s.table).cadence == cadence]
    cities = {c.code for c in project.cities.cities}
    files = []
    for path in sorted(p for p in landing_dir.rglob("*") if p.is_file() or p.is_symlink()):
        refused = _refused(path, landing_dir)
        if refused is not None:
            files.append(refused)
            continue
        stat = path.stat()
        rel = path.relative_to(landing_dir).as_posix()
        base: dict[str, Any] = {"path": path, "relpath": rel, "size": stat.st_size, "mtime": stat.st_mtime}
        if _is_marker(rel, regexes):
            continue
        placed = next(((s, m) for s, rx in regexes if (m := rx.match(rel))), None)
        if placed is not None and not is_data_file(placed[0], path):
            continue  # a backup or temporary copy beside the real file, or an undeclared extension
        if placed is None and _TEMPORARY.search(path.name):
            continue
        if placed is None:
            patterns = ", ".join(s.pattern for s in sources)
            files.append(DroppedFile(**base, problem=f"matches no file source pattern ({patterns})"))
            continue
        source, match = placed
        if source not in sources:
            continue
        fields = match.groupdict()
        city, opd = fields.get("city"), fields.get("opd")
        period = fields.get("month") or fields.get("year")
        problem = None
        if city not in cities:
            problem = f"city {city} is not in cities.yaml"
        elif opd not in {o.code for o in project.cities.opds_for(source.table)}:
            problem = f"OPD {opd} does not deliver {source.table} in cities.yaml"
        files.append(
            DroppedFile(
                **base,
                source=source.name,
                city=city,
                opd=opd,
                period=period,
                problem=problem,
                sha256=_sha256(path),
                ready_when=source.ready_when,
                marker=source.ready_when == "marker" and marker_path(source, path).is_file(),
            )
        )
    return files


def _is_marker(rel: str, regexes: list[tuple[FileSource, re.Pattern[str]]]) -> bool:
    """A ready marker (capaian.csv.done) of a file that a `ready_when: marker` source would place."""
    return any(
        s.ready_when == "marker" and rel.endswith(s.marker_suffix) and rx.match(rel.removesuffix(s.marker_suffix))
        for s, rx in regexes
    )


def _refused(path: Path, landing_dir: Path) -> DroppedFile | None:
    """A file that must not be read (a link, or outside the landing folder), listed with its reason; None if safe."""
    problem = landing_path_problem(path, landing_dir)
    if problem is None:
        return None
    info = path.lstat()
    rel = path.relative_to(landing_dir).as_posix()
    return DroppedFile(path=path, relpath=rel, size=info.st_size, mtime=info.st_mtime, problem=problem)
