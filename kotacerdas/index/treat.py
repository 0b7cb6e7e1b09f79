"""Outlier treatment as COINr 1.x `Treat`: winsorise while |skew| ≥ 2 and kurtosis ≥ 3.5, else a log transform.

Winsorisation works on the sorted column with running power sums, so each winsorised point costs O(1) instead of
a pass over the column; a decision within 1e-9 of a threshold is re-checked with the exact two-pass moments.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kotacerdas.index.errors import IndexMethodError

FALLBACKS = ("ctlog", "ctlog_orig", "ctlog_plus", "log", "boxcox", "none")
_NEAR = 1e-9  # a running moment this close to a threshold is recomputed exactly


@dataclass(frozen=True)
class TreatResult:
    data: pd.DataFrame  # treated values
    flags: pd.DataFrame  # per unit × indicator: "No", "WHigh", "WLow", "CTLog", "Log", "BoxCox", "Err"
    summary: pd.DataFrame  # per indicator: Low, High, TreatSpec, Treatment, skew/kurtosis before and after


@dataclass(frozen=True)
class TreatSpec:
    """One indicator's treatment settings, the arguments of COINr's `Treat` (see `kotacerdas.index.method`)."""

    winmax: int | None = 5  # points winsorised at most (None: no limit)
    skew_thresh: float = 2.0  # inside the winsorisation loop (COINr f1_para)
    kurt_thresh: float = 3.5
    check_skew_thresh: float = 2.0  # "does it need treatment?" before and after (COINr f_pass_para)
    check_kurt_thresh: float = 3.5
    fallback: str = "ctlog"
    boxcox_lambda: float | None = None  # None with fallback "boxcox": fitted by maximum likelihood
    count: str = "points"  # what winmax counts: "points" (COINr 1.x) or "steps" (COINr 0.x)
    winchange: bool = True  # False: always the side of the initial skew (COINr 0.x option)
    combine: bool = False  # fallback on the winsorised column instead of the original (COINr combine_treat)
    skip: bool = False  # "none": leave the indicator untreated


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


def shape(x: np.ndarray) -> tuple[float, float]:
    """(skewness, kurtosis) in one pass over the column: both "type 2", NaN ignored."""
    x = x[~np.isnan(x)]
    n = x.size
    if n < 3 or np.ptp(x) == 0:
        return math.nan, math.nan
    d = x - x.mean()
    d2 = d * d
    m2, m3 = d2.mean(), (d2 * d).mean()
    sk = float(m3 / m2**1.5 * math.sqrt(n * (n - 1)) / (n - 2))
    if n < 4:
        return sk, math.nan
    g2 = (d2 * d2).mean() / m2**2 - 3
    return sk, float(((n + 1) * g2 + 6) * (n - 1) / ((n - 2) * (n - 3)))


def fails_check(sk: float, kt: float, skew_thresh: float = 2.0, kurt_thresh: float = 3.5) -> bool | None:
    """COINr's `check_SkewKurt` negated: True when |skew| ≥ skew_thresh AND kurtosis ≥ kurt_thresh; None when
    either is undefined (fewer than 4 values, or constant)."""
    if math.isnan(sk) or math.isnan(kt):
        return None
    return abs(sk) >= skew_thresh and kt >= kurt_thresh


def needs_treatment(x: np.ndarray, skew_thresh: float = 2.0, kurt_thresh: float = 3.5) -> bool:
    """True when the indicator fails COINr's skew/kurtosis check (undefined moments: not treated)."""
    return bool(fails_check(skewness(x), kurtosis(x), skew_thresh, kurt_thresh))


