"""Publish one (city, period) partition: delete its rows and bulk-insert the new ones in one transaction; or
several partitions in one transaction, one DELETE and one bulk insert per table for all of them
(`publish_partitions`, what the assets use over a range).

PostgreSQL: `COPY … FROM STDIN (FORMAT csv)` through psycopg 3, on the transaction's own connection. The CSV is
made by an in-memory DuckDB from the DataFrame (vectorised, off the GIL, exact shortest round-trip floats), chunk
by chunk, while psycopg's queued writer sends the previous chunk — so the load runs at about the speed of a plain
`psql \\copy`. DuckDB: the DataFrame is scanned directly by `INSERT … SELECT`. Nothing goes through row-by-row
`INSERT`s except on other backends.

One writer per partition: on PostgreSQL the transaction first takes a transaction-level advisory lock on a hash of
the partition key (`pg_advisory_xact_lock`), so a second writer of the same partition (the CLI beside the daemon,
two Celery hosts) waits until the first commits, then replaces its rows; it never interleaves. A wait longer than
`lock_timeout` fails with PartitionBusyError naming the partition. DuckDB needs no lock: its file is opened by one
process at a time (a second process fails at once, writing nothing, with a StorageError naming the file, the
process holding it and the partition), and in one deployment Dagster's writer pool runs one publish at a time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import tempfile
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import sqlalchemy as sa

from kotacerdas.config import PipelineConfig
from kotacerdas.errors import PartitionBusyError
from kotacerdas.storage_errors import storage_failure
from kotacerdas.warehouse.engine import display_url, duckdb_path
from kotacerdas.warehouse.schema import COLUMN_DEFAULTS, FACT_TABLES, OPTIONAL_COLUMNS, RUN_COLUMNS, TABLES

log = logging.getLogger(__name__)
# A table is analysed after a publish that inserted this share of its rows or more (autovacuum's default)
ANALYZE_SHARE = 0.1

COPY_CHUNK_ROWS = 100_000
# publish_lock_timeout_seconds of config/pipeline.yaml when no engine option says otherwise (one owner: the model)
DEFAULT_LOCK_TIMEOUT_SECONDS = PipelineConfig.model_fields["publish_lock_timeout_seconds"].default
# An engine execution option: how long a publish on this engine waits for the partition's lock (the Dagster
# warehouse resource sets it from publish_lock_timeout_seconds in config/pipeline.yaml).
LOCK_TIMEOUT_OPTION = "kotacerdas_publish_lock_timeout"
# Called after each table of the partition is replaced, inside the transaction (progress, tests).
TableWritten = Callable[[str, int], None]


def _prepare(
    name: str, frame: pd.DataFrame, city_code: str, period: str, run_id: str, published_at: dt.datetime
) -> pd.DataFrame:
    """One partition's rows of table `name` as the warehouse stores them (`_prepare_group` of one)."""
    prepared, _ = _prepare_group(name, {(city_code, period): frame}, run_id, published_at)
    return prepared


def _concatenated(frames: list[pd.DataFrame], columns: Mapping[str, Any], defaults: Mapping[str, Any]) -> pd.DataFrame:
    """The frames one under another, with `columns` in order (an optional one absent: its default)."""
    first = frames[0]
    if all(f.columns.equals(first.columns) and f.dtypes.equals(first.dtypes) for f in frames[1:]):
        # alike partitions (the rule): one concatenation and one selection for the group, not one per partition
        whole = pd.concat(frames, ignore_index=True) if len(frames) > 1 else first.reset_index(drop=True)
        return _with_columns(whole, columns, defaults)
    selected = [_with_columns(f, columns, defaults) for f in frames]
    if any(not f.dtypes.equals(selected[0].dtypes) for f in selected[1:]):
        # partitions typed differently (bool here, floats there) are cast each on its own first, as a lone
        # partition is: a concatenation of mixed types is object, which a cast may read otherwise
        selected = [f.astype(columns) for f in selected]
    return pd.concat(selected, ignore_index=True) if len(selected) > 1 else selected[0].reset_index(drop=True)


