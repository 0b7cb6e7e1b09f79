"""`typed_frame` builds the same frame as pandas' own `DataFrame(rows, columns=...).astype(columns)`, but for
numbers in text columns (written as given).

The reference here is pandas' frame-wide conversion, which every caller used before; the cases are the values
callers hand over (missing keys, None, NaN, NA, numbers as text, numpy scalars, timestamps as text)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kotacerdas.schemas import QUARANTINE_COLUMNS, typed_frame
from kotacerdas.warehouse.schema import MASTERPLAN_STATUS_COLUMNS, OPD_TIMELINESS_COLUMNS

COLUMNS = {"code": "string", "share": "float64", "rows": "Int64", "late": "boolean", "due": "datetime64[us]"}

CASES = {
    "dicts, a key missing": [
        {"code": "19.71", "share": 0.5, "rows": 3, "late": True, "due": pd.Timestamp("2026-02-10 17:00")},
        {"code": None, "rows": None, "late": None, "due": None},
    ],
    "missing values of every kind": [
        {"code": np.nan, "share": None, "rows": pd.NA, "late": np.nan, "due": pd.NaT},
        {"code": pd.NA, "share": np.nan, "rows": np.nan, "late": pd.NA, "due": None},
    ],
    "numbers as text and numpy scalars": [
        {"code": "19.71", "share": "0.25", "rows": np.int64(7), "late": np.bool_(False), "due": "2026-03-10"},
        {"code": "19.03", "share": np.float32(1.5), "rows": 2.0, "late": True, "due": "2026-03-10T07:00:00"},
    ],
    "tuples in the columns' order": [
        ("19.71", 1.0, 1, True, pd.Timestamp("2026-01-31")),
        ("19.03", None, None, None, None),
    ],
    "no rows": [],
}


@pytest.mark.parametrize("case", CASES)
def test_the_same_frame_as_pandas_astype(case):
    rows = CASES[case]
    expected = pd.DataFrame(rows, columns=list(COLUMNS)).astype(COLUMNS)
    pd.testing.assert_frame_equal(typed_frame(rows, COLUMNS), expected)


@pytest.mark.parametrize("columns", [MASTERPLAN_STATUS_COLUMNS, OPD_TIMELINESS_COLUMNS, QUARANTINE_COLUMNS])
def test_the_same_frame_for_the_warehouse_tables(columns):
    rows = [dict.fromkeys(columns), {c: ("1" if d == "string" else 1) for c, d in columns.items()}]
    if "due_at" in columns:
        rows[1]["due_at"] = rows[1]["received_at"] = pd.Timestamp("2026-02-10")
    pd.testing.assert_frame_equal(typed_frame(rows, columns), pd.DataFrame(rows, columns=list(columns)).astype(columns))


def test_a_number_in_a_text_column_is_written_as_given():
    """Where pandas' frame-wide way differs, on purpose: it first infers one dtype per column of Python objects, so
    an integer beside a missing value became a float and then the text "1971.0"."""
    rows = [{"code": 1971}, {"code": None}, {"code": 19.5}]
    assert typed_frame(rows, {"code": "string"})["code"].tolist() == ["1971", pd.NA, "19.5"]
    assert pd.DataFrame(rows, columns=["code"]).astype({"code": "string"})["code"].tolist()[0] == "1971.0"


def test_a_value_that_does_not_fit_fails_as_in_pandas():
    rows = [{"rows": 1.5}]  # no integer: pandas refuses to cut it
    with pytest.raises((TypeError, ValueError)):
        pd.DataFrame(rows, columns=["rows"]).astype({"rows": "Int64"})
    with pytest.raises((TypeError, ValueError)):
        typed_frame(rows, {"rows": "Int64"})
