"""The regulators' indices of one city and year as warehouse rows (kotacerdas.regulators.annual), checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kotacerdas.regulators import load_regulator_methodology
from kotacerdas.regulators.annual import annual_indices

KOMINFO = load_regulator_methodology("kominfo-evaluation-2024")
SPBE = load_regulator_methodology("spbe-permenpanrb-59-2020")
IKM = load_regulator_methodology("ikm-permenpanrb-14-2017")
EMPTY = pd.DataFrame()


def _evaluation(**parts) -> pd.DataFrame:
    rows = [{"part": p, "item": "", "score": s, "evaluator": "Kominfo"} for p, s in parts.items()]
    rows.append({"part": "pillar", "item": "governance", "score": 3.455, "evaluator": "Kominfo"})
    return pd.DataFrame(rows)


def _spbe(levels: dict[int, int], assessor: str) -> pd.DataFrame:
    return pd.DataFrame({"indicator_number": list(levels), "level": list(levels.values()), "assessor": assessor})


def test_kominfo_index_is_the_weighted_sum_of_the_parts():
    got = annual_indices(
        "19.71",
        "2025",
        evaluation=_evaluation(baseline=3, output=4, outcome=2, impact=5, quick_win=1),
        assessments=EMPTY,
        responses=EMPTY,
        kominfo=KOMINFO,
        spbe=SPBE,
        ikm_methodology=IKM,
    )
    rows = got.frames["regulator_kominfo_evaluation"].set_index("component")
    # 10 % × 3 + 20 % × 4 + 30 % × 2 + 20 % × 5 + 20 % × 1
    assert rows.loc["index", "score"] == pytest.approx(2.9)
    assert rows.loc["index", "published_value"] == "2.90"
    assert rows.loc["outcome", "contribution"] == pytest.approx(0.6)
    assert rows.loc["governance", "published_value"] == "3.46"  # pillar as assessed, half up
    assert set(rows["period"]) == {"2025"} and set(rows["methodology_version"]) == {KOMINFO.version}
    assert set(got.not_computed) == {"regulator_spbe", "regulator_ikm"}


def test_kominfo_with_a_missing_part_is_not_computed_and_says_why():
    got = annual_indices(
        "19.71",
        "2025",
        evaluation=_evaluation(baseline=3, output=4),
        assessments=EMPTY,
        responses=EMPTY,
        kominfo=KOMINFO,
        spbe=SPBE,
        ikm_methodology=IKM,
    )
    assert "regulator_kominfo_evaluation" not in got.frames
    assert "outcome" in got.not_computed["regulator_kominfo_evaluation"]


def test_spbe_per_assessor_and_an_incomplete_self_assessment_is_reported():
    external = _spbe(dict.fromkeys(range(1, 48), 3) | {42: 5, 43: 5}, "external")
    partial = _spbe({n: 2 for n in range(1, 40)}, "self")
    got = annual_indices(
        "19.03",
        "2024",
        evaluation=EMPTY,
        assessments=pd.concat([external, partial]),
        responses=EMPTY,
        kominfo=KOMINFO,
        spbe=SPBE,
        ikm_methodology=IKM,
    )
    rows = got.frames["regulator_spbe"]
    assert set(rows["assessor"]) == {"external"}
    index = rows[rows["component_type"] == "index"].iloc[0]
    # layanan_publik (18 %, 6 indicators) has two indicators at 5: 3 + 2 × (18 / 6) × 2 / 100 = 3.12
    assert index["score"] == pytest.approx(3.12)
    assert index["published_value"] == "3.12" and index["predicate"] == "Baik"
    assert "self" in got.not_computed["regulator_spbe"] and "40" in got.not_computed["regulator_spbe"]


def test_ikm_per_service_per_opd_and_for_the_city():
    rng = np.random.default_rng(7)
    n = 60
    responses = pd.DataFrame({f"u{i}": rng.integers(2, 5, n) for i in range(1, 10)})
    responses["opd_code"] = ["DINKES"] * 40 + ["DISDUKCAPIL"] * 20
    responses["service_code"] = ["SKS"] * 25 + ["RUJUKAN"] * 15 + ["KK"] * 20
    responses["surveyed_at"] = pd.to_datetime(["2025-01-15"] * 30 + ["2025-02-10"] * 30)
    got = annual_indices(
        "19.71",
        "2025",
        evaluation=EMPTY,
        assessments=EMPTY,
        responses=responses,
        kominfo=KOMINFO,
        spbe=SPBE,
        ikm_methodology=IKM,
    )
    rows = got.frames["regulator_ikm"]
    city = rows[rows["opd_code"].isna()].iloc[0]
    answers = responses[[f"u{i}" for i in range(1, 10)]]
    assert city["respondents"] == n and city["months_covered"] == 2
    assert city["score"] == pytest.approx(answers.mean().mean() * 25)
    sks = rows[(rows["opd_code"] == "DINKES") & (rows["service_code"] == "SKS")].iloc[0]
    assert sks["respondents"] == 25
    assert sks["score"] == pytest.approx(answers.iloc[:25].mean().mean() * 25)
    assert len(rows) == 1 + 2 + 3


def test_ikm_figures_carry_the_share_of_months_covered_and_min_data_coverage_withholds_the_thin_ones():
    rng = np.random.default_rng(11)
    responses = pd.DataFrame({f"u{i}": rng.integers(2, 5, 48) for i in range(1, 10)})
    responses["opd_code"], responses["service_code"] = "DINKES", ["SKS"] * 36 + ["RUJUKAN"] * 12
    # SKS surveyed every month, RUJUKAN in 2 months only
    responses["surveyed_at"] = pd.to_datetime(
        [f"2025-{m:02d}-10" for m in range(1, 13) for _ in range(3)] + ["2025-01-10"] * 6 + ["2025-02-10"] * 6
    )
    inputs = dict(evaluation=EMPTY, assessments=EMPTY, responses=responses, kominfo=KOMINFO, spbe=SPBE)
    rows = annual_indices("19.71", "2025", **inputs, ikm_methodology=IKM).frames["regulator_ikm"]
    coverage = dict(zip(rows["service_code"].fillna("-"), rows["coverage"], strict=True))
    assert coverage == {"-": 1.0, "SKS": 1.0, "RUJUKAN": pytest.approx(2 / 12)}
    strict = IKM.model_copy(update={"min_data_coverage": 0.5})
    got = annual_indices("19.71", "2025", **inputs, ikm_methodology=strict)
    assert set(got.frames["regulator_ikm"]["service_code"].dropna()) == {"SKS"}
    assert "1 IKM figure(s)" in got.not_computed["regulator_ikm"]
