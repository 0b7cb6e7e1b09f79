"""File-drop connector: read a CSV, XLSX or JSON file an OPD put in the landing folder, as declared in sources.yaml.

Files are read whole or not at all: a row with the wrong number of fields, a header that cannot be mapped or
bytes that are not text raise a SourceError naming the file (and line) and what to do, so nothing is ever
half-loaded. A wide file (one column per year) is first reshaped to rows (`unpivot`). Values stay as delivered
(text, or the numbers of a workbook or JSON; staging types them) after the unambiguous repairs of `cleaning`:
decimal comma / thousands dot, Excel date serials, float-mangled region codes, months however Excel wrote them.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import zipfile
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import NoReturn

import pandas as pd

from kotacerdas.config import FileSource
from kotacerdas.errors import SourceError
from kotacerdas.ingest.cleaning import (
    excel_serial_to_iso,
    normalise_decimal,
    normalise_period,
    repair_region_code,
)
from kotacerdas.ingest.unpivot import unpivot
from kotacerdas.periods import template_fields
from kotacerdas.schemas import TIMESTAMP, get_table
from kotacerdas.stage.hygiene import RejectedCell

__all__ = ["decode_text", "file_format", "normalise_decimal", "read_file_drop", "sniff_separator"]

_NUMERIC_DTYPES = ("float64", "Int64", "int64")
SEPARATORS = (";", ",", "\t", "|")
TEMPLATE_HINT = "ask the OPD to re-export the file with the agreed template"
# The longest cell a CSV file may hold, in characters (4 MiB of ASCII text). Far above any real value (an evidence
# note of 200,000 characters reads; Excel itself stops at 32,767) and above the csv module's default of 131,072,
# which rejected whole files for one long cell; the bound keeps one runaway cell (an unclosed quote swallowing the
# rest of a large file) from being held as a value in memory. A longer cell fails the file, naming line and column.
MAX_CELL_CHARS = 4 * 1024 * 1024
# A workbook cell holding a formula and no value computed for it (written by a program that does not calculate).
RULE_FORMULA_WITHOUT_VALUE = "cell:formula_without_value"


def norm_header(text: object) -> str:
    """Header names as staff type them: case, underscores and repeated spaces do not matter."""
    return re.sub(r"[\s_\-]+", " ", str(text).replace("\ufeff", "")).strip().lower()


def header_aliases(source: FileSource) -> dict[str, str]:
    """Normalised header name -> the canonical column it feeds, through `columns` and its aliases."""
    return {norm_header(name): canon for name, canon in source.columns.items()}


def file_format(source: FileSource, path: Path) -> str:
    if source.format != "auto":
        return source.format
    suffix = path.suffix.lower()
    return {".xlsx": "xlsx", ".xlsm": "xlsx", ".json": "json"}.get(suffix, "csv")


# Byte-order marks of the wide encodings; UTF-32's first (its LE mark starts with UTF-16's LE mark).
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SNIFF_BYTES = 4096


def wide_unicode(data: bytes) -> tuple[str, str] | None:
    """(codec, how it was told) when the bytes are UTF-16 or UTF-32 text (Excel's "Unicode Text" export, Notepad's
    "Unicode"): by its byte-order mark, or by the NUL bytes that ASCII characters carry in those encodings."""
    for bom, codec in _WIDE_BOMS:
        if data.startswith(bom):
            return codec, "byte-order mark"
    head = data[: _SNIFF_BYTES - _SNIFF_BYTES % 4]
    if len(head) < 8 or head.count(0) < len(head) // 4:
        return None
    for codec, width, offset in (("utf-32-le", 4, 0), ("utf-32-be", 4, 3), ("utf-16-le", 2, 0), ("utf-16-be", 2, 1)):
        units = [head[i : i + width] for i in range(0, len(head) - width + 1, width)]
        # ASCII text: the one byte of each unit that holds the character is set, all the others are NUL
        ascii_like = sum(1 for u in units if u[offset] and not any(u[j] for j in range(width) if j != offset))
        if ascii_like >= 0.9 * len(units):
            return codec, "NUL bytes between the characters"
    return None


def decode_text(data: bytes, encoding: str, *, name: str, where: str) -> tuple[str, str]:
    """Bytes -> text; `auto` reads UTF-8 (with or without BOM), UTF-16 or UTF-32 (told by their byte-order mark or
    NUL pattern) and falls back to Windows-1252.

    Returns (text, encoding used). Windows-1252 is what Excel's plain "CSV" export writes on Indonesian
    Windows; UTF-8 is "CSV UTF-8"; UTF-16 is "Unicode Text". Any byte sequence that is not valid UTF-8 is taken
    as Windows-1252, which can only fail on the five bytes it leaves undefined. UTF-16 or UTF-32 bytes under any
    other declared encoding are an error saying so, never text read wrongly.
    """
    wide = wide_unicode(data)
    if wide is not None:
        codec, told = wide
        declared = None if encoding == "auto" else codecs.lookup(encoding).name
        if declared is not None and not declared.startswith(("utf-16", "utf-32")):
            raise SourceError(
                f"{name}: {where} is {codec.upper()} text (told by its {told}), but the source declares "
                f"encoding {encoding!r}; nothing of this file was loaded",
                hint="ask the OPD to export as CSV UTF-8, or set `encoding: auto` (or the file's encoding) of the "
                "source in sources.yaml",
            )
        codec = declared or codec
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError as exc:
            raise SourceError(
                f"{name}: {where} looks like {codec.upper()} text (its {told}) but does not decode as it ({exc})",
                hint="ask the OPD to export the file again as CSV UTF-8",
            ) from None
    tried = ("utf-8-sig", "cp1252") if encoding == "auto" else (encoding,)
    for codec in tried:
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError as exc:
            last = exc
    raise SourceError(
        f"{name}: {where} is not {' or '.join(tried)} text ({last})",
        hint="ask the OPD to export as CSV UTF-8, or set `encoding` of the source in sources.yaml",
    )


def sniff_separator(text: str, *, name: str, where: str, header_row: int = 1) -> str:
    """The separator of the header line: whichever of ; , tab | splits it into the most fields."""
    lines = [line for line in text.splitlines() if line.strip()]
    header = lines[header_row - 1] if len(lines) >= header_row else ""
    counts = {sep: len(next(csv.reader([header], delimiter=sep))) for sep in SEPARATORS}
    best = max(counts.values())
    winners = [s for s, n in counts.items() if n == best]
    if best < 2 or len(winners) > 1:
        raise SourceError(
            f"{name}: {where}: cannot tell the separator from the header line {header[:120]!r}",
            hint="set `separator` of the source in sources.yaml",
        )
    return winners[0]


def _cell_text(value: object) -> object:
    """A spreadsheet or JSON cell: text as text, numbers kept as the numbers they are, dates as ISO text.

    Numbers stay numbers so that the file's declared decimal convention (meant for text) is never applied
    to them: the float 1.234 is not one thousand two hundred and thirty-four.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        return value if value.strip() else None
    return str(value)


