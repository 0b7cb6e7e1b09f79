"""Staging: cast an ingested frame to its canonical dtypes, pseudonymise personal data, drop duplicate keys.

Nothing is coerced to NaN behind the user's back: a cell that does not parse sends its row to `rejected`
(QUARANTINE_COLUMNS, rule `type:<column>`) with the original text and the expected format; empty cells are
simply missing values. A repeated key keeps its first row and rejects the others (rule `unique:key`). Text
hygiene comes first (`hygiene`): a control character (rule `text:control_characters`) or a decimal the reader
found ambiguous (rule `number:ambiguous_decimal`) rejects its row; quarantined values show such characters escaped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from kotacerdas.privacy import pseudonymise_series, safe_text, scrub_staged
from kotacerdas.schemas import (
    LINEAGE_COLUMNS,
    QUARANTINE_COLUMNS,
    TIMESTAMP,
    CanonicalTable,
    empty_quarantine,
    typed_frame,
)
from kotacerdas.stage.hygiene import (
    RULE_CONTROL,
    RejectedCell,
    any_control_characters,
    control_characters,
    control_reason,
    visible,
)

_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?$")
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
# Numbers: plain or grouped by thousands; '.' or ',' may be the decimal mark (Indonesian files use ',').
_PLAIN = re.compile(r"^[-+]?\d+([.,]\d+)?$")
_GROUPED = re.compile(r"^[-+]?\d{1,3}(?P<t>[.,])\d{3}(?:(?P=t)\d{3})*(?:(?!(?P=t))[.,]\d+)?$")
# Nine digits or more after a leading 0 (or Indonesia's +62): a phone number or an identifier typed where a quantity
# belongs, never a count; read as a number it would lose its 0 and pass for one.
_ID_LIKE = re.compile(r"^(?:0|\+?62)\d{8,}$")
ID_LIKE_PROBLEM = "a leading 0 (or 62) and nine digits or more: a phone number or an identifier, not a quantity"

TIMESTAMP_FORMAT = "a timestamp YYYY-MM-DDTHH:MM:SS (local time, no offset) or dd/mm/yyyy [HH:MM[:SS]]"
INT_FORMAT = "a whole number"
FLOAT_FORMAT = "a number (decimal point or decimal comma, e.g. 12.5 or 12,5)"


class _Invalid(ValueError):
    pass


@dataclass
class StagingResult:
    frame: pd.DataFrame  # canonical columns and dtypes (+ lineage), personal data pseudonymised
    rejected: pd.DataFrame  # QUARANTINE_COLUMNS; one row per failed rule
    input_rows: int  # rows given to staging; an unpivoted file gives several per raw row, so count, not lineage

    @property
    def rejected_rows(self) -> int:
        return self.input_rows - len(self.frame)


def _missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def parse_timestamp(value: object) -> datetime:
    if isinstance(value, datetime):  # includes pd.Timestamp
        if value.tzinfo is not None:
            raise _Invalid("time-zone offset present")
        return value.to_pydatetime() if isinstance(value, pd.Timestamp) else value
    if not isinstance(value, str):
        raise _Invalid("not text")
    text = value.strip()
    m = _ISO.match(text)
    if m:
        y, mo, d, hh, mi, ss, frac = m.groups()
    else:
        m = _DMY.match(text)
        if not m:
            raise _Invalid("unknown format")
        d, mo, y, hh, mi, ss = m.groups()
        frac = None
    micro = int((frac or "0").ljust(6, "0"))
    try:
        return datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0), micro)
    except ValueError as exc:  # 31 February, hour 25, ...
        raise _Invalid(f"impossible date or time ({exc})") from None


def parse_number(value: object) -> float:
    if isinstance(value, bool):
        raise _Invalid("a boolean")
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        if _ID_LIKE.match(text):
            raise _Invalid(ID_LIKE_PROBLEM)
        if _PLAIN.match(text):
            number = float(text.replace(",", "."))
        elif (m := _GROUPED.match(text)) is not None:
            number = float(text.replace(m.group("t"), "").replace(",", "."))
        else:
            raise _Invalid("not a number")
    else:
        raise _Invalid("not a number")
    if not math.isfinite(number):
        raise _Invalid("not finite")
    return number


def parse_int(value: object) -> int:
    number = parse_number(value)
    if not number.is_integer():
        raise _Invalid("has a fractional part")
    return int(number)


def parse_string(value: object) -> str:
    if isinstance(value, bool):
        raise _Invalid("a boolean, not text")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def code_text(value: object) -> str | None:
    """A code (an OPD's, a region's) as staging reads it — `DINKES  ` is DINKES, 3.0 is 3 — or None for a blank, a
    missing value or a boolean: for the steps that compare delivered codes with staged or configured ones."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    try:
        return parse_string(value) or None
    except _Invalid:
        return None


