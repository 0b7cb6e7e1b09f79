"""Imputation of missing indicator values: mean/median overall or within a group; panel LOCF and linear."""

from __future__ import annotations

import pandas as pd

from kotacerdas.index.errors import IndexMethodError

CROSS_SECTION = ("mean", "median")
PANEL = ("locf", "linear")


def impute(data: pd.DataFrame, method: str = "mean", groups: pd.Series | None = None) -> pd.DataFrame:
    """Fill each missing value with the `method` ("mean" or "median") of the same indicator, taken over
    all units or, when `groups` (a label per unit, same index) is given, over units of the same group.

    A value stays missing when its group has no observed value for that indicator.
    """
    if method not in CROSS_SECTION:
        raise IndexMethodError(f"unknown imputation method {method!r}", hint=f"use one of {CROSS_SECTION}")
    if groups is None:
        return data.fillna(data.agg(method))
    groups = groups.reindex(data.index)
    if groups.isna().any():
        units = list(groups.index[groups.isna()])
        raise IndexMethodError(
            f"units {units} have no group label for group imputation",
            hint="fill their group column in iData or impute without groups",
        )
    fill = data.groupby(groups, sort=False).transform(method)
    return data.fillna(fill)


def impute_panel(panel: pd.DataFrame, method: str = "locf", unit: str = "uCode", time: str = "Time") -> pd.DataFrame:
    """Fill missing values from the same unit's other time points.

    `panel` is long (one row per unit and time, indicator columns plus `unit` and `time`). "locf" carries
    the last observation forward; "linear" interpolates linearly in time between observed points (values
    before the first or after the last observation stay missing).
    """
    if method not in PANEL:
        raise IndexMethodError(f"unknown panel imputation method {method!r}", hint=f"use one of {PANEL}")
    for col in (unit, time):
        if col not in panel:
            raise IndexMethodError(f"panel imputation needs a '{col}' column", hint="pass iData with uCode and Time")
    ordered = panel.sort_values([unit, time], kind="stable")
    values = ordered.drop(columns=[unit, time])
    if method == "locf":
        filled = values.groupby(ordered[unit], sort=False).ffill()
    else:
        t = pd.to_numeric(ordered[time], errors="raise").astype(float)

        def interp(block: pd.DataFrame) -> pd.DataFrame:
            return block.set_axis(t[block.index]).interpolate(method="index", limit_area="inside").set_axis(block.index)

        filled = values.groupby(ordered[unit], sort=False, group_keys=False).apply(interp)
    out = ordered[[unit, time]].join(filled)
    return out.loc[panel.index, panel.columns]
