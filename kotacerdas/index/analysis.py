"""Analysis of a build: correlations between levels, Cronbach's alpha per group, strengths and weaknesses."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd

from kotacerdas.index.errors import IndexMethodError

if TYPE_CHECKING:
    from kotacerdas.index.build import IndexBuild

CORR_METHODS = ("pearson", "spearman")


def cronbach_alpha(data: pd.DataFrame) -> float:
    """Cronbach's alpha of the columns of `data` over the units with every column observed:
    k/(k−1) · (1 − Σ var(column) / var(row sum)), sample variances. NaN for fewer than 2 columns,
    fewer than 2 complete units, or a constant row sum."""
    x = data.astype(float).dropna()
    k = x.shape[1]
    if k < 2 or len(x) < 2:
        return math.nan
    total = x.sum(axis=1).var(ddof=1)
    if not total > 0:
        return math.nan
    return float(k / (k - 1) * (1 - x.var(ddof=1).sum() / total))


def _check_corr(method: str) -> None:
    if method not in CORR_METHODS:
        raise IndexMethodError(f"unknown correlation method {method!r}", hint=f"use one of {CORR_METHODS}")


def _stage(build: IndexBuild, stage: str) -> pd.DataFrame:
    if stage not in build.data:
        raise IndexMethodError(f"no stage {stage!r} in this build", hint=f"use one of {list(build.data)}")
    return build.data[stage]


def group_alpha(build: IndexBuild, stage: str = "Aggregated") -> pd.DataFrame:
    """Cronbach's alpha of the children of each aggregate (from `stage`, by default the aggregated data set,
    which holds the normalised indicators and every aggregate)."""
    data = _stage(build, stage)
    fw = build.framework
    rows = []
    for code in fw.aggregates:
        kids = [k for k in fw.children(code) if k in data]
        x = data[kids]
        rows.append(
            {
                "iCode": code,
                "Level": int(fw.imeta.at[code, "Level"]),
                "children": len(kids),
                "units": int(x.notna().all(axis=1).sum()),
                "alpha": cronbach_alpha(x),
            }
        )
    return pd.DataFrame(rows).set_index("iCode")


def level_correlations(
    build: IndexBuild, levels: tuple[int, int] = (1, 2), method: str = "pearson", stage: str = "Aggregated"
) -> pd.DataFrame:
    """Correlation matrix between the codes of two levels (rows: first level, columns: second), pairwise
    complete units."""
    _check_corr(method)
    fw = build.framework
    for lv in levels:
        if lv not in fw.levels:
            raise IndexMethodError(f"level {lv} is not in this framework", hint=f"use levels {sorted(fw.levels)}")
    data = _stage(build, stage)
    a, b = (list(fw.levels[lv]) for lv in levels)
    missing = [c for c in a + b if c not in data]
    if missing:
        raise IndexMethodError(
            f"stage {stage!r} has no column for {missing[:5]}", hint="use the Aggregated stage for aggregate levels"
        )
    both = data[list(dict.fromkeys(a + b))].corr(method=method)
    return both.loc[a, b]


def parent_correlations(build: IndexBuild, method: str = "pearson", stage: str = "Aggregated") -> pd.DataFrame:
    """For each code of the tree: its correlation with its parent and with the top of the tree (the index)."""
    _check_corr(method)
    fw = build.framework
    data = _stage(build, stage)
    parent = fw.imeta["Parent"]
    rows = []
    for code in fw.indicators + fw.aggregates:
        p = parent[code]
        top = code
        while isinstance(parent[top], str):
            top = parent[top]
        r_parent = data[code].corr(data[p], method=method) if isinstance(p, str) else math.nan
        r_top = data[code].corr(data[top], method=method) if top != code else math.nan
        rows.append(
            {
                "iCode": code,
                "Level": int(fw.imeta.at[code, "Level"]),
                "Parent": p if isinstance(p, str) else None,
                "r_parent": r_parent,
                "Top": top,
                "r_top": r_top,
            }
        )
    return pd.DataFrame(rows).set_index("iCode")


def indicator_ranks(build: IndexBuild, stage: str = "Raw") -> pd.DataFrame:
    """Rank of each unit on each indicator (1 = best after the indicator's direction; ties take the minimum)."""
    fw = build.framework
    data = _stage(build, stage)[fw.indicators]
    if stage in ("Raw", "Denominated", "Screened", "Imputed", "Treated"):
        data = data * fw.direction  # normalised data already carry the direction
    return data.loc[build.units.index].rank(ascending=False, method="min", na_option="keep").astype("Int64")


def strengths_weaknesses(build: IndexBuild, n: int = 5, stage: str = "Raw") -> pd.DataFrame:
    """The `n` indicators on which each unit ranks best (strengths) and worst (weaknesses) among all units.

    Ranks as `indicator_ranks` (direction applied; default on the raw data, as COINr's `get_str_weak`);
    missing values are never selected; ties in rank are broken by the order of indicators in iMeta.
    One row per unit × kind × position, with the rank and the value at `stage`.
    """
    if n < 1:
        raise IndexMethodError(f"strengths/weaknesses n={n}", hint="ask for 1 or more indicators")
    fw = build.framework
    ranks = indicator_ranks(build, stage)
    values = _stage(build, stage)[fw.indicators]
    names = fw.imeta.loc[fw.indicators, "iName"]
    order = {c: i for i, c in enumerate(fw.indicators)}
    rows = []
    for unit in ranks.index:
        r = ranks.loc[unit].dropna().astype(int)
        keyed = sorted(r.items(), key=lambda kv: (kv[1], order[kv[0]]))
        worst = sorted(r.items(), key=lambda kv: (-kv[1], order[kv[0]]))
        for kind, picked in (("strength", keyed[:n]), ("weakness", worst[:n])):
            for pos, (code, rank) in enumerate(picked, start=1):
                rows.append(
                    {
                        "uCode": unit,
                        "kind": kind,
                        "position": pos,
                        "iCode": code,
                        "iName": names[code],
                        "rank": rank,
                        "value": float(values.at[unit, code]),
                    }
                )
    cols = ["uCode", "kind", "position", "iCode", "iName", "rank", "value"]
    return pd.DataFrame(rows, columns=cols)


def get_stats(
    build: IndexBuild,
    stage: str = "Raw",
    t_skew: float = 2.0,
    t_kurt: float = 3.5,
    t_avail: float = 0.65,
    t_zero: float = 0.5,
    t_unq: float = 0.5,
    nsignif: int | None = None,
) -> pd.DataFrame:
    """COINr's `get_stats` table of each indicator at `stage`, plus its correlation with its parent and with the
    index (from the aggregated data set). Columns as COINr: Min, Max, Mean, Median, Std, Skew, Kurt, N.Avail,
    N.NonZero, N.Unique, N.Same, Frc.Avail, Frc.NonZero (of available), Frc.Unique, Frc.Same, Flag.Avail
    (≥ t_avail), Flag.NonZero (non-zero / all units ≥ t_zero), Flag.Unique (unique / all units ≥ t_unq),
    Flag.SkewKurt ("OUT" when |skew| > t_skew and kurtosis > t_kurt). Unrounded unless `nsignif` (COINr: 3)."""
    from kotacerdas.index.treat import kurtosis, skewness

    fw = build.framework
    data = _stage(build, stage)
    codes = [c for c in fw.indicators if c in data]
    n = len(data)
    rows = []
    for code in codes:
        x = data[code]
        obs = x.dropna()
        n_avail = len(obs)
        nzero = int((obs != 0).sum())
        nunq = int(obs.nunique())
        nsame = int(obs.value_counts().max()) if n_avail else 0
        sk, kt = skewness(x.to_numpy(dtype=float)), kurtosis(x.to_numpy(dtype=float))
        rows.append(
            {
                "iCode": code,
                "Min": obs.min(),
                "Max": obs.max(),
                "Mean": obs.mean(),
                "Median": obs.median(),
                "Std": obs.std(ddof=1),
                "Skew": sk,
                "Kurt": kt,
                "N.Avail": n_avail,
                "N.NonZero": nzero,
                "N.Unique": nunq,
                "N.Same": nsame,
                "Frc.Avail": n_avail / n,
                "Frc.NonZero": nzero / n_avail if n_avail else math.nan,
                "Frc.Unique": nunq / n_avail if n_avail else math.nan,
                "Frc.Same": nsame / n_avail if n_avail else math.nan,
                "Flag.Avail": "ok" if n_avail / n >= t_avail else "LOW",
                "Flag.NonZero": "ok" if nzero / n >= t_zero else "LOW",
                "Flag.Unique": "ok" if nunq / n >= t_unq else "LOW",
                "Flag.SkewKurt": "OUT" if abs(sk) > t_skew and kt > t_kurt else "ok",
            }
        )
    table = pd.DataFrame(rows).set_index("iCode")
    corr = parent_correlations(build)
    table["Corr.Parent"] = corr.loc[codes, "r_parent"]
    table["Corr.Index"] = corr.loc[codes, "r_top"]
    if nsignif is not None:
        num = table.select_dtypes("number").columns
        table[num] = table[num].apply(lambda col: col.map(lambda v: float(f"{v:.{nsignif}g}") if pd.notna(v) else v))
    return table


def correlation_pvalues(a: pd.Series, b: pd.Series, method: str = "pearson") -> tuple[float, float]:
    """Correlation of two columns over the units both have, and its two-sided p-value as R's `cor.test`:
    Pearson's t test with n − 2 degrees of freedom; Spearman and Kendall by scipy (asymptotic t for Spearman,
    exact for Kendall without ties at small n — R's exact Spearman test for small n without ties differs)."""
    from scipy import stats

    both = pd.concat([a, b], axis=1).dropna()
    if len(both) < 3:
        return math.nan, math.nan
    x, y = both.iloc[:, 0].to_numpy(dtype=float), both.iloc[:, 1].to_numpy(dtype=float)
    if method == "pearson":
        r, p = stats.pearsonr(x, y)
    elif method == "spearman":
        r, p = stats.spearmanr(x, y)
    elif method == "kendall":
        r, p = stats.kendalltau(x, y)
    else:
        raise IndexMethodError(f"unknown correlation method {method!r}", hint="use pearson, spearman or kendall")
    return float(r), float(p)


def correlation_table(build: IndexBuild, method: str = "pearson", stage: str = "Aggregated") -> pd.DataFrame:
    """Each code with its parent and with the index: correlation and p-value (COINr `get_corr` with `pval`)."""
    data = _stage(build, stage)
    base = parent_correlations(build, method if method != "kendall" else "pearson", stage)
    rows = []
    for code, r in base.iterrows():
        has_parent = isinstance(r["Parent"], str)
        rp, pp = correlation_pvalues(data[code], data[r["Parent"]], method) if has_parent else (math.nan,) * 2
        rt, pt = correlation_pvalues(data[code], data[r["Top"]], method) if r["Top"] != code else (math.nan,) * 2
        rows.append({"iCode": code, "Level": r["Level"], "Parent": r["Parent"], "r_parent": rp, "p_parent": pp})
        rows[-1].update({"Top": r["Top"], "r_top": rt, "p_top": pt})
    return pd.DataFrame(rows).set_index("iCode")


def copeland_dominance(build: IndexBuild) -> pd.DataFrame:
    """COINr `outrankMatrix`'s nDominant and fracDominant for every aggregate: pairs of units of which one
    outranks the other on every child (normalised/aggregated data, the build's relative weights)."""
    from kotacerdas.index.aggregate import dominance
    from kotacerdas.index.weights import renormalise

    fw = build.framework
    codes = fw.indicators + fw.aggregates
    rel = renormalise(build.weights.reindex(codes), fw.imeta.loc[codes, "Parent"])
    data = build.data["Aggregated"]
    rows = []
    for code in fw.aggregates:
        kids = fw.children(code)
        nd, frac = dominance(data[kids].to_numpy(dtype=float), rel[kids].to_numpy(dtype=float))
        rows.append({"iCode": code, "nDominant": nd, "fracDominant": frac})
    return pd.DataFrame(rows).set_index("iCode")
