"""PCA weights, Copeland, alpha/correlations/strengths on hand-checkable examples; uncertainty and Sobol
sensitivity analysis: rank bounds, zero noise, analytic Sobol indices, seeds, fast path == full rebuilds."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from kotacerdas.index import (
    Choice,
    IndexMethodError,
    WeightNoise,
    aggregate,
    aggregate_batch,
    build_index,
    copeland,
    cronbach_alpha,
    group_alpha,
    jansen_indices,
    level_correlations,
    outranking_matrix,
    parent_correlations,
    pca,
    pca_weights,
    sensitivity_analysis,
    sobol_indices,
    strengths_weaknesses,
    uncertainty_analysis,
)

# COINr's own outranking / Copeland test data (tests/testthat/test-aggregate.R)
COPELAND_X = np.array([[1, 3, 2], [2, 2, 3], [3, 1, 1], [4, 5, 4]], dtype=float)


# Copeland -----------------------------------------------------------------------------------------------


def test_outranking_matrix_by_hand() -> None:
    orm = outranking_matrix(COPELAND_X, np.ones(3))
    assert np.diag(orm).tolist() == [0, 0, 0, 0]
    assert orm[1, 0] == pytest.approx(2 / 3)  # unit 2 beats unit 1 on x1 and x3
    assert orm[2, 0] == pytest.approx(1 / 3)
    assert orm[3, 0] == 1
    off = ~np.eye(4, dtype=bool)
    np.testing.assert_allclose((orm + orm.T)[off], 1)


def test_copeland_scores_by_hand() -> None:
    # unit 1 beats 3, loses to 2 and 4: −1; unit 2 beats 1 and 3: +1; unit 3 loses all: −3; unit 4 wins all: +3
    assert copeland(COPELAND_X, np.ones(3)).tolist() == [-1, 1, -3, 3]
    # weight x2 heavily: unit 1 now beats unit 2 (3 > 2 on x2)
    assert copeland(COPELAND_X, np.array([1, 4, 1])).tolist() == [1, -1, -3, 3]
    # an exact half (1/3 + 1/6 against 1/2) is a tie, not decided by rounding
    assert copeland(np.array([[1.0, 2, 0], [0, 1, 1]]), np.array([1 / 3, 1 / 6, 1 / 2])).tolist() == [0, 0]


def test_copeland_missing_values() -> None:
    x = COPELAND_X.copy()
    x[0, 0] = np.nan  # unit 1 vs unit 2 now decided on x2 (1 wins) and x3 (2 wins): a tie
    assert copeland(x, np.ones(3)).tolist() == [0, 0, -3, 3]
    x[0] = np.nan  # no data: NaN, and a tie for everyone else
    s = copeland(x, np.ones(3))
    assert math.isnan(s[0]) and s[1:].tolist() == [0, -2, 2]


def test_copeland_in_aggregate_and_build() -> None:
    data = pd.DataFrame(COPELAND_X, columns=["a", "b", "c"], index=list("PQRS"))
    out = aggregate(data, {"T": ["a", "b", "c"]}, {"a": 1, "b": 1, "c": 1}, "copeland")
    assert out["T"].tolist() == [-1, 1, -3, 3]
    b = build_index(*_tables(), {"version": "c", "aggregate": {"method": "copeland"}, "treat": None})
    n = len(b.units)
    assert b.scores.abs().max().max() <= n - 1
    assert (b.scores == b.scores.round()).all().all()


# PCA weights ----------------------------------------------------------------------------------------------

# x1, x2 correlate at r = 0.8, x3 is orthogonal to both: the correlation matrix has eigenvalues 1.8, 1, 0.2 and
# the first PC is (1, 1, 0)/√2, so the squared loadings are (0.5, 0.5, 0) and PC1 explains 1.8/3 = 60 %
PCA_X = pd.DataFrame({"x1": [1.0, 2, 3, 4], "x2": [1.0, 3, 2, 4], "x3": [6.0, 4, 4, 6]})


def test_pca_by_hand() -> None:
    res = pca(PCA_X)
    np.testing.assert_allclose(res.eigenvalues, [1.8, 1.0, 0.2], atol=1e-12)
    assert res.explained["PC1"] == pytest.approx(0.6)
    np.testing.assert_allclose(res.loadings["PC1"], [2**-0.5, 2**-0.5, 0], atol=1e-12)
    np.testing.assert_allclose(res.weights, [0.5, 0.5, 0], atol=1e-12)
    # COINr's form (default): the raw loadings; the squared form: the Handbook's
    np.testing.assert_allclose(pca_weights(PCA_X), [2**-0.5, 2**-0.5, 0], atol=1e-12)
    np.testing.assert_allclose(pca_weights(PCA_X, form="squared"), [0.5, 0.5, 0], atol=1e-12)
    # two indicators: PC1 is always (1, ±1)/√2; negatively correlated, the raw loadings keep the minus sign
    neg = pd.DataFrame({"a": [1.0, 2, 4], "b": [3.0, 1, 0]})
    np.testing.assert_allclose(pca_weights(neg), [2**-0.5, -(2**-0.5)], atol=1e-12)
    np.testing.assert_allclose(pca_weights(neg, form="squared"), [0.5, 0.5])
    assert pca_weights(PCA_X[["x1"]]).tolist() == [1.0]


def test_pca_weights_invariant_to_scale_and_sign_free() -> None:
    rng = np.random.default_rng(1)
    x = pd.DataFrame(rng.normal(size=(40, 4)), columns=list("abcd"))
    x["b"] += x["a"]
    w = pca_weights(x, form="squared")
    assert (w >= 0).all() and w.sum() == pytest.approx(1)
    np.testing.assert_allclose(pca_weights(x * [2, 5, 0.1, 3] + 7, form="squared"), w, atol=1e-12)
    raw = pca_weights(x)  # COINr's loadings: unit length, signs included, as scale-free as the squares
    assert (raw**2).sum() == pytest.approx(1) and (raw < 0).any()
    np.testing.assert_allclose(pca_weights(x * [2, 5, 0.1, 3] + 7), raw, atol=1e-12)


def test_pca_errors() -> None:
    with pytest.raises(IndexMethodError, match="'G'.*same value"):
        pca(PCA_X.assign(x3=1.0), group="G")
    with pytest.raises(IndexMethodError, match="2 unit"):
        pca(PCA_X.iloc[:2])


def _pca_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    idata = pd.DataFrame({"uCode": list("ABCD"), **PCA_X, "y1": [4.0, 1, 3, 2], "y2": [1.0, 2, 2, 5]})
    imeta = pd.DataFrame(
        {
            "iCode": ["x1", "x2", "x3", "y1", "y2", "P", "Q", "Index"],
            "Parent": ["P", "P", "P", "Q", "Q", "Index", "Index", None],
            "Direction": 1,
            "Weight": [1, 2, 3, 1, 1, 1, 3, 1],
            "Type": ["Indicator"] * 5 + ["Aggregate"] * 3,
        }
    )
    return idata, imeta


def test_pca_weights_in_build() -> None:
    # COINr's raw loadings of the negatively correlated pair (y1, y2) are (1, −1)/√2: they sum to 0, so no
    # weights can be made from them (COINr divides by that sum); the error names the group
    with pytest.raises(IndexMethodError, match="'Q' sum to"):
        build_index(*_pca_tables(), {"version": "p", "impute": None, "treat": None, "weights": {"source": "pca"}})
    method = {"version": "p", "impute": None, "treat": None, "weights": {"source": "pca", "pca_form": "squared"}}
    b = build_index(*_pca_tables(), method)
    # min-max is linear, so the correlations (and the weights) of the normalised data are those of the raw data
    np.testing.assert_allclose(b.weights[["x1", "x2", "x3"]], [0.5, 0.5, 0], atol=1e-12)
    np.testing.assert_allclose(b.weights[["y1", "y2", "P", "Q"]], 0.5)  # pairs: always equal
    entry = next(e for e in b.log if e["step"] == "weights")
    assert entry["pca"][0]["group"] == "P" and entry["pca"][0]["explained_pc1"] == pytest.approx(0.6)
    n = b.data["Normalised"]
    np.testing.assert_allclose(b.data["Aggregated"]["P"], (n["x1"] + n["x2"]) / 2, atol=1e-12)
    # only level 2 from PCA: level 1 keeps the iMeta weights; an override beats the PCA weight
    b2 = build_index(*_pca_tables(), {**method, "weights": {**method["weights"], "pca_levels": [2]}})
    assert b2.weights[["x1", "x2", "x3"]].tolist() == [1, 2, 3]
    b3 = build_index(*_pca_tables(), {**method, "weights": {**method["weights"], "overrides": {"x3": 1.0}}})
    assert b3.weights["x3"] == 1.0 and b3.weights["x1"] == pytest.approx(0.5)
    with pytest.raises(IndexMethodError, match="pca_levels"):
        build_index(*_pca_tables(), {**method, "weights": {"source": "pca", "pca_levels": [3]}})
    with pytest.raises(IndexMethodError, match="pca_levels"):
        build_index(*_pca_tables(), {**method, "weights": {"source": "metadata", "pca_levels": [1]}})


# alpha, correlations, strengths and weaknesses ------------------------------------------------------------


def test_cronbach_alpha_by_hand() -> None:
    assert cronbach_alpha(pd.DataFrame({"a": [1.0, 2, 3], "b": [1.0, 2, 3]})) == pytest.approx(1)
    # variances 5/3 each, row sums (3, 3, 7, 7) have variance 16/3: alpha = 2 · (1 − (10/3)/(16/3)) = 0.75
    assert cronbach_alpha(pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [2.0, 1, 4, 3]})) == pytest.approx(0.75)
    assert math.isnan(cronbach_alpha(pd.DataFrame({"a": [1.0, 2, 3], "b": [3.0, 2, 1]})))  # constant sum
    assert math.isnan(cronbach_alpha(pd.DataFrame({"a": [1.0, 2, 3]})))


def test_group_alpha_and_correlations() -> None:
    b = build_index(*_pca_tables(), {"version": "a", "impute": None, "treat": None})
    alpha = group_alpha(b)
    agg = b.data["Aggregated"]
    assert alpha.loc["Q", "alpha"] == pytest.approx(cronbach_alpha(agg[["y1", "y2"]]))
    assert alpha.loc["Index", "Level"] == 3 and alpha.loc["P", "children"] == 3
    corr = parent_correlations(b)
    assert corr.loc["x1", "r_parent"] == pytest.approx(agg["x1"].corr(agg["P"]))
    assert corr.loc["P", "Top"] == "Index" and math.isnan(corr.loc["Index", "r_parent"])
    m = level_correlations(b, (1, 2))
    assert m.shape == (5, 2) and m.loc["y2", "Q"] == pytest.approx(agg["y2"].corr(agg["Q"]))
    assert level_correlations(b, (1, 1), method="spearman").loc["x1", "x1"] == pytest.approx(1)
    with pytest.raises(IndexMethodError, match="kendall"):
        level_correlations(b, method="kendall")


def test_strengths_and_weaknesses_by_hand() -> None:
    b = build_index(*_tables(), {"version": "s"})
    sw = strengths_weaknesses(b, n=1)
    # raw data, direction applied: x1 = (1, 2, 3, –), x2 lower is better = (40, 30, 20, 10), x3 raw (2, 6, 8, 20)
    # ranks of A: x1 3rd of 3, x2 4th, x3 4th; of C: x1 1st, x2 2nd, x3 2nd
    a = sw[sw["uCode"] == "A"].set_index("kind")
    assert (a.loc["strength", "iCode"], a.loc["strength", "rank"]) == ("x1", 3)
    assert (a.loc["weakness", "iCode"], a.loc["weakness", "rank"]) == ("x2", 4)  # tie with x3: iMeta order
    c = sw[sw["uCode"] == "C"].set_index("kind")
    assert (c.loc["strength", "iCode"], c.loc["weakness", "iCode"]) == ("x1", "x2")
    d = strengths_weaknesses(b, n=5).query("uCode == 'D'")
    assert len(d) == 4 and "x1" not in set(d["iCode"])  # D's missing x1 is never picked
    with pytest.raises(IndexMethodError):
        strengths_weaknesses(b, n=0)


# Sobol estimators on analytic functions ---------------------------------------------------------------------


def ishigami(u: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    x = -np.pi + 2 * np.pi * u
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_sobol_ishigami() -> None:
    # analytic values (Ishigami & Homma 1990; a = 7, b = 0.1). With n = 20 000 the Jansen estimators' standard
    # error is ≤ 0.011 for every index (measured over 30 seeds), so 0.04 is about 4 standard errors
    res = sobol_indices(ishigami, 3, n=20_000, seed=7)
    np.testing.assert_allclose(res["Si"], [0.3139, 0.4424, 0.0], atol=0.04)
    np.testing.assert_allclose(res["STi"], [0.5576, 0.4424, 0.2437], atol=0.04)


def test_sobol_linear_model_and_groups() -> None:
    # y = Σ a_i x_i, independent uniforms: S_i = ST_i = a_i² / Σ a_j²; a group's index is the sum of its members'
    a = np.array([1.0, 2.0, 3.0, 0.0])
    expected = a**2 / (a**2).sum()
    # Jansen's first-order estimator here: Saltelli's (2010, COINr's) has a variance that grows with the square
    # of the output's mean (3 here), so it needs far more runs for the same tolerance
    res = sobol_indices(lambda u: u @ a, 4, n=20_000, seed=3, estimator="jansen")
    np.testing.assert_allclose(res["Si"], expected, atol=0.02)
    centred = sobol_indices(lambda u: u @ a - a.sum() / 2, 4, n=20_000, seed=3)  # Saltelli, mean-zero output
    np.testing.assert_allclose(centred["Si"], expected, atol=0.02)
    np.testing.assert_allclose(res["STi"], expected, atol=0.02)
    assert res["STi"].iloc[3] == 0  # an inert input: f(A) == f(AB_i) exactly
    grouped = sobol_indices(lambda u: u @ a, [2, 2], n=20_000, seed=3, names=["g1", "g2"], estimator="jansen")
    np.testing.assert_allclose(grouped["Si"], [expected[:2].sum(), expected[2:].sum()], atol=0.02)


def test_jansen_constant_output_is_nan() -> None:
    s, t = jansen_indices(np.ones(4 * 10), 10, 2)
    assert np.isnan(s).all() and np.isnan(t).all()


# uncertainty and sensitivity analysis of builds --------------------------------------------------------------


def _tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    idata = pd.DataFrame(
        {
            "uCode": ["A", "B", "C", "D"],
            "Group_size": ["S", "S", "L", "L"],
            "Den_pop": [1.0, 2.0, 4.0, 5.0],
            "x1": [1.0, 2.0, 3.0, np.nan],
            "x2": [40.0, 30.0, 20.0, 10.0],
            "x3": [2.0, 6.0, 8.0, 20.0],
        }
    )
    imeta = pd.DataFrame(
        {
            "iCode": ["x1", "x2", "x3", "P1", "P2", "Index"],
            "Parent": ["P1", "P1", "P2", "Index", "Index", None],
            "Direction": [1, -1, 1, 1, 1, 1],
            "Weight": [1, 1, 1, 1, 3, 1],
            "Type": ["Indicator"] * 3 + ["Aggregate"] * 3,
            "Denominator": [None, None, "Den_pop", None, None, None],
        }
    )
    return idata, imeta


def synthetic(units: int = 30, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three pillars of four indicators, two sub-indices, an index; skewed data with ~5 % missing."""
    rng = np.random.default_rng(seed)
    codes = [f"i{k}" for k in range(12)]
    x = rng.lognormal(0, 1, size=(units, 12)) + rng.normal(0, 1, size=(units, 1)) ** 2
    x[rng.random(x.shape) < 0.05] = np.nan
    idata = pd.DataFrame(x, columns=codes)
    idata.insert(0, "uCode", [f"U{k:02d}" for k in range(units)])
    idata.insert(1, "Group_half", ["a" if k < units // 2 else "b" for k in range(units)])
    imeta = pd.DataFrame(
        {
            "iCode": codes + ["P1", "P2", "P3", "S1", "S2", "Index"],
            "Parent": [f"P{k // 4 + 1}" for k in range(12)] + ["S1", "S1", "S2", "Index", "Index", None],
            "Direction": [1, -1] * 6 + [1] * 6,
            "Weight": list(rng.integers(1, 4, 12)) + [1, 2, 1, 1, 1, 1],
            "Type": ["Indicator"] * 12 + ["Aggregate"] * 6,
        }
    )
    return idata, imeta


NOMINAL = {"version": "syn", "impute": {"method": "mean"}, "results": {"round_to": 2}}
FACTORS = [
    Choice(
        name="impute",
        options=[{"impute": {"method": "mean"}}, {"impute": {"method": "median", "group": "Group_half"}}],
    ),
    Choice(
        name="normalise",
        options=[{"normalise": {"method": "minmax", "lower": 1, "upper": 100}}, {"normalise": {"method": "rank"}}],
    ),
    WeightNoise(name="weights", noise=0.3),
    Choice(name="aggregate", options=[{"aggregate": {"method": "arith_mean"}}, {"aggregate": {"method": "geom_mean"}}]),
]


@pytest.fixture(scope="module")
def syn_build():
    return build_index(*synthetic(), NOMINAL)


def test_ranks_within_bounds_and_intervals_ordered(syn_build) -> None:
    res = uncertainty_analysis(syn_build, FACTORS, runs=300, seed=1)
    n = len(syn_build.units)
    r = res.ranks.to_numpy()
    assert res.ranks.shape == (300, n) and not np.isnan(r).any()
    assert r.min() >= 1 and r.max() <= n
    s = res.summary
    assert (s["rank_q05"] <= s["median_rank"]).all() and (s["median_rank"] <= s["rank_q95"]).all()
    assert s["rank_q05"].min() >= 1 and s["rank_q95"].max() <= n
    assert (s["rank_q95"] - s["rank_q05"]).max() > 0  # the factors do move ranks
    assert res.builds == 4  # 2 imputations × 2 normalisations; aggregation and weights only re-aggregate


def test_zero_noise_gives_nominal_ranks(syn_build) -> None:
    res = uncertainty_analysis(syn_build, [WeightNoise(noise=0.0)], runs=50, seed=2)
    s = res.summary
    nominal = syn_build.ranks["Index"].astype(float)
    assert (s["median_rank"] == nominal).all()
    assert (s["rank_q05"] == nominal).all() and (s["rank_q95"] == nominal).all()
    np.testing.assert_allclose(s["median_score"], syn_build.scores["Index"], rtol=1e-12)


def test_seed_reproducibility(syn_build) -> None:
    a = sensitivity_analysis(syn_build, FACTORS, n=30, seed=11, n_boot=20)
    b = sensitivity_analysis(syn_build, FACTORS, n=30, seed=11, n_boot=20)
    c = sensitivity_analysis(syn_build, FACTORS, n=30, seed=12, n_boot=20)
    pd.testing.assert_frame_equal(a.ranks, b.ranks)
    pd.testing.assert_frame_equal(a.sobol, b.sobol)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    assert not a.scores.equals(c.scores)
    assert len(a.scores) == 30 * (len(FACTORS) + 2)


@pytest.mark.parametrize(
    "factors, nominal",
    [
        (FACTORS, NOMINAL),
        (  # PCA weights: the aggregation method changes the PCA weights above level 1, so they are rebuilt
            [WeightNoise(noise=0.2, levels=[1]), FACTORS[3]],
            {
                **NOMINAL,
                "weights": {"source": "pca", "pca_form": "squared"},
                "normalise": {"method": "minmax", "lower": 1, "upper": 100},
            },
        ),
        (  # Copeland, a data-availability threshold, treatment choices
            [
                Choice(name="treat", options=[{"treat": {"winmax": 1}}, {"treat": None}]),
                Choice(name="agg", options=[{"aggregate": {"method": "copeland"}}, {"aggregate": {"dat_thresh": 0.9}}]),
                WeightNoise(noise=0.5, codes=["P1", "i3"]),
            ],
            {**NOMINAL, "impute": None},
        ),
    ],
)
def test_fast_path_equals_full_rebuilds(factors, nominal) -> None:
    b = build_index(*synthetic(units=25, seed=5), nominal)
    fast = uncertainty_analysis(b, factors, runs=12, seed=4)
    slow = uncertainty_analysis(b, factors, runs=12, seed=4, fast=False)
    np.testing.assert_allclose(fast.scores, slow.scores, rtol=1e-9, atol=1e-9, equal_nan=True)
    np.testing.assert_array_equal(fast.ranks.to_numpy(), slow.ranks.to_numpy())
    assert slow.builds >= 12 > fast.builds  # one full build per run against one per configuration


def test_sobol_of_a_build(syn_build) -> None:
    res = sensitivity_analysis(syn_build, FACTORS, n=64, seed=5, n_boot=50)
    sob = res.sobol
    assert list(sob.index) == [f.name for f in FACTORS]
    assert (sob["STi"] >= 0).all() and (sob["STi_lo"] <= sob["STi_hi"]).all()
    assert set(res.sobol_units["factor"]) == set(sob.index) and len(res.sobol_units) == 4 * len(syn_build.units)
    # a factor whose options are the same setting changes nothing: its total index is exactly 0
    inert = Choice(name="same", options=[{"treat": {"winmax": 2}}, {"treat": {"winmax": 2}}])
    one = sensitivity_analysis(syn_build, [WeightNoise(noise=0.3), inert], n=40, seed=1, n_boot=0)
    assert one.sobol.loc["same", "STi"] == 0
    # a single factor explains everything: AB_1 == B, so Jansen's S_1 is exactly 1 ...
    solo = sensitivity_analysis(syn_build, [WeightNoise(noise=0.3)], n=40, seed=1, n_boot=0, estimator="jansen")
    assert solo.sobol.loc["weights", "Si"] == pytest.approx(1)
    # ... and Saltelli's (COINr's default) is mean(yB·(yB − yA)) / var(yA ∪ yB) of the runs' rank shifts
    sal = sensitivity_analysis(syn_build, [WeightNoise(noise=0.3)], n=40, seed=1, n_boot=0)
    nominal = syn_build.ranks[sal.target].reindex(sal.ranks.columns).to_numpy(dtype=float)
    y = np.nanmean(np.abs(sal.ranks.to_numpy() - nominal), axis=1)
    ya, yb = y[:40], y[40:80]
    assert sal.variance == pytest.approx(np.var(np.r_[ya, yb], ddof=1))
    assert sal.sobol.loc["weights", "Si"] == pytest.approx(np.mean(yb * (yb - ya)) / np.var(np.r_[ya, yb], ddof=1))
    assert sal.design_matrix.shape == (120, sal.design_matrix.shape[1]) and sal.estimator == "saltelli"


def test_factor_errors(syn_build) -> None:
    with pytest.raises(IndexMethodError, match="factor 'bad', option 1"):
        uncertainty_analysis(syn_build, [Choice(name="bad", options=[{}, {"normalise": {"method": "nope"}}])], runs=2)
    with pytest.raises(IndexMethodError, match="level"):
        uncertainty_analysis(syn_build, [WeightNoise(levels=[7])], runs=2)
    with pytest.raises(IndexMethodError, match="noise"):
        uncertainty_analysis(syn_build, [{"name": "w", "noise": 1.5}], runs=2)
    with pytest.raises(IndexMethodError, match="repeat"):
        uncertainty_analysis(syn_build, [WeightNoise(), WeightNoise()], runs=2)
    with pytest.raises(IndexMethodError, match="aggregate=option 0: geom_mean"):
        uncertainty_analysis(syn_build, [Choice(name="aggregate", options=[{"aggregate": {"method": "geom_mean"}}])], 2)


def test_aggregate_batch_matches_aggregate(syn_build) -> None:
    fw = syn_build.framework
    norm = syn_build.data["Normalised"]
    codes = fw.indicators + fw.aggregates
    children = {c: fw.children(c) for c in fw.aggregates}
    rng = np.random.default_rng(0)
    w = rng.uniform(0.5, 2, size=(3, len(codes)))
    for method in ("arith_mean", "copeland"):
        out = aggregate_batch(norm.to_numpy(), fw.indicators, children, w, codes, method)
        for r in range(3):
            one = aggregate(norm, children, dict(zip(codes, w[r], strict=True)), method)
            np.testing.assert_allclose(out["Index"][r], one["Index"], rtol=1e-12)
