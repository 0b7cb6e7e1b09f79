"""Principal component analysis of indicator groups, and PCA-based weights from the first component.

Within each group (the children of one aggregate) a PCA on the correlation matrix (indicators centred and
scaled by their sample SD, units with a missing child left out), as COINr's `get_PCA` with
`prcomp(center=TRUE, scale=TRUE)`. Two forms of weights, because "PCA weights" are not uniquely defined:
- "loadings" (default, COINr): the raw first-PC loadings, signs included (aggregation renormalises them to sum
  1). R's sign of an eigenvector is arbitrary; we orient PC1 so its loadings sum ≥ 0, which is COINr's result
  whenever R happens to return that orientation and otherwise its negative (the same after renormalising).
- "squared" (OECD/JRC Handbook 2008, §6.1): squared loadings, never negative, summing to 1 in each group.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kotacerdas.index.errors import IndexMethodError


@dataclass(frozen=True)
class PCAResult:
    loadings: pd.DataFrame  # indicators × components (unit eigenvectors), PC1 sign chosen so its sum is ≥ 0
    eigenvalues: pd.Series  # per component, descending (variances of the standardised components)
    explained: pd.Series  # share of total variance per component
    n_units: int  # complete rows used

    @property
    def weights(self) -> pd.Series:
        """Squared PC1 loadings: non-negative and summing to 1 (the "squared" form)."""
        w = self.loadings["PC1"] ** 2
        return w / w.sum()

    def weights_as(self, form: str = "loadings") -> pd.Series:
        """PC1 weights: "loadings" (COINr's raw loadings) or "squared"."""
        if form == "squared":
            return self.weights
        if form == "loadings":
            return self.loadings["PC1"].copy()
        raise IndexMethodError(f"unknown PCA weight form {form!r}", hint="use 'loadings' or 'squared'")


def pca(data: pd.DataFrame, *, group: str = "?") -> PCAResult:
    """PCA on the correlation matrix of the columns of `data`, using the units with no missing value."""
    x = data.astype(float).dropna()
    k = x.shape[1]
    if k == 0:
        raise IndexMethodError(f"PCA of '{group}' has no columns", hint="give the group at least one child")
    if len(x) < 3:
        raise IndexMethodError(
            f"PCA of '{group}' has {len(x)} unit(s) with all of {list(data.columns)} observed; it needs 3 or more",
            hint="impute missing values first (impute step) or use metadata weights for this level (pca_levels)",
        )
    sd = x.std(ddof=1)
    flat = list(sd.index[~(sd > 0)])
    if flat:
        raise IndexMethodError(
            f"PCA of '{group}': {flat} take the same value for every complete unit, so correlations are undefined",
            hint="drop the constant indicator or use metadata weights for this level (weights.pca_levels)",
        )
    z = (x - x.mean()) / sd
    corr = (z.T @ z).to_numpy() / (len(x) - 1)
    values, vectors = np.linalg.eigh(corr)  # ascending
    order = np.argsort(values)[::-1]
    values, vectors = values[order], vectors[:, order]
    if vectors[:, 0].sum() < 0:
        vectors[:, 0] = -vectors[:, 0]
    names = [f"PC{i + 1}" for i in range(k)]
    values = np.clip(values, 0.0, None)  # eigh may return −1e-17 for a singular matrix
    return PCAResult(
        loadings=pd.DataFrame(vectors, index=list(x.columns), columns=names),
        eigenvalues=pd.Series(values, index=names),
        explained=pd.Series(values / values.sum(), index=names),
        n_units=len(x),
    )


def pca_weights(data: pd.DataFrame, *, group: str = "?", form: str = "loadings") -> pd.Series:
    """Weights of the columns of `data` from the first principal component ("loadings" or "squared").

    A single column gets weight 1.
    """
    if data.shape[1] == 1:
        return pd.Series(1.0, index=list(data.columns))
    return pca(data, group=group).weights_as(form)


def tree_pca_weights(
    normalised: pd.DataFrame,
    children: Mapping[str, Sequence[str]],
    level: Mapping[str, int],
    base: pd.Series,
    aggregate_fn,
    levels: Iterable[int] | None = None,
    overrides: Mapping[str, float] | None = None,
    form: str = "loadings",
) -> tuple[pd.Series, list[dict]]:
    """PCA weights for every group of the tree, lowest level first.

    The children of each aggregate (in `children` order, lowest first) get PCA weights when their level is in
    `levels` (None: every level), else keep `base`; `overrides` then replace single weights. Each aggregate is
    computed with these weights (`aggregate_fn(data, {code: kids}, weights)`) before the groups above it are
    analysed, so a higher level's PCA sees the aggregates its own weights will combine. Returns the weights
    and one record per group (explained variance, units used).
    """
    wanted = None if levels is None else set(levels)
    weights = base.astype(float).copy()
    overrides = dict(overrides or {})
    data = normalised.astype(float).copy()
    details: list[dict] = []
    for code, kids in children.items():
        kids = list(kids)
        kid_levels = {int(level[k]) for k in kids}
        if wanted is None or kid_levels & wanted:
            if len(kids) == 1:
                w = pd.Series(1.0, index=kids)
                details.append({"group": code, "children": kids, "explained_pc1": 1.0, "units": len(data)})
            else:
                res = pca(data[kids], group=code)
                w = res.weights_as(form)
                if not w.sum() > 1e-9 * w.abs().sum():
                    raise IndexMethodError(
                        f"PC1 loadings of '{code}' sum to {w.sum():.3g}, so they cannot be renormalised into weights",
                        hint="use weights.pca_form: squared, or metadata weights for this level (pca_levels)",
                    )
                details.append(
                    {
                        "group": code,
                        "children": kids,
                        "explained_pc1": float(res.explained["PC1"]),
                        "loadings": {k: float(v) for k, v in res.loadings["PC1"].items()},
                        "units": res.n_units,
                    }
                )
            weights[kids] = w[kids].to_numpy()
        for k in kids:
            if k in overrides:
                weights[k] = float(overrides[k])
        data = aggregate_fn(data, {code: kids}, weights)
    for k, v in overrides.items():  # overrides of the top node(s), which no group above renormalises
        weights[k] = float(v)
    return weights, details
