"""Weights: from metadata or equal, renormalised within each parent, and effective weights in the index."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from kotacerdas.index.errors import IndexMethodError


def renormalise(weights: pd.Series, parent: pd.Series) -> pd.Series:
    """Divide each weight by the sum of its siblings' weights, so weights under one parent sum to 1."""
    parent = parent.reindex(weights.index)
    key = parent.fillna("<root>")
    total = weights.groupby(key).transform("sum")
    zero = total == 0
    if zero.any():
        p = key[zero].iloc[0]
        raise IndexMethodError(f"all weights under '{p}' are zero", hint=f"give at least one child of '{p}' a weight")
    return weights / total


def equal_weights(codes: list[str]) -> pd.Series:
    return pd.Series(1.0, index=codes, dtype=float)


def with_overrides(weights: pd.Series, overrides: Mapping[str, float] | None) -> pd.Series:
    """Replace some weights (e.g. for sensitivity analysis); unknown codes are an error, not ignored."""
    out = weights.astype(float).copy()
    for code, w in (overrides or {}).items():
        if code not in out.index:
            raise IndexMethodError(
                f"weight override for '{code}', which is not an indicator or aggregate",
                hint="use codes from iMeta",
            )
        try:
            w = float(w)
        except (TypeError, ValueError):
            raise IndexMethodError(
                f"weight override for '{code}' is {w!r}, not a number", hint="give a plain number"
            ) from None
        if not w >= 0:
            raise IndexMethodError(f"weight override for '{code}' is {w}", hint="weights must be zero or positive")
        out[code] = w
    return out


def effective_weights(weights: pd.Series, parent: pd.Series) -> pd.Series:
    """Share of the top-level score carried by each code: the product of renormalised weights up the tree."""
    rel = renormalise(weights, parent)
    parent = parent.reindex(weights.index)
    out = {}
    for code in weights.index:
        w, p = rel[code], parent[code]
        while isinstance(p, str):
            w *= rel[p]
            p = parent[p]
        out[code] = w
    return pd.Series(out, dtype=float).reindex(weights.index)
