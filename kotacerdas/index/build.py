"""Build a composite index step by step, keeping every intermediate data set and a log of the settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kotacerdas.index.aggregate import aggregate
from kotacerdas.index.denominate import denominate, metadata_spec
from kotacerdas.index.errors import IndexMethodError
from kotacerdas.index.impute import impute, impute_panel, impute_regression, indicator_groups_at
from kotacerdas.index.meta import TIME, UNIT, Framework, read_framework
from kotacerdas.index.method import STAGE_OF, IndexMethod, as_method
from kotacerdas.index.normalise import normalise
from kotacerdas.index.pca import tree_pca_weights
from kotacerdas.index.provenance import data_fingerprint, method_fingerprint
from kotacerdas.index.results import group_ranks, rank_scores
from kotacerdas.index.screen import screen_units
from kotacerdas.index.treat import TreatSpec, treat
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
    provenance: dict[str, str] = field(default_factory=dict)  # hashes of the method and of the input data

    def rebuild(self, **changes: Any) -> IndexBuild:
        """Build again on the same framework with some step settings changed (sensitivity analysis)."""
        return run_build(self.framework, self.method.vary(**changes), _data_hash=self.provenance.get("data_sha256"))


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


@dataclass
class _Context:
    """What the steps of one build share: the framework, the method, the units kept so far, side outputs."""

    fw: Framework
    m: IndexMethod
    units: pd.DataFrame
    spec: dict[str, str]
    screen_summary: pd.DataFrame | None = None
    treat_flags: pd.DataFrame | None = None
    treat_summary: pd.DataFrame | None = None


def _denominate_step(ctx: _Context, frame: pd.DataFrame) -> pd.DataFrame:
    if ctx.m.denominate is None:
        return frame
    den = ctx.fw.cross_section(ctx.m.time)[ctx.fw.denominators].reindex(frame.index)
    return denominate(frame, den, ctx.spec)


def _screen_step(ctx: _Context, frame: pd.DataFrame) -> pd.DataFrame:
    s = ctx.m.screen
    if s is None:
        return frame
    res = screen_units(frame, s.dat_thresh, s.nonzero_thresh, s.force_include, s.force_exclude, s.nonzero_basis)
    ctx.screen_summary = res.summary
    ctx.units = ctx.units.loc[res.data.index]
    return res.data


def _impute_step(ctx: _Context, frame: pd.DataFrame) -> pd.DataFrame:
    step, fw = ctx.m.impute, ctx.fw
    if step is None:
        return frame
    if step.method == "regression":
        return impute_regression(frame, step.max_iter, step.seed)
    if step.method in ("mean", "median"):
        groups = ind_groups = None
        if step.group is not None:
            if step.group not in ctx.units:
                raise IndexMethodError(
                    f"impute.group '{step.group}' is not a group column of iData", hint=f"use one of {fw.groups}"
                )
            groups = ctx.units.loc[frame.index, step.group]
        if step.by == "row":
            top = max(fw.levels)
            lv = step.group_level if step.group_level is not None else min(2, top)
            if not 2 <= lv <= top:
                raise IndexMethodError(f"impute.group_level={lv}", hint=f"use a level from 2 to {top}")
            level = fw.imeta["Level"].dropna().astype(int)
            ind_groups = indicator_groups_at(fw.imeta["Parent"], level, list(frame.columns), lv)
        return impute(
            frame,
            step.method,
            groups,
            by=step.by,
            indicator_groups=ind_groups,
            normalise_first=step.normalise_first,
            direction=fw.direction,
        )
    if not fw.times:
        raise IndexMethodError(
            f"panel imputation '{step.method}' needs a Time column in iData",
            hint="supply panel data or use mean/median imputation",
        )
    # panel methods borrow values from other years, denominated the same way
    panel = fw.idata[fw.idata[UNIT].isin(frame.index)]
    values = panel[fw.indicators]
    if ctx.m.denominate is not None:
        values = denominate(values, panel[fw.denominators], ctx.spec)
    filled = impute_panel(pd.concat([panel[[UNIT, TIME]], values], axis=1), step.method, max_time=step.max_time)
    pick = fw.times[-1] if ctx.m.time is None else ctx.m.time
    filled = filled[filled[TIME] == pick].set_index(UNIT)[fw.indicators]
    return frame.fillna(filled.loc[frame.index, list(frame.columns)])


def treat_specs(m: IndexMethod) -> dict[str, Any]:
    """The arguments of `treat` for the method's treat step (shared with panel builds)."""
    t = m.treat
    if t is None:
        raise ValueError("the method has no treat step")
    base = TreatSpec(
        winmax=t.winmax,
        skew_thresh=t.skew_thresh,
        kurt_thresh=t.kurt_thresh,
        check_skew_thresh=2.0 if t.check_skew_thresh is None else t.check_skew_thresh,
        check_kurt_thresh=3.5 if t.check_kurt_thresh is None else t.check_kurt_thresh,
        fallback=t.fallback,
        boxcox_lambda=t.boxcox_lambda,
        count=t.count,
        winchange=t.winchange,
        combine=t.combine,
    )
    indiv = {}
    for code, ind in t.indiv.items():
        changes = {k: v for k, v in ind.model_dump().items() if v is not None and k not in ("no_limit", "skip")}
        if ind.no_limit:
            changes["winmax"] = None
        indiv[code] = TreatSpec(**{**base.__dict__, **changes, "skip": ind.skip})
    return {
        "winmax": t.winmax,
        "skew_thresh": t.skew_thresh,
        "kurt_thresh": t.kurt_thresh,
        "fallback": t.fallback,
        "winchange": t.winchange,
        "exclude": t.exclude,
        "check_skew_thresh": t.check_skew_thresh,
        "check_kurt_thresh": t.check_kurt_thresh,
        "winmax_share": t.winmax_share,
        "count": t.count,
        "boxcox_lambda": t.boxcox_lambda,
        "combine": t.combine,
        "indiv": indiv,
    }


