"""One row of a stored payload as the OPD delivered it: the last step of "where does this number come from?".

The warehouse's lineage ends at a raw file and a row (`_raw_file`, `_raw_row` of the staged tables, `v_lineage_rows`,
`v_quarantine`); the raw zone keeps that payload encrypted (`kotacerdas.encryption`). This opens it with the
storage key, checks it still hashes to the sha256 recorded when it was fetched, and reads it the way ingestion read
it (the source named by the path's first segment: a REST page or SQL chunk's `data`, a file drop's header and data
rows), so row N here is the `_raw_row` N the warehouse names.

Personal data stays out of what is shown: a field mapped to a personal-data column (NIK, phone, e-mail) shows the
same HMAC pseudonym as the warehouse (so it can be looked up there), or `<redacted>` without KOTACERDAS_PII_KEY,
and every other value passes the project's scrubber (a NIK typed into a free-text field).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from kotacerdas.config import FileSource, ProjectConfig
from kotacerdas.errors import ConfigError, StorageError
from kotacerdas.ingest.files import delivered_cells, header_aliases, norm_header
from kotacerdas.ingest.landing import META_SUFFIX, RawFile, read_raw, safe_segment
from kotacerdas.ingest.rest import page_rows
from kotacerdas.privacy import REDACTED, pseudonymise, scrub_text
from kotacerdas.schemas import get_table
from kotacerdas.stage.hygiene import RejectedCell


@dataclass(frozen=True)
class DeliveredField:
    name: str  # as the OPD named it (a header, a JSON field)
    column: str | None  # the canonical column it feeds, if the source maps it
    value: object  # as delivered; personal data as its pseudonym


@dataclass(frozen=True)
class RawRow:
    record: RawFile  # the payload: origin, fetch time, sha256 (checked), rows
    source: str
    row: int  # 1-based, the warehouse's `_raw_row`
    rows: int  # data rows in the payload
    fields: list[DeliveredField]


def relpath_in(raw_dir: Path, given: str) -> str:
    """The raw zone's relpath of a payload given as the warehouse writes it, or as a path inside the raw zone."""
    path = Path(given)
    if path.is_absolute():
        try:
            return path.resolve().relative_to(raw_dir.resolve()).as_posix()
        except ValueError:
            raise ConfigError(
                f"{given} is not inside the raw zone {raw_dir}",
                hint="give the path the warehouse shows (`_raw_file`, `raw_file`)",
            ) from None
    relpath = PurePosixPath(given)
    if ".." in relpath.parts:
        raise ConfigError(f"{given}: a payload's path never climbs out of the raw zone", hint="remove the '..'")
    return relpath.as_posix()


def raw_row(project: ProjectConfig, raw_dir: str | Path, relpath: str, row: int, pii_key: bytes | None) -> RawRow:
    """Row `row` (1-based) of the stored payload `relpath`, as delivered, personal data pseudonymised."""
    raw_dir = Path(raw_dir)
    relpath = relpath_in(raw_dir, relpath)
    target = raw_dir / relpath
    if not target.is_file():
        raise ConfigError(
            f"no payload {relpath} in the raw zone {raw_dir}",
            hint="copy `_raw_file` (or `raw_file`) from the warehouse as it is; KOTACERDAS_RAW_DIR must be the "
            "deployment's raw zone",
        )
    if not target.with_name(target.name + META_SUFFIX).is_file():
        raise ConfigError(
            f"{relpath} is not a payload of the raw zone (no record {target.name}{META_SUFFIX} beside it)",
            hint="give the payload's path (`_raw_file`, `raw_file`), not its record, the manifest or the fetch log",
        )
    source = _source_of(project, relpath)
    try:
        content, record = read_raw(raw_dir, relpath)
    except ValueError as exc:  # not opened with the storage keys, or no longer the bytes fetched
        raise StorageError(
            f"{relpath}: {exc}",
            hint="set KOTACERDAS_STORAGE_KEY to the key the raw zone was sealed with (an earlier key in "
            "KOTACERDAS_STORAGE_OLD_KEYS); a payload whose sha256 no longer matches was changed on disk: restore it "
            "from a backup, or ingest the partition again",
        ) from None
    names, body = _delivered(source, relpath, content)
    if not 1 <= row <= len(body):
        raise ConfigError(
            f"{relpath} has {len(body)} data row(s); there is no row {row}",
            hint="rows count from 1 after the header, as `_raw_row` in the warehouse",
        )
    column_of = _columns_of(source)
    pii = get_table(source.table).pii_columns
    fields = []
    for name, value in zip(names, body[row - 1], strict=True):
        column = column_of(name)
        if column in pii:  # every alias of a personal-data column, whether or not the file's headers mapped
            shown: object = None if value is None else pseudonymise(value, pii[column], pii_key) or REDACTED
        else:
            shown = _scrubbed(value)
        fields.append(DeliveredField(scrub_text(name), column, shown))
    return RawRow(record, source.name, row, len(body), fields)


def _columns_of(source) -> Callable[[str], str | None]:
    """A delivered field's name -> the canonical column `columns` maps it to (any of its aliases): header names as
    file drops match them (case, spaces and underscores aside), field names of REST and SQL exactly."""
    if isinstance(source, FileSource):
        aliases = header_aliases(source)
        return lambda name: aliases.get(norm_header(name))
    return lambda name: source.columns.get(name)


def _scrubbed(value: object) -> object:
    """A value that is not a personal-data column's, as it may be shown: text through the project's scrubber (a
    NIK typed into a note), a number too when its digits read as a NIK or a phone number, nested JSON as its text,
    a formula without a computed value not at all (its text may hold the value it would compute)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, RejectedCell):
        return "<a formula without a computed value>"
    if isinstance(value, dict | list):
        return scrub_text(json.dumps(value, ensure_ascii=False))
    if isinstance(value, int | float):
        digits = str(int(value)) if isinstance(value, int) or value.is_integer() else repr(value)
        scrubbed = scrub_text(digits)
        return scrubbed if scrubbed != digits else value
    return scrub_text(str(value))


def _source_of(project: ProjectConfig, relpath: str):
    first = relpath.split("/", 1)[0]
    for source in project.sources.sources:
        if safe_segment(source.name) == first:
            return source
    raise ConfigError(
        f"{relpath}: no source {first!r} in {project.dir / 'sources.yaml'}",
        hint="the payload was fetched by a source since renamed or removed; put it back to read the payload",
    )


def _delivered(source, relpath: str, content: bytes) -> tuple[list[str], list[list[object]]]:
    """(field names, data rows) of a payload, read as ingestion reads it (a wide file before it is unpivoted: the
    warehouse's `_raw_row` numbers its rows)."""
    if isinstance(source, FileSource):
        header, body = delivered_cells(source, Path(relpath.rsplit("/", 1)[-1]), content)
        return [str(h) for h in header], body
    _, rows = page_rows(content)
    names: list[str] = []
    for rec in rows:
        names += [k for k in rec if k not in names]
    return names, [[rec.get(k) for k in names] for rec in rows]
