"""Ingest one canonical table for one city × period from every source and OPD, via the raw landing zone.

The period is the partition of the table's cadence: a month (YYYY-MM), or a year (YYYY) for a yearly table;
sources name it in their templates as `{month}` or `{year}` (`kotacerdas.periods`).

The result keeps values as delivered (renamed to canonical columns, not yet typed: that is staging's job)
with lineage to the raw payload. A source or OPD that fails becomes a SourceFailure and contributes no row
at all (never half a partition); the others still deliver.

Every completed fetch is logged in the raw zone (`fetches.jsonl`), so a partition can be rebuilt from raw
without calling the source (`replay=True`), and an incremental REST source asks only for rows changed since
the watermark of its last fetch, merging them over the replayed earlier fetches (later version wins).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from kotacerdas.config import FileSource, ProjectConfig, RestSource, SqlSource, environment
from kotacerdas.encryption import storage_keys
from kotacerdas.errors import ConfigError, KotacerdasError, SourceError, StorageError
from kotacerdas.ingest.drops import is_data_file, marker_path
from kotacerdas.ingest.entered import EntryTracker
from kotacerdas.ingest.files import read_file_drop
from kotacerdas.ingest.landing import (
    RawFile,
    current_chain,
    new_fetch_id,
    parse_utc,
    read_fetches,
    read_raw,
    record_fetch,
    store_raw,
    upload_times,
    utc_text,
)
from kotacerdas.ingest.landing_paths import read_landing_upload
from kotacerdas.ingest.rest import SessionPool, fetch_pages, page_rows, partition_url, redact_url, secret_of
from kotacerdas.ingest.sql import display_url, fetch_chunks, url_password
from kotacerdas.periods import TIMEZONE, check_period, now_local, period_bounds, template_fields
from kotacerdas.privacy import scrub_file_name, scrub_text
from kotacerdas.schemas import LINEAGE_COLUMNS, CanonicalTable, get_table
from kotacerdas.stage.staging import code_text

log = logging.getLogger(__name__)
ALL_OPDS = "*"  # the `opd` of a SQL source that is queried once for all OPDs
AnySource = RestSource | FileSource | SqlSource


@dataclass(frozen=True)
class SourceFailure:
    """One source × OPD that could not deliver a partition; `url` never carries secrets."""

    source: str
    table: str
    city: str
    opd: str
    period: str  # YYYY-MM, or YYYY for a yearly table
    url: str
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        hint = f" — what to do: {self.hint}" if self.hint else ""
        return f"{self.source} ({self.table}) {self.city} {self.opd} {self.period}: {self.message} [{self.url}]{hint}"


@dataclass
class IngestResult:
    table: str
    frame: pd.DataFrame  # canonical column names, values as delivered, plus _raw_file and _raw_row
    raw_files: list[RawFile] = field(default_factory=list)
    failures: list[SourceFailure] = field(default_factory=list)
    # what an operator should know, one text each: a replay's landing files that hold bytes it did not replay
    # (changed or uploaded since the stored fetch; `landing_files_not_replayed` counts them), pulled rows without a
    # usable entry time (their OPD's month is not dated by entry: kotacerdas/ingest/entered.py)
    notices: list[str] = field(default_factory=list)
    landing_files_not_replayed: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures

    def light(self) -> IngestResult:
        """The result with only the columns of its frame that say where each row came from (its payload, its row
        there and its OPD): everything the steps after staging read (completeness, timeliness, the ingest logs
        and lineage), at a fraction of the delivered values' size. The value store keeps it beside the full
        result (assets/io_manager.py)."""
        where = [c for c in (*LINEAGE_COLUMNS, "opd_code") if c in self.frame.columns]
        return IngestResult(
            self.table,
            self.frame[where].copy(),
            list(self.raw_files),
            list(self.failures),
            list(self.notices),
            self.landing_files_not_replayed,
        )


def _frame(table: CanonicalTable, records: list[dict]) -> pd.DataFrame:
    columns = list(table.columns) + list(LINEAGE_COLUMNS)
    if not records:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    frame = pd.DataFrame.from_records(records, columns=columns).astype(object)
    return frame.where(frame.notna(), None)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value))


def map_rows(columns: Mapping[str, str], rows: list, relpath: str) -> list[dict]:
    """Source rows (dicts) -> records with canonical names; of several aliases the first present wins."""
    records = []
    for i, row in enumerate(rows, start=1):
        rec: dict = {}
        for src, canon in columns.items():
            if src in row and (canon not in rec or _missing(rec[canon])):
                rec[canon] = row[src]
        rec["_raw_file"], rec["_raw_row"] = relpath, i
        records.append(rec)
    return records


def _file_records(
    source: FileSource,
    table: CanonicalTable,
    content: bytes,
    name: str,
    relpath: str,
    *,
    city: str,
    opd: str,
    period: str,
) -> list[dict]:
    frame = read_file_drop(source, Path(name), content, city=city, opd=opd, period=period)
    return _frame_records(table, frame, relpath)


def _frame_records(table: CanonicalTable, frame: pd.DataFrame, relpath: str) -> list[dict]:
    """Records of a parsed file; `_raw_row` stays the file's row (an unpivoted wide row gives several records)."""
    records = []
    for rec in frame.to_dict(orient="records"):
        raw_row = rec["_raw_row"]
        rec = {c: (None if _missing(rec.get(c)) else rec.get(c)) for c in table.columns if c in rec}
        rec["_raw_file"], rec["_raw_row"] = relpath, raw_row
        records.append(rec)
    return records


