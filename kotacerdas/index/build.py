"""Build a composite index step by step, keeping every intermediate data set and a log of the settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from kotacerdas.index.aggregate import aggregate
from kotacerdas.index.denominate import denominate, metadata_spec
from kotacerdas.index.errors import IndexMethodError
from kotacerdas.index.impute import impute, impute_panel
from kotacerdas.index.meta import TIME, UNIT, Framework, read_framework
from kotacerdas.index.method import IndexMethod, as_method
from kotacerdas.index.normalise import normalise
from kotacerdas.index.pca import tree_pca_weights
from kotacerdas.index.results import group_ranks, rank_scores
from kotacerdas.index.screen import screen_units
from kotacerdas.index.treat import treat
from kotacerdas.index.weights import effective_weights, equal_weights, renormalise, with_overrides

STAGES = ("Raw", "Denominated", "Screened", "Imputed", "Treated", "Normalised", "Aggregated")


@dataclass(frozen=True, eq=False)
class IndexBuild:
    """Everything one build produced: stage data sets (units × codes), step outputs and the settings log."""

    framework: Framework
    method: IndexMethod
    data: dict[str, pd.DataFrame]  # keyed by STAGES; a skipped step's stage is its input
    units: pd.DataFrame  # uName, Time, group columns of the units kept
    weights: pd.Series  # weights used (before renormalisation)
    effective_weights: pd.Series  # share of the top score carried by each code
    scores: pd.DataFrame  # aggregate scores (all levels)
    ranks: pd.DataFrame
    group_ranks: dict[str, pd.DataFrame] = field(default_factory=dict)
    screen_summary: pd.DataFrame | None = None
    treat_flags: pd.DataFrame | None = None
    treat_summary: pd.DataFrame | None = None
    log: list[dict[str, Any]] = field(default_factory=list)

    def rebuild(self, **changes: Any) -> IndexBuild:
        """Build again on the same framework with some step settings changed (sensitivity analysis)."""
        return run_build(self.framework, self.method.vary(**changes))


def build_index(idata: pd.DataFrame, imeta: pd.DataFrame, method: IndexMethod | dict[str, Any]) -> IndexBuild:
    """Validate `iData`/`iMeta`, then run every step of `method`; see `IndexBuild`."""
    return run_build(read_framework(idata, imeta), method)


def _record(log: list, step: str, settings, source: str, target: str, frame: pd.DataFrame) -> None:
    log.append(
        {
            "step": step,
            "settings": settings.model_dump() if settings is not None else None,
            "skipped": settings is None,
            "input": source,
            "output": target,
            "units": int(frame.shape[0]),
            "columns": int(frame.shape[1]),
        }
    )


def _impute_step(
    fw: Framework, m: IndexMethod, screened: pd.DataFrame, units: pd.DataFrame, spec: dict[str, str]
) -> pd.DataFrame:
    step = m.impute
    if step.method in ("mean", "median"):
        groups = None
        if step.group is not None:
            if step.group not in units:
                raise IndexMethodError(
                    f"impute.group '{step.group}' is not a group column of iData",
                    hint=f"use one of {fw.groups}",
                )
            groups = units.loc[screened.index, step.group]
        return impute(screened, step.method, groups)
    if not fw.times:
        raise IndexMethodError(
            f"panel imputation '{step.method}' needs a Time column in iData",
            hint="supply panel data or use mean/median imputation",
        )
    # panel methods borrow values from other years, denominated the same way
    panel = fw.idata[fw.idata[UNIT].isin(screened.index)]
    values = panel[fw.indicators]
    if m.denominate is not None:
        values = denominate(values, panel[fw.denominators], spec)
    filled = impute_panel(pd.concat([panel[[UNIT, TIME]], values], axis=1), step.method)
    pick = fw.times[-1] if m.time is None else m.time
    filled = filled[filled[TIME] == pick].set_index(UNIT)[fw.indicators]
    return filled.loc[screened.index]


def _pca_step(fw: Framework, m: IndexMethod, normalised, children, base, checked):
    levels = m.weights.pca_levels
    below_top = sorted(fw.levels)[:-1]
    if levels is not None:
        bad = [lv for lv in levels if lv not in below_top]
        if bad:
            raise IndexMethodError(
                f"weights.pca_levels names level(s) {bad}, which have no parent to weight them in",
                hint=f"use levels among {below_top} (1 = indicators)",
            )
    a = m.aggregate

    def agg(d, ch, w):
        return aggregate(d, ch, w, a.method, a.p, a.dat_thresh)

    overrides = {k: float(checked[k]) for k in m.weights.overrides}
    return tree_pca_weights(normalised, children, fw.imeta["Level"].dropna().astype(int), base, agg, levels, overrides)


def run_build(framework: Framework, method: IndexMethod | dict[str, Any]) -> IndexBuild:
    """Run all steps of `method` on a validated framework."""
    fw, m = framework, as_method(method)
    cs = fw.cross_section(m.time)
    units = fw.unit_table(m.time)
    log: list[dict[str, Any]] = [{"step": "method", "version": m.version, "time": m.time}]
    data: dict[str, pd.DataFrame] = {"Raw": cs[fw.indicators].astype(float)}

    spec = (
        metadata_spec(fw.denominator)
        if m.denominate is None or m.denominate.by == "metadata"
        else dict(m.denominate.by)
    )
    data["Denominated"] = (
        denominate(data["Raw"], cs[fw.denominators], spec) if m.denominate is not None else data["Raw"]
    )
    _record(log, "denominate", m.denominate, "Raw", "Denominated", data["Denominated"])

    screen_summary = None
    if m.screen is not None:
        s = m.screen
        res = screen_units(data["Denominated"], s.dat_thresh, s.nonzero_thresh, s.force_include, s.force_exclude)
        data["Screened"], screen_summary = res.data, res.summary
        units = units.loc[res.data.index]
    else:
        data["Screened"] = data["Denominated"]
    _record(log, "screen", m.screen, "Denominated", "Screened", data["Screened"])

    data["Imputed"] = _impute_step(fw, m, data["Screened"], units, spec) if m.impute is not None else data["Screened"]
    _record(log, "impute", m.impute, "Screened", "Imputed", data["Imputed"])

    flags = summary = None
    if m.treat is not None:
        t = m.treat
        res = treat(data["Imputed"], t.winmax, t.skew_thresh, t.kurt_thresh, t.fallback, t.winchange, t.exclude)
        data["Treated"], flags, summary = res.data, res.flags, res.summary
    else:
        data["Treated"] = data["Imputed"]
    _record(log, "treat", m.treat, "Imputed", "Treated", data["Treated"])

    n = m.normalise
    params = n.model_dump(exclude={"method", "goalposts"})
    data["Normalised"] = normalise(
        data["Treated"], fw.direction, n.method, targets=fw.target.to_dict(), goalposts=n.goalposts, **params
    )
    _record(log, "normalise", n, "Treated", "Normalised", data["Normalised"])

    codes = fw.indicators + fw.aggregates
    a = m.aggregate
    children = {code: fw.children(code) for code in fw.aggregates}
    base = equal_weights(codes) if m.weights.source == "equal" else fw.weight
    weights = with_overrides(base, m.weights.overrides)
    pca_log = None
    if m.weights.source == "pca":
        weights, pca_log = _pca_step(fw, m, data["Normalised"], children, base, weights)
    parent = fw.imeta.loc[codes, "Parent"]
    relative = renormalise(weights, parent)
    entry = {"step": "weights", "settings": m.weights.model_dump(), "weights": weights.to_dict()}
    if pca_log is not None:
        entry["pca"] = pca_log
    log.append(entry)

    data["Aggregated"] = aggregate(data["Normalised"], children, relative, a.method, a.p, a.dat_thresh)
    _record(log, "aggregate", a, "Normalised", "Aggregated", data["Aggregated"])

    r = m.results
    scores = data["Aggregated"][fw.aggregates]
    ranks = rank_scores(scores, r.round_to)
    granks = {}
    for g in r.group_ranks:
        if g not in units:
            raise IndexMethodError(
                f"results.group_ranks names '{g}', not a group column", hint=f"use one of {fw.groups}"
            )
        granks[g] = group_ranks(scores, units[g], r.round_to)
    log.append({"step": "results", "settings": r.model_dump()})

    return IndexBuild(
        framework=fw,
        method=m,
        data=data,
        units=units,
        weights=weights,
        effective_weights=effective_weights(weights, parent),
        scores=scores,
        ranks=ranks,
        group_ranks=granks,
        screen_summary=screen_summary,
        treat_flags=flags,
        treat_summary=summary,
        log=log,
    )
