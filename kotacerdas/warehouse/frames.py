"""Turn what ingestion reports (raw files fetched, sources that failed) into warehouse rows."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from kotacerdas.sources.ingest import IngestResult
from kotacerdas.warehouse.schema import INGEST_FAILURE_COLUMNS, RAW_FILE_COLUMNS


def ingest_log_frames(results: Iterable[IngestResult], city: str, month: str) -> dict[str, pd.DataFrame]:
    raw_rows, failure_rows = [], []
    for result in results:
        for f in result.raw_files:
            raw_rows.append({
                "city_code": city, "period": month, "table_name": result.table, "source": f.source,
                "raw_file": f.relpath, "sha256": f.sha256, "origin": f.origin, "row_count": f.rows,
                "fetched_at": pd.Timestamp(f.fetched_at).tz_convert(None),
            })
        for f in result.failures:
            failure_rows.append({
                "city_code": city, "period": month, "table_name": result.table, "source": f.source,
                "opd_code": f.opd, "origin": f.url, "message": f.message, "hint": f.hint,
            })
    return {
        "raw_files": pd.DataFrame(raw_rows, columns=list(RAW_FILE_COLUMNS)).astype(RAW_FILE_COLUMNS),
        "ingest_failures": pd.DataFrame(failure_rows, columns=list(INGEST_FAILURE_COLUMNS))
        .astype(INGEST_FAILURE_COLUMNS),
    }