def _payload_records(
    source: AnySource, table: CanonicalTable, content: bytes, relpath: str, *, city: str, opd: str, period: str
) -> list[dict]:
    """Records of one stored payload, parsed exactly as when it was fetched (used by replay)."""
    if isinstance(source, FileSource):
        return _file_records(
            source, table, content, relpath.rsplit("/", 1)[-1], relpath, city=city, opd=opd, period=period
        )
    _, rows = page_rows(content)
    return map_rows(source.columns, rows, relpath)


def _merge_by_key(table: CanonicalTable, batches: list[list[dict]]) -> list[dict]:
    """Rows of later batches replace rows of earlier batches with the same key (an updated record).

    Within one batch every row is kept: a key repeated inside one fetch is the source's duplicate, which
    staging rejects visibly.
    """
    latest: dict[tuple, int] = {}
    for b, batch in enumerate(batches):
        for rec in batch:
            key = tuple(rec.get(k) for k in table.key)
            if not any(_missing(v) for v in key):
                latest[key] = b
    merged = []
    for b, batch in enumerate(batches):
        for rec in batch:
            key = tuple(rec.get(k) for k in table.key)
            if any(_missing(v) for v in key) or latest[key] == b:
                merged.append(rec)
    return merged


def _watermark(source: RestSource, rows: list, previous: str | None) -> str | None:
    """The latest change time seen (ISO-8601 text compares in time order)."""
    values = [r.get(source.watermark_field) for r in rows if isinstance(r, dict)] if source.watermark_field else []
    marks: list[str] = [v for v in values if isinstance(v, str) and v]
    if previous:
        marks.append(previous)
    return max(marks) if marks else None