def _with_columns(frame: pd.DataFrame, columns: Mapping[str, Any], defaults: Mapping[str, Any]) -> pd.DataFrame:
    absent = {c: pd.Series(defaults.get(c), index=frame.index, dtype=columns[c]) for c in columns if c not in frame}
    return (frame.assign(**absent) if absent else frame)[list(columns)]


def _prepare_group(
    name: str,
    frames: Mapping[tuple[str, str], pd.DataFrame],
    run_id: str,
    published_at: dt.datetime,
) -> tuple[pd.DataFrame, dict[tuple[str, str], int]]:
    """The rows of table `name` of several partitions as one frame with the table's columns and dtypes, and the rows
    of each. Typed once for the group, not per partition: a cast costs about a millisecond per column whatever its
    rows (issue #15). Every row must belong to its own partition."""
    columns = FACT_TABLES[name]
    optional = OPTIONAL_COLUMNS.get(name, frozenset())
    defaults = COLUMN_DEFAULTS.get(name, {})
    counts = {}
    for (city_code, period), frame in frames.items():
        missing = sorted(set(columns) - set(frame.columns) - optional)
        if missing:
            raise ValueError(f"cannot publish {name}: missing column(s) {missing}")
        counts[(city_code, period)] = len(frame)
    out = _concatenated(list(frames.values()), columns, defaults).astype(columns)
    expected_city = np.repeat([key[0] for key in counts], list(counts.values()))
    expected_period = np.repeat([key[1] for key in counts], list(counts.values()))
    # a missing city or period is another partition's too (None equals no code)
    foreign = (out["city_code"].to_numpy(dtype=object, na_value=None) != expected_city) | (
        out["period"].to_numpy(dtype=object, na_value=None) != expected_period
    )
    if foreign.any():
        # A row of another partition would be deleted by that partition's next run: refuse it outright.
        first = int(np.flatnonzero(foreign)[0])
        city_code, period = expected_city[first], expected_period[first]
        row = out[["city_code", "period"]].iloc[first].tolist()
        raise ValueError(
            f"cannot publish {name} for {city_code} {period}: {int(foreign.sum())} row(s) belong to "
            f"other partitions, e.g. {row}"
        )
    out["run_id"] = run_id
    out["published_at"] = pd.Timestamp(published_at)
    return out.astype(RUN_COLUMNS), counts


def _nulls_for_duckdb(frame: pd.DataFrame) -> pd.DataFrame:
    """DuckDB reads a float NaN as NaN, not NULL: nullable Float64 makes missing values NULL (no Python loop)."""
    floats = [c for c, d in frame.dtypes.items() if d == "float64"]
    return frame.astype(dict.fromkeys(floats, "Float64")) if floats else frame


def _driver(conn: sa.Connection) -> Any:
    """The DB-API connection under SQLAlchemy's (psycopg's or duckdb's), for COPY and registering frames."""
    driver = conn.connection.driver_connection
    if driver is None:
        raise RuntimeError("the warehouse connection is closed")
    return driver


def _quoted(names) -> str:
    return ", ".join('"' + n.replace('"', '""') + '"' for n in names)


def _copy_postgres(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame) -> None:
    from psycopg.copy import QueuedLibpqWriter

    cursor = _driver(conn).cursor()
    frame = _nulls_for_duckdb(frame)
    formatter = duckdb.connect()  # in-memory; only formats CSV
    try:
        with (
            tempfile.TemporaryDirectory(prefix="kc-copy-") as tmp,
            cursor.copy(
                f'COPY "{table.name}" ({_quoted(frame.columns)}) FROM STDIN (FORMAT csv)',
                writer=QueuedLibpqWriter(cursor),
            ) as copy,
        ):
            path = Path(tmp) / "chunk.csv"
            for start in range(0, len(frame), COPY_CHUNK_ROWS):
                formatter.register("chunk", frame.iloc[start : start + COPY_CHUNK_ROWS])
                # DuckDB writes NULL as an empty field and '' as "", which is what COPY … CSV reads back; a value
                # \. is only an end-of-data marker alone on an unquoted line, impossible with several columns.
                formatter.execute(f"COPY chunk TO '{path}' (FORMAT csv, HEADER false)")
                formatter.unregister("chunk")
                copy.write(path.read_bytes())
    finally:
        formatter.close()


