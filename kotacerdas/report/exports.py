"""`kotacerdas export`: the published numbers as CSV, JSON, an Excel workbook, SDMX-CSV or FIWARE entities."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from kotacerdas.errors import KotacerdasError
from kotacerdas.report.cells import neutralise_frame
from kotacerdas.report.export_frames import ExportTables
from kotacerdas.report.fiware import kpi_entities
from kotacerdas.report.labels import Labels
from kotacerdas.report.sdmx import sdmx_rows
from kotacerdas.report.views import records
from kotacerdas.report.workbook import write_workbook

FORMATS = ("csv", "json", "xlsx", "sdmx-csv", "fiware")


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows for JSON: missing values None (`views.records`), timestamps as ISO text."""
    return [{k: v.isoformat() if isinstance(v, pd.Timestamp) else v for k, v in row.items()} for row in records(frame)]


def write_export(tables: ExportTables, labels: Labels, fmt: str, out_dir: Path) -> list[Path]:
    """Write `tables` in format `fmt` into `out_dir`; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        paths = []
        for name, frame in tables.tables().items():
            path = out_dir / f"{name}.csv"
            neutralise_frame(frame).to_csv(path, index=False, encoding="utf-8-sig")  # BOM: Excel reads UTF-8
            paths.append(path)
        return paths
    if fmt == "json":
        path = out_dir / "kotacerdas_export.json"
        body = {"language": labels.lang, **{k: _records(v) for k, v in tables.tables().items()}}
        body["methodology"] = _records(tables.methodology)
        path.write_text(json.dumps(body, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
        return [path]
    if fmt == "xlsx":
        return [write_workbook(tables, labels, out_dir / "kotacerdas_scores.xlsx")]
    if fmt == "sdmx-csv":
        path = out_dir / "kotacerdas_sdmx.csv"
        neutralise_frame(sdmx_rows(tables)).to_csv(path, index=False, encoding="utf-8")
        return [path]
    if fmt == "fiware":
        path = out_dir / "kotacerdas_kpi.json"
        path.write_text(json.dumps(kpi_entities(tables), ensure_ascii=False, indent=1), encoding="utf-8")
        return [path]
    raise KotacerdasError(f"unknown export format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")
