"""Optimised weights as COINr's `get_opt_weights`: weights of one level chosen so that each code's correlation
with the index matches a target importance ("balance") or their sum is largest ("infomax").

COINr minimises with R's `optim` (Nelder-Mead, reltol `toler`, `maxit`); we use scipy's Nelder-Mead with the same
tolerance on the objective and the same start (the target, or the current weights for infomax), so results agree
to the optimiser's tolerance, not to the digit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kotacerdas.index.errors import IndexMethodError


@dataclass(frozen=True)
class OptWeightsResult:
    weights: pd.Series  # the optimised weights of the level (sum 1)
    table: pd.DataFrame  # per code: Desired (target share), Obtained (normalised correlation), OptWeight
    objective: float
    iterations: int
    converged: bool


def balance_objective(corr: np.ndarray, target: np.ndarray) -> float:
    """COINr's "balance" objective: log(Σ (target − corr/Σcorr)² / k) (floored at the smallest float, so an exact
    balance is a finite minimum rather than −inf)."""
    crs_n = corr / corr.sum()
    return float(np.log(max(np.sum((target - crs_n) ** 2) / len(crs_n), np.finfo(float).tiny)))


def optimise_weights(
    correlations: Callable[[np.ndarray], np.ndarray],
    codes: Sequence[str],
    start: np.ndarray,
    target: np.ndarray | None,
    optype: str = "balance",
    toler: float = 0.1,
    maxiter: int = 500,
) -> OptWeightsResult:
    """Minimise COINr's objective over the weights of `codes`; `correlations(w)` returns each code's correlation
    with the index when the level is aggregated with weights `w` (normalised to sum 1 inside)."""
    from scipy.optimize import minimize

    if optype not in ("balance", "infomax"):
        raise IndexMethodError(f"unknown opt_type {optype!r}", hint="use 'balance' or 'infomax'")
    if optype == "balance":
        if target is None or len(target) != len(codes):
            raise IndexMethodError(
                f"opt_target has {0 if target is None else len(target)} values for {len(codes)} codes",
                hint="give one target importance per code of the level, or 'equal'",
            )
        target = np.asarray(target, dtype=float) / np.sum(target)
    last: dict[str, np.ndarray] = {}

    def objective(w: np.ndarray) -> float:
        w = np.asarray(w, dtype=float)
        if not w.sum() > 0:
            return float("inf")
        crs = correlations(w / w.sum())
        last["crs"] = crs
        if optype == "balance" and target is not None:  # a balance target is checked above
            return balance_objective(crs, target)
        return float(-np.sum(crs))

    res = minimize(
        objective,
        np.asarray(start, dtype=float),
        method="Nelder-Mead",
        options={"fatol": toler, "xatol": 1e-4, "maxiter": maxiter},
    )
    wopt = np.asarray(res.x, dtype=float)
    wopt = wopt / wopt.sum()
    crs = correlations(wopt)
    obtained = crs / crs.sum() if optype == "balance" else crs
    table = pd.DataFrame(
        {"Desired": target if target is not None else np.nan, "Obtained": obtained, "OptWeight": wopt},
        index=pd.Index(list(codes), name="iCode"),
    )
    return OptWeightsResult(
        weights=pd.Series(wopt, index=list(codes)),
        table=table,
        objective=float(res.fun),
        iterations=int(res.nit),
        converged=bool(res.success),
    )
