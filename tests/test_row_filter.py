"""The catalog's row selections select exactly the rows `DataFrame.query(engine="python")` selects.

`kotacerdas.indicators.row_filter` evaluates the common expressions without query's per-call parsing; every
expression, compiled or handed to query, must give query's own answer on frames with missing values of every
dtype the staged tables hold.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kotacerdas.indicators.catalog import IkmMethod, MedianMethod, ShareMethod, load_catalog
from kotacerdas.indicators.row_filter import _compiled, select_rows

pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning", "ignore::RuntimeWarning")

CATALOG = Path(__file__).resolve().parents[1] / "config" / "indicators.yaml"


def _frame(seed: int, rows: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2025-01-01", tz="Asia/Jakarta")

    def holes(values: list) -> list:
        return [None if rng.random() < 0.2 else v for v in values]

    df = pd.DataFrame(
        {
            "status": pd.array(holes(list(rng.choice(["completed", "rejected", "open"], rows))), dtype="str"),
            "opd_code": pd.array(holes(list(rng.choice(["DPMPTSP", "DINKES", "DISDUKCAPIL"], rows))), dtype="string"),
            "channel": pd.Series(holes(list(rng.choice(["online", "offline"], rows))), dtype=object),
            "sla_days": pd.array(holes([int(v) for v in rng.integers(0, 6, rows)]), dtype="Int64"),
            "processing_days": np.where(rng.random(rows) < 0.2, np.nan, rng.uniform(-1, 8, rows)),
            "ratio": rng.uniform(0, 1, rows).round(1).astype("float32"),  # query casts literals to float32 here
            "flag": rng.random(rows) < 0.5,
            "submitted_at": start + pd.to_timedelta(rng.integers(0, 40, rows), unit="D"),
        },
        index=pd.RangeIndex(100, 100 + rows),
    )
    return df


def _same_outcome(df: pd.DataFrame, expression: str) -> None:
    try:
        expected = df.query(expression, engine="python")
    except Exception as exc:  # query's own refusal must stay a refusal
        with pytest.raises(type(exc)):
            select_rows(df, expression)
        return
    pd.testing.assert_frame_equal(select_rows(df, expression), expected)


def _catalog_expressions() -> list[str]:
    found = []
    for ind in load_catalog(CATALOG).indicators:
        method = ind.method
        if isinstance(method, ShareMethod | MedianMethod | IkmMethod) and method.where:
            found.append(method.where)
        if isinstance(method, ShareMethod):
            found.append(method.numerator)
    return found


def test_every_selection_of_the_shipped_catalog_is_compiled_and_agrees_with_query():
    expressions = _catalog_expressions()
    assert len(expressions) >= 8
    for expression in expressions:
        assert _compiled(expression) is not None, f"{expression!r} would be parsed by query on every call"
        for seed in range(5):
            _same_outcome(_frame(seed), expression)


@pytest.mark.parametrize(
    "expression",
    [
        "status == 'completed'",
        "status != 'rejected'",
        "opd_code == 'DPMPTSP' and status == 'completed'",
        "opd_code == 'DINKES' or not flag",
        "not (status == 'open')",
        "processing_days <= sla_days",
        "processing_days <= sla_days * 2 - 1",
        "0 <= processing_days <= 5",
        "-processing_days > -3",
        "ratio == 0.3",
        "ratio * 3 <= 0.9",
        "channel == 'online'",
        "channel != 'online'",
        "status in ['completed', 'open']",
        "opd_code not in ('DINKES',)",
        "sla_days in [1, 2]",
        "flag",
        "not flag",
        # handed to query (not compiled): each must still give query's answer
        "submitted_at >= '2025-01-20'",
        "'2025-01-20' > submitted_at",
        "status == ['completed', 'open']",
        "`opd_code` == 'DINKES'",
        "opd_code.str.startswith('DIN')",
        "status == 'completed' & flag",
        "flag and True",
        "sla_days == None",
        "status in opd_code",
        "1 < 2",
        "no_such_column == 1",
        "status ==",
    ],
)
def test_expression_selects_what_query_selects(expression):
    for seed in range(3):
        _same_outcome(_frame(seed), expression)


def test_an_empty_frame_and_a_non_default_index():
    df = _frame(7).iloc[0:0]
    _same_outcome(df, "status == 'completed' and processing_days <= sla_days")
    shuffled = _frame(8).sample(frac=1.0, random_state=1)
    _same_outcome(shuffled, "status == 'completed' and processing_days <= sla_days")


_NAMES = st.sampled_from(["status", "opd_code", "channel", "sla_days", "processing_days", "ratio", "flag"])
_RIGHT_SIDE = st.sampled_from(  # literals, and one expression of a column
    ["'completed'", "'rejected'", "'DINKES'", "'online'", "0", "2", "3.5", "-1", "0.3", "ratio * 3", "True"]
)
_OPS = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])


@st.composite
def _comparison(draw) -> str:
    left = draw(_NAMES)
    right = draw(st.one_of(_NAMES, _RIGHT_SIDE))
    if draw(st.booleans()):
        left, right = right, left
    return f"{left} {draw(_OPS)} {right}"


_EXPRESSIONS = st.recursive(
    st.one_of(_comparison(), _NAMES, st.builds(lambda n: f"{n} in ['completed', 2, 'DINKES']", _NAMES)),
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a}) and ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) or ({b})", inner, inner),
        st.builds(lambda a: f"not ({a})", inner),
    ),
    max_leaves=5,
)


@settings(max_examples=300, deadline=None)
@given(expression=_EXPRESSIONS, seed=st.integers(0, 3))
def test_generated_expressions_select_what_query_selects(expression, seed):
    _same_outcome(_frame(seed), expression)
