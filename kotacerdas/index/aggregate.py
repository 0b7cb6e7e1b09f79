"""Aggregation up the tree: weighted arithmetic, geometric, harmonic or generalised mean of the children."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from kotacerdas.index.errors import IndexMethodError

METHODS = ("arith_mean", "geom_mean", "harm_mean", "gen_mean")


def weighted_mean(
    x: np.ndarray, w: np.ndarray, method: str = "arith_mean", p: float | None = None
) -> np.ndarray:
    """Row-wise weighted mean of `x` (units × children), skipping NaN, renormalising the weights present."""
    present = ~np.isnan(x)
    wp = np.where(present, w, 0.0)
    wsum = wp.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "arith_mean":
            num = np.where(present, x * w, 0.0).sum(axis=1)
            return num / wsum
        if method == "geom_mean":
            return np.exp(np.where(present, np.log(np.where(present, x, 1.0)) * w, 0.0).sum(axis=1) / wsum)
        if method == "harm_mean":
            return wsum / np.where(present, w / np.where(present, x, 1.0), 0.0).sum(axis=1)
        if method == "gen_mean":
            if p is None:
                raise IndexMethodError("gen_mean needs the exponent p", hint="set aggregate.p (e.g. 0.5)")
            if p == 0:
                return weighted_mean(x, w, "geom_mean")
            return (np.where(present, w * np.where(present, x, 1.0) ** p, 0.0).sum(axis=1) / wsum) ** (1 / p)
    raise IndexMethodError(f"unknown aggregation method {method!r}", hint=f"use one of {METHODS}")


def aggregate(
    data: pd.DataFrame,
    children: Mapping[str, Sequence[str]],
    weights: Mapping[str, float],
    method: str = "arith_mean",
    p: float | None = None,
    dat_thresh: float | None = None,
) -> pd.DataFrame:
    """Add one column per aggregate to `data`, in the order of `children` (lowest level first).

    Missing children are skipped and the remaining weights renormalised. With `dat_thresh`, an aggregate is
    missing for a unit whose share of available children is below it.
    """
    if method not in METHODS:
        raise IndexMethodError(f"unknown aggregation method {method!r}", hint=f"use one of {METHODS}")
    if dat_thresh is not None and not 0 <= dat_thresh <= 1:
        raise IndexMethodError(
            f"aggregate.dat_thresh={dat_thresh} is outside [0, 1]",
            hint="give the minimum share of available children, e.g. 0.5",
        )
    out = data.astype(float).copy()
    for code, kids in children.items():
        missing = [k for k in kids if k not in out]
        if missing:
            raise IndexMethodError(
                f"aggregate '{code}' needs {missing}, which are not computed yet",
                hint="order aggregates from the lowest level up",
            )
        x = out[list(kids)].to_numpy(dtype=float)
        w = np.array([float(weights[k]) for k in kids])
        needs_positive = method in ("geom_mean", "harm_mean") or (method == "gen_mean" and (p or 0) <= 0)
        if needs_positive and (x[~np.isnan(x)] <= 0).any():
            raise IndexMethodError(
                f"{method} of '{code}' meets zero or negative values among {list(kids)}",
                hint="normalise onto a strictly positive range (e.g. minmax lower=1) or use arith_mean",
            )
        y = weighted_mean(x, w, method, p)
        share = (~np.isnan(x)).sum(axis=1) / len(kids)
        if dat_thresh is not None:
            y = np.where(share < dat_thresh, np.nan, y)
        out[code] = y
    return out