def _treat_step(ctx: _Context, frame: pd.DataFrame) -> pd.DataFrame:
    if ctx.m.treat is None:
        return frame
    res = treat(frame, **treat_specs(ctx.m))
    ctx.treat_flags, ctx.treat_summary = res.flags, res.summary
    return res.data


def normalise_frame(fw: Framework, m: IndexMethod, frame: pd.DataFrame) -> pd.DataFrame:
    n = m.normalise
    params = n.model_dump(exclude={"method", "goalposts", "on_degenerate", "indiv"})
    indiv = {k: v.model_dump() for k, v in n.indiv.items()}
    unknown = set(indiv) - set(frame.columns)
    if unknown:
        raise IndexMethodError(f"normalise.indiv names {sorted(unknown)}, not indicators", hint="use iCodes")
    return normalise(
        frame,
        fw.direction,
        n.method,
        targets=fw.target.to_dict(),
        goalposts=n.goalposts,
        on_degenerate=n.on_degenerate,
        indiv=indiv,
        **params,
    )


def _normalise_step(ctx: _Context, frame: pd.DataFrame) -> pd.DataFrame:
    return normalise_frame(ctx.fw, ctx.m, frame)


STEPS: dict[str, Callable[[_Context, pd.DataFrame], pd.DataFrame]] = {
    "denominate": _denominate_step,
    "screen": _screen_step,
    "impute": _impute_step,
    "treat": _treat_step,
    "normalise": _normalise_step,
}


def aggregate_levels(fw: Framework, m: IndexMethod, data: pd.DataFrame, relative: pd.Series) -> pd.DataFrame:
    """Aggregate up the tree, each level with its own method (`aggregate.levels`), lowest level first."""
    level = fw.imeta["Level"]
    out = data
    by_level: dict[int, dict[str, list[str]]] = {}
    for code in fw.aggregates:
        by_level.setdefault(int(level[code]), {})[code] = fw.children(code)
    for lv in sorted(by_level):
        method, p, dat_thresh = m.aggregate.at(lv)
        out = aggregate(out, by_level[lv], relative, method, p, dat_thresh)
    return out


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
    level = fw.imeta["Level"]

    def agg(d, ch, w):
        (code,) = ch
        method, p, dat_thresh = m.aggregate.at(int(level[code]))
        return aggregate(d, ch, w, method, p, dat_thresh)

    overrides = {k: float(checked[k]) for k in m.weights.overrides}
    return tree_pca_weights(
        normalised,
        children,
        fw.imeta["Level"].dropna().astype(int),
        base,
        agg,
        levels,
        overrides,
        form=m.weights.pca_form,
    )


