"""Spreadsheet safety: a text cell that a spreadsheet would read as a formula is neutralised (CSV and Excel).

OWASP's rule for CSV injection: a cell starting with `=`, `+`, `-`, `@` (or a tab or carriage return, which some
programs skip before one) gets a leading apostrophe, so it is shown as text and never evaluated. Numbers stay
numbers: only text is touched.
"""

from __future__ import annotations

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every text column neutralised (numbers, booleans and missing values unchanged)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(neutralise).astype(object)
    return out
