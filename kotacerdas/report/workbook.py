"""The evaluators' Excel workbook: the indices, a formatted sheet per dimension (its score and its indicators),
the regulators' indices and a methodology sheet. Text cells are neutralised against formula injection."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from kotacerdas.report.cells import neutralise_frame
from kotacerdas.report.export_frames import ExportTables
from kotacerdas.report.labels import Labels

HEADER_FILL = PatternFill("solid", fgColor="0F3D5E")
HEADER_FONT = Font(bold=True, color="FFFFFF")
NUMBER_FORMATS = {
    "score": "0.00",
    "value": "0.00",
    "normalised_score": "0.00",
    "weight": "0.0000",
    "coverage": "0%",
    "data_coverage": "0%",
    "change_previous": "+0.00;-0.00;0.00",
    "change_last_year": "+0.00;-0.00;0.00",
}
MAX_SHEET_NAME = 31  # Excel's limit


def _sheet_name(name: str, used: set[str]) -> str:
    clean = "".join(ch for ch in name if ch not in "[]:*?/\\")[:MAX_SHEET_NAME]
    out, n = clean, 2
    while out in used:
        out = f"{clean[: MAX_SHEET_NAME - 3]} {n}"
        n += 1
    used.add(out)
    return out


def _write(ws, frame: pd.DataFrame, start_row: int = 1) -> int:
    """`frame` at `start_row` with a styled header; returns the next free row."""
    frame = neutralise_frame(frame)
    for c, column in enumerate(frame.columns, start=1):
        cell = ws.cell(row=start_row, column=c, value=str(column))
        cell.fill, cell.font = HEADER_FILL, HEADER_FONT
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for r, row in enumerate(frame.itertuples(index=False), start=start_row + 1):
        for c, value in enumerate(row, start=1):
            if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
                continue
            if isinstance(value, pd.Timestamp):
                value = value.to_pydatetime().replace(tzinfo=None)
            cell = ws.cell(row=r, column=c, value=value)
            fmt = NUMBER_FORMATS.get(str(frame.columns[c - 1]))
            if fmt:
                cell.number_format = fmt
    for c, column in enumerate(frame.columns, start=1):
        longest = max([len(str(column))] + [len(str(v)) for v in frame.iloc[:, c - 1].head(200)])
        ws.column_dimensions[get_column_letter(c)].width = min(max(10, longest + 2), 60)
    return start_row + len(frame) + 2


def write_workbook(tables: ExportTables, labels: Labels, path: Path) -> Path:
    wb = Workbook()
    used: set[str] = set()
    ws = wb.active
    ws.title = _sheet_name(labels.text("index"), used)
    _write(ws, tables.indices)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    for code in labels.dimension_order:
        ws = wb.create_sheet(_sheet_name(labels.dimensions.get(code, code), used))
        ws["A1"] = labels.dimensions.get(code, code)
        ws["A1"].font = Font(bold=True, size=14)
        scores = tables.dimension_scores[tables.dimension_scores["code"] == code]
        row = _write(ws, scores, start_row=3)
        ws.cell(row=row - 1, column=1, value=labels.text("indicators")).font = Font(bold=True)
        _write(ws, tables.indicator_values[tables.indicator_values["dimension"] == code], start_row=row)
        ws.freeze_panes = "A4"
    ws = wb.create_sheet(_sheet_name(labels.text("regulators"), used))
    _write(ws, tables.regulators)
    ws.freeze_panes = "A2"
    ws = wb.create_sheet(_sheet_name(labels.text("methodology"), used))
    ws["A1"] = labels.text("methodology")
    ws["A1"].font = Font(bold=True, size=14)
    _write(ws, tables.methodology, start_row=3)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
