"""Turn what ingestion and the quality gate report (raw files, failed sources, rules, verdicts, what each OPD
delivered and when) into warehouse rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

from kotacerdas.ingest.table import IngestResult
from kotacerdas.quality.gate import GateResult
from kotacerdas.schemas import typed_frame
from kotacerdas.warehouse.schema import (
    INGEST_FAILURE_COLUMNS,
    QUALITY_GATE_COLUMNS,
    QUALITY_RESULT_COLUMNS,
    RAW_FILE_COLUMNS,
)


def ingest_log_frames(results: Iterable[IngestResult], city: str, month: str) -> dict[str, pd.DataFrame]:
    raw_rows, failure_rows = [], []
    for result in results:
        for f in result.raw_files:
            raw_rows.append(
                {
                    "city_code": city,
                    "period": month,
                    "table_name": result.table,
                    "source": f.source,
                    "raw_file": f.relpath,
                    "sha256": f.sha256,
                    "origin": f.origin,
                    "row_count": f.rows,
                    "fetched_at": pd.Timestamp(f.fetched_at).tz_convert(None),
                }
            )
        for failure in result.failures:
            failure_rows.append(
                {
                    "city_code": city,
                    "period": month,
                    "table_name": result.table,
                    "source": failure.source,
                    "opd_code": failure.opd,
                    "origin": failure.url,
                    "message": failure.message,
                    "hint": failure.hint,
                }
            )
    return {
        "raw_files": typed_frame(raw_rows, RAW_FILE_COLUMNS),
        "ingest_failures": typed_frame(failure_rows, INGEST_FAILURE_COLUMNS),
    }


def opd_of_raw_file(relpath: str) -> str | None:
    """The OPD a raw payload came from: `{source}/{city}/{month}/{opd}/{fetch_id}/{name}` (sources.landing)."""
    parts = str(relpath).split("/")
    return parts[3] if len(parts) >= 6 else None


def partition_quality_frames(gates: Sequence[GateResult], city: str, month: str) -> dict[str, pd.DataFrame]:
    """`quality_results` (one row per rule) and `quality_gates` (one per table). `opd_timeliness` is made by
    `kotacerdas.quality.timeliness.opd_timeliness` (it reads the raw zone and the due dates)."""
    results, verdicts = [], []
    for gate in gates:
        rules = gate.rules.copy()
        for col in QUALITY_RESULT_COLUMNS:
            if col not in rules.columns:
                rules[col] = pd.NA
        rules["city_code"], rules["period"], rules["table_name"] = city, month, gate.table
        results.append(rules[list(QUALITY_RESULT_COLUMNS)])
        verdicts.append(
            {
                "city_code": city,
                "period": month,
                "table_name": gate.table,
                "input_rows": gate.input_rows,
                "valid_rows": len(gate.valid),
                "rejected_rows": gate.rejected_rows,
                "rejected_share": gate.rejected_share,
                "threshold": gate.threshold,
                # the gate's own judgement: an incomplete table published on purpose still did not pass
                "passed": gate.within_threshold and gate.complete,
                "failed_table_rules": ", ".join(gate.failed_table_rules) or None,
                "status": gate.status,
                "coverage": gate.coverage,
                "incomplete_reason": ("; ".join(gate.completeness.reasons) or None) if gate.completeness else None,
                "warn_threshold": gate.warn_threshold,
            }
        )
    return {
        "quality_results": (
            pd.concat(results, ignore_index=True) if results else pd.DataFrame(columns=list(QUALITY_RESULT_COLUMNS))
        ).astype(QUALITY_RESULT_COLUMNS),
        "quality_gates": typed_frame(verdicts, QUALITY_GATE_COLUMNS),
    }


def table_quality(
    gates: Sequence[GateResult], ingests: Sequence[IngestResult], expected_opds: Mapping[str, Sequence[str]]
) -> dict[str, tuple[float, float]]:
    """Per canonical table: (share of rows the gate rejected, share of expected OPDs that delivered)."""
    out = {}
    ingest_by_table = {r.table: r for r in ingests}
    for gate in gates:
        ingest = ingest_by_table.get(gate.table)
        expected = set(expected_opds.get(gate.table, ()))
        failed = {f.opd for f in ingest.failures} if ingest is not None else set()
        delivered = ({opd_of_raw_file(f.relpath) for f in ingest.raw_files} - failed) if ingest is not None else set()
        coverage = len(expected & delivered) / len(expected) if expected else 1.0
        out[gate.table] = (gate.rejected_share, coverage)
    return out
