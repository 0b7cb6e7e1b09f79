"""Staging reads most columns whole (`parse_column`); the cells it decides must be read exactly as the cell-by-cell
parsers read them, and every cell those parsers would reject or question is left to them (#15)."""

from __future__ import annotations

import math
import random
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from kotacerdas.schemas import SERVICE_REQUESTS, TIMESTAMP
from kotacerdas.stage.hygiene import RejectedCell
from kotacerdas.stage.staging import (
    _PARSERS,
    _hygiene_problem,
    _Invalid,
    _missing,
    parse_column,
    stage_table,
)

TRICKY = [
    # missing, in every spelling a reader produces, and numpy's NaT, which is not missing to staging
    None,
    np.nan,
    pd.NA,
    pd.NaT,
    "",
    "   ",
    "\t",
    np.datetime64("NaT"),
    np.float32("nan"),
    # timestamps
    "2025-01-05T10:30:00",
    "2025-01-05 10:30",
    "2025-01-05",
    " 2025-01-05T10:30:00.5 ",
    "2025-01-05T10:30:00.123456",
    "2025-02-30",
    "0000-01-01",
    "2025-01-05T24:00",
    "2025-01-05T10:61",
    "1500-01-01",
    "9999-12-31T23:59:59",
    "05/01/2025",
    "05/01/2025 10:30",
    "2025-01-05T10:30:00+07:00",
    "2025-01-05T10:30:00Z",
    "２０２５-01-05",
    "٢٠٢٥-01-05",
    "2025-1-5",
    "2025-01-05T10",
    "2025-01-05T10:30:00.1234567",
    datetime(2025, 1, 5, 10, 30),
    pd.Timestamp("2025-01-05 10:30"),
    pd.Timestamp("2025-01-05", tz="Asia/Jakarta"),
    "2025-01-05\n",
    # numbers
    "1",
    "-3",
    "+7",
    "0",
    "-0",
    "12,5",
    "12.5",
    " 1 000 ",
    "1.234,5",
    "1,234.5",
    "30.750",
    "1e5",
    "inf",
    "nan",
    "9" * 400,
    "1971015203850001",
    "٣",
    "３",
    "1_000",
    "0x10",
    "1.",
    ".5",
    3,
    0,
    -2,
    2.5,
    1e300,
    float("inf"),
    np.int64(4),
    np.float32(1.5),
    2**60,
    16.0,
    # yes/no
    "ya",
    "TIDAK",
    " Online ",
    "benar",
    "true",
    "False",
    "y",
    "maybe",
    True,
    False,
    np.bool_(True),
    # text, hygiene, values that are not one value
    "Disdukcapil",
    " padded ",
    "tab\tinside",
    "line\nfeed",
    "nul\x00byte",
    "unit\x1fsep",
    "\x1f",
    "trail\x1c",
    "del\x7f",
    "c1\x85",
    "nbsp\u00a0",
    "zero\u200bwidth",
    {"a": 1},
    [1, 2],
    (1,),
    RejectedCell("30.750", "number:ambiguous_decimal", "ambiguous"),
]

DTYPES = ["string", TIMESTAMP, "Int64", "float64", "boolean"]


def cell_by_cell(cell: object, dtype: str) -> tuple[str, object]:
    """What staging's cell-by-cell path does with one cell: ("missing", None), ("value", v) or ("problem", None)."""
    if _missing(cell):
        return "missing", None
    if _hygiene_problem(cell) is not None or isinstance(cell, dict | list | tuple):
        return "problem", None
    parse = _PARSERS[dtype][0]
    try:
        return "value", parse(cell)
    except _Invalid:
        return "problem", None


def same(a: object, b: object) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return math.copysign(1, a) == math.copysign(1, b) and (a == b or (math.isnan(a) and math.isnan(b)))
    return a == b


def _columns(seed: int, count: int, dtype: str) -> list[list]:
    """Random columns of tricky cells; some only of cells the cell-by-cell path reads (and gaps)."""
    rng = random.Random(seed)
    readable = [c for c in TRICKY if cell_by_cell(c, dtype)[0] == "value"]
    gaps = [None, np.nan, "", " "]
    pools = [
        TRICKY,
        [c for c in TRICKY if isinstance(c, str)],
        [c for c in TRICKY if not isinstance(c, str)],
        [c for c in readable if isinstance(c, str)] + gaps,
        [c for c in readable if not isinstance(c, str)] + gaps[:2],
    ]
    return [[rng.choice(rng.choice(pools)) for _ in range(rng.randint(1, 12))] for _ in range(count)]


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_cell_it_decides_is_read_as_the_cell_by_cell_path_reads_it(dtype):
    decided = left = 0
    for cells in _columns(seed=DTYPES.index(dtype), count=3000, dtype=dtype):
        out, undecided = parse_column(pd.Series(cells, dtype=object), dtype)
        assert len(out) == len(cells) and undecided == sorted(set(undecided))
        for i, cell in enumerate(cells):
            outcome, value = cell_by_cell(cell, dtype)
            if i in undecided:
                assert out[i] is None
                left += 1
                continue
            decided += 1
            assert outcome != "problem", (cell, dtype, out[i])
            assert same(out[i], value), (cell, dtype, out[i], value)
    assert decided > 500 and left > 100  # both paths were exercised