class _Moments:
    """Skewness and kurtosis of a column under clamping to [s[lo], s[hi]] of its sorted values, from running
    power sums of the standardised values (shape statistics do not change under x → (x − a)/b)."""

    def __init__(self, s: np.ndarray):
        self.n = s.size
        sd = s.std()
        self.z = (s - s.mean()) / (sd if sd > 0 else 1.0)
        z = self.z
        self.p = [float(np.sum(z)), float(np.sum(z**2)), float(np.sum(z**3)), float(np.sum(z**4))]

    def move(self, count: int, old: float, new: float) -> None:
        for k in range(4):
            self.p[k] += count * (new ** (k + 1) - old ** (k + 1))

    def shape(self) -> tuple[float, float]:
        n = self.n
        mu = self.p[0] / n
        e2, e3, e4 = self.p[1] / n, self.p[2] / n, self.p[3] / n
        m2 = e2 - mu * mu
        if not m2 > 1e-14:
            return math.nan, math.nan
        m3 = e3 - 3 * mu * e2 + 2 * mu**3
        m4 = e4 - 4 * mu * e3 + 6 * mu * mu * e2 - 3 * mu**4
        g1 = m3 / m2**1.5
        g2 = m4 / m2**2 - 3
        sk = g1 * math.sqrt(n * (n - 1)) / (n - 2)
        kt = ((n + 1) * g2 + 6) * (n - 1) / ((n - 2) * (n - 3))
        return sk, kt


def winsorise(
    x: np.ndarray,
    winmax: int | None = 5,
    skew_thresh: float = 2.0,
    kurt_thresh: float = 3.5,
    winchange: bool = True,
    code: str = "?",
    count: str = "points",
) -> tuple[np.ndarray, np.ndarray, int]:
    """COINr's `winsorise`: while the column fails the skew/kurtosis check and fewer than `winmax` points were
    winsorised, set the highest value(s) (all ties at once) to the next highest when skew ≥ 0, else the lowest
    to the next lowest. Returns the new values, flags ("WHigh"/"WLow"/"No") and the number of points changed
    (`count="steps"`: of steps, COINr 0.x's counter, which also decides when winmax is reached).

    Raises IndexMethodError when a step would leave fewer than two distinct values (COINr 1.x then returns the
    column untreated with a warning; `treat` does that).
    """
    x = np.asarray(x, dtype=float)
    obs = ~np.isnan(x)
    s = np.sort(x[obs])
    n = s.size
    flags = np.full(x.shape, "No", dtype=object)
    if n < 4:
        return x.copy(), flags, 0
    mom = _Moments(s)
    z = mom.z
    lo, hi = 0, n - 1
    steps = 0

    def current_shape() -> tuple[float, float]:
        # The running moments drift by rounding; next to a threshold, recompute them exactly (the module's shape).
        sk, kt = mom.shape()
        if abs(abs(sk) - skew_thresh) < _NEAR or abs(kt - kurt_thresh) < _NEAR * max(1.0, abs(kurt_thresh)):
            return shape(np.clip(s, s[lo], s[hi]))
        return sk, kt

    sk, kt = current_shape()
    fixed_side = None if winchange else (1 if sk > 0 else -1)
    changed = 0
    while fails_check(sk, kt, skew_thresh, kurt_thresh) and (winmax is None or changed < winmax):
        high = fixed_side == 1 or (fixed_side is None and sk >= 0)
        if high:
            g = int(np.searchsorted(s, s[hi], side="left"))  # first index holding the current maximum
            if g <= lo or s[g - 1] == s[lo]:
                raise IndexMethodError(
                    f"winsorising indicator '{code}' further would leave fewer than two distinct values",
                    hint="exclude it from treatment (treat.exclude) or lower treat.winmax",
                )
            mom.move(n - g, z[hi], z[g - 1])
            hi = g - 1
        else:
            g = int(np.searchsorted(s, s[lo], side="right")) - 1  # last index holding the current minimum
            if g >= hi or s[g + 1] == s[hi]:
                raise IndexMethodError(
                    f"winsorising indicator '{code}' further would leave fewer than two distinct values",
                    hint="exclude it from treatment (treat.exclude) or lower treat.winmax",
                )
            mom.move(g + 1, z[lo], z[g + 1])
            lo = g + 1
        steps += 1
        # indices above hi (below lo) hold the points moved so far: COINr's length(imax) + length(imin)
        changed = steps if count == "steps" else (n - 1 - hi) + lo
        sk, kt = current_shape()
    out = x.copy()
    if steps:
        out[obs] = np.clip(x[obs], s[lo], s[hi])
        flags[obs & (x > s[hi])] = "WHigh"
        flags[obs & (x < s[lo])] = "WLow"
    return out, flags, changed