def _long_field(text: str, line: int, sep: str) -> int | None:
    """0-based index of the first field longer than MAX_CELL_CHARS in the CSV record that starts on `line`."""
    stream = io.StringIO(text, newline="")
    for _ in range(line - 1):
        stream.readline()
    rest = stream.read()
    column, length, quoted, i = 0, 0, False, 0
    while i < len(rest):
        char = rest[i]
        if quoted and char == '"' and rest[i + 1 : i + 2] == '"':  # an escaped quote
            length, i = length + 1, i + 2
            continue
        if char == '"':
            quoted = not quoted
        elif quoted or char not in (sep, "\r", "\n"):
            length += 1
        elif char == sep:
            column, length = column + 1, 0
        else:  # the end of the record
            return None
        if length > MAX_CELL_CHARS:
            return column
        i += 1
    return None


def _too_long(source: FileSource, where: str, rows: list[tuple[int, list[str]]], line: int, column: int) -> NoReturn:
    """Raise: the record on `line` has a cell longer than MAX_CELL_CHARS in `column` (0-based), named by the
    header when the header was read already."""
    header = rows[source.header_row - 1][1] if len(rows) >= source.header_row else []
    name = f" ({header[column].strip()})" if column < len(header) and header[column].strip() else ""
    raise SourceError(
        f"{source.name}: {where} line {line}, column {column + 1}{name} holds a cell longer than "
        f"{MAX_CELL_CHARS:,} characters, the most one cell may hold (the bound keeps memory in check); nothing of "
        "this file was loaded",
        hint="ask the OPD to shorten that cell (a link to a long document instead of its text) and upload again; "
        'if the cell should be short, a quote (") that opens a value without closing it swallows the lines after it',
    )


