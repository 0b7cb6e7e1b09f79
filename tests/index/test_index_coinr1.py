"""COINr 1.x semantics, item by item: small cases computed by hand here, against COINr's documented formulas
(R/screen_units.R, treat.R, normalise.R, impute.R, aggregate.R, sensitivity.R, stats.R of COINr 1.1.14)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kotacerdas.index import (
    IndexMethodError,
    build_index,
    build_panel,
    correlation_pvalues,
    dominance,
    explain_unit,
    get_stats,
    impute,
    impute_regression,
    log_transform,
    normalise,
    rank_scores,
    saltelli_indices,
    screen_units,
    treat,
)
from kotacerdas.index.io import read_coinr_export, read_inputs


def _units(n: int) -> pd.Index:
    return pd.Index([f"u{i}" for i in range(n)], name="uCode")


# screen: COINr's Non_Zero is the share of non-zero values among the available ones ----------------------------


def test_screen_nonzero_share_of_available_values() -> None:
    data = pd.DataFrame({"a": [0.0, 1, 2], "b": [5.0, 1, 0], "c": [np.nan, 1, 0], "d": [np.nan, 1, 0]}, index=_units(3))
    # u0: available 2 of 4 (0.5), non-zero 1 of the 2 available (0.5); with all indicators: 1 of 4 (0.25)
    res = screen_units(data, nonzero_thresh=0.4)
    assert res.summary.loc["u0", "nonzero"] == 0.5 and "u0" in res.data.index
    old = screen_units(data, nonzero_thresh=0.4, nonzero_basis="all")
    assert old.summary.loc["u0", "nonzero"] == 0.25 and "u0" not in old.data.index
    # u2: 0, 0, 0 among its 3 non-zero candidates... a = 2, b = c = d = 0: 1 of 4 available
    assert res.summary.loc["u2", "nonzero"] == 0.25 and "u2" not in res.data.index


# treat: thresholds inside winsorisation (f1_para) vs the check (f_pass_para); fallbacks --------------------------

OUTLIER = pd.DataFrame({"x": list(range(1, 21)) + [1000]}, index=_units(21), dtype=float)


def test_treat_loop_thresholds_separate_from_the_check() -> None:
    # the winsorisation loop's own check passes at once (|skew| < 100), so nothing is winsorised; the "needs
    # treatment?" check keeps COINr's 2 / 3.5 and still fails, so the log_CT fallback applies to the raw column
    res = treat(OUTLIER, skew_thresh=100, kurt_thresh=100)
    x = OUTLIER["x"].to_numpy()
    np.testing.assert_allclose(res.data["x"], np.log(x - 1 + 0.01 * (1000 - 1)), rtol=1e-14)
    assert (res.flags["x"] == "CTLog").all() and res.summary.loc["x", "Treatment"] == "CTLog (exceeded winmax)"
    # both pairs raised: the check passes and the column is left alone
    same = treat(OUTLIER, skew_thresh=100, kurt_thresh=100, check_skew_thresh=100, check_kurt_thresh=100)
    assert same.summary.loc["x", "Treatment"] == "None" and (same.data["x"] == x).all()
    # defaults: one point winsorised (1000 → 20) fixes it
    assert treat(OUTLIER).data["x"].max() == 20


def test_fallback_transforms_by_hand() -> None:
    x = np.array([1.0, 2, 4, 8, np.nan])
    y, flag = log_transform(x, "ctlog_orig")  # log(x − min + 1)
    np.testing.assert_allclose(y[:4], np.log([1, 2, 4, 8])) and flag == "CTLogOrig"
    neg = np.array([-8.0, -4, -2, -1])  # skew < 0: −log(max + 0.01·(max − min) − x)
    y, flag = log_transform(neg, "ctlog_plus")
    np.testing.assert_allclose(y, -np.log(-1 + 0.07 - neg)) and flag == "CTLogNeg"
    y, flag = log_transform(np.array([1.0, 2, 4, 8]), "ctlog_plus")  # skew > 0: log_CT
    np.testing.assert_allclose(y, np.log(np.array([1.0, 2, 4, 8]) - 1 + 0.07))
    y, flag = log_transform(np.array([1.0, 2, 4]), "boxcox", boxcox_lambda=0.5)  # (y^λ − 1)/λ, y = x − min + 1
    np.testing.assert_allclose(y, (np.array([1.0, 2, 4]) ** 0.5 - 1) / 0.5) and flag == "BoxCox"
    y, _ = log_transform(np.array([1.0, 2, 4]), "boxcox", boxcox_lambda=0)
    np.testing.assert_allclose(y, np.log([1.0, 2, 4]))
    # fitted λ: the maximum of the Box-Cox profile log-likelihood, checked against a grid by hand
    z = np.array([1.0, 1.5, 2, 3, 5, 9, 17])
    _, fitted = stats.boxcox(z)
    lams = np.linspace(fitted - 0.5, fitted + 0.5, 101)
    assert max(lams, key=lambda lam: stats.boxcox_llf(lam, z)) == pytest.approx(fitted, abs=0.01)


def test_treat_per_indicator_spec_in_a_build() -> None:
    idata = pd.DataFrame({"uCode": list(_units(21)), "x": OUTLIER["x"], "y": OUTLIER["x"]})
    imeta = pd.DataFrame(
        {
            "iCode": ["x", "y", "I"],
            "Parent": ["I", "I", None],
            "Direction": 1,
            "Weight": 1,
            "Type": ["Indicator"] * 2 + ["Aggregate"],
        }
    )
    b = build_index(idata, imeta, {"version": "t", "impute": None, "treat": {"indiv": {"y": {"skip": True}}}})
    assert b.treat_summary.loc["x", "Treatment"] == "Winsorised 1 points"
    assert b.treat_summary.loc["y", "Treatment"] == "ForcedNone" and b.data["Treated"]["y"].max() == 1000


# normalisation: the Handbook methods and degenerate columns ---------------------------------------------------


def _norm(values, method, direction=1, **kw) -> list[float]:
    frame = pd.DataFrame({"x": values}, index=_units(len(values)), dtype=float)
    return normalise(frame, {"x": direction}, method, **kw)["x"].tolist()


def test_new_normalisations_by_hand() -> None:
    assert _norm([3, 1, 2, 2], "percentile") == [100, 25, 50, 50]  # r/n·100, ties min
    assert _norm([2, 4, 6], "ratio", reference="mean") == [0.5, 1, 1.5]
    assert _norm([2, 4, 6], "ratio", direction=-1, reference="mean") == pytest.approx([2, 1, 2 / 3])  # mean / x
    assert _norm([2, 4, 6], "rel_diff", reference="mean") == [-0.5, 0, 0.5]
    assert _norm([2, 4, 6], "abs_diff", reference="best") == [-4, -2, 0]
    assert _norm([2, 4, 6], "abs_diff", direction=-1, reference="best") == [0, -2, -4]  # best is 2
    assert _norm([2, 4, 6], "ratio", reference="worst") == [1, 2, 3]
    assert _norm([2, 4, 6], "above_below_mean", band=0.2) == [-1, 0, 1]  # w = x/mean = 0.5, 1, 1.5
    assert _norm([2, 4, 6], "above_below_mean", direction=-1, band=0.2) == [1, 0, -1]
    assert _norm([2, 4, 4.5], "above_below_mean", band=0.2) == [-1, 0, 1]  # w = 0.57, 1.14, 1.29 (mean 3.5)
    assert _norm([1, 2, 3, 4], "categorical", classes=2, scale=100) == [0, 0, 100, 100]  # median 2.5
    # quartiles (R type 7) of 1..5 are 2, 3, 4: classes 0, 0, 1, 2, 3, scaled by 3/3
    assert _norm([1, 2, 3, 4, 5], "categorical", classes=4, scale=3) == [0, 0, 1, 2, 3]
    assert _norm([0, 5, 10], "goalposts", goalposts={"x": (0, 5)}, trunc=False) == [0, 100, 200]  # n_scaled


def test_degenerate_normalisation_error_or_na() -> None:
    with pytest.raises(IndexMethodError, match="indicator 'x' has maximum -1"):
        _norm([-3, -2, -1], "fracmax")
    assert all(math.isnan(v) for v in _norm([-3, -2, -1], "fracmax", on_degenerate="na"))
    with pytest.raises(IndexMethodError, match="same value for every unit"):
        _norm([2, 2, 2], "minmax")
    assert all(math.isnan(v) for v in _norm([2, 2, 2], "minmax", on_degenerate="na"))


# imputation ------------------------------------------------------------------------------------------------


def test_row_mean_within_indicator_group_normalise_first() -> None:
    data = pd.DataFrame({"x1": [0.0, 10, 5], "x2": [0.0, 20, np.nan], "y": [1.0, 2, 9]}, index=_units(3))
    groups = {"x1": "G", "x2": "G", "y": "H"}
    # normalised first (COINr's default by row): x1 → 0, 1, 0.5; the row mean 0.5 on x2's scale [0, 20] is 10
    out = impute(data, "mean", by="row", indicator_groups=groups, direction=pd.Series(1.0, index=data.columns))
    assert out.loc["u2", "x2"] == 10 and out["x1"].tolist() == [0, 10, 5]
    raw = impute(data, "mean", by="row", indicator_groups=groups, normalise_first=False)
    assert raw.loc["u2", "x2"] == 5  # the raw row mean of x1 alone (y is in another group)
    col = impute(data, "mean", normalise_first=True, direction=pd.Series(1.0, index=data.columns))
    assert col.loc["u2", "x2"] == 10  # column mean of 0 and 1 is 0.5 → 10


def test_regression_imputation_recovers_a_linear_relation() -> None:
    x1 = np.arange(1.0, 21)
    data = pd.DataFrame({"x1": x1, "x2": 2 * x1 + 1, "x3": np.sin(x1)}, index=_units(20))
    data.loc["u4", "x2"] = np.nan  # truly 2·5 + 1 = 11
    out = impute_regression(data)
    assert out.loc["u4", "x2"] == pytest.approx(11, abs=0.05)
    assert (out.drop(index="u4") == data.drop(index="u4")).all().all()


# Sobol: Saltelli (2010) first order, as COINr's SA_estimate ---------------------------------------------------


def test_saltelli_first_order_by_hand() -> None:
    # n = 2, k = 1: f(A) = 1, 3; f(B) = 2, 4; f(AB_1) = 2, 5. V = var(1, 3, 2, 4) = 5/3
    y = np.array([1.0, 3, 2, 4, 2, 5])
    first, total, v = saltelli_indices(y, 2, 1)
    assert v == pytest.approx(5 / 3)
    assert first[0] == pytest.approx(np.mean([2 * (2 - 1), 4 * (5 - 3)]) / (5 / 3))  # 3.0
    assert total[0] == pytest.approx(((1 - 2) ** 2 + (3 - 5) ** 2) / (2 * 2 * 5 / 3))  # 0.75


# ranks: COINr 1.x ranks unrounded scores, COINr 0.6 rounded to 2 dp ------------------------------------------


def test_rank_on_unrounded_and_rounded() -> None:
    scores = pd.DataFrame({"I": [50.004, 50.001, 10.0]}, index=_units(3))
    assert rank_scores(scores)["I"].tolist() == [1, 2, 3]
    assert rank_scores(scores, 2)["I"].tolist() == [1, 1, 3]


# aggregation per level, step order ----------------------------------------------------------------------------


def _tree() -> tuple[pd.DataFrame, pd.DataFrame]:
    idata = pd.DataFrame({"uCode": ["A", "B"], "a": [1.0, 4], "b": [4.0, 1], "c": [9.0, 1], "d": [1.0, 9]})
    imeta = pd.DataFrame(
        {
            "iCode": ["a", "b", "c", "d", "P", "Q", "I"],
            "Parent": ["P", "P", "Q", "Q", "I", "I", None],
            "Direction": 1,
            "Weight": 1,
            "Type": ["Indicator"] * 4 + ["Aggregate"] * 3,
        }
    )
    return idata, imeta


def test_different_aggregation_per_level() -> None:
    method = {
        "version": "t",
        "impute": None,
        "treat": None,
        "normalise": {"method": "none"},
        "aggregate": {"method": "arith_mean", "levels": {3: {"method": "geom_mean"}}},
    }
    b = build_index(*_tree(), method)
    # A: P = (1 + 4)/2 = 2.5, Q = (9 + 1)/2 = 5, I = √(2.5·5)
    assert b.scores.loc["A", "P"] == 2.5 and b.scores.loc["A", "Q"] == 5
    assert b.scores.loc["A", "I"] == pytest.approx(math.sqrt(12.5))


def test_steps_in_the_order_written() -> None:
    idata = pd.DataFrame({"uCode": list("ABCD"), "x": [1.0, np.nan, np.nan, 4], "y": [1.0, np.nan, 3, 4]})
    imeta = pd.DataFrame(
        {
            "iCode": ["x", "y", "I"],
            "Parent": ["I", "I", None],
            "Direction": 1,
            "Weight": 1,
            "Type": ["Indicator"] * 2 + ["Aggregate"],
        }
    )
    base = {"version": "t", "treat": None, "screen": {"dat_thresh": 0.9}}
    # screening first drops B (no data) and C (half); after imputation everyone has all values (COINr's example)
    first = build_index(idata, imeta, base)
    assert list(first.units.index) == ["A", "D"]
    later = build_index(idata, imeta, {**base, "order": ["denominate", "impute", "screen", "treat", "normalise"]})
    assert list(later.units.index) == list("ABCD") and later.log[2]["step"] == "impute"
    with pytest.raises(IndexMethodError, match="order"):
        build_index(idata, imeta, {**base, "order": ["impute", "screen"]})


# Copeland dominance (outrankMatrix nDominant, fracDominant) --------------------------------------------------


def test_copeland_dominance_by_hand() -> None:
    x = np.array([[3.0, 3], [2, 2], [1, 3]])
    # u0 beats u1 on both (dominant); u0 vs u2: 3 > 1, tie 3 = 3 → 0.75; u1 vs u2: one each → 0.5
    assert dominance(x, np.array([1.0, 1])) == (1, pytest.approx(1 / 3))


# get_stats and p-values ----------------------------------------------------------------------------------------


def test_get_stats_columns_by_hand() -> None:
    idata = pd.DataFrame({"uCode": list("ABCD"), "x": [0.0, 0, 2, np.nan], "y": [1.0, 2, 3, 4]})
    imeta = pd.DataFrame(
        {
            "iCode": ["x", "y", "I"],
            "Parent": ["I", "I", None],
            "Direction": 1,
            "Weight": 1,
            "Type": ["Indicator"] * 2 + ["Aggregate"],
        }
    )
    b = build_index(idata, imeta, {"version": "t", "treat": None})
    st = get_stats(b)
    x = st.loc["x"]
    assert (x["Min"], x["Max"], x["N.Avail"], x["N.NonZero"], x["N.Unique"], x["N.Same"]) == (0, 2, 3, 1, 2, 2)
    assert x["Frc.Avail"] == 0.75 and x["Frc.NonZero"] == pytest.approx(1 / 3) and x["Frc.Same"] == pytest.approx(2 / 3)
    assert x["Flag.NonZero"] == "LOW" and x["Flag.Avail"] == "ok"  # 1/4 < 0.5; 0.75 ≥ 0.65
    assert st.loc["y", "Std"] == pytest.approx(np.std([1, 2, 3, 4], ddof=1)) and st.loc["y", "Flag.SkewKurt"] == "ok"


def test_pearson_pvalue_by_hand() -> None:
    x, y = pd.Series([1.0, 2, 3, 4, 5]), pd.Series([2.0, 1, 4, 3, 5])
    r, p = correlation_pvalues(x, y)
    assert r == pytest.approx(0.8)
    t = 0.8 * math.sqrt(3 / (1 - 0.64))  # R's cor.test: t with n − 2 df, two-sided
    assert p == pytest.approx(2 * stats.t.sf(t, 3))


# optimised weights ---------------------------------------------------------------------------------------------


def test_optimised_weights_balance_correlations() -> None:
    rng = np.random.default_rng(3)
    z = rng.normal(size=(40, 3))
    idata = pd.DataFrame(
        {"uCode": [f"U{i}" for i in range(40)], "a": z[:, 0], "b": z[:, 0] + 0.3 * z[:, 1], "c": z[:, 2]}
    )
    imeta = pd.DataFrame(
        {
            "iCode": ["a", "b", "c", "I"],
            "Parent": ["I"] * 3 + [None],
            "Direction": 1,
            "Weight": 1,
            "Type": ["Indicator"] * 3 + ["Aggregate"],
        }
    )
    method = {"version": "t", "impute": None, "treat": None, "weights": {"source": "optimised", "opt_toler": 1e-6}}
    b = build_index(idata, imeta, method)
    table = pd.DataFrame(next(e for e in b.log if e["step"] == "weights")["optimised"]["table"]).set_index("iCode")
    assert table["OptWeight"].sum() == pytest.approx(1)
    # equal weights give a and b (correlated) a larger share of the index; the optimum evens the shares out
    eq = build_index(idata, imeta, {**method, "weights": {"source": "equal"}}).data["Aggregated"]
    share = eq[["a", "b", "c"]].corrwith(eq["I"])
    spread_equal = (share / share.sum()).std()
    assert table["Obtained"].std() < spread_equal and table.loc["c", "OptWeight"] > 1 / 3


# panels (COINr's purse): global vs per-year normalisation ------------------------------------------------------


def test_panel_global_and_per_year_normalisation() -> None:
    idata = pd.DataFrame(
        {"uCode": ["A", "B", "A", "B"], "Time": [2020, 2020, 2021, 2021], "x": [0.0, 10, 5, 20], "y": [1.0, 1, 1, 1]}
    )
    idata["y"] = [0.0, 1, 2, 3]
    imeta = pd.DataFrame(
        {
            "iCode": ["x", "y", "I"],
            "Parent": ["I", "I", None],
            "Direction": 1,
            "Weight": 1,
            "Type": ["Indicator"] * 2 + ["Aggregate"],
        }
    )
    method = {"version": "t", "impute": None, "treat": None}
    glob = build_panel(idata, imeta, method)  # goalposts from both years: x in [0, 20], y in [0, 3]
    assert glob.builds[2020].data["Normalised"]["x"].tolist() == [0, 50]
    assert glob.builds[2021].data["Normalised"]["x"].tolist() == [25, 100]
    per = build_panel(idata, imeta, {**method, "panel": {"normalise": "per_year"}})
    assert per.builds[2021].data["Normalised"]["x"].tolist() == [0, 100]
    assert set(glob.scores["Time"]) == {2020, 2021} and glob.global_steps == ["normalise"]


# explain and COINr's own export layouts --------------------------------------------------------------------------


def test_explain_names_every_stage_of_one_unit() -> None:
    b = build_index(*_tree(), {"version": "t", "impute": None, "treat": None})
    text = explain_unit(b, "A")
    assert "I = " in text and "Raw 9 →" in text and "weight 0.5 in Q" in text
    with pytest.raises(IndexMethodError, match="unit 'Z'"):
        explain_unit(b, "Z")


def test_coinr_export_workbook_and_r_csv(tmp_path) -> None:
    idata, imeta = _tree()
    path = tmp_path / "coin_export.xlsx"
    with pd.ExcelWriter(path) as xl:  # the sheets COINr's export_to_excel writes (names of the coin's data frames)
        idata[["uCode", "a", "b", "c", "d"]].to_excel(xl, sheet_name="Data.Raw", index=False)
        imeta.assign(Level=[1, 1, 1, 1, 2, 2, 3]).to_excel(xl, sheet_name="Meta.Ind", index=False)
        idata[["uCode"]].assign(uName=["Aland", "Bland"]).to_excel(xl, sheet_name="Meta.Unit", index=False)
    d, m = read_coinr_export(path)
    assert list(d["uName"]) == ["Aland", "Bland"] and "a" in d
    assert read_inputs(path, path).indicators == ["a", "b", "c", "d"]
    # R's write.csv: a first column of row names with an empty header, and NA for missing
    csv = tmp_path / "iData.csv"
    csv.write_text('"","uCode","a","b","c","d"\n"1","A",1,4,9,NA\n"2","B",4,1,1,9\n')
    meta_csv = tmp_path / "iMeta.csv"
    imeta.to_csv(meta_csv)  # pandas' own index column stands in for R's row names
    fw = read_inputs(csv, meta_csv)
    assert math.isnan(fw.idata.loc[0, "d"]) and list(fw.idata.columns)[0] == "uCode"


def test_missing_goalposts_say_where_to_give_them() -> None:
    with pytest.raises(IndexMethodError, match="no goalposts") as raised:
        build_index(*_tree(), {"version": "t", "impute": None, "treat": None, "normalise": {"method": "goalposts"}})
    assert "normalise: goalposts:" in raised.value.hint and "indiv:" in raised.value.hint
