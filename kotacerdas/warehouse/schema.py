"""Warehouse tables (SQLAlchemy 2 Core). Every fact table is partitioned by (city_code, period)."""

from __future__ import annotations

import sqlalchemy as sa

from kotacerdas.index.maturity import SCORE_COLUMNS
from kotacerdas.indicators.compute import INDICATOR_VALUE_COLUMNS
from kotacerdas.schemas import QUARANTINE_COLUMNS

metadata = sa.MetaData()

_SQL_TYPES = {
    "string": sa.Text,
    "float64": sa.Double,
    "Int64": sa.BigInteger,
    "bool": sa.Boolean,
    "datetime64[us]": sa.DateTime,
}

# Columns every published row gets: which run wrote it and when.
RUN_COLUMNS: dict[str, str] = {"run_id": "string", "published_at": "datetime64[us]"}

RAW_FILE_COLUMNS: dict[str, str] = {
    "city_code": "string",
    "period": "string",
    "table_name": "string",
    "source": "string",
    "raw_file": "string",  # path relative to the raw landing zone
    "sha256": "string",
    "origin": "string",  # URL (no secrets) or the landing-folder path it was picked up from
    "row_count": "Int64",
    "fetched_at": "datetime64[us]",
}

INGEST_FAILURE_COLUMNS: dict[str, str] = {
    "city_code": "string",
    "period": "string",
    "table_name": "string",
    "source": "string",
    "opd_code": "string",
    "origin": "string",
    "message": "string",
    "hint": "string",
}

# table name -> pandas dtypes of its columns (without the run columns)
FACT_TABLES: dict[str, dict[str, str]] = {
    "indicator_values": INDICATOR_VALUE_COLUMNS,
    "index_scores": SCORE_COLUMNS,
    "quarantine": QUARANTINE_COLUMNS,
    "raw_files": RAW_FILE_COLUMNS,
    "ingest_failures": INGEST_FAILURE_COLUMNS,
}


def _table(name: str, columns: dict[str, str]) -> sa.Table:
    cols = [sa.Column(c, _SQL_TYPES[d](), nullable=c not in ("city_code", "period"))
            for c, d in {**columns, **RUN_COLUMNS}.items()]
    return sa.Table(name, metadata, *cols, sa.Index(f"ix_{name}_partition", "city_code", "period"))


TABLES: dict[str, sa.Table] = {name: _table(name, cols) for name, cols in FACT_TABLES.items()}