class _Unit:
    """One source × OPD of one partition: fetch it (or replay it) into records and raw files."""

    def __init__(
        self,
        source: AnySource,
        table: CanonicalTable,
        city: str,
        opd: str,
        period: str,
        raw_dir: Path,
        landing_dir: Path,
        env: Mapping[str, str],
        sessions: SessionPool | None = None,
        timezone: str = TIMEZONE,
        opd_codes: frozenset[str] = frozenset(),
    ):
        self.source, self.table, self.city, self.opd, self.period = source, table, city, opd, period
        self.raw_dir, self.landing_dir, self.env, self.sessions = raw_dir, landing_dir, env, sessions
        self.raw_files: list[RawFile] = []
        self.timezone = timezone  # the OPDs' wall clock, for entry times without an offset (config/timeliness.yaml)
        self.opd_codes = opd_codes  # the OPDs delivering the table (cities.yaml): the OPDs a pull's entries may name
        self.notices: list[str] = []

    # where the unit reads from, for error messages (never a secret)
    def location(self) -> str:
        s = self.source
        if isinstance(s, RestSource):
            try:
                return redact_url(partition_url(s, city=self.city, opd=self.opd, period=self.period, env=self.env))
            except KotacerdasError:
                return s.base_url + s.path.format(**self._fields())
        if isinstance(s, SqlSource):
            return f"sql:{display_url(s, self.env)}"
        return str(self.landing_dir / s.pattern.format(**self._fields()))

    def _fields(self) -> dict[str, str]:
        return {"city": self.city, "opd": self.opd, **template_fields(self.period)}

    def secret(self) -> str | None:
        if isinstance(self.source, RestSource):
            return secret_of(self.source, self.env)
        if isinstance(self.source, SqlSource):
            return url_password(self.env.get(self.source.url_env))
        return None

    def _store(self, fetch_id: str, name: str, content: bytes, origin: str, rows: int) -> RawFile:
        raw = store_raw(
            self.raw_dir,
            source=self.source.name,
            city=self.city,
            period=self.period,
            opd=self.opd,
            fetch_id=fetch_id,
            name=name,
            content=content,
            origin=origin,
            rows=rows,
        )
        self.raw_files.append(raw)
        return raw

    def _record(
        self,
        fetch_id: str,
        mode: str,
        files: list[RawFile],
        rows: int,
        watermark: str | None = None,
        updated_since: str | None = None,
        uploads: list[dict] | None = None,
        entered: dict[str, str] | None = None,
        opds: list[str] | None = None,
    ) -> None:
        record_fetch(
            self.raw_dir,
            source=self.source.name,
            city=self.city,
            period=self.period,
            opd=self.opd,
            fetch_id=fetch_id,
            mode=mode,
            files=[f.relpath for f in files],
            rows=rows,
            watermark=watermark,
            updated_since=updated_since,
            uploads=uploads,
            entered=entered,
            opds=opds,
        )

    # --- replay ---------------------------------------------------------------------------------------------

    def fetches(self) -> list[dict]:
        """This unit's completed fetches in the raw zone's log, oldest first."""
        return read_fetches(self.raw_dir, source=self.source.name, city=self.city, period=self.period, opd=self.opd)

    def chain(self) -> list[dict]:
        return current_chain(self.fetches())

    def replay(self, chain: list[dict] | None = None) -> list[list[dict]]:
        """Records of the stored fetches that make up the partition, one batch per fetch, from raw only."""
        chain = self.chain() if chain is None else chain
        if not chain:
            raise SourceError(
                f"{self.source.name}: nothing to replay for {self.city} {self.opd} {self.period}: the raw zone "
                f"{self.raw_dir} holds no completed fetch of it",
                hint="ingest the partition from the source first (without replay)",
            )
        batches = []
        for entry in chain:
            batch: list[dict] = []
            for relpath in entry["files"]:
                try:
                    content, record = read_raw(self.raw_dir, relpath)
                    batch += _payload_records(
                        self.source, self.table, content, relpath, city=self.city, opd=self.opd, period=self.period
                    )
                except (OSError, ValueError, KeyError, TypeError) as exc:
                    raise SourceError(
                        f"{self.source.name}: raw payload {relpath} cannot be replayed: {exc}",
                        hint="ingest the partition from the source again (without replay)",
                    ) from None
                self.raw_files.append(record)
            batches.append(batch)
        return batches

    def landing_changes(self) -> list[str]:
        """A replayed file drop's landing files whose bytes are in none of the replayed payloads: corrected or
        uploaded after the stored fetch, so a replay does not read them (a run without `--replay` does)."""
        if not isinstance(self.source, FileSource):
            return []
        source = self.source
        replayed = {record.sha256 for record in self.raw_files}
        notices = []
        for path in self._landing_files(source):
            if source.ready_when == "marker" and not marker_path(source, path).is_file():
                continue  # not complete yet: a fetch would not read it either
            try:  # as a fetch reads it: no link followed, no FIFO waited on, only a regular file
                content, _ = read_landing_upload(path, self.landing_dir, source=source.name)
            except SourceError:  # what a fetch would refuse, it reports then
                continue
            digest = hashlib.sha256(content).hexdigest()
            if digest not in replayed:
                notices.append(
                    f"{self.source.name}: {scrub_text(str(path))} is not what this replay read (changed or uploaded "
                    "after the stored fetch); run the partition without --replay to ingest it"
                )
        return notices

    # --- fetch ----------------------------------------------------------------------------------------------

    def fetch(self) -> list[dict]:
        if isinstance(self.source, RestSource):
            return self._fetch_rest(self.source)
        if isinstance(self.source, SqlSource):
            return self._fetch_sql(self.source)
        return self._fetch_files(self.source)

    def _fetch_rest(self, source: RestSource) -> list[dict]:
        base: list[list[dict]] = []
        updated_since = None
        entered_before: dict[str, str] | None = None
        if source.incremental:
            chain = self.chain()
            updated_since = next((e["watermark"] for e in reversed(chain) if e.get("watermark")), None)
            entered_before = chain[-1].get("entered") if chain else None
            if source.entered_field and self.opd not in (entered_before or {}):
                # the month's earlier rows were never dated (fetched before entered_field was set, or a row had no
                # usable entry): only a full pull can date it, and an incremental one would leave it undated for good
                updated_since = None
            if updated_since:
                base = self.replay(chain)
        entries = self._entry_tracker(source, entered_before if updated_since else None)
        fetch_id = new_fetch_id()
        files: list[RawFile] = []
        records: list[dict] = []
        rows_seen: list = []
        total: int | None = None
        session = self.sessions.session(source, self.env) if self.sessions else None
        for page in fetch_pages(
            source,
            city=self.city,
            opd=self.opd,
            period=self.period,
            env=self.env,
            session=session,
            updated_since=updated_since,
        ):
            raw = self._store(fetch_id, f"page-{page.number:04d}.json", page.content, page.url, len(page.rows))
            files.append(raw)
            total = page.total if page.total is not None else total
            records += map_rows(source.columns, page.rows, raw.relpath)
            rows_seen += page.rows
            if entries is not None:
                entries.add(page.rows)
        if source.pagination != "cursor" and total is not None and total != len(records):
            url = self.location()
            raise SourceError(
                f"{source.name}: {url} reported total {total} rows but delivered {len(records)}",
                hint="the data changed while paging or the API paginates wrongly; re-run the partition",
            )
        watermark = _watermark(source, rows_seen, updated_since)
        mode = "incremental" if updated_since else "full"
        self._record(fetch_id, mode, files, len(records), watermark, updated_since, entered=self._entered(entries))
        return _merge_by_key(self.table, [*base, records]) if base else records

    def _fetch_sql(self, source: SqlSource) -> list[dict]:
        fetch_id = new_fetch_id()
        files: list[RawFile] = []
        records: list[dict] = []
        origin = self.location()
        opd = None if self.opd == ALL_OPDS else self.opd
        entries = self._entry_tracker(source)
        for chunk in fetch_chunks(source, city=self.city, opd=opd, period=self.period, env=self.env):
            raw = self._store(fetch_id, f"chunk-{chunk.number:04d}.json", chunk.content, origin, len(chunk.rows))
            files.append(raw)
            records += map_rows(source.columns, chunk.rows, raw.relpath)
            if entries is not None:
                entries.add(chunk.rows)
        # a query of all OPDs: which of the table's OPDs it delivered rows for (timeliness credits only those)
        opds = None
        if self.opd == ALL_OPDS:
            opds = sorted({c for r in records if (c := code_text(r.get("opd_code"))) in self.opd_codes})
        self._record(fetch_id, "full", files, len(records), entered=self._entered(entries), opds=opds)
        return records

    def _entry_tracker(
        self, source: RestSource | SqlSource, before: dict[str, str] | None = None
    ) -> EntryTracker | None:
        """What the fetch log's `entered` is gathered with, for a source that names its entered_field; `before`: an
        incremental pull's earlier evidence."""
        if not source.entered_field:
            return None
        return EntryTracker(
            field=source.entered_field,
            opd_fields=[name for name, column in source.columns.items() if column == "opd_code"],
            unit_opd=None if self.opd == ALL_OPDS else self.opd,
            known_opds=self.opd_codes,
            timezone=self.timezone,
            period_start=datetime.combine(period_bounds(self.period)[0], datetime.min.time(), ZoneInfo(self.timezone)),
            previous=before,
        )

    def _entered(self, entries: EntryTracker | None) -> dict[str, str] | None:
        """The fetch log's `entered` (OPD -> the month's latest entry), with a notice when rows could not be dated."""
        if entries is None:
            return None
        notice = entries.notice(self.source.name, f"{self.city} {self.opd} {self.period}")
        if notice is not None:
            self.notices.append(scrub_text(notice))
        return entries.entered()

    def _landing_files(self, source: FileSource) -> list[Path]:
        pattern = source.pattern.format(**self._fields())
        # links are listed too, so that they are refused by name rather than silently followed or skipped
        return sorted(
            p for p in self.landing_dir.glob(pattern) if (p.is_file() or p.is_symlink()) and is_data_file(source, p)
        )

    def _fetch_files(self, source: FileSource) -> list[dict]:
        pattern = source.pattern.format(**self._fields())
        matches = self._landing_files(source)
        if not matches:
            raise SourceError(
                f"expected file {pattern} not found in landing folder {self.landing_dir}",
                hint=f"ask OPD {self.opd} to upload its {self.period} file for {self.city}, or check the pattern "
                f"of source {source.name!r} in sources.yaml",
            )
        unmarked = [p.name for p in matches if source.ready_when == "marker" and not marker_path(source, p).is_file()]
        if unmarked:
            raise SourceError(
                f"{', '.join(unmarked)} in {self.landing_dir} is not complete yet: no {source.marker_suffix} marker "
                "beside it; nothing of it was read",
                hint=f"ask OPD {self.opd} to finish the upload (the marker comes last), or check `ready_when` of "
                f"source {source.name!r} in sources.yaml",
            )
        fetch_id = new_fetch_id()
        files: list[RawFile] = []
        records: list[dict] = []
        stored_names: set[str] = set()
        uploads: list[dict] = []
        # bytes fetched before keep the upload time first recorded for them (a file copied back has a new mtime)
        earlier = upload_times(self.fetches())
        for path in matches:
            content, mtime = read_landing_upload(path, self.landing_dir, source=source.name)
            error: SourceError | None = None
            try:
                frame = read_file_drop(source, path, content, city=self.city, opd=self.opd, period=self.period)
            except SourceError as exc:
                frame, error = None, exc
            # Store the bytes even when they do not parse: the raw zone is the record of what the OPD sent.
            name = _unique_name(scrub_file_name(path.name), stored_names)
            raw = self._store(fetch_id, name, content, str(path), 0 if frame is None else len(frame))
            files.append(raw)
            if error is not None:
                raise error  # not recorded as a completed fetch: a file that does not parse is not received
            # never later than now: a file cannot have been uploaded after it was read (a clock set wrong)
            uploaded = min(datetime.fromtimestamp(mtime, UTC), now_local())
            if raw.sha256 in earlier:
                uploaded = min(uploaded, parse_utc(earlier[raw.sha256]))
            uploads.append(
                {"file": raw.relpath, "sha256": raw.sha256, "uploaded_at": utc_text(uploaded, "microseconds")}
            )
            records += _frame_records(self.table, frame, raw.relpath)
        self._record(fetch_id, "full", files, len(records), uploads=uploads)
        return records


