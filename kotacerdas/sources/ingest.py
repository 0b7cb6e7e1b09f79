"""Ingest one canonical table for one city × month from every source and OPD, via the raw landing zone.

The result keeps values as delivered (renamed to canonical columns, not yet typed: that is staging's job)
with lineage to the raw payload. A source or OPD that fails becomes a SourceFailure; the others still deliver.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from kotacerdas.config import FileSource, ProjectConfig, RestSource
from kotacerdas.errors import ConfigError, KotacerdasError, SourceError
from kotacerdas.schemas import LINEAGE_COLUMNS, CanonicalTable, get_table
from kotacerdas.sources.files import read_file_drop
from kotacerdas.sources.landing import RawFile, new_fetch_id, store_raw
from kotacerdas.sources.rest import build_session, fetch_pages, partition_url, redact_url

log = logging.getLogger(__name__)
MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class SourceFailure:
    """One source × OPD that could not deliver a partition; `url` never carries secrets."""

    source: str
    table: str
    city: str
    opd: str
    month: str
    url: str
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        hint = f" — what to do: {self.hint}" if self.hint else ""
        return (f"{self.source} ({self.table}) {self.city} {self.opd} {self.month}: {self.message} "
                f"[{self.url}]{hint}")


@dataclass
class IngestResult:
    table: str
    frame: pd.DataFrame  # canonical column names, values as delivered, plus _raw_file and _raw_row
    raw_files: list[RawFile] = field(default_factory=list)
    failures: list[SourceFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def _frame(table: CanonicalTable, records: list[dict]) -> pd.DataFrame:
    columns = list(table.columns) + list(LINEAGE_COLUMNS)
    if not records:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    frame = pd.DataFrame.from_records(records, columns=columns).astype(object)
    return frame.where(frame.notna(), None)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value))


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


def _ingest_rest(source: RestSource, table: CanonicalTable, city: str, opd: str, month: str, raw_dir: Path,
                 env: Mapping[str, str], raw_files: list[RawFile]) -> list[dict]:
    """All rows of one OPD from one REST source; raises SourceError (pages already stored stay stored)."""
    url = redact_url(partition_url(source, city=city, opd=opd, month=month, env=env))
    fetch_id = new_fetch_id()
    records: list[dict] = []
    total: int | None = None
    with build_session(source, env) as session:
        for page in fetch_pages(source, city=city, opd=opd, month=month, env=env, session=session):
            raw = store_raw(raw_dir, source=source.name, city=city, month=month, opd=opd, fetch_id=fetch_id,
                            name=f"page-{page.number:04d}.json", content=page.content, origin=page.url,
                            rows=len(page.rows))
            raw_files.append(raw)
            total = page.total if page.total is not None else total
            for i, row in enumerate(page.rows, start=1):
                if not isinstance(row, dict):
                    raise SourceError(f"{source.name}: {page.url} row {i} is not a JSON object",
                                      hint="the API's response format changed; update the connector")
                rec = {canon: row.get(src) for src, canon in source.columns.items()}
                rec["_raw_file"], rec["_raw_row"] = raw.relpath, i
                records.append(rec)
    if total is not None and total != len(records):
        raise SourceError(f"{source.name}: {url} reported total {total} rows but delivered {len(records)}",
                          hint="the data changed while paging or the API paginates wrongly; "
                               "re-run the partition")
    return records


def _ingest_files(source: FileSource, table: CanonicalTable, city: str, opd: str, month: str, raw_dir: Path,
                  landing_dir: Path, raw_files: list[RawFile]) -> list[dict]:
    pattern = source.pattern.format(city=city, opd=opd, month=month)
    matches = sorted(p for p in landing_dir.glob(pattern) if p.is_file())
    if not matches:
        raise SourceError(
            f"expected file {pattern} not found in landing folder {landing_dir}",
            hint=f"ask OPD {opd} to upload its {month} file for {city}, or check the pattern of source "
                 f"{source.name!r} in sources.yaml",
        )
    fetch_id = new_fetch_id()
    records: list[dict] = []
    for path in matches:
        content = path.read_bytes()
        try:
            frame = read_file_drop(source, path, content)
            rows = len(frame)
        except SourceError:
            frame, rows = None, 0
        # Store the bytes even when they do not parse: the raw zone is the record of what the OPD sent.
        raw = store_raw(raw_dir, source=source.name, city=city, month=month, opd=opd, fetch_id=fetch_id,
                        name=path.name, content=content, origin=str(path), rows=rows)
        raw_files.append(raw)
        if frame is None:
            read_file_drop(source, path, content)  # raise the parse error now that the bytes are kept
        for i, rec in enumerate(frame.to_dict(orient="records"), start=1):
            rec = {c: (None if _missing(rec.get(c)) else rec.get(c)) for c in table.columns}
            rec["_raw_file"], rec["_raw_row"] = raw.relpath, i
            records.append(rec)
    return records


def ingest_table(project: ProjectConfig, table: str, city: str, month: str, *, raw_dir: str | Path,
                 landing_dir: str | Path, env: Mapping[str, str] | None = None) -> IngestResult:
    """Fetch `table` for `city` × `month` from every source of the table and every OPD that delivers it."""
    env = os.environ if env is None else env
    canonical = get_table(table)
    project.cities.city(city)  # ConfigError for a city that is not in cities.yaml
    if not MONTH_RE.match(month):
        raise ConfigError(f"month must be YYYY-MM, got {month!r}", hint="pass a partition key such as 2025-03")
    if not project.sources.for_table(table):
        raise ConfigError(f"no source in {project.dir / 'sources.yaml'} delivers table {table!r}",
                          hint=f"add a source with `table: {table}`")
    raw_dir, landing_dir = Path(raw_dir), Path(landing_dir)
    raw_files: list[RawFile] = []
    failures: list[SourceFailure] = []
    records: list[dict] = []
    for source in project.sources.for_table(table):
        token = env.get(source.token_env) if isinstance(source, RestSource) and source.token_env else None
        for opd in project.cities.opds_for(table):
            if isinstance(source, RestSource):
                try:
                    url = redact_url(partition_url(source, city=city, opd=opd.code, month=month, env=env))
                except KotacerdasError:
                    url = source.base_url + source.path.format(city=city, opd=opd.code, month=month)
            else:
                url = str(landing_dir / source.pattern.format(city=city, opd=opd.code, month=month))
            try:
                if isinstance(source, RestSource):
                    got = _ingest_rest(source, canonical, city, opd.code, month, raw_dir, env, raw_files)
                else:
                    got = _ingest_files(source, canonical, city, opd.code, month, raw_dir, landing_dir,
                                        raw_files)
            except KotacerdasError as exc:  # SourceError, or ConfigError such as an unset base_url variable
                failure = SourceFailure(source.name, table, city, opd.code, month, _scrub(url, token),
                                        _scrub(exc.message, token), _scrub(exc.hint or "", token) or None)
                log.warning("ingest failure: %s", failure)
                failures.append(failure)
                continue
            records.extend(got)
    return IngestResult(table, _frame(canonical, records), raw_files, failures)