@pytest.mark.parametrize(
    ("cells", "dtype"),
    [
        (["2025-01-05T10:30:00", None, " 2025-01-06 08:00 ", ""], TIMESTAMP),
        (["1", " 2 ", None, "-4"], "Int64"),
        (["12,5", "3", np.nan], "float64"),
        ([1, 2, None], "Int64"),
        ([1.5, np.nan, 2], "float64"),
        (["ya", "Tidak", None], "boolean"),
        ([True, False, None], "boolean"),
        (["a", " b ", None, ""], "string"),
    ],
)
def test_clean_columns_are_read_whole(cells, dtype):
    _, undecided = parse_column(pd.Series(cells, dtype=object), dtype)
    assert undecided == []


def test_a_bad_cell_leaves_only_itself_to_the_cell_by_cell_path():
    cells = ["2025-01-05T10:30:00", "05/01/2025 10:30", "2025-02-30", "nul\x00", "2025-01-07"]
    out, undecided = parse_column(pd.Series(cells, dtype=object), TIMESTAMP)
    assert undecided == [1, 2, 3]
    assert out[0] == datetime(2025, 1, 5, 10, 30) and out[4] == datetime(2025, 1, 7)


def test_staging_gives_the_same_rows_and_reasons_whichever_path_reads_a_cell():
    """A frame mixing clean and broken cells: the staged rows and the quarantine come out as the rules say."""
    frame = pd.DataFrame(
        {
            "request_id": ["R1", "R2", "R3", "R4", "R5"],
            "city_code": "19.71",
            "opd_code": "DISDUKCAPIL",
            "service_code": "KTP",
            "channel": "online",
            "status": "selesai",
            "submitted_at": ["2025-03-03T08:15:00", "03/03/2025 09:30", "2025-03-32", "2025-03-05", "2025-03-06"],
            "completed_at": [None, "", "2025-03-04T10:00:00", "2025-03-06\x00", "2025-03-07"],
            "sla_days": ["1", "3", "2", "dua", "1,0"],
        },
        dtype=object,
    )
    result = stage_table(SERVICE_REQUESTS, frame, city="19.71", month="2025-03", pii_key=b"k")
    assert list(result.frame["request_id"]) == ["R1", "R2", "R5"]
    assert list(result.frame["submitted_at"]) == [
        pd.Timestamp("2025-03-03 08:15"),
        pd.Timestamp("2025-03-03 09:30"),
        pd.Timestamp("2025-03-06"),
    ]
    assert list(result.frame["sla_days"]) == [1, 3, 1]
    rules = sorted(zip(result.rejected["record_key"], result.rejected["rule"], strict=True))
    assert rules == [
        ("19.71|DISDUKCAPIL|R3", "type:submitted_at"),
        ("19.71|DISDUKCAPIL|R4", "text:control_characters"),
        ("19.71|DISDUKCAPIL|R4", "type:sla_days"),
    ]


@pytest.mark.parametrize("dtype", DTYPES)
def test_typed_columns_are_read_as_their_python_values(dtype):
    """A reader may hand over typed columns (numpy booleans, nullable integers, datetimes): each cell is read as
    the Python value the cell-by-cell path gets from it (`astype(object)`), not as the numpy scalar."""
    typed = [
        pd.Series([True, False, True]),
        pd.Series([1, None, 3], dtype="Int64"),
        pd.Series([1.5, np.nan, 2.0]),
        pd.Series(["a", None, " b "], dtype="string"),
        pd.Series(pd.to_datetime(["2025-01-05 10:30", None, "2025-01-06 00:00"])),
    ]
    for values in typed:
        out, undecided = parse_column(values, dtype)
        for i, cell in enumerate(values.astype(object).tolist()):
            outcome, value = cell_by_cell(cell, dtype)
            if i not in undecided:
                assert outcome != "problem" and same(out[i], value), (values.dtype, cell, out[i], value)


def test_a_boolean_column_where_text_belongs_is_rejected_as_the_cell_by_cell_path_rejects_it():
    frame = pd.DataFrame({"request_id": ["R1", "R2"], "city_code": "19.71", "opd_code": "DINKES"})
    frame["channel"] = np.array([True, False])  # numpy booleans
    result = stage_table(SERVICE_REQUESTS, frame, city="19.71", month="2025-03", pii_key=b"k")
    assert result.frame.empty
    assert set(result.rejected["rule"]) == {"type:channel"}


def test_year_zero_is_quarantined_not_a_crash():
    """pandas reads 0000-01-01; Python's datetime (and the cell-by-cell path) cannot hold it."""
    out, undecided = parse_column(pd.Series(["0000-01-01", "2025-01-05"], dtype=object), TIMESTAMP)
    assert undecided == [0] and out[1] == datetime(2025, 1, 5)
