"""The evaluators' Excel workbook: the indices, a formatted sheet per dimension (its score and its indicators),
the regulators' indices and a methodology sheet. Text cells are neutralised against formula injection.

Written in openpyxl's write-only mode (through lxml): rows stream to the file in order, so column widths and panes
are set before the first row. Written cell by cell, a national year's workbook (514 cities × 12 months) took 111 s of
CPU and 1,073 MiB; so, 85 s and 175 MiB (#15, bench/export_bench.py; docs/operators/performance.md)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from kotacerdas.report.cells import neutralise, neutralise_frame
from kotacerdas.report.export_frames import ExportTables
from kotacerdas.report.labels import Labels

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet  # no public path in openpyxl 3.1

HEADER_FILL = PatternFill("solid", fgColor="0F3D5E")
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_ALIGNMENT = Alignment(wrap_text=True, vertical="top")
TITLE_FONT = Font(bold=True, size=14)
LABEL_FONT = Font(bold=True)
NUMBER_FORMATS = {
    "score": "0.00",
    "value": "0.00",
    "normalised_score": "0.00",
    "weight": "0.0000",
    "coverage": "0%",
    "data_coverage": "0%",
    "min_coverage": "0%",
    "min_data_coverage": "0%",
    "change_previous": "+0.00;-0.00;0.00",
    "change_last_year": "+0.00;-0.00;0.00",
}
MAX_SHEET_NAME = 31  # Excel's limit
WIDTH_SAMPLE = 200  # rows a column's width is judged on


def _sheet_name(name: str, used: set[str]) -> str:
    clean = "".join(ch for ch in name if ch not in "[]:*?/\\")[:MAX_SHEET_NAME]
    out, n = clean, 2
    while out in used:
        out = f"{clean[: MAX_SHEET_NAME - 3]} {n}"
        n += 1
    used.add(out)
    return out


def _set_widths(ws: WriteOnlyWorksheet, *frames: pd.DataFrame) -> None:
    """Each column as wide as its header or its longest value among the first rows of every table in the sheet
    (10 to 60 characters); a write-only sheet takes widths before its first row."""
    widths: dict[int, int] = {}
    for frame in frames:
        for c, column in enumerate(frame.columns, start=1):
            longest = max([len(str(column))] + [len(str(v)) for v in frame.iloc[:WIDTH_SAMPLE, c - 1]])
            widths[c] = max(widths.get(c, 0), longest)
    for c, longest in widths.items():
        ws.column_dimensions[get_column_letter(c)].width = min(max(10, longest + 2), 60)


def _styled(ws: WriteOnlyWorksheet, value: object, font: Font | None = None, **style: object) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=neutralise(value))
    if font is not None:
        cell.font = font
    for name, setting in style.items():
        setattr(cell, name, setting)
    return cell


def _rows(ws: WriteOnlyWorksheet, frame: pd.DataFrame) -> Iterator[list]:
    """`frame`'s header (styled) and rows (`frame` neutralised already); a missing value is an empty cell, a number
    in a column of NUMBER_FORMATS a cell with that format."""
    yield [_styled(ws, str(c), HEADER_FONT, fill=HEADER_FILL, alignment=HEADER_ALIGNMENT) for c in frame.columns]
    formats = [NUMBER_FORMATS.get(str(c)) for c in frame.columns]
    for record in frame.itertuples(index=False, name=None):
        row: list = []
        for value, fmt in zip(record, formats, strict=True):
            if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value):
                row.append(None)
                continue
            cell_format = fmt
            if isinstance(value, pd.Timestamp):
                value = value.to_pydatetime().replace(tzinfo=None)
            elif isinstance(value, np.bool_):  # openpyxl would write it as the number 1 or 0
                value = bool(value)
            elif isinstance(value, Decimal) and fmt is None:  # a figure as published: a number, shown with its places
                cell_format = _places_format(value)
            row.append(_styled(ws, value, number_format=cell_format) if cell_format else value)
        yield row


def _places_format(value: Decimal) -> str:
    """Excel's number format showing `value`'s decimal places as written: 85.90 stays 85.90."""
    exponent = value.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return "0." + "0" * places if places else "0"


def _published_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """The regulators' `published_value` (text in the warehouse, to keep its places) as exact numbers."""
    if "published_value" not in frame.columns:
        return frame

    def number(text: object) -> object:
        try:
            return Decimal(str(text)) if isinstance(text, str) and text.strip() else text
        except InvalidOperation:
            return text

    return frame.assign(published_value=frame["published_value"].map(number))


def _table_sheet(wb: Workbook, title: str, frame: pd.DataFrame, *, auto_filter: bool = False) -> None:
    """A sheet that is one table from A1, its header row frozen."""
    ws = wb.create_sheet(title)
    frame = neutralise_frame(frame)
    _set_widths(ws, frame)
    ws.freeze_panes = "A2"
    if auto_filter and len(frame.columns):
        ws.auto_filter.ref = f"A1:{get_column_letter(len(frame.columns))}{len(frame) + 1}"
    for row in _rows(ws, frame):
        ws.append(row)


def _titled_sheet(
    wb: Workbook, title: str, heading: str, *tables: tuple[str | None, pd.DataFrame], freeze: str | None = None
) -> None:
    """A sheet with a heading in A1 and tables from row 3, each after its label (if any)."""
    ws = wb.create_sheet(title)
    tables = tuple((label, neutralise_frame(frame)) for label, frame in tables)
    _set_widths(ws, *(frame for _, frame in tables))
    ws.freeze_panes = freeze
    ws.append([_styled(ws, heading, TITLE_FONT)])
    ws.append([])
    for n, (label, frame) in enumerate(tables):
        if n:
            ws.append([_styled(ws, label, LABEL_FONT)] if label else [])
        for row in _rows(ws, frame):
            ws.append(row)


def write_workbook(tables: ExportTables, labels: Labels, path: Path) -> Path:
    wb = Workbook(write_only=True)
    used: set[str] = set()
    _table_sheet(wb, _sheet_name(labels.text("index"), used), tables.indices, auto_filter=True)
    for code in labels.dimension_order:
        name = labels.dimensions.get(code, code)
        scores = tables.dimension_scores[tables.dimension_scores["code"] == code]
        values = tables.indicator_values[tables.indicator_values["dimension"] == code]
        sheet = _sheet_name(name, used)
        _titled_sheet(wb, sheet, name, (None, scores), (labels.text("indicators"), values), freeze="A4")
    _table_sheet(wb, _sheet_name(labels.text("regulators"), used), _published_numbers(tables.regulators))
    methodology = labels.text("methodology")
    _titled_sheet(wb, _sheet_name(methodology, used), methodology, (None, tables.methodology), freeze="A4")
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
