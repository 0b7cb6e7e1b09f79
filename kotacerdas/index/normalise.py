"""Normalisation of indicators onto a common scale, after multiplying each by its direction (±1)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

import numpy as np
import pandas as pd

from kotacerdas.index.errors import IndexMethodError

NormaliseMethod = Literal[
    "minmax", "zscore", "rank", "prank", "borda", "fracmax", "dist2max", "dist2targ", "dist2ref", "goalposts", "none"
]
METHODS: tuple[str, ...] = get_args(NormaliseMethod)


def _span(x: pd.Series, code: str, method: str) -> float:
    span = x.max() - x.min()
    if not span > 0:
        raise IndexMethodError(
            f"indicator '{code}' has the same value for every unit, so {method} normalisation is undefined",
            hint="drop the indicator or choose normalise.method 'rank', 'fracmax' or 'none'",
        )
    return span


def normalise_column(
    x: pd.Series,
    method: str = "minmax",
    *,
    code: str = "?",
    lower: float = 0.0,
    upper: float = 100.0,
    mean: float = 0.0,
    sd: float = 1.0,
    target: float | None = None,
    target_form: str = "range",
    ref_unit: str | None = None,
    cap_max: bool = False,
    goalposts: tuple[float, float] | None = None,
    scale: float = 100.0,
    direction: float = 1.0,
) -> pd.Series:
    """Normalise one indicator column `x` (already multiplied by `direction`); see `normalise` for methods.

    `target` and `goalposts` are given on the original scale and multiplied by `direction` here too.
    """
    if method == "minmax":
        return (x - x.min()) / _span(x, code, method) * (upper - lower) + lower
    if method == "zscore":
        s = x.std(ddof=1)  # sample standard deviation, as R's sd()
        if not s > 0:
            _span(x, code, method)
        return (x - x.mean()) / s * sd + mean
    if method == "rank":
        return x.rank(method="min", na_option="keep")
    if method == "prank":
        return (x.rank(method="min", na_option="keep") - 1) / (x.notna().sum() - 1)
    if method == "borda":
        return x.rank(method="min", na_option="keep") - 1
    if method == "fracmax":
        top = x.max()
        if not top > 0:
            raise IndexMethodError(
                f"indicator '{code}' has maximum {top} after direction; fraction of max needs a positive maximum",
                hint="use another normalisation method",
            )
        return x / top
    if method == "dist2max":
        return 1 - (x.max() - x) / _span(x, code, method)
    if method == "dist2targ":
        if target is None or np.isnan(target):
            raise IndexMethodError(
                f"indicator '{code}' has no Target for distance-to-target normalisation",
                hint="fill the Target column of iMeta for every indicator",
            )
        if target_form == "ratio":
            # x / target (lower-is-better: target / x), capped at 1 when cap_max
            if target == 0:
                raise IndexMethodError(
                    f"indicator '{code}' has Target 0: x / target is undefined",
                    hint="set a non-zero Target or use target_form 'range'",
                )
            raw = x * direction  # the ratio works on the original scale
            y = raw / target if direction > 0 else target / raw.where(raw != 0)
        elif target_form == "range":
            # COINr: 1 − (target − x) / (target − min x); 1 means the target is reached
            t = target * direction
            if t == x.min():
                raise IndexMethodError(
                    f"indicator '{code}' has Target equal to its worst value",
                    hint="set a Target better than the worst unit",
                )
            y = 1 - (t - x) / (t - x.min())
        else:
            raise IndexMethodError(f"unknown target_form {target_form!r}", hint="use 'range' or 'ratio'")
        return y.clip(upper=1) if cap_max else y
    if method == "dist2ref":
        if ref_unit is None or ref_unit not in x.index:
            raise IndexMethodError(
                f"distance-to-reference needs ref_unit among the units, got {ref_unit!r}",
                hint="set normalise.ref_unit to a uCode in the data",
            )
        ref = x[ref_unit]
        if np.isnan(ref) or ref == x.min():
            raise IndexMethodError(
                f"reference unit '{ref_unit}' has value {ref} for '{code}' (missing or worst)",
                hint="pick a reference unit with an observed, not-worst value",
            )
        y = 1 - (ref - x) / (ref - x.min())
        return y.clip(upper=1) if cap_max else y
    if method == "goalposts":
        if goalposts is None:
            raise IndexMethodError(f"indicator '{code}' has no goalposts", hint="give (lower, upper) per indicator")
        lo, hi = goalposts
        if not lo < hi:
            raise IndexMethodError(
                f"goalposts of '{code}' are {goalposts}", hint="give (lower, upper) with lower < upper"
            )
        # after the direction flip the worst post is the smaller of the flipped pair
        worst, best = sorted((lo * direction, hi * direction))
        return ((x - worst) / (best - worst)).clip(0, 1) * scale
    if method == "none":
        return x
    raise IndexMethodError(f"unknown normalisation method {method!r}", hint=f"use one of {METHODS}")


def normalise(
    data: pd.DataFrame,
    direction: Mapping[str, float],
    method: str = "minmax",
    *,
    targets: Mapping[str, float] | None = None,
    goalposts: Mapping[str, tuple[float, float]] | None = None,
    **params,
) -> pd.DataFrame:
    """Normalise every indicator column of `data`: multiply by `direction[code]`, then apply `method`.

    minmax → [lower, upper]; zscore → mean/sd (sample SD); rank, prank, borda (ties take the minimum
    rank); fracmax x/max; dist2max 1−(max−x)/(max−min); dist2targ 1−(t−x)/(t−min) or x/t
    (`target_form="ratio"`); dist2ref as dist2targ with a unit's value; goalposts (x−l)/(u−l) clipped
    to [0, 1] × scale; none.
    """
    out: dict[str, pd.Series] = {}  # one frame at the end: inserting 100+ columns one by one fragments it
    for code in data.columns:
        d = float(direction[code])
        x = data[code].astype(float) * d
        extra = dict(params)
        if targets is not None:
            extra["target"] = targets.get(code)
        if goalposts is not None:
            extra["goalposts"] = goalposts.get(code)
        out[code] = normalise_column(x, method, code=code, direction=d, **extra)
    return pd.DataFrame(out, index=data.index, columns=list(data.columns))
