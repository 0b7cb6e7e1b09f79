"""Aggregation up the tree: weighted arithmetic, geometric, harmonic or generalised mean of the children, or
Copeland (outranking) scores; one weight set (`aggregate`) or many at once (`aggregate_batch`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from kotacerdas.index.errors import IndexMethodError

METHODS = ("arith_mean", "geom_mean", "harm_mean", "gen_mean", "copeland")


def weighted_mean(x: np.ndarray, w: np.ndarray, method: str = "arith_mean", p: float | None = None) -> np.ndarray:
    """Weighted mean over the last axis of `x` (units × children, or runs × units × children with `w`
    broadcastable to it), skipping NaN and renormalising the weights present."""
    present = ~np.isnan(x)
    wp = np.where(present, w, 0.0)
    wsum = wp.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "arith_mean":
            num = np.where(present, x * w, 0.0).sum(axis=-1)
            return num / wsum
        if method == "geom_mean":
            return np.exp(np.where(present, np.log(np.where(present, x, 1.0)) * w, 0.0).sum(axis=-1) / wsum)
        if method == "harm_mean":
            return wsum / np.where(present, w / np.where(present, x, 1.0), 0.0).sum(axis=-1)
        if method == "gen_mean":
            if p is None:
                raise IndexMethodError("gen_mean needs the exponent p", hint="set aggregate.p (e.g. 0.5)")
            if p == 0:
                return weighted_mean(x, w, "geom_mean")
            return (np.where(present, w * np.where(present, x, 1.0) ** p, 0.0).sum(axis=-1) / wsum) ** (1 / p)
        if method == "copeland":
            return copeland(x, w)
    raise IndexMethodError(f"unknown aggregation method {method!r}", hint=f"use one of {METHODS}")


def outranking_matrix(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Outranking matrix of the units (rows of `x`, children in columns): entry (i, j) is the share of weight,
    among the children both units have, on which i scores higher than j, ties counting half.

    As COINr's `outrankMatrix`, except that a missing value removes that child from the pair's comparison
    (weights renormalised over the children both units have) instead of counting as a loss; without missing
    values the two agree. A pair with no child in common gets 0.5. The diagonal is 0, as in COINr.
    Leading batch axes are allowed: `x` runs × units × children with `w` runs × 1 × children.
    """
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    wb = np.expand_dims(w, -2) if w.ndim > 1 else w
    xi, xj = x[..., :, None, :], x[..., None, :, :]
    both = ~np.isnan(xi) & ~np.isnan(xj)
    wpair = np.where(both, wb, 0.0)
    win = np.where(xi > xj, wpair, 0.0).sum(axis=-1) + 0.5 * np.where(xi == xj, wpair, 0.0).sum(axis=-1)
    total = wpair.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        orm = np.where(total > 0, win / total, 0.5)
    n = x.shape[-2]
    orm[..., np.arange(n), np.arange(n)] = 0.0
    return orm


def dominance(x: np.ndarray, w: np.ndarray) -> tuple[int, float]:
    """COINr's `outrankMatrix` outputs nDominant and fracDominant: the number of pairs of units in which one
    outranks the other on every child (outranking share 1, i.e. strictly higher on all children it is compared
    on), and that number over the n(n − 1)/2 pairs."""
    orm = outranking_matrix(x, w)
    n = orm.shape[-1]
    ndom = int(np.sum(orm >= 1 - 1e-12))
    pairs = n * (n - 1) / 2
    return ndom, (ndom / pairs if pairs else float("nan"))


