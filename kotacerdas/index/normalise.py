"""Normalisation of indicators onto a common scale, after multiplying each by its direction (±1).

COINr's n_* functions plus the OECD/JRC Handbook (2008, §5) methods COINr lacks: percentile rank, ratio to and
difference from a reference (mean, best, worst), above/below the mean with a band, and categorical classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

import numpy as np
import pandas as pd

from kotacerdas.index.errors import IndexMethodError

NormaliseMethod = Literal[
    "minmax",
    "zscore",
    "rank",
    "prank",
    "percentile",
    "borda",
    "fracmax",
    "dist2max",
    "dist2targ",
    "dist2ref",
    "goalposts",
    "ratio",
    "rel_diff",
    "abs_diff",
    "above_below_mean",
    "categorical",
    "none",
]
METHODS: tuple[str, ...] = get_args(NormaliseMethod)


class Degenerate(IndexMethodError):
    """A normalisation that is undefined for this column (zero range, zero or negative max, ...)."""


def _span(x: pd.Series, code: str, method: str) -> float:
    span = x.max() - x.min()
    if not span > 0:
        raise Degenerate(
            f"indicator '{code}' has the same value for every unit, so {method} normalisation is undefined "
            "(COINr returns NaN)",
            hint="drop the indicator, set normalise.on_degenerate: na, or choose 'rank', 'fracmax' or 'none'",
        )
    return span


def _reference(x: pd.Series, reference: str) -> float:
    """The reference value on the directed scale: mean, best (max) or worst (min)."""
    if reference == "mean":
        return float(x.mean())
    if reference == "best":
        return float(x.max())
    if reference == "worst":
        return float(x.min())
    raise IndexMethodError(f"unknown reference {reference!r}", hint="use 'mean', 'best' or 'worst'")


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
    trunc: bool = True,
    scale: float = 100.0,
    reference: str = "mean",
    band: float = 0.2,
    classes: int = 5,
    direction: float = 1.0,
) -> pd.Series:
    """Normalise one indicator column `x` (already multiplied by `direction`); see `normalise` for methods.

    `target` and `goalposts` are given on the original scale and multiplied by `direction` here too.
    Raises `Degenerate` (an IndexMethodError) where the method is undefined for this column.
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
    if method == "percentile":
        # OECD/JRC Handbook percentile rank r/n · 100 (r: rank ascending, ties minimum; n: units observed)
        return x.rank(method="min", na_option="keep") / x.notna().sum() * 100
    if method == "borda":
        return x.rank(method="min", na_option="keep") - 1
    if method == "fracmax":
        top = x.max()
        if not top > 0:
            raise Degenerate(
                f"indicator '{code}' has maximum {top} after direction; fraction of max needs a positive maximum "
                "(COINr divides anyway: ±Inf or negative scores)",
                hint="use another normalisation method or set normalise.on_degenerate: na",
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
                raise Degenerate(
                    f"indicator '{code}' has Target 0: x / target is undefined",
                    hint="set a non-zero Target or use target_form 'range'",
                )
            raw = x * direction  # the ratio works on the original scale
            y = raw / target if direction > 0 else target / raw.where(raw != 0)
        elif target_form == "range":
            # COINr n_dist2targ: (x − min) / (target − min); 1 means the target is reached
            t = target * direction
            if t == x.min():
                raise Degenerate(
                    f"indicator '{code}' has Target equal to its worst value (COINr: division by zero, Inf)",
                    hint="set a Target better than the worst unit",
                )
            y = (x - x.min()) / (t - x.min())
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
            raise Degenerate(
                f"reference unit '{ref_unit}' has value {ref} for '{code}' (missing or worst; COINr: NA or Inf)",
                hint="pick a reference unit with an observed, not-worst value",
            )
        y = 1 - (ref - x) / (ref - x.min())
        return y.clip(upper=1) if cap_max else y
    if method == "goalposts":
        if goalposts is None:
            raise IndexMethodError(
                f"indicator '{code}' has no goalposts",
                hint=f"in the method file give `normalise: goalposts: {{{code}: [lower, upper]}}` for every indicator, "
                f"or `normalise: indiv: {{{code}: {{method: goalposts, goalposts: [lower, upper]}}}}` for this one",
            )
        lo, hi = goalposts
        if not lo < hi:
            raise IndexMethodError(
                f"goalposts of '{code}' are {goalposts}", hint="give (lower, upper) with lower < upper"
            )
        # after the direction flip the worst post is the smaller of the flipped pair
        worst, best = sorted((lo * direction, hi * direction))
        y = (x - worst) / (best - worst)
        return (y.clip(0, 1) if trunc else y) * scale
    if method in ("ratio", "rel_diff", "abs_diff"):
        ref = _reference(x, reference)  # on the directed scale
        if method == "abs_diff":
            return x - ref  # d·x − d·ref: positive = better than the reference
        if ref == 0:
            raise Degenerate(
                f"the {reference} of '{code}' is 0, so a ratio or relative difference to it is undefined",
                hint="use abs_diff or another reference",
            )
        if method == "rel_diff":
            return (x - ref) / abs(ref)
        # ratio on the original scale: x / ref, or ref / x for lower-is-better (1 = at the reference)
        raw, raw_ref = x * direction, ref * direction
        return raw / raw_ref if direction > 0 else raw_ref / raw.where(raw != 0)
    if method == "above_below_mean":
        # Handbook §5: w = x / mean; 1 above (1 + p), −1 below (1 − p), else 0 — on the original scale,
        # sign flipped for lower-is-better
        raw = x * direction
        m = raw.mean()
        if not m > 0:
            raise Degenerate(
                f"indicator '{code}' has mean {m}; above/below the mean needs a positive mean",
                hint="use another normalisation method",
            )
        w = raw / m
        y = pd.Series(np.where(w > 1 + band, 1.0, np.where(w < 1 - band, -1.0, 0.0)), index=x.index)
        return (y * direction).where(x.notna())
    if method == "categorical":
        # quantile classes: the number of the class quantiles k/K (k = 1..K−1, R type 7) a value exceeds,
        # scaled to [0, scale]
        obs = x.dropna().to_numpy()
        cuts = np.quantile(obs, np.arange(1, classes) / classes)
        k = (x.to_numpy()[:, None] > cuts[None, :]).sum(axis=1).astype(float)
        return pd.Series(k / (classes - 1) * scale, index=x.index).where(x.notna())
    if method == "none":
        return x
    raise IndexMethodError(f"unknown normalisation method {method!r}", hint=f"use one of {METHODS}")


def _fast(values: np.ndarray, method: str, params: Mapping) -> np.ndarray | None:
    """min-max and z-score of a whole units × indicators matrix at once (None: a column is degenerate)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "minmax":
            lo, hi = np.nanmin(values, axis=0), np.nanmax(values, axis=0)
            if not np.all(hi - lo > 0):
                return None
            return (values - lo) / (hi - lo) * (params["upper"] - params["lower"]) + params["lower"]
        if method == "zscore":
            sd = np.nanstd(values, axis=0, ddof=1)
            if not np.all(sd > 0):
                return None
            return (values - np.nanmean(values, axis=0)) / sd * params["sd"] + params["mean"]
    return None


def normalise(
    data: pd.DataFrame,
    direction: Mapping[str, float],
    method: str = "minmax",
    *,
    targets: Mapping[str, float] | None = None,
    goalposts: Mapping[str, tuple[float, float]] | None = None,
    on_degenerate: str = "error",
    indiv: Mapping[str, Mapping] | None = None,
    **params,
) -> pd.DataFrame:
    """Normalise every indicator column of `data`: multiply by `direction[code]`, then apply `method`.

    minmax → [lower, upper]; zscore → mean/sd (sample SD); rank, prank (r−1)/(n−1), percentile r/n·100, borda
    (ties take the minimum rank); fracmax x/max; dist2max 1−(max−x)/(max−min); dist2targ (x−min)/(t−min) or x/t
    (`target_form="ratio"`); dist2ref 1−(ref−x)/(ref−min) with a unit's value; goalposts (x−l)/(u−l), clipped
    to [0, 1] unless `trunc=False` (COINr n_scaled), × scale; ratio, rel_diff, abs_diff to the `reference`
    (mean, best, worst); above_below_mean (±1 outside the band p, else 0); categorical (quantile classes);
    none. `indiv` maps a code to its own method and parameters. A column where the method is undefined raises
    (`on_degenerate="error"`, naming the indicator and why) or becomes missing (`"na"`).
    """
    if on_degenerate not in ("error", "na"):
        raise IndexMethodError(f"unknown on_degenerate {on_degenerate!r}", hint="use 'error' or 'na'")
    indiv = dict(indiv or {})
    codes = list(data.columns)
    d = np.array([float(direction[c]) for c in codes])
    directed = data.to_numpy(dtype=float) * d
    if method in ("minmax", "zscore") and not indiv:
        fast = _fast(directed, method, params)
        if fast is not None:
            return pd.DataFrame(fast, index=data.index, columns=codes)
    out: dict[str, pd.Series] = {}  # one frame at the end: inserting 100+ columns one by one fragments it
    for j, code in enumerate(codes):
        x = pd.Series(directed[:, j], index=data.index)
        extra = dict(params)
        m = method
        if code in indiv:
            spec = {k: v for k, v in indiv[code].items() if v is not None}
            m = spec.pop("method")
            extra.update(spec)
        if targets is not None:
            extra["target"] = targets.get(code)
        if goalposts is not None and "goalposts" not in extra:
            extra["goalposts"] = goalposts.get(code)
        try:
            out[code] = normalise_column(x, m, code=code, direction=d[j], **extra)
        except Degenerate:
            if on_degenerate == "error":
                raise
            out[code] = pd.Series(np.nan, index=data.index)
    return pd.DataFrame(out, index=data.index, columns=codes)
