"""The whole build on a small framework: stages kept, log, method validation, rebuild with varied settings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kotacerdas.index import STAGES, IndexMethod, IndexMethodError, build_index, results_table


def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
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


def test_build_by_hand() -> None:
    b = build_index(*tables(), {"version": "t1", "impute": {"method": "mean", "group": "Group_size"}})
    assert list(b.data) == list(STAGES)
    assert b.data["Denominated"]["x3"].tolist() == [2, 3, 2, 4]
    assert b.data["Imputed"].loc["D", "x1"] == 3  # mean of group L (C only)
    n = b.data["Normalised"]
    assert n["x1"].tolist() == [0, 50, 100, 100]
    assert n["x2"].tolist() == pytest.approx([0, 100 / 3, 200 / 3, 100])  # lower is better
    assert n["x3"].tolist() == [0, 50, 0, 100]
    agg = b.data["Aggregated"]
    np.testing.assert_allclose(agg["P1"], (n["x1"] + n["x2"]) / 2)
    np.testing.assert_allclose(agg["Index"], 0.25 * agg["P1"] + 0.75 * agg["P2"])
    assert b.ranks["Index"].tolist() == [4, 2, 3, 1]  # Index: 0, 47.9, 20.8, 100
    assert b.effective_weights["x1"] == pytest.approx(0.125)
    assert b.effective_weights["x3"] == pytest.approx(0.75)
    assert b.treat_summary["Treatment"].eq("None").all()


def test_skipped_steps_pass_data_through() -> None:
    b = build_index(*tables(), {"version": "t2", "denominate": None, "impute": None, "treat": None})
    assert b.data["Denominated"] is b.data["Raw"] and b.data["Treated"] is b.data["Raw"]
    assert np.isnan(b.data["Aggregated"].loc["D", "x1"])
    assert b.data["Aggregated"].loc["D", "P1"] == b.data["Normalised"].loc["D", "x2"]  # x1 missing: skipped
    assert b.treat_flags is None
    assert all(e["skipped"] for e in b.log if e["step"] in ("denominate", "screen", "impute", "treat"))


def test_screening_drops_units_everywhere() -> None:
    b = build_index(*tables(), {"version": "t3", "screen": {"dat_thresh": 1.0}, "impute": None})
    assert "D" not in b.data["Aggregated"].index and "D" not in b.units.index
    assert b.data["Raw"].shape[0] == 4 and not b.screen_summary.loc["D", "included"]


def test_rebuild_varies_one_step() -> None:
    b = build_index(*tables(), {"version": "t4"})
    z = b.rebuild(normalise={"method": "zscore"}, aggregate={"method": "arith_mean"}, version="t4-z")
    assert z.method.normalise.method == "zscore" and z.method.version == "t4-z"
    assert b.method.normalise.method == "minmax"  # the original build is untouched
    np.testing.assert_allclose(z.data["Normalised"].std(ddof=1), 1.0)
    eq = b.rebuild(weights={"source": "equal"})
    assert eq.effective_weights["x3"] == pytest.approx(0.5)
    over = b.rebuild(weights={"overrides": {"P2": 0}})
    np.testing.assert_allclose(over.scores["Index"], over.scores["P1"])


def test_group_ranks_in_results() -> None:
    b = build_index(*tables(), {"version": "t5", "results": {"group_ranks": ["Group_size"]}})
    assert b.group_ranks["Group_size"]["Index"].tolist() == [2, 1, 2, 1]


@pytest.mark.parametrize(
    "method, words",
    [
        ({"impute": {"method": "mean"}}, "version"),
        ({"version": "x", "normalise": {"method": "softmax"}}, "normalise.method"),
        ({"version": "x", "treat": {"winmax": -1}}, "treat.winmax"),
        ({"version": "x", "aggregate": {"weird": 1}}, "aggregate.weird"),
        ({"version": "x", "impute": {"method": "mean", "group": "Group_nope"}}, "Group_nope"),
        ({"version": "x", "weights": {"overrides": {"nope": 1}}}, "'nope'"),
        ({"version": "x", "time": 2020}, "Time"),
    ],
)
def test_bad_method_settings(method: dict, words: str) -> None:
    with pytest.raises(IndexMethodError, match=words):
        build_index(*tables(), method)


def test_method_model_round_trip() -> None:
    m = IndexMethod(version="v1")
    assert IndexMethod.model_validate(m.model_dump()) == m
    assert m.vary(treat=None).treat is None and m.treat is not None


def test_panel_build_uses_other_years() -> None:
    idata, imeta = tables()
    old = idata.assign(Time=2020, x1=[1.0, 2.0, 3.0, 9.0])
    panel = pd.concat([old, idata.assign(Time=2021)], ignore_index=True)
    b = build_index(panel, imeta, {"version": "p", "impute": {"method": "locf"}})
    assert b.data["Imputed"].loc["D", "x1"] == 9
    assert b.units["Time"].unique().tolist() == [2021]
    b20 = build_index(panel, imeta, {"version": "p", "time": 2020})
    assert b20.data["Raw"].loc["D", "x1"] == 9


def test_results_table_sorted_best_first() -> None:
    b = build_index(*tables(), {"version": "t6"})
    table = results_table(b.scores, b.units, "Index")
    assert list(table.index) == ["D", "B", "C", "A"] and table["Rank"].tolist() == [1, 2, 3, 4]
    assert {"Group_size", "Index", "P1", "P2"} <= set(table.columns)