def _opt_step(fw: Framework, m: IndexMethod, normalised: pd.DataFrame, base: pd.Series) -> tuple[pd.Series, dict]:
    from kotacerdas.index.opt_weights import optimise_weights

    w = m.weights
    lv = 1 if w.opt_level is None else w.opt_level
    below_top = sorted(fw.levels)[:-1]
    if lv not in below_top:
        raise IndexMethodError(f"weights.opt_level={lv}", hint=f"use a level among {below_top} (1 = indicators)")
    codes = fw.levels[lv]
    top = fw.levels[max(fw.levels)][0]
    parent = fw.imeta.loc[fw.indicators + fw.aggregates, "Parent"]
    target = np.ones(len(codes)) if w.opt_target == "equal" else np.asarray(w.opt_target, dtype=float)

    def correlations(wl: np.ndarray) -> np.ndarray:
        trial = base.copy()
        trial[codes] = wl
        agg = aggregate_levels(fw, m, normalised, renormalise(trial, parent))
        return np.array([agg[c].corr(agg[top], method=w.opt_cortype) for c in codes])

    start = target / target.sum() if w.opt_type == "balance" else base[codes].to_numpy(dtype=float)
    res = optimise_weights(correlations, codes, start, target, w.opt_type, w.opt_toler, w.opt_maxiter)
    out = base.copy()
    out[codes] = res.weights[codes].to_numpy()
    detail = {
        "level": lv,
        "objective": res.objective,
        "iterations": res.iterations,
        "converged": res.converged,
        "table": res.table.reset_index().to_dict(orient="records"),
    }
    return out, detail


def run_build(
    framework: Framework,
    method: IndexMethod | dict[str, Any],
    *,
    _data_hash: str | None = None,
    _raw: pd.DataFrame | None = None,
    _units: pd.DataFrame | None = None,
) -> IndexBuild:
    """Run all steps of `method` on a validated framework, the pre-aggregation steps in `method.order`."""
    fw, m = framework, as_method(method)
    cs = fw.cross_section(m.time)
    units = fw.unit_table(m.time) if _units is None else _units
    log: list[dict[str, Any]] = [{"step": "method", "version": m.version, "time": m.time, "order": m.order}]
    raw = cs[fw.indicators].astype(float) if _raw is None else _raw
    data: dict[str, pd.DataFrame] = {"Raw": raw}
    spec = (
        metadata_spec(fw.denominator)
        if m.denominate is None or m.denominate.by == "metadata"
        else dict(m.denominate.by)
    )
    ctx = _Context(fw=fw, m=m, units=units, spec=spec)
    frame, previous = data["Raw"], "Raw"
    for step in m.order:
        frame = STEPS[step](ctx, frame)
        data[STAGE_OF[step]] = frame
        _record(log, step, getattr(m, step), previous, STAGE_OF[step], frame)
        previous = STAGE_OF[step]
    return finish_build(fw, m, ctx, data, log, _data_hash)


def new_context(fw: Framework, m: IndexMethod) -> _Context:
    """The shared state of one build (one time point of a panel)."""
    spec = (
        metadata_spec(fw.denominator)
        if m.denominate is None or m.denominate.by == "metadata"
        else dict(m.denominate.by)
    )
    return _Context(fw=fw, m=m, units=fw.unit_table(m.time), spec=spec)


def finish_build(
    fw: Framework, m: IndexMethod, ctx: _Context, data: dict, log: list, _data_hash: str | None = None
) -> IndexBuild:
    """Weights, aggregation and results on the pre-aggregation stages in `data`."""
    data = {s: data[s] for s in STAGES if s in data}  # the usual order of stages, whatever the step order
    units = ctx.units
    normalised = data["Normalised"].loc[units.index]

    codes = fw.indicators + fw.aggregates
    children = {code: fw.children(code) for code in fw.aggregates}
    base = equal_weights(codes) if m.weights.source == "equal" else fw.weight
    weights = with_overrides(base, m.weights.overrides)
    entry: dict[str, Any] = {"step": "weights", "settings": m.weights.model_dump()}
    if m.weights.source == "pca":
        weights, entry["pca"] = _pca_step(fw, m, normalised, children, base, weights)
    elif m.weights.source == "optimised":
        weights, entry["optimised"] = _opt_step(fw, m, normalised, weights)
    parent = fw.imeta.loc[codes, "Parent"]
    relative = renormalise(weights, parent)
    entry["weights"] = weights.to_dict()
    log.append(entry)

    data["Aggregated"] = aggregate_levels(fw, m, normalised, relative)
    _record(log, "aggregate", m.aggregate, "Normalised", "Aggregated", data["Aggregated"])

    r = m.results
    scores = data["Aggregated"][fw.aggregates]
    ranks = rank_scores(scores, r.rank_digits)
    granks = {}
    for g in r.group_ranks:
        if g not in units:
            raise IndexMethodError(
                f"results.group_ranks names '{g}', not a group column", hint=f"use one of {fw.groups}"
            )
        granks[g] = group_ranks(scores, units[g], r.rank_digits)
    log.append({"step": "results", "settings": r.model_dump()})

    provenance = {
        "method_version": m.version,
        "method_sha256": method_fingerprint(m),
        "data_sha256": _data_hash or data_fingerprint(fw),
    }
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
        screen_summary=ctx.screen_summary,
        treat_flags=ctx.treat_flags,
        treat_summary=ctx.treat_summary,
        log=log,
        provenance=provenance,
    )