def _unique_name(name: str, taken: set[str]) -> str:
    """`name`, or `name-2.csv`, … when two files of one fetch have the same scrubbed name (without a PII key
    `laporan_<NIK 1>.csv` and `laporan_<NIK 2>.csv` both become `laporan_nik.csv`)."""
    stem, dot, extension = name.rpartition(".")
    stem, dot, extension = (stem, dot, extension) if dot else (name, "", "")
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{stem}-{n}{dot}{extension}"
    taken.add(candidate)
    return candidate


def _units_of(project: ProjectConfig, source: AnySource, table: str) -> list[str]:
    if isinstance(source, SqlSource) and not source.per_opd:
        return [ALL_OPDS]
    return [o.code for o in project.cities.opds_for(table)]


def ingest_table(
    project: ProjectConfig,
    table: str,
    city: str,
    period: str,
    *,
    raw_dir: str | Path,
    landing_dir: str | Path,
    env: Mapping[str, str] | None = None,
    replay: bool = False,
    sources: list[str] | None = None,
    sessions: SessionPool | None = None,
) -> IngestResult:
    """Fetch `table` for `city` × `period` from every source of the table and every OPD that delivers it.

    `period` is a month (YYYY-MM) for a monthly table and a year (YYYY) for a yearly one.

    `replay=True` rebuilds the partition from the raw zone only (the latest completed fetches), without
    calling any source. `sources` limits the run to the named sources. `sessions` lends REST sources sessions
    kept across partitions (`ingest_partitions`); without it each fetch opens its own.
    """
    env = environment() if env is None else env
    canonical = get_table(table)
    project.cities.city(city)  # ConfigError for a city that is not in cities.yaml
    check_period(canonical, period)
    chosen = project.sources.for_table(table)
    if not chosen:
        raise ConfigError(
            f"no source in {project.dir / 'sources.yaml'} delivers table {table!r}",
            hint=f"add a source with `table: {table}`",
        )
    if sources is not None:
        unknown = sorted(set(sources) - {s.name for s in chosen})
        if unknown:
            raise ConfigError(
                f"source(s) {unknown} do not deliver table {table!r}", hint=f"choose among {[s.name for s in chosen]}"
            )
        chosen = [s for s in chosen if s.name in sources]
    storage_keys()  # ConfigError now, before any source is called, when the raw zone cannot be encrypted
    raw_dir, landing_dir = Path(raw_dir), Path(landing_dir)
    raw_files: list[RawFile] = []
    failures: list[SourceFailure] = []
    records: list[dict] = []
    notices: list[str] = []
    unreplayed = 0
    for source in chosen:
        for opd in _units_of(project, source, table):
            unit = _Unit(
                source,
                canonical,
                city,
                opd,
                period,
                raw_dir,
                landing_dir,
                env,
                sessions,
                project.timeliness.timezone,
                frozenset(o.code for o in project.cities.opds_for(table)),
            )
            secret = unit.secret()
            try:
                got = _merge_by_key(canonical, unit.replay()) if replay else unit.fetch()
            except StorageError:
                raise  # our disk, not the source: the whole step fails with the real cause
            except KotacerdasError as exc:  # SourceError, or ConfigError such as an unset base_url variable
                # the one place a source's failure becomes text for logs, Dagster and the warehouse: scrubbed here
                failure = SourceFailure(
                    source.name,
                    table,
                    city,
                    opd,
                    period,
                    scrub_text(unit.location(), [secret]),
                    scrub_text(exc.message, [secret]),
                    scrub_text(exc.hint or "", [secret]) or None,
                )
                log.warning("ingest failure: %s", failure)
                failures.append(failure)
                raw_files += unit.raw_files  # what was stored stays listed, even though none of it is used
                continue
            raw_files += unit.raw_files
            records.extend(got)
            notices += unit.notices
            if replay:
                changed = unit.landing_changes()
                notices += changed
                unreplayed += len(changed)
    return IngestResult(table, _frame(canonical, records), raw_files, failures, notices, unreplayed)


