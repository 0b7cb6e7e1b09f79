"""Denomination: divide indicators by a per-unit scale (population, area, GDP) named in the metadata."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from kotacerdas.index.errors import IndexMethodError


def denominate(data: pd.DataFrame, denominators: pd.DataFrame, spec: Mapping[str, str]) -> pd.DataFrame:
    """Return `data` with each indicator in `spec` divided by its denominator column.

    `data` holds indicator columns, `denominators` the denominator columns (same index); `spec` maps
    indicator code → denominator code. Indicators not in `spec` are copied unchanged.
    """
    out = data.to_numpy(dtype=float, copy=True)
    where = {c: j for j, c in enumerate(data.columns)}
    for code, den in spec.items():
        if code not in where:
            raise IndexMethodError(
                f"denomination asked for indicator '{code}', which is not in the data",
                hint="remove it from the denominator spec",
            )
        if den not in denominators:
            raise IndexMethodError(
                f"indicator '{code}' is to be divided by '{den}', which is not in the data",
                hint=f"add a denominator column '{den}' to iData",
            )
        d = denominators[den].to_numpy(dtype=float)
        j = where[code]
        zero = (d == 0) & ~np.isnan(out[:, j])
        if zero.any():
            # x / 0 would be ±inf and poison every later stage; make the user decide instead
            raise IndexMethodError(
                f"denominator '{den}' is 0 for unit(s) {list(denominators.index[zero])} (indicator '{code}')",
                hint="correct the denominator value or leave it empty so the ratio becomes missing",
            )
        out[:, j] = out[:, j] / d
    return pd.DataFrame(out, index=data.index, columns=data.columns)


def metadata_spec(denominator: pd.Series) -> dict[str, str]:
    """Indicator → denominator mapping from the iMeta `Denominator` column (blank = not denominated)."""
    return {code: den for code, den in denominator.items() if isinstance(den, str) and den}