_TRUE = {"true", "ya", "y", "yes", "1", "benar", "online"}
_FALSE = {"false", "tidak", "n", "no", "0", "salah", "offline"}
BOOL_FORMAT = "true/false (also ya/tidak, 1/0)"


def parse_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise _Invalid("not a yes/no value")


_PARSERS: dict[str, tuple[Callable[[object], object], str]] = {
    "boolean": (parse_bool, BOOL_FORMAT),
    TIMESTAMP: (parse_timestamp, TIMESTAMP_FORMAT),
    "Int64": (parse_int, INT_FORMAT),
    "int64": (parse_int, INT_FORMAT),
    "float64": (parse_number, FLOAT_FORMAT),
    "string": (parse_string, "text"),
}


def _typed(values: list, dtype: str) -> pd.api.extensions.ExtensionArray | np.ndarray:
    if dtype == TIMESTAMP:
        return pd.Series(values, dtype=object).astype(TIMESTAMP).array
    if dtype == "float64":
        return np.array([np.nan if v is None else v for v in values], dtype="float64")
    return pd.array(values, dtype=dtype)


# --- whole columns at once: the common case, read as the cell-by-cell path above would read it ------------------

# ASCII digits only: Python's \d and int() also take other scripts' digits, which the cell-by-cell path handles.
# Not year 0: pandas reads it, Python's datetime cannot hold it (the cell-by-cell path calls it impossible).
_ISO_ASCII = re.compile(r"(?!0000-)[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?)?")
_PLAIN_ASCII = re.compile(r"[-+]?[0-9]+(?:[.,][0-9]+)?")
_NUMERIC_KINDS = {"integer", "floating", "mixed-integer-float"}  # pandas' infer_dtype: no bool, str or object


def parse_column(values: pd.Series, dtype: str) -> tuple[list, list[int]]:
    """`values` parsed to `dtype` as `parse_*` would read each cell, in a few passes over the whole column, and the
    positions of the cells these passes leave to the cell-by-cell path (None in the list): a control character,
    a value they do not read (which may still be valid: 1.234,5, dd/mm/yyyy), a missing value other than
    None/NaN/NA/NaT. That path then reads them or says what is wrong. Staging was a loop over every cell (#15)."""
    cells = values.astype(object).to_numpy()
    n = len(cells)
    kind = pd.api.types.infer_dtype(cells, skipna=True)
    missing = pd.isna(cells)
    if not all(v is None or v is pd.NA or v is pd.NaT or isinstance(v, float) for v in cells[missing]):
        return [None] * n, list(range(n))  # e.g. numpy's NaT, which the cell-by-cell path does not count as missing
    if kind == "empty":
        return [None] * n, []
    if kind == "string":
        return _parse_texts(cells, missing, dtype)
    if kind in _NUMERIC_KINDS and dtype in ("float64", "Int64", "int64"):
        return _parse_numbers([None if m else float(v) for v, m in zip(cells, missing, strict=True)], dtype, [])
    if kind == "boolean" and dtype == "boolean":
        return [None if m else bool(v) for v, m in zip(cells, missing, strict=True)], []
    return [None] * n, list(range(n))


