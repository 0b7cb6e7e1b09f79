"""Property tests: min-max range, monotone aggregation, weights sum to 1, missing children skipped."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from kotacerdas.index import aggregate, normalise_column, renormalise, weighted_mean

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
positive_weight = st.floats(min_value=0.01, max_value=100, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(arrays(float, st.integers(2, 30), elements=finite), finite, st.floats(1, 1e3), st.sampled_from([1, -1]))
def test_minmax_scores_in_range(x: np.ndarray, lower: float, width: float, direction: int) -> None:
    assume(np.ptp(x) > 1e-6 * max(1.0, np.abs(x).max()))
    upper = lower + width
    y = normalise_column(pd.Series(x * direction), "minmax", lower=lower, upper=upper)
    tol = 1e-9 * max(abs(lower), abs(upper), 1)
    assert (y >= lower - tol).all() and (y <= upper + tol).all()
    assert abs(y.min() - lower) <= tol and abs(y.max() - upper) <= tol


@settings(max_examples=60, deadline=None)
@given(
    arrays(float, (5, 4), elements=st.floats(0, 100)),
    arrays(float, 4, elements=positive_weight),
    st.integers(0, 4),
    st.integers(0, 3),
    st.floats(0, 50),
)
def test_arithmetic_aggregation_is_monotone(x: np.ndarray, w: np.ndarray, unit: int, child: int, bump: float) -> None:
    before = weighted_mean(x, w)
    raised = x.copy()
    raised[unit, child] += bump
    after = weighted_mean(raised, w)
    assert after[unit] >= before[unit] - 1e-9
    np.testing.assert_array_equal(np.delete(after, unit), np.delete(before, unit))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["P", "Q", "R"]), positive_weight), min_size=1, max_size=12))
def test_renormalised_weights_sum_to_one_per_parent(rows: list[tuple[str, float]]) -> None:
    codes = [f"c{i}" for i in range(len(rows))]
    weights = pd.Series([w for _, w in rows], index=codes)
    parent = pd.Series([p for p, _ in rows], index=codes)
    sums = renormalise(weights, parent).groupby(parent).sum()
    np.testing.assert_allclose(sums, 1.0, rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    arrays(float, (4, 3), elements=st.floats(0, 100)),
    arrays(float, 3, elements=positive_weight),
    st.integers(0, 3),
    st.integers(0, 2),
)
def test_missing_child_is_skipped_with_weights_renormalised(
    x: np.ndarray, w: np.ndarray, unit: int, child: int
) -> None:
    x = x.copy()
    x[unit, child] = np.nan
    data = pd.DataFrame(x, columns=["a", "b", "c"])
    out = aggregate(data, {"P": ["a", "b", "c"]}, dict(zip("abc", w, strict=True)))
    keep = [i for i in range(3) if i != child]
    expected = np.dot(x[unit, keep], w[keep]) / w[keep].sum()
    assert abs(out.loc[unit, "P"] - expected) <= 1e-9