def log_transform(x: np.ndarray, kind: str = "ctlog", boxcox_lambda: float | None = None) -> tuple[np.ndarray, str]:
    """The fallback transforms of COINr, on the observed values; returns the values and the flag to record.

    "ctlog" (`log_CT`): ln(x − min + 0.01·(max − min)); "ctlog_orig" (`log_CT_orig`): ln(x − min + 1);
    "ctlog_plus" (`log_CT_plus`): log_CT when skew > 0, else −ln(max + 0.01·(max − min) − x);
    "log": ln(x), which needs x > 0; "boxcox" (`boxcox`, makepos): y = x − min + 1, then (y^λ − 1)/λ
    (ln y when λ = 0), λ given or, when None, the maximum-likelihood λ (scipy.stats.boxcox).
    """
    lo, hi = np.nanmin(x), np.nanmax(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "ctlog":
            return np.log(x - lo + 0.01 * (hi - lo)), "CTLog"
        if kind == "ctlog_orig":
            return np.log(x - lo + 1), "CTLogOrig"
        if kind == "ctlog_plus":
            if skewness(x) > 0:
                return np.log(x - lo + 0.01 * (hi - lo)), "CTLog"
            return -np.log(hi + 0.01 * (hi - lo) - x), "CTLogNeg"
        if kind == "log":
            return np.log(x), "Log"
        if kind == "boxcox":
            y = x - lo + 1
            lam = boxcox_lambda if boxcox_lambda is not None else fit_boxcox_lambda(y[~np.isnan(y)])
            return (np.log(y) if lam == 0 else (y**lam - 1) / lam), "BoxCox"
    raise IndexMethodError(f"unknown treatment fallback {kind!r}", hint=f"use one of {FALLBACKS}")


def fit_boxcox_lambda(y: np.ndarray) -> float:
    """The Box-Cox λ maximising the log-likelihood of positive values `y` (scipy.stats.boxcox)."""
    from scipy import stats

    if y.size < 2 or np.ptp(y) == 0:
        raise IndexMethodError("Box-Cox λ cannot be fitted to a constant column", hint="give treat.boxcox_lambda")
    _, lam = stats.boxcox(y)
    return float(lam)


def treat_column(x: np.ndarray, spec: TreatSpec, code: str = "?") -> tuple[np.ndarray, np.ndarray, str, int, int]:
    """COINr's `Treat.numeric` with winsorise / a log fallback / check_SkewKurt. Returns values, flags, the
    treatment text and the numbers of low and high points winsorised."""
    flags = np.full(x.shape, "No", dtype=object)
    if spec.skip:
        return x, flags, "ForcedNone", 0, 0
    sk, kt = shape(x)
    first = fails_check(sk, kt, spec.check_skew_thresh, spec.check_kurt_thresh)
    if first is None:
        return x, flags, "None: fewer than 4 values or constant", 0, 0
    if not first:
        return x, flags, "None", 0, 0
    try:
        w, wflags, changed = winsorise(
            x, spec.winmax, spec.skew_thresh, spec.kurt_thresh, spec.winchange, code, spec.count
        )
    except IndexMethodError:
        # COINr 1.x catches the failure and returns the indicator untreated (with a warning)
        return x, flags, "None: winsorising would leave fewer than two distinct values", 0, 0
    low, high = int((wflags == "WLow").sum()), int((wflags == "WHigh").sum())
    again = fails_check(*shape(w), spec.check_skew_thresh, spec.check_kurt_thresh)
    if not again or spec.fallback == "none":
        text = f"Winsorised {changed} points" if (low or high) else "None"
        return w, wflags, text, low, high
    base = w if spec.combine else x
    y, flag = log_transform(base, spec.fallback, spec.boxcox_lambda)
    if np.isnan(y[~np.isnan(x)]).any() or np.isinf(y).any():
        return x, np.full(x.shape, "Err", dtype=object), "None: exceeded winmax but log error", 0, 0
    out_flags = np.where(np.isnan(x), "No", flag).astype(object)
    if spec.combine:
        out_flags = np.where(wflags != "No", wflags + "+" + flag, out_flags).astype(object)
    return y, out_flags, f"{flag} (exceeded winmax)", (low if spec.combine else 0), (high if spec.combine else 0)


def treat(
    data: pd.DataFrame,
    winmax: int | None = 5,
    skew_thresh: float = 2.0,
    kurt_thresh: float = 3.5,
    fallback: str = "ctlog",
    winchange: bool = True,
    exclude: Iterable[str] = (),
    *,
    check_skew_thresh: float | None = None,
    check_kurt_thresh: float | None = None,
    winmax_share: float | None = None,
    count: str = "points",
    boxcox_lambda: float | None = None,
    combine: bool = False,
    indiv: Mapping[str, TreatSpec] | None = None,
) -> TreatResult:
    """Treat every indicator column of `data` (except `exclude`) as COINr 1.x's `Treat`.

    Winsorise up to `winmax` points (COINr 1.x default 5; None: no limit; `winmax_share` = ceil(share · units),
    COINr 0.x's 10 %); `skew_thresh`/`kurt_thresh` apply inside the winsorisation loop, `check_*_thresh` to
    the check whether an indicator needs treatment and whether winsorisation fixed it (None: 2 and 3.5, as
    COINr's defaults). If it still fails, the winsorisation is discarded and the `fallback` transform is applied
    to the untreated column ("none" keeps the winsorised values). `indiv` gives per-indicator specs.
    """
    if fallback not in FALLBACKS:
        raise IndexMethodError(f"unknown treat.fallback {fallback!r}", hint=f"use one of {FALLBACKS}")
    exclude = set(exclude)
    indiv = dict(indiv or {})
    unknown = (exclude | set(indiv)) - set(data.columns)
    if unknown:
        raise IndexMethodError(
            f"treat names {sorted(unknown)}, not indicators of this data",
            hint="correct the indicator codes in treat.exclude / treat.indiv",
        )
    if winmax_share is not None:
        winmax = math.ceil(winmax_share * len(data))
    if winmax is not None and winmax < 0:
        raise IndexMethodError(f"treat.winmax={winmax} is negative", hint="use 0 or more points")
    default = TreatSpec(
        winmax=winmax,
        skew_thresh=skew_thresh,
        kurt_thresh=kurt_thresh,
        check_skew_thresh=2.0 if check_skew_thresh is None else check_skew_thresh,
        check_kurt_thresh=3.5 if check_kurt_thresh is None else check_kurt_thresh,
        fallback=fallback,
        boxcox_lambda=boxcox_lambda,
        count=count,
        winchange=winchange,
        combine=combine,
    )
    values = data.to_numpy(dtype=float, copy=True)
    flags = np.full(values.shape, "No", dtype=object)
    rows = []
    for j, code in enumerate(data.columns):
        spec = TreatSpec(**{**default.__dict__, "skip": True}) if code in exclude else indiv.get(code, default)
        x = values[:, j].copy()
        before = shape(x)
        y, f, text, low, high = treat_column(x, spec, code)
        values[:, j] = y
        flags[:, j] = f
        label = "None" if spec.skip else f"Default, winmax = {spec.winmax}" if code not in indiv else "Individual"
        after = before if y is x else shape(y)
        rows.append((code, low, high, label, text, *before, *after))
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
    return TreatResult(
        data=pd.DataFrame(values, index=data.index, columns=data.columns),
        flags=pd.DataFrame(flags, index=data.index, columns=data.columns),
        summary=summary,
    )