def _read_csv(source: FileSource, data: bytes, where: str) -> tuple[list[str], list[list[object]]]:
    if csv.field_size_limit() < MAX_CELL_CHARS:  # process-wide; only ever raised, to the same bound
        csv.field_size_limit(MAX_CELL_CHARS)
    text, _ = decode_text(data, source.encoding, name=source.name, where=where)
    if not text.replace("\ufeff", "").strip():
        raise SourceError(
            f"{source.name}: {where} holds no data: its {len(data)} bytes are blank lines or spaces",
            hint="ask the OPD to export the file again and upload it (it has no header and no rows)",
        )
    sep = (
        sniff_separator(text, name=source.name, where=where, header_row=source.header_row)
        if source.separator == "auto"
        else source.separator
    )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
    rows: list[tuple[int, list[str]]] = []
    start = 1  # the line the record being read starts on (a quoted value may span lines)
    try:
        for line_rows in reader:
            if any(len(cell) > MAX_CELL_CHARS for cell in line_rows):  # the csv module's limit may be higher
                _too_long(
                    source, where, rows, start, next(i for i, c in enumerate(line_rows) if len(c) > MAX_CELL_CHARS)
                )
            if any(cell.strip() for cell in line_rows):
                rows.append((reader.line_num, line_rows))
            start = reader.line_num + 1
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            column = _long_field(text, start, sep)
            if column is not None:
                _too_long(source, where, rows, start, column)
        raise SourceError(
            f"{source.name}: {where} line {reader.line_num} is not valid CSV with separator {sep!r}: {exc}",
            hint=TEMPLATE_HINT,
        ) from None
    if len(rows) < source.header_row:
        raise SourceError(f"{source.name}: {where} has no header row (row {source.header_row})", hint=TEMPLATE_HINT)
    header = rows[source.header_row - 1][1]
    while header and not header[-1].strip():  # Excel writes trailing separators for empty columns
        header = header[:-1]
    body: list[list[object]] = []
    for line, cells in rows[source.header_row :]:
        if len(cells) > len(header) and not any(c.strip() for c in cells[len(header) :]):
            cells = cells[: len(header)]
        if len(cells) != len(header):
            titled = _title_rows(source, where, [(n, list(c)) for n, c in rows], unit="line")
            if titled is not None:
                raise titled
            raise SourceError(
                f"{source.name}: {where} line {line} has {len(cells)} fields, the header has {len(header)} "
                f"(separator {sep!r}); nothing of this file was loaded",
                hint="ask the OPD to fix that line (a separator or quote inside a value?) and upload again",
            )
        body.append([c if c.strip() else None for c in cells])
    return header, body


def _open_sheet(source: FileSource, data: bytes, where: str, *, data_only: bool, read_only: bool = True) -> tuple:
    """(workbook, the source's sheet); close the workbook after use."""
    import openpyxl  # imported here: only XLSX drops need it

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=read_only, data_only=data_only)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise SourceError(
            f"{source.name}: {where} is not a readable XLSX workbook ({type(exc).__name__}: {exc})",
            hint="ask the OPD to save the file as Excel Workbook (.xlsx) and upload again",
        ) from None
    if isinstance(source.sheet, int) and source.sheet < len(book.sheetnames):
        return book, book[book.sheetnames[source.sheet]]
    if isinstance(source.sheet, str) and source.sheet in book.sheetnames:
        return book, book[source.sheet]
    book.close()
    if isinstance(source.sheet, int):
        raise SourceError(
            f"{source.name}: {where} has no sheet number {source.sheet} (sheets: {book.sheetnames})",
            hint="set `sheet` of the source in sources.yaml",
        )
    raise SourceError(
        f"{source.name}: {where} has no sheet {source.sheet!r} (sheets: {book.sheetnames})",
        hint="set `sheet` of the source in sources.yaml, or ask the OPD to rename it",
    )


_PLAIN_CELL = (str, int, float, bool, datetime, date, time, timedelta)