def _insert_duckdb(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame) -> None:
    """DuckDB scans the DataFrame directly (vectorised), inside the same transaction."""
    raw = _driver(conn)
    view = f"_kc_publish_{uuid.uuid4().hex}"
    cols = _quoted(frame.columns)
    raw.register(view, _nulls_for_duckdb(frame))
    try:
        conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({cols}) SELECT {cols} FROM {view}')
    finally:
        raw.unregister(view)


def bulk_insert(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame) -> None:
    if frame.empty:
        return
    dialect = conn.dialect.name
    if dialect == "postgresql":
        _copy_postgres(conn, table, frame)
    elif dialect == "duckdb":
        _insert_duckdb(conn, table, frame)
    else:  # any other SQLAlchemy backend: executemany, slower but correct
        records = frame.astype(object).where(frame.notna(), None).to_dict("records")
        conn.execute(table.insert(), records)


def partition_lock_key(city_code: str, period: str) -> int:
    """The signed 64-bit key of a partition's advisory lock: the same in every process and on every host."""
    digest = hashlib.blake2b(f"kotacerdas publish {city_code}|{period}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _lock_partition(conn: sa.Connection, city_code: str, period: str, timeout: float) -> None:
    """Wait (at most `timeout` seconds) for the partition's lock, held until this transaction ends (PostgreSQL)."""
    if conn.dialect.name != "postgresql":
        return
    conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{max(1, round(timeout * 1000))}ms'")
    try:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": partition_lock_key(city_code, period)})
    except sa.exc.OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
            raise
        raise PartitionBusyError(
            f"partition {city_code} {period} is being published by another writer; waited {timeout:g} s for it",
            hint="let the other run (CLI, daemon or another host) finish and run this partition again, or raise "
            "publish_lock_timeout_seconds in config/pipeline.yaml",
        ) from None
    conn.exec_driver_sql("SET LOCAL lock_timeout = DEFAULT")  # the wait above is the only one this bounds


def publish_partition(
    engine: sa.Engine,
    city_code: str,
    period: str,
    frames: Mapping[str, pd.DataFrame],
    *,
    run_id: str,
    on_table_written: TableWritten | None = None,
    lock_timeout: float | None = None,
) -> dict[str, int]:
    """Replace the partition's rows in every table named in `frames`, atomically. Returns rows written.

    Either every table of `frames` shows the new rows or (after any error, or a crash of this process) every
    table still shows the previous ones. Tables not named in `frames` are not touched. One writer of a partition
    at a time: another waits up to `lock_timeout` seconds for it (PostgreSQL), then PartitionBusyError; by
    default the engine's LOCK_TIMEOUT_OPTION, else DEFAULT_LOCK_TIMEOUT_SECONDS.
    """
    written = publish_partitions(
        engine,
        {(city_code, period): frames},
        run_id=run_id,
        on_table_written=on_table_written,
        lock_timeout=lock_timeout,
    )
    return written[(city_code, period)]


def publish_partitions(
    engine: sa.Engine,
    partitions: Mapping[tuple[str, str], Mapping[str, pd.DataFrame]],
    *,
    run_id: str,
    on_table_written: TableWritten | None = None,
    lock_timeout: float | None = None,
) -> dict[tuple[str, str], dict[str, int]]:
    """`publish_partition` for several (city, period) partitions in one transaction: each table gets one DELETE
    of the partitions that name it and one bulk insert of their rows, instead of one of each per partition (a
    statement costs milliseconds whatever its rows; issue #15). All of them or none: after an error every table
    still shows every partition's previous rows. Returns the rows written per partition and table;
    `on_table_written` is called once per table with the rows of all partitions."""
    if lock_timeout is None:
        lock_timeout = engine.get_execution_options().get(LOCK_TIMEOUT_OPTION, DEFAULT_LOCK_TIMEOUT_SECONDS)
    unknown = sorted({n for frames in partitions.values() for n in frames} - set(TABLES))
    if unknown:
        raise ValueError(f"unknown warehouse table(s) {unknown}; known: {sorted(TABLES)}")
    if not partitions:
        return {}
    published_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    tables = list(dict.fromkeys(n for frames in partitions.values() for n in frames))
    written: dict[tuple[str, str], dict[str, int]] = {key: {} for key in partitions}
    inserted: dict[str, int] = {}  # rows per table, all partitions together
    try:
        with engine.begin() as conn:
            for city, period in sorted(partitions):  # one order in every writer: two groups cannot deadlock
                _lock_partition(conn, city, period, lock_timeout)
            for name in tables:  # one table's rows prepared at a time: memory holds one copy of one table
                of_table = {key: frames[name] for key, frames in partitions.items() if name in frames}
                frame, counts = _prepare_group(name, of_table, run_id, published_at)
                table = TABLES[name]
                conn.execute(sa.delete(table).where(_partitions_clause(table, counts)))
                bulk_insert(conn, table, frame)
                for key, rows in counts.items():
                    written[key][name] = rows
                inserted[name] = len(frame)
                if on_table_written is not None:
                    on_table_written(name, len(frame))
                del of_table, frame
    except (sa.exc.SQLAlchemyError, duckdb.Error, OSError) as exc:
        _raise_storage_failure(engine, exc, _named(partitions))
        raise
    if engine.dialect.name == "postgresql":
        analyze_grown_tables(engine, inserted)
    return written


def analyze_grown_tables(engine: sa.Engine, inserted: Mapping[str, int]) -> list[str]:
    """ANALYZE the tables (PostgreSQL) that this publish grew by ANALYZE_SHARE or more, or that have no statistics
    yet; returns their names. PostgreSQL plans a query by its tables' statistics, which autovacuum refreshes only a
    while after a load: the scorecards read right after a national month's publish were planned with none, and
    one read of the lineage rows of 64 cities took 53 s (issue #15). Best effort: the data is committed already, so
    a failure is logged, not raised (autovacuum will analyse later)."""
    names = [n for n, rows in inserted.items() if rows > 0]
    if not names:
        return []
    try:
        with engine.begin() as conn:
            estimates: dict[str, float] = dict(
                conn.execute(
                    sa.text(
                        "SELECT relname, reltuples FROM pg_class WHERE relkind = 'r' AND relname IN :names "
                        "AND relnamespace = to_regnamespace(current_schema())"
                    ).bindparams(sa.bindparam("names", expanding=True)),
                    {"names": names},
                ).all()
            )
            # reltuples is -1 for a table never analysed or vacuumed (PostgreSQL 14+), 0 before that
            grown = [n for n in names if estimates.get(n, -1) <= 0 or inserted[n] >= ANALYZE_SHARE * estimates[n]]
            if grown:
                conn.exec_driver_sql("ANALYZE " + ", ".join(TABLES[n].name for n in grown))
        return grown
    except sa.exc.SQLAlchemyError as exc:
        log.warning("could not refresh the planner statistics of %s: %s", ", ".join(names), exc)
        return []


def _partitions_clause(table: sa.Table, partitions: Mapping[tuple[str, str], object]) -> sa.ColumnElement[bool]:
    """WHERE the row belongs to one of `partitions`: per period, its cities in one IN list."""
    cities_by_period: dict[str, list[str]] = {}
    for city, period in partitions:
        cities_by_period.setdefault(period, []).append(city)
    return sa.or_(
        *(
            sa.and_(table.c.period == period, table.c.city_code.in_(cities))
            for period, cities in cities_by_period.items()
        )
    )


def _named(partitions: Mapping[tuple[str, str], object]) -> str:
    keys = sorted(partitions)
    if len(keys) == 1:
        return f"partition {keys[0][0]} {keys[0][1]}"
    return f"{len(keys)} partitions, {keys[0][0]} {keys[0][1]} to {keys[-1][0]} {keys[-1][1]}"


def _raise_storage_failure(engine: sa.Engine, exc: BaseException, partitions: str) -> None:
    """A full disk or a refused write, named as such (DuckDB may only say its transaction was aborted)."""
    what = f"the warehouse at {display_url(engine.url)} ({partitions})"
    failure = storage_failure(exc, what, duckdb_path(engine.url))
    if failure is not None:
        raise failure from exc
