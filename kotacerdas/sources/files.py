"""File-drop connector: read a CSV an OPD put in the landing folder, exactly as declared in sources.yaml."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd

from kotacerdas.config import FileSource
from kotacerdas.errors import SourceError
from kotacerdas.schemas import get_table

_NUMERIC_DTYPES = ("float64", "Int64", "int64")


def _decimal_pattern(decimal: str) -> re.Pattern[str]:
    thousands = "." if decimal == "," else ","
    t, d = re.escape(thousands), re.escape(decimal)
    return re.compile(rf"^\s*[-+]?(\d{{1,3}}({t}\d{{3}})+|\d+)({d}\d+)?\s*$")


def normalise_decimal(value: object, decimal: str) -> object:
    """'1.234,5' -> '1234.5' for a file declared with decimal comma; anything else is left as delivered.

    Only cells that are unambiguous numbers under the declared convention are touched, so staging still sees
    (and rejects, with the original text) anything that is not a number.
    """
    if decimal == "." or not isinstance(value, str) or not _decimal_pattern(decimal).match(value):
        return value
    thousands = "." if decimal == "," else ","
    return value.strip().replace(thousands, "").replace(decimal, ".")


def read_file_drop(source: FileSource, path: Path, content: bytes | None = None) -> pd.DataFrame:
    """Parse one file drop into canonical column names; all cells stay text (empty cell -> NA).

    Headers must be exactly the ones declared in `columns` (order free); anything else is a SourceError
    that names the file and the expected headers.
    """
    data = path.read_bytes() if content is None else content
    try:
        text = data.decode(source.encoding)
    except UnicodeDecodeError as exc:
        raise SourceError(f"{source.name}: {path} is not {source.encoding} text ({exc})",
                          hint=f"ask the OPD to export as {source.encoding} (CSV UTF-8 in Excel)") from None
    try:
        frame = pd.read_csv(io.StringIO(text), sep=source.separator, dtype=str, keep_default_na=False,
                            na_values=[""], skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SourceError(f"{source.name}: {path} is not a readable CSV with separator "
                          f"{source.separator!r}: {exc}",
                          hint="ask the OPD to re-export the file with the agreed template") from None
    headers = [str(c).strip() for c in frame.columns]
    expected = list(source.columns)
    unknown = [h for h in headers if h not in source.columns]
    missing = [h for h in expected if h not in headers]
    if unknown or missing:
        raise SourceError(
            f"{source.name}: {path} has unexpected headers (unknown: {unknown or 'none'}; missing: "
            f"{missing or 'none'}); expected exactly: {expected}",
            hint="ask the OPD to use the template's headers, or map the new header in sources.yaml `columns`",
        )
    frame.columns = headers
    frame = frame.rename(columns=source.columns)
    table = get_table(source.table)
    for column, dtype in table.columns.items():
        if dtype in _NUMERIC_DTYPES and column in frame.columns:
            frame[column] = frame[column].map(lambda v: normalise_decimal(v, source.decimal)).astype(object)
    return frame.astype(object)