def ingest_partitions(
    project: ProjectConfig,
    table: str,
    partitions: Sequence[tuple[str, str]],
    *,
    raw_dir: str | Path,
    landing_dir: str | Path,
    env: Mapping[str, str] | None = None,
    replay: bool = False,
    workers: int | None = None,
) -> list[tuple[tuple[str, str], IngestResult]]:
    """`ingest_table` for each (city, period), `workers` partitions at a time (default: `ingest_workers` of
    pipeline.yaml), in the order given.

    Threads, because a fetch mostly waits for an OPD system to answer: one after the other, a national month's
    thousands of requests would each wait in turn. Every partition writes its own raw files (the manifest takes
    one appending write per payload), and a partition's error is raised when its turn comes, as before. Each thread
    keeps one session per REST source across its partitions (`SessionPool`): connections are reused, not opened
    for every city × OPD."""
    env = environment() if env is None else env  # read once, in the caller's thread
    workers = project.pipeline.ingest_workers if workers is None else workers

    with SessionPool() as sessions:

        def one(partition: tuple[str, str]) -> IngestResult:
            city, period = partition
            return ingest_table(
                project,
                table,
                city,
                period,
                raw_dir=raw_dir,
                landing_dir=landing_dir,
                env=env,
                replay=replay,
                sessions=sessions,
            )

        if workers <= 1 or len(partitions) <= 1:
            return [(p, one(p)) for p in partitions]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"ingest-{table}") as pool:
            return list(zip(partitions, pool.map(one, partitions), strict=True))
