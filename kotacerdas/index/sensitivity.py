"""Uncertainty and sensitivity analysis of a build: Monte Carlo over step settings and noisy weights, each
unit's rank distribution, and variance-based Sobol indices (Saltelli sampling; first-order index by Saltelli
(2010) as COINr's `SA_estimate`, or Jansen's on request; total index by Jansen, as COINr; numpy only).

The uncertain inputs ("factors") are of two kinds:
- `Choice`: one of several alternative step settings, each a change for `IndexMethod.vary`, e.g.
  `{"normalise": {"method": "zscore", "mean": 10, "sd": 2}}` or `{"impute": None}`; picked uniformly.
- `WeightNoise`: every weight of the chosen codes multiplied by an independent uniform factor in
  [1 − noise, 1 + noise]; siblings are renormalised by the aggregation. The weights perturbed are those the
  run's own configuration produces (metadata, equal or PCA), so noise composes with the other factors.

A factor may span several uniform inputs (`WeightNoise` one per weight); Sobol indices are computed per
factor (grouped indices). Every run equals a full `IndexBuild.rebuild` with the run's settings and its noisy
weights given as overrides for every code (`fast=False` does exactly that, and the tests check that both
paths agree); the fast path builds each distinct configuration of the steps before aggregation once and
re-aggregates all the runs that share it at once with `aggregate_batch`.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kotacerdas.index.aggregate import aggregate_batch
from kotacerdas.index.errors import IndexMethodError

if TYPE_CHECKING:
    from kotacerdas.index.build import IndexBuild

DOWNSTREAM = ("aggregate", "results")  # steps after the normalised data: re-aggregation handles them
# runs re-aggregated per batch = BATCH_ELEMENTS / (units × largest group [× units for Copeland]): bounds memory
BATCH_ELEMENTS = 1_000_000


class _Factor(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Choice(_Factor):
    """One of several alternative settings; each option is a dict of `IndexMethod.vary` changes."""

    name: str
    options: list[dict[str, Any]] = Field(min_length=1)


class WeightNoise(_Factor):
    """Uniform multiplicative noise on weights: w · U(1 − noise, 1 + noise), independently per code."""

    name: str = "weights"
    noise: float = Field(0.25, ge=0, lt=1)
    levels: list[int] | None = None  # levels of the codes whose weights are perturbed (1 = indicators)
    codes: list[str] | None = None  # or name them; None with levels None: every weighted code


Factor = Choice | WeightNoise


class UncertaintySpec(_Factor):
    """The `uncertainty:` section of a method file: the factors to vary."""

    factors: list[Choice | WeightNoise] = Field(min_length=1)


def as_factors(spec: UncertaintySpec | Mapping[str, Any] | Sequence[Factor | Mapping[str, Any]]) -> list[Factor]:
    """Validate factors given as a spec, a dict with `factors`, or a list of factors / dicts."""
    if isinstance(spec, UncertaintySpec):
        return list(spec.factors)
    raw = spec if isinstance(spec, Mapping) else {"factors": list(spec)}
    try:
        return list(UncertaintySpec.model_validate(raw).factors)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise IndexMethodError(
            f"uncertainty setting '{where}': {first['msg']}",
            hint="each factor is {name, options: [changes, ...]} or {name, noise, levels|codes}",
        ) from exc


# --- Saltelli design and Jansen estimators ----------------------------------------------------------------


def saltelli_design(n: int, dims: Sequence[int], rng: np.random.Generator) -> tuple[np.ndarray, list[slice]]:
    """Stack the Saltelli (2010) design for factor groups of sizes `dims`: A, B, then A with group i's
    columns taken from B, for each i. Returns the (n·(k+2)) × Σdims matrix of uniforms and each group's
    columns."""
    if n < 2:
        raise IndexMethodError(f"Sobol base sample n={n}", hint="use n ≥ 2 (hundreds for useful indices)")
    cols, start = [], 0
    for d in dims:
        cols.append(slice(start, start + d))
        start += d
    a, b = rng.random((n, start)), rng.random((n, start))
    blocks = [a, b]
    for c in cols:
        ab = a.copy()
        ab[:, c] = b[:, c]
        blocks.append(ab)
    return np.vstack(blocks), cols


ESTIMATORS = ("saltelli", "jansen")


def _blocks(y: np.ndarray, n: int, k: int):
    y = np.asarray(y, dtype=float)
    ya, yb = y[:n], y[n : 2 * n]
    yab = y[2 * n :].reshape((k, n) + y.shape[1:])
    v = np.var(np.concatenate([ya, yb]), axis=0, ddof=1)
    return ya, yb, yab, v


def saltelli_indices(y: np.ndarray, n: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First-order and total Sobol indices and the output variance, as COINr's `SA_estimate`:
    S_i = mean(f(B)·(f(AB_i) − f(A))) / V (Saltelli et al. 2010), ST_i = Σ (f(A) − f(AB_i))² / 2nV (Jansen),
    V = var(c(f(A), f(B))) (sample variance). Rows of `y`: A, B, AB_1..AB_k, each n long; extra axes are
    separate outputs. An output that does not vary gives NaN."""
    ya, yb, yab, v = _blocks(y, n, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        vv = np.where(v > 0, v, np.nan)
        first = np.mean(yb[None] * (yab - ya[None]), axis=1) / vv
        total = np.mean((ya[None] - yab) ** 2, axis=1) / (2 * vv)
    return first, total, v


def jansen_indices(y: np.ndarray, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """First-order and total Sobol indices from outputs `y` of a Saltelli design (rows A, B, AB_1..AB_k, each
    n long; extra axes are separate outputs). Jansen (1999) estimators, as in Saltelli et al. (2010):
    S_i = 1 − E[(f(B) − f(AB_i))²] / 2V,  ST_i = E[(f(A) − f(AB_i))²] / 2V,  V = Var(f) over A and B.
    An output that does not vary gives NaN."""
    ya, yb, yab, v = _blocks(y, n, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.where(v > 0, v, np.nan)
        first = 1 - np.mean((yb[None] - yab) ** 2, axis=1) / (2 * v)
        total = np.mean((ya[None] - yab) ** 2, axis=1) / (2 * v)
    return first, total


def estimate(y: np.ndarray, n: int, k: int, estimator: str = "saltelli") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First-order and total indices and the variance with the chosen first-order `estimator`."""
    if estimator == "saltelli":
        return saltelli_indices(y, n, k)
    if estimator == "jansen":
        first, total = jansen_indices(y, n, k)
        return first, total, _blocks(y, n, k)[3]
    raise IndexMethodError(f"unknown Sobol estimator {estimator!r}", hint=f"use one of {ESTIMATORS}")


def sobol_indices(
    f: Callable[[np.ndarray], np.ndarray],
    dims: Sequence[int] | int,
    n: int,
    seed: int | None = 0,
    names: Sequence[str] | None = None,
    estimator: str = "saltelli",
) -> pd.DataFrame:
    """First-order and total Sobol indices of a vectorised model `f` (rows of uniforms on [0, 1)^d → outputs),
    for factor groups of sizes `dims` (an int: that many single factors). n·(k+2) model evaluations. The
    output variance is in `.attrs["variance"]`, the design matrix in `.attrs["design"]`."""
    dims = [1] * dims if isinstance(dims, int) else list(dims)
    u, _ = saltelli_design(n, dims, np.random.default_rng(seed))
    first, total, v = estimate(np.asarray(f(u)), n, len(dims), estimator)
    index = list(names) if names is not None else [f"x{i + 1}" for i in range(len(dims))]
    out = pd.DataFrame({"Si": first, "STi": total}, index=index)
    out.attrs["variance"] = float(v)
    out.attrs["design"] = u
    return out


# --- the analysis of a build ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SensitivityResult:
    target: str  # the code analysed (the index)
    factors: list[Factor]
    design: pd.DataFrame  # per run: option index of each Choice, mean multiplier of each WeightNoise
    scores: pd.DataFrame  # runs × units: score of `target`
    ranks: pd.DataFrame  # runs × units: rank (1 = best, ties min, NaN where the unit has no score)
    summary: pd.DataFrame  # per unit: nominal and median rank, 5 % and 95 % rank quantiles, score quantiles
    sobol: pd.DataFrame | None = None  # per factor: Si, STi of the mean absolute rank shift (+ bootstrap CI)
    sobol_units: pd.DataFrame | None = None  # per unit × factor: Si, STi of the score and of the rank
    n: int = 0  # base sample (Sobol) or number of runs (uncertainty only)
    seed: int | None = None
    builds: int = 0  # full builds done
    seconds: dict[str, float] = field(default_factory=dict)
    estimator: str = "saltelli"  # first-order Sobol estimator
    variance: float | None = None  # variance of the mean absolute rank shift over the A and B runs (COINr Variance)
    design_matrix: np.ndarray | None = None  # runs × uniform inputs (A, B, AB_1..AB_k stacked)


def _merge(changes: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for ch in changes:
        for step, value in ch.items():
            if isinstance(value, dict) and isinstance(out.get(step), dict):
                out[step] = {**out[step], **value}
            else:
                out[step] = value
    return out


def _key(d: Mapping[str, Any]) -> str:
    return json.dumps(d, sort_keys=True, default=str)


def _noise_codes(build: IndexBuild, f: WeightNoise) -> list[str]:
    fw = build.framework
    tree = fw.indicators + fw.aggregates
    roots = set(fw.imeta.index[fw.imeta["Parent"].isna()])
    if f.codes is not None:
        bad = [c for c in f.codes if c not in tree]
        if bad:
            raise IndexMethodError(
                f"weight-noise factor '{f.name}' names {bad}, not indicators or aggregates",
                hint="use codes from iMeta",
            )
        return list(f.codes)
    if f.levels is not None:
        bad_levels = [lv for lv in f.levels if lv not in fw.levels]
        if bad_levels:
            raise IndexMethodError(
                f"weight-noise factor '{f.name}' names level(s) {bad_levels}",
                hint=f"use levels among {sorted(fw.levels)} (1 = indicators)",
            )
        return [c for lv in f.levels for c in fw.levels[lv] if c not in roots]
    return [c for c in tree if c not in roots]  # a root's weight has nothing to be relative to


def _target(build: IndexBuild, target: str | None) -> str:
    fw = build.framework
    if target is not None:
        if target not in fw.aggregates:
            raise IndexMethodError(f"target '{target}' is not an aggregate", hint=f"use one of {fw.aggregates}")
        return target
    roots = [c for c in fw.aggregates if not isinstance(fw.imeta.at[c, "Parent"], str)]
    if len(roots) != 1:
        raise IndexMethodError(
            f"the framework has {len(roots)} top aggregates {roots}", hint="say which one to analyse (target=...)"
        )
    return roots[0]


def _rank_rows(scores: np.ndarray, round_to: int | None) -> np.ndarray:
    """Descending ranks per row, ties take the minimum, NaN stays NaN (as `rank_scores`)."""
    s = np.round(scores, round_to) if round_to is not None else scores
    out = np.full(s.shape, np.nan)
    for r in range(s.shape[0]):
        ok = ~np.isnan(s[r])
        v = -s[r, ok]
        out[r, ok] = np.searchsorted(np.sort(v), v, side="left") + 1
    return out


class _Runner:
    """Turns rows of uniforms into runs (settings + weights) and evaluates them."""

    def __init__(self, build: IndexBuild, factors: list[Factor], target: str):
        self.build, self.factors, self.target = build, factors, target
        fw = build.framework
        self.codes = fw.indicators + fw.aggregates
        self.units = list(build.units.index)
        self.dims: list[int] = []
        self.noise: list[tuple[WeightNoise, list[int]]] = []
        where = {c: i for i, c in enumerate(self.codes)}
        for f in factors:
            if isinstance(f, Choice):
                for i, option in enumerate(f.options):
                    try:
                        build.method.vary(**option)
                    except IndexMethodError as exc:
                        raise IndexMethodError(f"factor '{f.name}', option {i}: {exc.message}", hint=exc.hint) from exc
                self.dims.append(1)
            else:
                idx = [where[c] for c in _noise_codes(build, f)]
                if not idx:
                    raise IndexMethodError(f"weight-noise factor '{f.name}' selects no weights", hint="check levels")
                self.noise.append((f, idx))
                self.dims.append(len(idx))
        names = [f.name for f in factors]
        if len(set(names)) != len(names):
            raise IndexMethodError(f"factor names {names} repeat", hint="give every factor its own name")
        self.cache: dict[str, IndexBuild] = {}
        self.builds = 0  # full builds done (the nominal build is reused, not counted)

    def decode(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
        """Option index per Choice (runs × choices) and weight multipliers (runs × codes)."""
        runs = u.shape[0]
        picks, mult = [], np.ones((runs, len(self.codes)))
        design: dict[str, np.ndarray] = {}
        col = 0
        for f, d in zip(self.factors, self.dims, strict=True):
            block = u[:, col : col + d]
            col += d
            if isinstance(f, Choice):
                k = len(f.options)
                pick = np.minimum((block[:, 0] * k).astype(int), k - 1)
                picks.append(pick)
                design[f.name] = pick
            else:
                idx = next(i for g, i in self.noise if g is f)
                m = 1 + f.noise * (2 * block - 1)
                mult[:, idx] *= m
                design[f.name] = m.mean(axis=1)
        choice = np.column_stack(picks) if picks else np.zeros((runs, 0), dtype=int)
        return choice, mult, pd.DataFrame(design)

    def changes(self, picks: np.ndarray) -> dict[str, Any]:
        choices = [f for f in self.factors if isinstance(f, Choice)]
        return _merge([f.options[int(p)] for f, p in zip(choices, picks, strict=True)])

    def upstream(self, changes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        method = self.build.method.vary(**changes)
        if method.weights.source == "pca":  # PCA weights above level 1 depend on the aggregation method
            return changes, {}
        up = {k: v for k, v in changes.items() if k not in DOWNSTREAM}
        return up, {k: v for k, v in changes.items() if k in DOWNSTREAM}

    def built(self, changes: dict[str, Any], label: str) -> IndexBuild:
        key = _key(changes)
        if key not in self.cache:
            try:
                self.cache[key] = self.build.rebuild(**changes) if changes else self.build
                self.builds += bool(changes)
            except IndexMethodError as exc:
                raise IndexMethodError(f"{label}: {exc.message}", hint=exc.hint) from exc
        return self.cache[key]

    def label(self, picks: np.ndarray) -> str:
        choices = [f for f in self.factors if isinstance(f, Choice)]
        parts = [f"{f.name}=option {int(p)}" for f, p in zip(choices, picks, strict=True)]
        return "run with " + (", ".join(parts) if parts else "nominal settings")

    def run_fast(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        picks, mult, _ = self.decode(u)
        runs = u.shape[0]
        scores = np.full((runs, len(self.units)), np.nan)
        ranks = np.full((runs, len(self.units)), np.nan)
        groups: dict[str, list[int]] = {}
        setup: dict[str, tuple] = {}
        for r in range(runs):
            ch = self.changes(picks[r])
            up, down = self.upstream(ch)
            key = _key({"up": up, "down": down})
            groups.setdefault(key, []).append(r)
            setup.setdefault(key, (up, down, picks[r]))
        fw = self.build.framework
        children = {code: fw.children(code) for code in fw.aggregates}
        for key, members in groups.items():
            up, down, pick = setup[key]
            label = self.label(pick)
            b = self.built(up, label)
            m = b.method.vary(**down)
            a = m.aggregate
            level = fw.imeta["Level"]

            def method_of(code, a=a, level=level):
                return a.at(int(level[code]))

            norm = b.data["Normalised"]
            x = norm[fw.indicators].to_numpy(dtype=float)
            w0 = b.weights.reindex(self.codes).to_numpy(dtype=float)
            pos = {u: i for i, u in enumerate(self.units)}
            keep = [i for i, u in enumerate(norm.index) if u in pos]
            col = [pos[norm.index[i]] for i in keep]
            rows = np.asarray(members)
            per_run = x.shape[0] * max(len(k) for k in children.values())
            if any(method_of(c)[0] == "copeland" for c in fw.aggregates):
                per_run *= x.shape[0]
            step = max(1, int(BATCH_ELEMENTS // per_run))
            for start in range(0, len(rows), step):
                chunk = rows[start : start + step]
                w = w0[None, :] * mult[chunk]
                try:
                    out = aggregate_batch(
                        x,
                        fw.indicators,
                        children,
                        w,
                        self.codes,
                        a.method,
                        a.p,
                        a.dat_thresh,
                        keep=[self.target],
                        method_of=method_of,
                    )[self.target]
                except IndexMethodError as exc:
                    raise IndexMethodError(f"{label}: {exc.message}", hint=exc.hint) from exc
                s = np.full((len(chunk), len(self.units)), np.nan)
                s[:, col] = out[:, keep]
                scores[chunk] = s
                ranks[chunk] = _rank_rows(s, m.results.rank_digits)
        return scores, ranks

    def base_weights(self, up: dict[str, Any], label: str) -> pd.Series:
        """The weights the run's configuration produces, before noise: metadata or equal weights need no build
        (so a full-rebuild run costs one build, as COINr's); PCA and optimised weights come from a build."""
        w = self.build.method.vary(**up).weights
        if w.source in ("metadata", "equal"):
            from kotacerdas.index.weights import equal_weights, with_overrides

            fw = self.build.framework
            base = equal_weights(self.codes) if w.source == "equal" else fw.weight
            return with_overrides(base, w.overrides).reindex(self.codes)
        return self.built(up, label).weights.reindex(self.codes)

    def run_slow(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Reference path: one full `rebuild` per run."""
        picks, mult, _ = self.decode(u)
        runs = u.shape[0]
        scores = np.full((runs, len(self.units)), np.nan)
        ranks = np.full((runs, len(self.units)), np.nan)
        for r in range(runs):
            ch = self.changes(picks[r])
            label = self.label(picks[r])
            if self.noise:
                up, _ = self.upstream(ch)
                w = self.base_weights(up, label) * mult[r]
                weights = ch.get("weights") or {}
                ch = {**ch, "weights": {**weights, "overrides": w.to_dict()}}
            try:
                b = self.build.rebuild(**ch)
            except IndexMethodError as exc:
                raise IndexMethodError(f"{label}: {exc.message}", hint=exc.hint) from exc
            self.builds += 1
            s = b.scores[self.target].reindex(self.units).to_numpy(dtype=float)
            scores[r] = s
            ranks[r] = b.ranks[self.target].reindex(self.units).to_numpy(dtype=float, na_value=np.nan)
        return scores, ranks


def _summary(build: IndexBuild, target: str, scores: np.ndarray, ranks: np.ndarray) -> pd.DataFrame:
    units = list(build.units.index)
    # np.quantile is vectorised; np.nanquantile loops over columns, so it is kept for data with gaps
    quantile = np.nanquantile if np.isnan(scores).any() else np.quantile
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a unit without a score in any run: NaN
        q = quantile(ranks, [0.05, 0.5, 0.95], axis=0)
        sq = quantile(scores, [0.05, 0.5, 0.95], axis=0)
        mean_rank = np.nanmean(ranks, axis=0)
    out = pd.DataFrame(
        {
            "nominal_score": build.scores[target].reindex(units).to_numpy(dtype=float),
            "nominal_rank": pd.array(build.ranks[target].reindex(units), dtype="Int64"),
            "median_rank": q[1],
            "rank_q05": q[0],
            "rank_q95": q[2],
            "mean_rank": mean_rank,
            "score_q05": sq[0],
            "median_score": sq[1],
            "score_q95": sq[2],
        },
        index=pd.Index(units, name="uCode"),
    )
    if "uName" in build.units:
        out.insert(0, "uName", build.units["uName"])
    return out


def _mean_abs_shift(ranks: np.ndarray, nominal: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.abs(ranks - nominal[None, :]), axis=1)


def _run(runner: _Runner, u: np.ndarray, fast: bool) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, dict]:
    t0 = time.perf_counter()
    _, _, design = runner.decode(u)
    scores, ranks = runner.run_fast(u) if fast else runner.run_slow(u)
    return scores, ranks, design, {"runs": time.perf_counter() - t0}


def _frames(runner: _Runner, scores: np.ndarray, ranks: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    cols = pd.Index(runner.units, name="uCode")
    runs = pd.RangeIndex(scores.shape[0], name="run")
    return pd.DataFrame(scores, index=runs, columns=cols), pd.DataFrame(ranks, index=runs, columns=cols)


def uncertainty_analysis(
    build: IndexBuild,
    factors,
    runs: int = 1000,
    seed: int | None = 0,
    target: str | None = None,
    fast: bool = True,
) -> SensitivityResult:
    """Monte Carlo: `runs` random draws of the factors; each unit's rank and score distribution of `target`
    (default: the top of the tree). No Sobol indices (see `sensitivity_analysis`)."""
    if runs < 1:
        raise IndexMethodError(f"runs={runs}", hint="ask for at least one run")
    rng = np.random.default_rng(seed)
    runner = _Runner(build, as_factors(factors), _target(build, target))
    u = rng.random((runs, sum(runner.dims)))
    scores, ranks, design, secs = _run(runner, u, fast)
    sc, rk = _frames(runner, scores, ranks)
    return SensitivityResult(
        target=runner.target,
        factors=runner.factors,
        design=design,
        scores=sc,
        ranks=rk,
        summary=_summary(build, runner.target, scores, ranks),
        n=runs,
        seed=seed,
        builds=runner.builds,
        seconds=secs,
        design_matrix=u,
    )


def sensitivity_analysis(
    build: IndexBuild,
    factors,
    n: int = 200,
    seed: int | None = 0,
    target: str | None = None,
    fast: bool = True,
    n_boot: int = 200,
    estimator: str = "saltelli",
) -> SensitivityResult:
    """Saltelli design with base sample `n` (n·(k+2) runs for k factors): rank and score distributions as
    `uncertainty_analysis` (over all runs), plus first-order and total Sobol indices per factor of

    - the mean absolute rank shift of the units against their nominal rank (`sobol`, with `n_boot` bootstrap
      resamples giving a 95 % interval: Si_lo/Si_hi, STi_lo/STi_hi), and
    - each unit's score and rank (`sobol_units`).

    The first-order index uses Saltelli's (2010) estimator as COINr (`estimator="jansen"`: Jansen's), the total
    index Jansen's, as COINr. With few runs the estimates are noisy (and Si can come out slightly negative);
    their standard error falls as 1/√n. The variance of the mean absolute rank shift and the design matrix are
    kept (`variance`, `design_matrix`).
    """
    if estimator not in ESTIMATORS:
        raise IndexMethodError(f"unknown Sobol estimator {estimator!r}", hint=f"use one of {ESTIMATORS}")
    fs = as_factors(factors)
    runner = _Runner(build, fs, _target(build, target))
    k = len(fs)
    u, _ = saltelli_design(n, runner.dims, np.random.default_rng(seed))
    scores, ranks, design, secs = _run(runner, u, fast)
    t0 = time.perf_counter()
    nominal = build.ranks[runner.target].reindex(runner.units).to_numpy(dtype=float, na_value=np.nan)
    shift = _mean_abs_shift(ranks, nominal)
    first, total, variance = estimate(shift, n, k, estimator)
    names = [f.name for f in fs]
    sobol = pd.DataFrame({"Si": first, "STi": total}, index=pd.Index(names, name="factor"))
    if n_boot:
        rng = np.random.default_rng(None if seed is None else seed + 1)
        idx = rng.integers(0, n, size=(n_boot, n))
        blocks = shift.reshape(k + 2, n)
        boot = blocks[:, idx]  # (k+2) × n_boot × n
        s_b, t_b, _ = estimate(np.moveaxis(boot, 1, 2).reshape((k + 2) * n, n_boot), n, k, estimator)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a resample with no variance gives NaN
            for name, arr in (("Si", s_b), ("STi", t_b)):
                sobol[f"{name}_lo"] = np.nanquantile(arr, 0.025, axis=1)
                sobol[f"{name}_hi"] = np.nanquantile(arr, 0.975, axis=1)
    s_score, t_score, _ = estimate(scores, n, k, estimator)
    s_rank, t_rank, _ = estimate(ranks, n, k, estimator)
    units = runner.units
    sobol_units = pd.DataFrame(
        {
            "uCode": np.repeat(units, k),
            "factor": names * len(units),
            "Si_score": s_score.T.ravel(),
            "STi_score": t_score.T.ravel(),
            "Si_rank": s_rank.T.ravel(),
            "STi_rank": t_rank.T.ravel(),
        }
    )
    secs["sobol"] = time.perf_counter() - t0
    sc, rk = _frames(runner, scores, ranks)
    return SensitivityResult(
        target=runner.target,
        factors=fs,
        design=design,
        scores=sc,
        ranks=rk,
        summary=_summary(build, runner.target, scores, ranks),
        sobol=sobol,
        sobol_units=sobol_units,
        n=n,
        seed=seed,
        builds=runner.builds,
        seconds=secs,
        estimator=estimator,
        variance=float(variance),
        design_matrix=u,
    )
