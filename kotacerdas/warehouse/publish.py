"""Publish one (city, period) partition: delete its rows and bulk-insert the new ones in one transaction."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping

import pandas as pd
import sqlalchemy as sa

from kotacerdas.warehouse.schema import FACT_TABLES, RUN_COLUMNS, TABLES


def _prepare(name: str, frame: pd.DataFrame, city_code: str, period: str, run_id: str,
             published_at: dt.datetime) -> pd.DataFrame:
    columns = FACT_TABLES[name]
    missing = sorted(set(columns) - set(frame.columns))
    if missing:
        raise ValueError(f"cannot publish {name}: missing column(s) {missing}")
    out = frame[list(columns)].astype(columns).copy()
    foreign = out[(out["city_code"] != city_code) | (out["period"] != period)]
    if len(foreign):
        # A row of another partition would be deleted by that partition's next run: refuse it outright.
        raise ValueError(f"cannot publish {name} for {city_code} {period}: {len(foreign)} row(s) belong to "
                         f"other partitions, e.g. {foreign[['city_code', 'period']].iloc[0].tolist()}")
    out["run_id"] = run_id
    out["published_at"] = pd.Timestamp(published_at)
    return out.astype(RUN_COLUMNS)


def _copy_postgres(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame) -> None:
    """PostgreSQL COPY through psycopg 3 on the transaction's own connection (~7x faster than INSERTs)."""
    cols = ", ".join(f'"{c}"' for c in frame.columns)
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(f'COPY "{table.name}" ({cols}) FROM STDIN') as copy:
        for row in frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None):
            copy.write_row(row)


def _insert_duckdb(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame) -> None:
    """DuckDB scans the DataFrame directly (vectorised), inside the same transaction."""
    raw = conn.connection.driver_connection
    view = f"_kc_publish_{uuid.uuid4().hex}"
    cols = ", ".join(f'"{c}"' for c in frame.columns)
    raw.register(view, frame.astype(object).where(frame.notna(), None))
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


def publish_partition(engine: sa.Engine, city_code: str, period: str, frames: Mapping[str, pd.DataFrame],
                      *, run_id: str) -> dict[str, int]:
    """Replace the partition's rows in every table named in `frames`, atomically. Returns rows written."""
    unknown = sorted(set(frames) - set(TABLES))
    if unknown:
        raise ValueError(f"unknown warehouse table(s) {unknown}; known: {sorted(TABLES)}")
    published_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    prepared = {n: _prepare(n, f, city_code, period, run_id, published_at) for n, f in frames.items()}
    written: dict[str, int] = {}
    with engine.begin() as conn:
        for name, frame in prepared.items():
            table = TABLES[name]
            conn.execute(sa.delete(table).where(table.c.city_code == city_code, table.c.period == period))
            bulk_insert(conn, table, frame)
            written[name] = len(frame)
    return written
