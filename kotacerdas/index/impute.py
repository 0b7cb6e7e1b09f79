"""Imputation of missing indicator values, as COINr's `Impute`: mean/median by column (overall or within a unit
group), by row within a group of indicators, optionally on min-max-normalised data; regression imputation
(scikit-learn's IterativeImputer); panel imputation from the same unit's other years (`impute_panel`)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from kotacerdas.index.errors import IndexMethodError

CROSS_SECTION = ("mean", "median")
PANEL = ("latest", "locf", "constant", "linear", "linear_constant", "linear_inside")


def _minmax_forward(data: pd.DataFrame, direction: pd.Series | None) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """COINr's normalise_first: × direction, then (x − min) / (max − min) per column; returns min and max to go
    back."""
    d = direction.reindex(data.columns).astype(float) if direction is not None else 1.0
    x = data * d
    lo, hi = x.min(), x.max()
    span = (hi - lo).where(hi > lo)
    return (x - lo) / span, lo, hi


def _minmax_back(x: pd.DataFrame, lo: pd.Series, hi: pd.Series, direction: pd.Series | None) -> pd.DataFrame:
    d = direction.reindex(x.columns).astype(float) if direction is not None else 1.0
    return (x * (hi - lo) + lo) * d


def impute(
    data: pd.DataFrame,
    method: str = "mean",
    groups: pd.Series | None = None,
    *,
    by: str = "column",
    indicator_groups: Mapping[str, str] | None = None,
    normalise_first: bool | None = None,
    direction: pd.Series | None = None,
) -> pd.DataFrame:
    """Fill each missing value with the `method` ("mean" or "median").

    By column (COINr i_mean / i_median): of the same indicator over all units or, when `groups` (a label per
    unit, same index) is given, over units of the same group (i_mean_grp). By row (COINr impute_by = "row"):
    of the same unit's other indicators in its indicator group (`indicator_groups`: code → group; None: all
    indicators). With `normalise_first` (None: True by row, as COINr), the columns are first multiplied by
    `direction` and min-max scaled to [0, 1], imputed, then scaled back. Observed values never change; a value
    with nothing to take a mean from stays missing.
    """
    if method not in CROSS_SECTION:
        raise IndexMethodError(f"unknown imputation method {method!r}", hint=f"use one of {CROSS_SECTION}")
    if by not in ("column", "row"):
        raise IndexMethodError(f"impute.by={by!r}", hint="use 'column' or 'row'")
    if normalise_first is None:
        normalise_first = by == "row"
    missing = data.isna()
    if not missing.to_numpy().any():
        return data
    x, lo, hi = _minmax_forward(data, direction) if normalise_first else (data, None, None)
    if by == "column":
        filled = _by_column(x, method, groups)
    else:
        filled = x.copy()
        key = pd.Series(indicator_groups) if indicator_groups is not None else pd.Series("all", index=x.columns)
        for _, cols in key.reindex(x.columns).groupby(key.reindex(x.columns), sort=False):
            block = x[list(cols.index)]
            stat = block.mean(axis=1) if method == "mean" else block.median(axis=1)
            filled[list(cols.index)] = block.apply(lambda col, s=stat: col.fillna(s))
    if normalise_first:
        filled = _minmax_back(filled, lo, hi, direction)
    out = data.to_numpy(dtype=float, copy=True)
    holes = missing.to_numpy()
    out[holes] = filled.to_numpy(dtype=float)[holes]  # observed values exactly as they were
    return pd.DataFrame(out, index=data.index, columns=data.columns)


def _by_column(data: pd.DataFrame, method: str, groups: pd.Series | None) -> pd.DataFrame:
    stat = np.nanmean if method == "mean" else np.nanmedian
    x = data.to_numpy(dtype=float, copy=True)
    if groups is None:
        blocks = [np.arange(len(x))]
    else:
        groups = groups.reindex(data.index)
        if groups.isna().any():
            units = list(groups.index[groups.isna()])
            raise IndexMethodError(
                f"units {units} have no group label for group imputation",
                hint="fill their group column in iData or impute without groups",
            )
        codes, _ = pd.factorize(groups)
        blocks = [np.flatnonzero(codes == g) for g in range(codes.max() + 1)]
    for rows in blocks:
        part = x[rows]
        holes = np.isnan(part)
        if holes.any():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a column with nothing observed stays missing
                fill = stat(part, axis=0)
            part[holes] = np.broadcast_to(fill, part.shape)[holes]
            x[rows] = part
    return pd.DataFrame(x, index=data.index, columns=data.columns)


def impute_regression(data: pd.DataFrame, max_iter: int = 10, seed: int = 0) -> pd.DataFrame:
    """Regression imputation: scikit-learn's IterativeImputer (each indicator with missing values regressed on
    the others with BayesianRidge, round robin, `max_iter` rounds, starting from column means). Observed values
    never change; a column with no observed value stays missing."""
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401  (registers IterativeImputer)
    from sklearn.impute import IterativeImputer

    if not data.isna().to_numpy().any():
        return data
    empty = [c for c in data.columns if data[c].isna().all()]
    cols = [c for c in data.columns if c not in empty]
    if len(cols) < 2:
        raise IndexMethodError(
            "regression imputation needs at least two indicators with observed values",
            hint="use mean or median imputation",
        )
    model = IterativeImputer(max_iter=max_iter, random_state=seed, keep_empty_features=True)
    filled = pd.DataFrame(model.fit_transform(np.array(data[cols], dtype=float)), index=data.index, columns=cols)
    out = data.copy()
    out[cols] = data[cols].where(data[cols].notna(), filled)
    return out


def indicator_groups_at(parent: pd.Series, level: Mapping[str, int], codes: Sequence[str], group_level: int) -> dict:
    """Each indicator's ancestor at `group_level` (COINr's Lineage column), for row imputation."""
    out = {}
    for code in codes:
        node = code
        while int(level[node]) < group_level:
            p = parent.get(node)
            if not isinstance(p, str):
                break
            node = p
        out[code] = node
    return out


def impute_panel(
    panel: pd.DataFrame,
    method: str = "latest",
    unit: str = "uCode",
    time: str = "Time",
    max_time: int | None = None,
) -> pd.DataFrame:
    """Fill missing values from the same unit's other time points, as COINr's `impute_panel`.

    `panel` is long (one row per unit and time, indicator columns plus `unit` and `time`). "latest" (alias
    "locf") takes the value of the latest earlier time point that has one, looking back at most `max_time`
    points; "constant" the previous observed value, and before the first observation the first (R's approx,
    method constant, rule 2); "linear" interpolates linearly in time and holds the first/last observation
    constant beyond them (approx rule 2); "linear_constant" is "linear", or "constant" for a series with a single
    observation; "linear_inside" interpolates but leaves values outside the observed span missing.
    """
    if method not in PANEL:
        raise IndexMethodError(f"unknown panel imputation method {method!r}", hint=f"use one of {PANEL}")
    for col in (unit, time):
        if col not in panel:
            raise IndexMethodError(f"panel imputation needs a '{col}' column", hint="pass iData with uCode and Time")
    ordered = panel.sort_values([unit, time], kind="stable")
    values = ordered.drop(columns=[unit, time])
    by = values.groupby(ordered[unit], sort=False)
    if method in ("latest", "locf"):
        filled = by.ffill(limit=max_time) if max_time is not None else by.ffill()
    elif method == "constant":
        filled = by.ffill().groupby(ordered[unit], sort=False).bfill()
    else:
        t = pd.to_numeric(ordered[time], errors="raise").astype(float)
        area = "inside" if method == "linear_inside" else None

        def interp(block: pd.DataFrame) -> pd.DataFrame:
            out = block.set_axis(t[block.index]).interpolate(method="index", limit_area=area)
            if area is None:
                out = out.bfill()  # rule 2: the first observation held back to the start
            return out.set_axis(block.index)

        filled = by.apply(interp)
        if isinstance(filled.index, pd.MultiIndex):
            filled = filled.droplevel(0)
    out = ordered[[unit, time]].join(filled)
    return out.loc[panel.index, panel.columns]