def _formula(value: object) -> str | None:
    """The formula of a cell as openpyxl reads it without `data_only` ('=10+9.8', an array formula), else None.
    Text typed with a leading '=' reads the same way; only the stored values tell it apart."""
    if isinstance(value, str):
        return value if value.startswith("=") else None
    if value is None or isinstance(value, _PLAIN_CELL):
        return None
    return str(getattr(value, "text", None) or f"a {type(value).__name__}")


def _uncomputed(cell: str, formula: str) -> RejectedCell:
    return RejectedCell(
        text=formula,
        rule=RULE_FORMULA_WITHOUT_VALUE,
        reason=f"the cell {cell} holds the formula {formula} but no computed value (the file was written by a "
        "program that does not calculate formulas, so there is no value to read); ask the OPD to open the file in "
        "Excel and save it, or to paste the values (Paste Special > Values) over the formulas, and upload again",
    )


def _sheet_rows(source: FileSource, data: bytes, where: str) -> tuple[str, list[list[object]]]:
    """(sheet title, every row of the sheet from row 1) as cell values; a formula cell gives the value Excel stored
    with it, or a RejectedCell when there is none (`_uncomputed`)."""
    from openpyxl.utils import get_column_letter

    book, sheet = _open_sheet(source, data, where, data_only=False)
    try:
        title = sheet.title
        raw = [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
    formulas = {(r, c): f for r, row in enumerate(raw) for c, v in enumerate(row) if (f := _formula(v)) is not None}
    if not formulas:
        return title, [[_cell_text(v) for v in row] for row in raw]
    del raw
    book, sheet = _open_sheet(source, data, where, data_only=True)  # again, for the values stored with the formulas
    try:
        rows: list[list[object]] = []
        for r, cells in enumerate(sheet.iter_rows()):
            row = [_cell_text(cell.value) for cell in cells]
            for c, cell in enumerate(cells):
                # a formula Excel computed to "" is stored as an empty text (type str); one never computed has none
                if (r, c) in formulas and cell.value is None and cell.data_type != "str":
                    row[c] = _uncomputed(f"{get_column_letter(c + 1)}{r + 1}", formulas[(r, c)])
            rows.append(row)
    finally:
        book.close()
    return title, rows


def _merged_cells(source: FileSource, data: bytes, where: str) -> dict[int, list[str]]:
    """Sheet row -> the merged ranges that start on it ('A1:G1'). Loads the whole workbook: for error messages."""
    book, sheet = _open_sheet(source, data, where, data_only=True, read_only=False)
    try:
        merged: dict[int, list[str]] = {}
        for cells in sheet.merged_cells.ranges:
            merged.setdefault(cells.min_row, []).append(cells.coord)
        return merged
    finally:
        book.close()


def _filled(cells: list[object]) -> int:
    return sum(1 for c in cells if c is not None and str(c).strip())


def _header_below(source: FileSource, rows: list[tuple[int, list]]) -> int | None:
    """Index in `rows` (the non-empty rows) of the first row below the header row that holds a header of every
    column the source needs and more filled cells than the header row: the real header under title rows."""
    aliases = header_aliases(source)
    required = {c for c in source.columns.values() if c not in source.optional_columns}
    at = source.header_row - 1
    if not required or at >= len(rows):
        return None
    for k in range(at + 1, min(len(rows), at + 31)):
        found = {aliases.get(norm_header(v)) for v in rows[k][1] if v is not None}
        if required <= found and _filled(rows[k][1]) > _filled(rows[at][1]):
            return k
    return None


def _title_rows(
    source: FileSource,
    where: str,
    rows: list[tuple[int, list]],
    *,
    unit: str,
    sheet: str = "",
    merged: dict[int, list[str]] | None = None,
) -> SourceError | None:
    """The error to raise when the header row is a title above the real header (and so the data look wider than
    the header), naming the rows and the `header_row` that reads the file; None when no such header is found."""
    k = _header_below(source, rows)
    if k is None:
        return None
    merged = merged or {}
    number = rows[k][0]
    titles = []
    for n, cells in rows[:k][:3]:
        first = next((str(c).strip() for c in cells if c is not None and str(c).strip()), "")
        spans = "".join(f", merged {m}" for m in merged.get(n, []))
        titles.append(f"{unit} {n} ({first[:80]!r}{spans})")
    more = ", …" if k > 3 else ""
    counted = (
        f" (`header_row` counts the {unit}s that are not empty: {unit} {number} is number {k + 1})"
        if k + 1 != number
        else ""
    )
    return SourceError(
        f"{source.name}: {where}: the headers are on {unit} {number}{sheet}, below what looks like a title: "
        f"{'; '.join(titles)}{more}. The source takes {unit} {rows[source.header_row - 1][0]} as the header "
        f"(`header_row: {source.header_row}`), so the rows below do not fit it; nothing of this file was loaded",
        hint="ask the OPD to delete the title rows above the header (the template starts with the header) and "
        f"upload again; or, if every file of this source has them, set `header_row: {k + 1}` of source "
        f"{source.name!r} in sources.yaml{counted}",
    )


def _read_xlsx(source: FileSource, data: bytes, where: str) -> tuple[list[str], list[list[object]]]:
    from openpyxl.utils import get_column_letter

    title, grid = _sheet_rows(source, data, where)
    rows = [(n, r) for n, r in enumerate(grid, start=1) if any(c is not None for c in r)]  # (sheet row, cells)
    if len(rows) < source.header_row:
        raise SourceError(f"{source.name}: {where} has no header row (row {source.header_row})", hint=TEMPLATE_HINT)
    at, cells = rows[source.header_row - 1]
    header = ["" if c is None else str(c) for c in cells]
    while header and not header[-1].strip():
        header = header[:-1]
    body = []
    for number, row in rows[source.header_row :]:
        stray = next((i for i, c in enumerate(row[len(header) :], start=len(header)) if c is not None), None)
        if stray is not None:
            merged = _merged_cells(source, data, where)
            titled = _title_rows(source, where, rows, unit="row", sheet=f" of sheet {title!r}", merged=merged)
            if titled is not None:
                raise titled
            spans = [m for n in range(1, at + 1) for m in merged.get(n, [])]
            merged_note = (
                f"; merged cells ({', '.join(spans)}) at or above the header row {at} suggest a title above the header"
                if spans
                else ""
            )
            raise SourceError(
                f"{source.name}: {where}: row {number} has a value in column {get_column_letter(stray + 1)} "
                f"({str(row[stray])[:80]!r}) beyond the last header column {get_column_letter(len(header))} "
                f"({header[-1]!r}) of row {at} in sheet {title!r}{merged_note}; nothing of this file was loaded",
                hint="ask the OPD to remove stray cells right of the table (or to give that column a header)"
                + ("; if the header is lower down, set `header_row` of the source in sources.yaml" if spans else ""),
            )
        body.append(row[: len(header)] + [None] * (len(header) - len(row)))
    return header, body


def _read_json(source: FileSource, data: bytes, where: str) -> tuple[list[str], list[list[object]]]:
    text, _ = decode_text(
        data, "auto" if source.encoding == "utf-8-sig" else source.encoding, name=source.name, where=where
    )
    try:
        payload = json.loads(text)
    except ValueError as exc:
        raise SourceError(
            f"{source.name}: {where} is not valid JSON ({exc})",
            hint="ask the OPD to export the file again (it may be cut off)",
        ) from None
    records = payload
    if isinstance(payload, dict):  # {"data": [...]}, {"records": [...]} or CKAN's {"result": {"records": [...]}}
        records = payload.get("data", payload.get("records", (payload.get("result") or {}).get("records")))
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise SourceError(
            f"{source.name}: {where} is not a JSON list of records",
            hint='expected [{...}, ...] or {"data": [...]}; ask the OPD which export this is',
        )
    header: list[str] = []
    for rec in records:
        header += [k for k in rec if k not in header]
    body = [
        [rec[k] if isinstance(rec.get(k), dict | list) else _cell_text(rec.get(k)) for k in header] for rec in records
    ]
    return header, body


def map_headers(source: FileSource, header: list[str], where: str) -> dict[str, int]:
    """canonical column -> index of the file column that feeds it (through `columns` and its aliases)."""
    aliases = header_aliases(source)
    normalised = [norm_header(h) for h in header]
    dupes = sorted({h for h, n in zip(header, normalised, strict=True) if normalised.count(n) > 1})
    if dupes:
        raise SourceError(f"{source.name}: {where} has the header(s) {dupes} more than once", hint=TEMPLATE_HINT)
    found: dict[str, list[int]] = {}
    unknown = []
    for i, n in enumerate(normalised):
        if n in aliases:
            found.setdefault(aliases[n], []).append(i)
        elif n:
            unknown.append(header[i])
    twice = {c: [header[i] for i in idx] for c, idx in found.items() if len(idx) > 1}
    targets = list(dict.fromkeys(source.columns.values()))
    missing = [c for c in targets if c not in found and c not in source.optional_columns]
    if twice or missing or (unknown and source.extra_columns == "error"):
        expected = {c: [h for h, t in source.columns.items() if t == c] for c in targets}
        parts = []
        if missing:
            parts.append("missing: " + "; ".join(f"{c} (one of {expected[c]})" for c in missing))
        if twice:
            parts.append("ambiguous: " + "; ".join(f"{c} from both {h}" for c, h in twice.items()))
        if unknown and source.extra_columns == "error":
            parts.append(f"unknown: {unknown}")
        template = "; ".join(" or ".join(names) for names in expected.values())
        raise SourceError(
            f"{source.name}: {where} has unexpected headers ({'; '.join(parts)}); expected one header of each: "
            f"{template}",
            hint="ask the OPD to use the template's headers, or map the new header in sources.yaml `columns`",
        )
    return {c: idx[0] for c, idx in found.items()}


def _serial_date(value: object, decimal: str) -> object:
    """An Excel serial (45720 or, with decimal comma, 45720,5) in a date column -> ISO text; else unchanged."""
    converted = excel_serial_to_iso(normalise_decimal(value, decimal, "."))
    return converted if isinstance(converted, str) and "T" in converted else value


def _period_fields(period: str | None) -> dict[str, str]:
    """{month} and {year} of a constant; empty when the file is read outside a partition."""
    return template_fields(period) if period else {"month": "", "year": ""}


def delivered_cells(source: FileSource, path: Path, data: bytes) -> tuple[list[str], list[list[object]]]:
    """The header and the data rows of a file drop as delivered, before its headers are mapped and its cells
    repaired: body row i is the file's data row i + 1, the `_raw_row` of what it gives."""
    reader = {"csv": _read_csv, "xlsx": _read_xlsx, "json": _read_json}[file_format(source, path)]
    return reader(source, data, str(path))


def read_file_drop(
    source: FileSource,
    path: Path,
    content: bytes | None = None,
    *,
    city: str | None = None,
    opd: str | None = None,
    period: str | None = None,
) -> pd.DataFrame:
    """Parse one file drop into canonical column names; cells as delivered (empty cell -> NA) after repairs.

    `_raw_row` is the 1-based data row of the file each row came from (shared by the rows of an unpivoted
    wide row). Raises SourceError naming the file for anything that keeps the whole file from being read.
    """
    data = path.read_bytes() if content is None else content
    where = str(path)
    if not data:
        raise SourceError(
            f"{source.name}: {where}: the file is empty (0 bytes); there is nothing to read",
            hint="ask the OPD to upload the file again (the export or the upload stopped before writing anything)",
        )
    header, body = delivered_cells(source, path, data)
    raw_rows = list(range(1, len(body) + 1))
    filled: dict[str, list[object]] = {}
    if source.unpivot is not None:  # wide -> long first, so that cleaning below treats both shapes alike
        long = unpivot(source, header, body, where)
        header, body, raw_rows, filled = long.header, long.body, long.raw_rows, long.filled
    index = map_headers(source, [str(h) for h in header], where)
    table = get_table(source.table)
    columns = {c: [row[i] for row in body] for c, i in index.items()} | filled
    for column, template in source.constants.items():
        value = template.format(city=city or "", opd=opd or "", **_period_fields(period))
        columns[column] = [value] * len(body)
    for column, values in columns.items():
        dtype = table.columns[column]
        if column in source.region_codes:
            values = [repair_region_code(v, source.region_codes[column]) for v in values]
        elif dtype in _NUMERIC_DTYPES:
            values = [normalise_decimal(v, source.decimal, source.thousands) for v in values]
        elif dtype == TIMESTAMP:
            values = [_serial_date(v, source.decimal) for v in values]
        elif column == table.period_column:
            values = [normalise_period(v, column) for v in values]
        columns[column] = values
    frame = pd.DataFrame({c: pd.Series(columns[c], dtype=object) for c in columns}, index=range(len(body)))
    frame["_raw_row"] = pd.Series(raw_rows, dtype=object)
    return frame.astype(object)