def _parse_texts(cells: np.ndarray, missing: np.ndarray, dtype: str) -> tuple[list, list[int]]:
    texts: list = [None if m else v.strip() for v, m in zip(cells, missing, strict=True)]
    undecided: list[int] = []
    if any_control_characters(v for v, m in zip(cells, missing, strict=True) if not m):  # as read: strip() drops some
        undecided = [i for i, v in enumerate(cells) if not missing[i] and control_characters(v)]
        for i in undecided:
            texts[i] = None
    texts = [t or None for t in texts]  # blank is missing
    if dtype == "string":
        return texts, undecided

    def leave(i: int) -> None:
        texts[i] = None
        undecided.append(i)

    if dtype == TIMESTAMP:
        for i, t in enumerate(texts):
            if t is not None and not _ISO_ASCII.fullmatch(t):
                leave(i)
        at = [i for i, t in enumerate(texts) if t is not None]
        stamps = pd.to_datetime(pd.Series([texts[i] for i in at], dtype=object), format="ISO8601", errors="coerce")
        for i, stamp in zip(at, stamps.dt.to_pydatetime(), strict=True):
            if stamp is pd.NaT:  # 31 February, hour 25: the cell-by-cell path says which
                leave(i)
            else:
                texts[i] = stamp
        return texts, sorted(undecided)
    if dtype in ("float64", "Int64", "int64"):
        numbers: list = [None] * len(texts)
        for i, t in enumerate(texts):
            if t is not None:
                text = t.replace(" ", "")
                if _PLAIN_ASCII.fullmatch(text) and not _ID_LIKE.match(text):
                    numbers[i] = float(text.replace(",", "."))
                else:
                    undecided.append(i)
        return _parse_numbers(numbers, dtype, undecided)
    if dtype == "boolean":
        for i, t in enumerate(texts):
            if t is not None:
                lowered = t.lower()
                if lowered in _TRUE or lowered in _FALSE:
                    texts[i] = lowered in _TRUE
                else:
                    leave(i)
        return texts, sorted(undecided)
    return [None] * len(cells), list(range(len(cells)))


def _parse_numbers(numbers: list, dtype: str, undecided: list[int]) -> tuple[list, list[int]]:
    """Finite numbers as they are (float64) or as whole numbers (Int64); any other left undecided too."""
    whole = dtype != "float64"
    for i, x in enumerate(numbers):
        if x is not None and (not math.isfinite(x) or (whole and not x.is_integer())):
            numbers[i] = None
            undecided.append(i)
    if whole:
        numbers = [None if x is None else int(x) for x in numbers]
    return numbers, sorted(undecided)


def _hygiene_problem(cell: object) -> tuple[str, str] | None:
    """(rule, reason) when a cell breaks a text-hygiene rule (kotacerdas.stage.hygiene), else None."""
    if isinstance(cell, RejectedCell):
        return cell.rule, cell.reason
    if isinstance(cell, str) and control_characters(cell):
        return RULE_CONTROL, control_reason(cell)
    return None


def _record_key(table: CanonicalTable, row: dict) -> str:
    return "|".join("" if _missing(row.get(k)) else str(row.get(k)) for k in table.key)


