"""Unit screening: drop units below a data-availability (or non-zero) threshold, with forced in/out lists."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from kotacerdas.index.errors import IndexMethodError


@dataclass(frozen=True)
class ScreenResult:
    data: pd.DataFrame  # the units kept
    summary: pd.DataFrame  # one row per unit: availability, share non-zero, included, reason


def screen_units(
    data: pd.DataFrame,
    dat_thresh: float | None = None,
    nonzero_thresh: float | None = None,
    force_include: Iterable[str] = (),
    force_exclude: Iterable[str] = (),
    nonzero_basis: str = "available",
) -> ScreenResult:
    """Keep units whose share of available indicator values is ≥ `dat_thresh` (and share of non-zero
    values ≥ `nonzero_thresh`); `force_include` and `force_exclude` override the thresholds.

    As COINr's `get_data_avail`, the share of non-zero values is taken among the *available* values
    (`nonzero_basis="available"`); `"all"` divides by the number of indicators instead.
    """
    if nonzero_basis not in ("available", "all"):
        raise IndexMethodError(f"screen.nonzero_basis={nonzero_basis!r}", hint="use 'available' or 'all'")
    for name, value in (("dat_thresh", dat_thresh), ("nonzero_thresh", nonzero_thresh)):
        if value is not None and not 0 <= value <= 1:
            raise IndexMethodError(
                f"screen.{name}={value} is outside [0, 1]",
                hint="give the minimum share of indicators as a fraction, e.g. 0.66",
            )
    force_include, force_exclude = list(force_include), list(force_exclude)
    for code in force_include + force_exclude:
        if code not in data.index:
            raise IndexMethodError(
                f"screen forces unit '{code}', which is not in the data",
                hint="correct the unit code in force_include / force_exclude",
            )
    both = set(force_include) & set(force_exclude)
    if both:
        raise IndexMethodError(
            f"units {sorted(both)} are both force-included and force-excluded",
            hint="list each unit in at most one of the two",
        )
    n = data.shape[1]
    n_avail = data.notna().sum(axis=1)
    available = n_avail / n
    n_nonzero = ((data != 0) & data.notna()).sum(axis=1)
    # a unit with nothing observed has no non-zero share (COINr: 0/0 = NaN, which fails the threshold)
    nonzero = n_nonzero / (n_avail.where(n_avail > 0) if nonzero_basis == "available" else n)
    keep = pd.Series(True, index=data.index)
    reason = pd.Series("", index=data.index, dtype=object)
    if dat_thresh is not None:
        low = available < dat_thresh
        keep &= ~low
        reason[low] = f"data availability below {dat_thresh:g}"
    if nonzero_thresh is not None:
        low = ~(nonzero >= nonzero_thresh)
        keep &= ~low
        reason[low & (reason == "")] = f"share of non-zero values below {nonzero_thresh:g}"
    keep[force_include] = True
    reason[force_include] = "forced include"
    keep[force_exclude] = False
    reason[force_exclude] = "forced exclude"
    summary = pd.DataFrame({"availability": available, "nonzero": nonzero, "included": keep, "reason": reason})
    return ScreenResult(data=data.loc[keep], summary=summary)