def copeland(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Copeland score of each unit: the number of units it outranks (weighted majority of the children) minus
    the number that outrank it; pairs at exactly half count as neither. Ranges over [−(n−1), n−1].
    A unit with no observed child gets NaN and counts as a tie for the others."""
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    wb = np.expand_dims(w, -2) if w.ndim > 1 else w
    xi, xj = x[..., :, None, :], x[..., None, :, :]
    both = ~np.isnan(xi) & ~np.isnan(xj)
    wpair = np.where(both, wb, 0.0)
    # the weighted margin sum(w·sign(xi − xj)) decides the pair; a tolerance keeps exact halves (e.g. 1/3 + 1/6
    # against 1/2) from being decided by rounding
    margin = (wpair * np.sign(np.where(both, xi - xj, 0.0))).sum(axis=-1)
    tol = 1e-12 * wpair.sum(axis=-1)
    score = (margin > tol).sum(axis=-1) - (margin < -tol).sum(axis=-1)
    none = (~np.isnan(x)).sum(axis=-1) == 0
    return np.where(none, np.nan, score.astype(float))


def _needs_positive(method: str, p: float | None) -> bool:
    return method in ("geom_mean", "harm_mean") or (method == "gen_mean" and (p or 0) <= 0)


def _check_method(method: str, dat_thresh: float | None) -> None:
    if method not in METHODS:
        raise IndexMethodError(f"unknown aggregation method {method!r}", hint=f"use one of {METHODS}")
    if dat_thresh is not None and not 0 <= dat_thresh <= 1:
        raise IndexMethodError(
            f"aggregate.dat_thresh={dat_thresh} is outside [0, 1]",
            hint="give the minimum share of available children, e.g. 0.5",
        )


def _check_values(x: np.ndarray, method: str, p: float | None, code: str, kids: Sequence[str]) -> None:
    if _needs_positive(method, p) and (x[~np.isnan(x)] <= 0).any():
        raise IndexMethodError(
            f"{method} of '{code}' meets zero or negative values among {list(kids)}",
            hint="normalise onto a strictly positive range (e.g. minmax lower=1) or use arith_mean",
        )


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
    missing for a unit whose share of available children is below it. "copeland" scores each unit against
    all others (see `copeland`), so it needs the whole column of units at once.
    """
    _check_method(method, dat_thresh)
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
        _check_values(x, method, p, code, kids)
        y = weighted_mean(x, w, method, p)
        share = (~np.isnan(x)).sum(axis=1) / len(kids)
        if dat_thresh is not None:
            y = np.where(share < dat_thresh, np.nan, y)
        out[code] = y
    return out


def _shared_mean(x: np.ndarray, w: np.ndarray, method: str, p: float | None) -> np.ndarray:
    """`weighted_mean` of the same units × children `x` under each row of `w` (runs × children) → runs × units,
    as matrix products."""
    present = ~np.isnan(x)
    wsum = w @ present.T.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "arith_mean":
            return (w @ np.where(present, x, 0.0).T) / wsum
        if method == "geom_mean":
            return np.exp((w @ np.where(present, np.log(np.where(present, x, 1.0)), 0.0).T) / wsum)
        if method == "harm_mean":
            return wsum / (w @ np.where(present, 1.0 / np.where(present, x, 1.0), 0.0).T)
        if method == "gen_mean":
            if p is None:
                raise IndexMethodError("gen_mean needs the exponent p", hint="set aggregate.p (e.g. 0.5)")
            if p == 0:
                return _shared_mean(x, w, "geom_mean", None)
            return ((w @ np.where(present, np.where(present, x, 1.0) ** p, 0.0).T) / wsum) ** (1 / p)
    raise IndexMethodError(f"unknown aggregation method {method!r}", hint=f"use one of {METHODS}")


def aggregate_batch(
    values: np.ndarray,
    columns: Sequence[str],
    children: Mapping[str, Sequence[str]],
    weights: np.ndarray,
    weight_codes: Sequence[str],
    method: str = "arith_mean",
    p: float | None = None,
    dat_thresh: float | None = None,
    keep: Sequence[str] | None = None,
    method_of=None,
) -> dict[str, np.ndarray]:
    """`aggregate` for many weight sets at once (sensitivity analysis): the same normalised data, R weight sets.

    `values` is units × indicators (named by `columns`), `weights` R × codes (named by `weight_codes`, raw or
    renormalised: each mean renormalises over the children present). Returns aggregate code → R × units,
    equal to R separate `aggregate` calls; with `keep`, only those codes (the others are freed once used).
    `method_of(code)` may give (method, p, dat_thresh) per aggregate (a different method per level).
    """
    _check_method(method, dat_thresh)
    default = (method, p, dat_thresh)
    runs = weights.shape[0]
    cols: dict[str, np.ndarray] = {c: values[:, i][None, :] for i, c in enumerate(columns)}
    where = {c: i for i, c in enumerate(weight_codes)}
    out: dict[str, np.ndarray] = {}
    for code, kids in children.items():
        method, p, dat_thresh = method_of(code) if method_of is not None else default
        missing = [k for k in kids if k not in cols]
        if missing:
            raise IndexMethodError(
                f"aggregate '{code}' needs {missing}, which are not computed yet",
                hint="order aggregates from the lowest level up",
            )
        wk = weights[:, [where[k] for k in kids]]
        if all(cols[k].shape[0] == 1 for k in kids) and method != "copeland":
            # children shared by every run (normalised indicators): one matrix product per aggregate
            x = np.stack([cols[k][0] for k in kids], axis=-1)  # units × children
            _check_values(x, method, p, code, kids)
            y = _shared_mean(x, wk, method, p)
            share = (~np.isnan(x)).sum(axis=-1)[None, :] / len(kids)
        else:
            x = np.stack([np.broadcast_to(cols[k], (runs, cols[k].shape[-1])) for k in kids], axis=-1)
            _check_values(x, method, p, code, kids)
            if method == "arith_mean":  # the common case, without the temporaries of weighted_mean
                present = ~np.isnan(x)
                with np.errstate(invalid="ignore", divide="ignore"):
                    y = np.einsum("ruk,rk->ru", np.where(present, x, 0.0), wk) / np.einsum(
                        "ruk,rk->ru", present.astype(float), wk
                    )
            else:
                y = weighted_mean(x, wk[:, None, :], method, p)
            share = (~np.isnan(x)).sum(axis=-1) / len(kids)
        if dat_thresh is not None:
            y = np.where(share < dat_thresh, np.nan, y)
        cols[code] = y
        if keep is None or code in keep:
            out[code] = y
        for k in kids:  # each child has one parent: free what no later mean needs
            if k not in out:
                del cols[k]
    return out
