"""The maturity index: goalposts, renormalised weights for missing children, coverage rule, level bands."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from kotacerdas.config import ProjectConfig
from kotacerdas.errors import ConfigError
from kotacerdas.indicators.catalog import IndicatorCatalog, load_catalog
from kotacerdas.maturity import (
    MaturityMethodology,
    goalpost_score,
    load_methodology,
    score_maturity,
    score_maturity_each,
)
from kotacerdas.schemas import INDEX_SCORE_COLUMNS

PROJECT = ProjectConfig()


def _catalog(*specs: tuple[str, str, str, float, float, float]) -> IndicatorCatalog:
    return IndicatorCatalog.model_validate(
        {
            "version": "t",
            "indicators": [
                {
                    "code": code,
                    "name_id": code,
                    "name_en": code,
                    "dimension": dim,
                    "element": el,
                    "unit": "%",
                    "direction": 1 if best > worst else -1,
                    "producer": "X",
                    "method": {"type": "submitted"},
                    "goalposts": {"worst": worst, "best": best},
                    "weight": w,
                }
                for code, dim, el, worst, best, w in specs
            ],
        }
    )


def _method(min_coverage: float = 0.0) -> MaturityMethodology:
    return MaturityMethodology.model_validate(
        {
            "name": "t",
            "version": "9",
            "normalisation": "goalposts",
            "aggregation": "arithmetic",
            "min_coverage": min_coverage,
            "dimensions": {
                "a": {"name": "A", "weight": 3, "elements": {"a1": 1, "a2": 1}},
                "b": {"name": "B", "weight": 1, "elements": {"b1": 1}},
            },
            "maturity_levels": [
                {"level": 1, "min": 0},
                {"level": 2, "min": 25},
                {"level": 3, "min": 50},
                {"level": 4, "min": 75},
                {"level": 5, "min": 90},
            ],
        }
    )


def _values(**vals: float) -> pd.DataFrame:
    return pd.DataFrame(
        [{"city_code": "19.71", "period": "2025-01", "indicator_code": k, "value": v} for k, v in vals.items()]
    )


def test_goalposts_clip_and_reverse_direction():
    s = goalpost_score(pd.Series([-5.0, 0.0, 25.0, 100.0, 120.0]), 0, 100)
    assert s.tolist() == [0.0, 0.0, 25.0, 100.0, 100.0]
    # lower is better: worst 45 minutes, best 8
    assert goalpost_score(pd.Series([45.0, 8.0, 26.5]), 45, 8).tolist() == [0.0, 100.0, 50.0]


def test_hierarchy_weights_and_levels():
    cat = _catalog(
        ("I1", "a", "a1", 0, 100, 1),
        ("I2", "a", "a1", 0, 100, 3),
        ("I3", "a", "a2", 0, 10, 1),
        ("I4", "b", "b1", 100, 0, 1),
    )
    scores = score_maturity(_values(I1=40, I2=80, I3=5, I4=25), cat, _method()).set_index(["level", "code"])
    a1 = (1 * 40 + 3 * 80) / 4  # 70
    a = (a1 + 50) / 2  # 60
    b = 75.0
    index = (3 * a + 1 * b) / 4  # 63.75
    assert scores.loc[("element", "a1"), "score"] == pytest.approx(a1)
    assert scores.loc[("dimension", "a"), "score"] == pytest.approx(a)
    assert scores.loc[("dimension", "b"), "score"] == pytest.approx(b)
    assert scores.loc[("index", "INDEX"), "score"] == pytest.approx(index)
    assert scores.loc[("index", "INDEX"), "maturity_level"] == 3
    assert scores.loc[("dimension", "b"), "maturity_level"] == 4
    assert scores.loc[("indicator", "I2"), "weight"] == pytest.approx(0.75)
    assert scores.loc[("dimension", "a"), "weight"] == pytest.approx(0.75)
    assert set(scores["methodology_version"]) == {"9"}


def test_missing_children_are_skipped_and_weights_renormalised():
    cat = _catalog(("I1", "a", "a1", 0, 100, 1), ("I3", "a", "a2", 0, 100, 1), ("I4", "b", "b1", 0, 100, 1))
    scores = score_maturity(_values(I1=40, I3=math.nan, I4=80), cat, _method()).set_index(["level", "code"])
    assert math.isnan(scores.loc[("element", "a2"), "score"])
    assert scores.loc[("dimension", "a"), "score"] == pytest.approx(40)  # only a1 present
    assert scores.loc[("dimension", "a"), "coverage"] == pytest.approx(0.5)
    assert scores.loc[("element", "a1"), "weight"] == pytest.approx(1.0)


def test_coverage_below_threshold_leaves_parent_missing():
    cat = _catalog(("I1", "a", "a1", 0, 100, 1), ("I3", "a", "a2", 0, 100, 1), ("I4", "b", "b1", 0, 100, 1))
    scores = score_maturity(_values(I1=40, I3=math.nan, I4=80), cat, _method(min_coverage=0.6))
    dim_a = scores[(scores["level"] == "dimension") & (scores["code"] == "a")].iloc[0]
    assert pd.isna(dim_a["score"]) and pd.isna(dim_a["maturity_level"])


def test_indicator_under_unknown_element_is_a_config_error():
    cat = _catalog(("I1", "a", "nowhere", 0, 100, 1))
    with pytest.raises(ConfigError, match="I1 .a/nowhere."):
        score_maturity(_values(I1=1), cat, _method())


def test_level_bands_must_increase():
    with pytest.raises(ValueError, match="strictly increasing"):
        MaturityMethodology.model_validate(
            {**_method().model_dump(), "maturity_levels": [{"level": 1, "min": 0}, {"level": 2, "min": 0}]}
        )


def test_shipped_methodology_covers_the_catalog_with_six_dimensions():
    method = load_methodology(PROJECT.dir / "methodologies" / PROJECT.pipeline.methodology)
    catalog = load_catalog(PROJECT.dir / "indicators.yaml")
    method.check_catalog(catalog)
    assert len(method.dimensions) == 6
    assert all(len(d.elements) == 3 for d in method.dimensions.values())
    per_dim = pd.Series([i.dimension for i in catalog.indicators]).value_counts()
    assert set(per_dim.index) == set(method.dimensions) and per_dim.min() >= 2


# --- the maturity index runs on the composite engine (kotacerdas/index/): same numbers, many units at once ---


def _reference_scores(vals: dict[str, float], cat: IndicatorCatalog, method: MaturityMethodology) -> dict:
    """A plain re-statement of the rule, written out by hand for one unit, to check the engine-based code."""

    def mean(kids: dict[str, float], weights: dict[str, float]) -> tuple[float, float]:
        total = sum(weights.values())
        present = {k: s for k, s in kids.items() if not math.isnan(s)}
        cov = sum(weights[k] for k in present) / total if total else 0.0
        if not present or cov < method.min_coverage:
            return math.nan, cov
        pw = sum(weights[k] for k in present)
        return sum(weights[k] * s for k, s in present.items()) / pw, cov

    ind = {}
    for i in cat.indicators:
        v = vals.get(i.code, math.nan)
        ind[i.code] = (
            math.nan
            if math.isnan(v)
            else min(100.0, max(0.0, (v - i.goalposts.worst) / (i.goalposts.best - i.goalposts.worst) * 100))
        )
    out = {}
    dims = {}
    for d, dim in method.dimensions.items():
        elems = {}
        for e in dim.elements:
            kids = {i.code: ind[i.code] for i in cat.indicators if i.element == e}
            elems[e] = out[("element", e)] = mean(kids, {i.code: i.weight for i in cat.indicators if i.element == e})
        dims[d] = out[("dimension", d)] = mean({e: s for e, (s, _) in elems.items()}, dict(dim.elements))
    out[("index", "INDEX")] = mean(
        {d: s for d, (s, _) in dims.items()}, {d: dim.weight for d, dim in method.dimensions.items()}
    )
    return out


@pytest.mark.parametrize("min_coverage", [0.0, 0.5, 0.7])
def test_engine_based_scores_match_the_rule_written_out_for_many_units(min_coverage):
    method = load_methodology(PROJECT.dir / "methodologies" / PROJECT.pipeline.methodology)
    # the min_coverage rule alone (min_data_coverage has its own test)
    method = method.model_copy(update={"min_coverage": min_coverage, "min_data_coverage": 0.0})
    catalog = load_catalog(PROJECT.dir / "indicators.yaml")
    rng = np.random.default_rng(3)
    units = [(city, f"2025-{m:02d}") for city in ("19.03", "19.71") for m in (1, 2, 3)]
    per_unit = {}
    rows = []
    for city, period in units:
        vals = {}
        for i in catalog.indicators:
            lo, hi = sorted((i.goalposts.worst, i.goalposts.best))
            v = rng.uniform(lo - 0.2 * (hi - lo), hi + 0.2 * (hi - lo))
            vals[i.code] = math.nan if rng.random() < 0.35 else v
            rows.append({"city_code": city, "period": period, "indicator_code": i.code, "value": vals[i.code]})
        per_unit[(city, period)] = vals
    scores = score_maturity(pd.DataFrame(rows[::-1]), catalog, method)  # input order does not matter
    assert list(dict.fromkeys(zip(scores["city_code"], scores["period"], strict=True))) == sorted(units)
    for (city, period), vals in per_unit.items():
        got = scores[(scores["city_code"] == city) & (scores["period"] == period)].set_index(["level", "code"])
        for key, (score, cov) in _reference_scores(vals, catalog, method).items():
            if math.isnan(score):
                assert pd.isna(got.loc[key, "score"]), key
            else:
                assert got.loc[key, "score"] == pytest.approx(score, abs=1e-9), key
            assert got.loc[key, "coverage"] == pytest.approx(cov), key


@pytest.mark.parametrize("min_coverage", [0.0, 0.7])
def test_scoring_many_partitions_in_one_call_gives_each_what_it_gets_alone(min_coverage):
    """The maturity asset scores a run's partitions in one call (#15): each partition's frame must be exactly
    `score_maturity` of its own values, whatever the other partitions hold (gaps, other cities, several months,
    none at all)."""
    method = load_methodology(PROJECT.dir / "methodologies" / PROJECT.pipeline.methodology)
    method = method.model_copy(update={"min_coverage": min_coverage})
    catalog = load_catalog(PROJECT.dir / "indicators.yaml")
    rng = np.random.default_rng(11)
    frames = {}
    for n, city in enumerate(["19.71", "19.03", "32.73", "11.01", "94.71", "19.04"]):
        periods = ["2025-01", "2024-12"] if n == 2 else ["2025-01"]  # one frame of two units
        rows = [
            {"city_code": city, "period": period, "indicator_code": i.code, "value": rng.uniform(-10, 110)}
            for period in periods
            for i in catalog.indicators
            if rng.random() > (0.9 if n == 4 else 0.3)  # city 4: hardly any data
        ]
        frames[f"{city}|2025-01"] = pd.DataFrame(rows, columns=["city_code", "period", "indicator_code", "value"])
    frames["empty"] = pd.DataFrame(columns=["city_code", "period", "indicator_code", "value"])
    each = score_maturity_each(frames, catalog, method)
    assert list(each) == list(frames)
    for key, values in frames.items():
        pd.testing.assert_frame_equal(each[key], score_maturity(values, catalog, method), check_exact=True)
    assert each["empty"].empty and len(each["32.73|2025-01"]) == 2 * len(each["19.71|2025-01"])
    assert score_maturity_each({}, catalog, method) == {}


def test_element_without_indicators_and_children_of_unscored_parents():
    cat = _catalog(("I1", "a", "a1", 0, 100, 1), ("I4", "b", "b1", 0, 100, 1))  # a2 has no indicator
    scores = score_maturity(_values(I1=40, I4=80), cat, _method(min_coverage=0.6)).set_index(["level", "code"])
    assert pd.isna(scores.loc[("element", "a2"), "score"]) and scores.loc[("element", "a2"), "coverage"] == 0.0
    assert pd.isna(scores.loc[("dimension", "a"), "score"])  # half of a's weight present < 0.6
    assert pd.isna(scores.loc[("element", "a1"), "weight"])  # its parent has no score, so it carries no weight
    # the index needs 0.6 of the dimension weight (3 + 1); b alone carries 0.25, so the index is missing too
    assert scores.loc[("index", "INDEX"), "coverage"] == pytest.approx(0.25)
    assert pd.isna(scores.loc[("index", "INDEX"), "score"]) and pd.isna(scores.loc[("dimension", "b"), "weight"])
    assert scores.loc[("dimension", "b"), "score"] == pytest.approx(80.0)
    assert scores.loc[("dimension", "b"), "maturity_level"] == 4  # 75 <= 80 < 90


def test_one_value_per_city_period_indicator():
    cat = _catalog(("I1", "a", "a1", 0, 100, 1))
    with pytest.raises(ValueError, match="19.71 2025-01 I1"):
        score_maturity(pd.concat([_values(I1=1), _values(I1=2)]), cat, _method())


def test_no_indicator_values_gives_an_empty_table_with_the_score_columns():
    out = score_maturity(
        _values().reindex(columns=["city_code", "period", "indicator_code", "value"]),
        _catalog(("I1", "a", "a1", 0, 100, 1)),
        _method(),
    )
    assert out.empty and list(out.columns) == list(INDEX_SCORE_COLUMNS)


def test_data_coverage_is_the_share_of_indicator_weight_present_and_min_data_coverage_withholds_a_figure():
    cat = _catalog(
        ("I1", "a", "a1", 0, 100, 1),
        ("I2", "a", "a1", 0, 100, 3),
        ("I3", "a", "a2", 0, 100, 1),
        ("I4", "b", "b1", 0, 100, 1),
    )
    full = score_maturity(_values(I1=40, I2=80, I3=50, I4=25), cat, _method()).set_index(["level", "code"])
    assert set(full["data_coverage"]) == {1.0}
    # I2 (3/4 of element a1, so 3/8 of dimension a, 9/32 of the index) missing
    gap = _values(I1=40, I2=math.nan, I3=50, I4=25)
    scores = score_maturity(gap, cat, _method()).set_index(["level", "code"])
    assert scores.loc[("element", "a1"), "data_coverage"] == pytest.approx(0.25)
    assert scores.loc[("dimension", "a"), "data_coverage"] == pytest.approx(5 / 8)
    assert scores.loc[("index", "INDEX"), "data_coverage"] == pytest.approx(1 - 9 / 32)
    assert not scores[["score"]].loc[[("dimension", "a"), ("index", "INDEX")]].isna().any().any()
    # with a threshold: dimension a (5/8) is withheld, the index (23/32 < 0.75) too; b and the elements are not
    strict = _method().model_copy(update={"min_data_coverage": 0.75})
    withheld = score_maturity(gap, cat, strict).set_index(["level", "code"])
    assert math.isnan(withheld.loc[("dimension", "a"), "score"]) and math.isnan(
        withheld.loc[("index", "INDEX"), "score"]
    )
    assert withheld.loc[("dimension", "b"), "score"] == pytest.approx(25.0)
    assert withheld.loc[("element", "a1"), "score"] == pytest.approx(40.0)
    assert withheld.loc[("index", "INDEX"), "data_coverage"] == pytest.approx(1 - 9 / 32)
    # complete data scores the same with or without the threshold
    pd.testing.assert_frame_equal(
        score_maturity(_values(I1=40, I2=80, I3=50, I4=25), cat, strict), full.reset_index()[list(INDEX_SCORE_COLUMNS)]
    )
