"""Outlier treatment as COINr: winsorise one point at a time while |skew| > 2 and kurtosis > 3.5, else log."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kotacerdas.index.errors import IndexMethodError

FALLBACKS = ("ctlog", "log", "none")


@dataclass(frozen=True)
class TreatResult:
    data: pd.DataFrame  # treated values
    flags: pd.DataFrame  # per unit × indicator: "No", "WHigh", "WLow", "CTLog", "Log", "Err"
    summary: pd.DataFrame  # per indicator: Low, High, TreatSpec, Treatment, skew/kurtosis before and after


def skewness(x: np.ndarray) -> float:
    """Sample skewness, bias-corrected (e1071 / SAS / Excel "type 2"), ignoring NaN."""
    x = x[~np.isnan(x)]
    n = x.size
    if n < 3 or np.ptp(x) == 0:
        return math.nan
    d = x - x.mean()
    m2 = np.mean(d**2)
    g1 = np.mean(d**3) / m2**1.5
    return float(g1 * math.sqrt(n * (n - 1)) / (n - 2))


def kurtosis(x: np.ndarray) -> float:
    """Sample excess kurtosis, bias-corrected ("type 2"), ignoring NaN."""
    x = x[~np.isnan(x)]
    n = x.size
    if n < 4 or np.ptp(x) == 0:
        return math.nan
    d = x - x.mean()
    m2 = np.mean(d**2)
    g2 = np.mean(d**4) / m2**2 - 3
    return float(((n + 1) * g2 + 6) * (n - 1) / ((n - 2) * (n - 3)))


def needs_treatment(x: np.ndarray, skew_thresh: float = 2.0, kurt_thresh: float = 3.5) -> bool:
    """COINr's rule: an indicator is treated when |skewness| > skew_thresh AND kurtosis > kurt_thresh."""
    return abs(skewness(x)) > skew_thresh and kurtosis(x) > kurt_thresh


def winsorise(
    x: np.ndarray,
    winmax: int,
    skew_thresh: float = 2.0,
    kurt_thresh: float = 3.5,
    winchange: bool = True,
    code: str = "?",
) -> tuple[np.ndarray, np.ndarray, int]:
    """Winsorise until the skew/kurtosis rule passes or `winmax` steps were taken.

    Each step sets the most extreme value(s) (all ties at once) to the next value in: the highest when skew
    ≥ 0, else the lowest (with `winchange=False` the side is fixed by the initial skew). Returns the new
    values, flags ("WHigh"/"WLow"/"No") and the number of steps.
    """
    x = x.astype(float).copy()
    flags = np.full(x.shape, "No", dtype=object)
    obs = ~np.isnan(x)
    sk, kt = skewness(x), kurtosis(x)
    fixed_side = None if winchange else (1 if sk > 0 else -1)
    steps = 0
    while abs(sk) > skew_thresh and kt > kurt_thresh and steps < winmax:
        high = fixed_side == 1 or (fixed_side is None and sk >= 0)
        extreme = np.nanmax(x) if high else np.nanmin(x)
        hit = obs & (x == extreme)
        rest = x[obs & ~hit]
        if np.unique(rest).size < 2:
            # as in COINr: fewer than two distinct values left would make the indicator meaningless
            raise IndexMethodError(
                f"winsorising indicator '{code}' further would leave fewer than two distinct values",
                hint="exclude it from treatment (treat.exclude), lower treat.winmax or use a log transform",
            )
        x[hit] = rest.max() if high else rest.min()
        flags[hit] = "WHigh" if high else "WLow"
        steps += 1
        sk, kt = skewness(x), kurtosis(x)
    return x, flags, steps


def log_transform(x: np.ndarray, kind: str = "ctlog") -> np.ndarray:
    """ "ctlog" (COIN Tool): ln(x − min + 0.01·(max − min)); "log": ln(x), which needs x > 0."""
    if kind == "ctlog":
        lo, hi = np.nanmin(x), np.nanmax(x)
        return np.log(x - lo + 0.01 * (hi - lo))
    if kind == "log":
        return np.log(x)
    raise IndexMethodError(f"unknown log transform {kind!r}", hint="use 'ctlog' or 'log'")


def treat(
    data: pd.DataFrame,
    winmax: int | None = None,
    skew_thresh: float = 2.0,
    kurt_thresh: float = 3.5,
    fallback: str = "ctlog",
    winchange: bool = True,
    exclude: Iterable[str] = (),
) -> TreatResult:
    """Treat every indicator column of `data` (except `exclude`) with COINr's default procedure.

    Winsorise up to `winmax` points (None: 10 % of units rounded up, COINr's default); if the rule still
    fails, discard the winsorisation and apply the `fallback` log transform to the untreated column
    ("none" keeps the winsorised values).
    """
    if fallback not in FALLBACKS:
        raise IndexMethodError(f"unknown treat.fallback {fallback!r}", hint=f"use one of {FALLBACKS}")
    exclude = set(exclude)
    unknown = exclude - set(data.columns)
    if unknown:
        raise IndexMethodError(
            f"treat.exclude names {sorted(unknown)}, not indicators of this data",
            hint="correct the indicator codes",
        )
    if winmax is None:
        winmax = math.ceil(0.1 * len(data))
    if winmax < 0:
        raise IndexMethodError(f"treat.winmax={winmax} is negative", hint="use 0 or more points")
    spec = f"Default, winmax = {winmax}"
    out = data.astype(float).copy()
    flags = pd.DataFrame("No", index=data.index, columns=data.columns, dtype=object)
    rows = []
    for code in data.columns:
        x = data[code].to_numpy(dtype=float)
        before = (skewness(x), kurtosis(x))
        if code in exclude or np.isnan(before[1]):
            treatment = "ForcedNone" if code in exclude else "None: fewer than 4 values or constant"
            rows.append((code, 0, 0, "None", treatment, *before, *before))
            continue
        w, wflags, steps = winsorise(x, winmax, skew_thresh, kurt_thresh, winchange, code)
        if needs_treatment(w, skew_thresh, kurt_thresh) and fallback != "none":
            with np.errstate(divide="ignore", invalid="ignore"):
                y = log_transform(x, fallback)  # on the original column: winsorisation is discarded
            if np.isnan(y[~np.isnan(x)]).any() or np.isinf(y).any():
                y, flag, treatment = x, "Err", "None: exceeded winmax but log error"
            else:
                flag, treatment = (
                    ("CTLog" if fallback == "ctlog" else "Log"),
                    (f"{'CTLog' if fallback == 'ctlog' else 'Log'} (exceeded winmax)"),
                )
            out[code] = y
            flags[code] = flag
        else:
            out[code] = w
            flags[code] = wflags
            treatment = f"Winsorised {steps} points" if steps else "None"
        after = out[code].to_numpy(dtype=float)
        rows.append(
            (
                code,
                int((flags[code] == "WLow").sum()),
                int((flags[code] == "WHigh").sum()),
                spec,
                treatment,
                *before,
                skewness(after),
                kurtosis(after),
            )
        )
    summary = pd.DataFrame(
        rows,
        columns=[
            "iCode",
            "Low",
            "High",
            "TreatSpec",
            "Treatment",
            "skew_before",
            "kurt_before",
            "skew_after",
            "kurt_after",
        ],
    ).set_index("iCode")
    return TreatResult(data=out, flags=flags, summary=summary)