def stage_table(
    table: CanonicalTable, frame: pd.DataFrame, *, city: str, month: str, pii_key: bytes | None
) -> StagingResult:
    """Type, pseudonymise and de-duplicate one ingested partition of `table`."""
    n = len(frame)
    source = frame.reset_index(drop=True)
    raw_file: list[Any] = source["_raw_file"].astype(object).tolist() if "_raw_file" in source else [None] * n
    raw_row: list[Any] = source["_raw_row"].astype(object).tolist() if "_raw_row" in source else [None] * n
    parsed: dict[str, list] = {}
    bad_rows: set[int] = set()
    problems: list[tuple[int, str, str, str, str]] = []  # row, column, rule, value as text, reason
    for column, dtype in table.columns.items():
        if column not in source:
            parsed[column] = [None] * n
            continue
        out, undecided = parse_column(source[column], dtype)
        parse, expected = _PARSERS.get(dtype, (parse_string, "text"))
        cells = source[column].astype(object).tolist() if undecided else []  # Python values, as parse_column saw
        for i in undecided:  # cell by cell: the whole-column passes left these
            cell = cells[i]
            if _missing(cell):
                continue
            hygiene = _hygiene_problem(cell)
            if hygiene is not None:
                bad_rows.add(i)
                problems.append((i, column, hygiene[0], visible(str(cell)), hygiene[1]))
                continue
            try:
                if isinstance(cell, dict | list | tuple):  # a nested JSON value where one value belongs
                    raise _Invalid(f"a JSON {'object' if isinstance(cell, dict) else 'list'}, not a single value")
                out[i] = parse(cell)
            except _Invalid as exc:
                bad_rows.add(i)
                reason = f"expected {expected}; problem: {exc}"
                problems.append((i, column, f"type:{column}", visible(str(cell)), reason))
        parsed[column] = out

    def row_dict(i: int) -> dict:
        return {c: parsed[c][i] for c in table.columns}

    # Duplicate keys among the rows that typed cleanly (rows with a missing key part are left to the gate).
    first_seen: dict[tuple, int] = {}
    dup_rows: dict[int, int] = {}
    for i in range(n):
        if i in bad_rows:
            continue
        key = tuple(parsed[k][i] for k in table.key)
        if any(v is None for v in key):
            continue
        if key in first_seen:
            dup_rows[i] = first_seen[key]
        else:
            first_seen[key] = i

    quarantine: list[dict] = []

    lineage_values: dict[str, list[Any]] = {  # LINEAGE_COLUMNS, each cell read once
        "_raw_file": [None if _missing(v) else str(v) for v in raw_file],
        "_raw_row": [None if _missing(v) else int(v) for v in raw_row],
    }

    def lineage(i: int) -> dict:
        return {column: values[i] for column, values in lineage_values.items()}

    opds = parsed.get("opd_code", [None] * n)  # the OPD each row names, for its steward

    for i, column, rule, text, reason in problems:
        kind = table.pii_columns.get(column)
        quarantine.append(
            {
                "table_name": table.name,
                "city_code": city,
                "period": month,
                "opd_code": opds[i],
                "rule": rule,
                "severity": "error",
                "column_name": column,
                "value": safe_text(text, kind, pii_key),
                "reason": f"{column}: {reason}",
                "record_key": _record_key(table, row_dict(i)),
                **lineage(i),
            }
        )
    for i, first in dup_rows.items():
        same = all(parsed[c][i] == parsed[c][first] for c in table.columns)
        where = f"{raw_file[first]} row {raw_row[first]}"
        record_key = _record_key(table, row_dict(i))
        quarantine.append(
            {
                "table_name": table.name,
                "city_code": city,
                "period": month,
                "opd_code": opds[i],
                "rule": "unique:key",
                "severity": "error",
                "column_name": ",".join(table.key),
                "value": record_key,
                "reason": (
                    f"{'exact duplicate' if same else 'same key, different values'} of the row kept "
                    f"from {where}; key ({', '.join(table.key)}) must be unique"
                ),
                "record_key": record_key,
                **lineage(i),
            }
        )

    keep = [i for i in range(n) if i not in bad_rows and i not in dup_rows]
    staged: dict[str, Any] = {}
    for column, dtype in table.columns.items():
        staged[column] = _typed([parsed[column][i] for i in keep], dtype)
    for column, dtype in LINEAGE_COLUMNS.items():
        staged[column] = pd.array([lineage_values[column][i] for i in keep], dtype=dtype)
    frame = pd.DataFrame(staged)
    for column, kind in table.pii_columns.items():
        frame[column] = pseudonymise_series(frame[column], kind, pii_key)

    if quarantine:
        rejected = typed_frame(quarantine, QUARANTINE_COLUMNS)
        rejected = rejected.sort_values(["_raw_file", "_raw_row", "rule"], kind="stable")
        rejected = rejected.reset_index(drop=True)
    else:
        rejected = empty_quarantine()
    # NIK, phone numbers and e-mail addresses in any other column (free text, ids, rejected values) too.
    return StagingResult(*scrub_staged(frame, rejected, table, city=city, month=month, key=pii_key), input_rows=n)
