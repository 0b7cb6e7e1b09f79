"""Programme status per city × month: each rule at its edges, quick wins, roll-ups, RPJMD alignment, and a missing
or late OPD report (unknown, not late; visible in timeliness) through the real file connector and quality gate."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pandas as pd
import pytest

from kotacerdas.config import ProjectConfig
from kotacerdas.ingest.table import ingest_table
from kotacerdas.masterplan.partition import partition_status
from kotacerdas.masterplan.schema import Masterplan
from kotacerdas.masterplan.status import STATUSES, StatusRules, empty_frames, load_rules, masterplan_status
from kotacerdas.quality.gate import run_quality_gate
from kotacerdas.quality.timeliness import opd_timeliness
from kotacerdas.schemas import MASTERPLAN_PROGRESS, empty_frame
from kotacerdas.simulator.masterplan import write_progress_drops
from kotacerdas.stage.staging import stage_table

PROJECT = ProjectConfig()
RULES = StatusRules(version="t", done_at=100, at_risk_gap=10, late_gap=25)


def _plan(**programme) -> Masterplan:
    """One programme over 10 months (2025-01..2025-10: 10 % of the plan per month), a quick win due in June."""
    base = {
        "code": "P1",
        "name": "Programme",
        "opd": "DISKOMINFO",
        "start": "2025-01",
        "end": "2025-10",
        "budget": {2025: 1000.0},
        "rpjmd": ["S1"],
        "quick_win": {"stage": "I", "year": 2025, "due": "2025-06"},
        "indicators": [
            {"code": "P1-O1", "kind": "output", "name": "o", "unit": "n", "baseline": 10, "targets": {2025: 30}},
            {"code": "P1-K1", "kind": "outcome", "name": "k", "unit": "%", "baseline": 50, "targets": {2025: 60}},
        ],
    }
    second = {"code": "P2", "name": "Unlinked", "opd": "DLH", "start": "2026-01", "end": "2026-12"}
    return Masterplan.model_validate(
        {
            "city_code": "19.71",
            "version": "t1",
            "effective_from": "2025-01",
            "title": "t",
            "rpjmd": [
                {"code": "S1", "misi": "M1", "sasaran": "served", "iku": ["IKU-1"]},
                {"code": "S2", "misi": "M1", "sasaran": "nobody serves it"},
            ],
            "dimensions": [
                {"code": "governance", "programmes": [base | programme]},
                {"code": "environment", "programmes": [second]},
            ],
        }
    )


def _rows(*rows: dict) -> pd.DataFrame:
    frame = pd.DataFrame(
        [
            {
                "city_code": "19.71",
                "opd_code": "DISKOMINFO",
                "programme_code": "P1",
                "period": "2025-05",
                "indicator_code": "P1-O1",
                "indicator_value": 20.0,
                "budget_realised": 250.0,
                "evidence_url": "x",
            }
            | r
            for r in rows
        ]  # fmt: skip
    )
    return pd.concat([empty_frame(MASTERPLAN_PROGRESS), frame]).astype(MASTERPLAN_PROGRESS.all_columns)


def _status(month: str, *rows: dict, rejected=frozenset(), **programme) -> pd.Series:
    result = masterplan_status(
        _plan(**programme), month, _rows(*rows) if rows else _rows().iloc[0:0], RULES, rejected_programmes=rejected
    )
    return result.programmes.set_index("programme_code").loc["P1"]


# In May 5 of 10 months have passed: 50 % planned.
@pytest.mark.parametrize(
    ("actual", "status"),
    [
        (50.0, "on_track"),
        (40.1, "on_track"),  # 9.9 points behind
        (40.0, "at_risk"),  # exactly at_risk_gap behind
        (25.1, "at_risk"),
        (25.0, "late"),  # exactly late_gap behind
        (99.9, "on_track"),  # ahead of plan, not done
        (100.0, "done"),
    ],
)
def test_each_status_rule_at_its_edges(actual, status):
    row = _status("2025-05", {"physical_progress": actual})
    assert row["planned_progress"] == 50.0
    assert row["status"] == status, row["status_reason"]
    assert row["report_status"] == "received" and row["actual_progress"] == actual


def test_past_the_end_and_not_done_is_late_before_the_start_not_started():
    assert _status("2025-10", {"physical_progress": 99.0, "period": "2025-10"})["status"] == "on_track"
    late = _status("2025-11", {"physical_progress": 99.0, "period": "2025-11"})
    assert late["status"] == "late" and "past its end (2025-10)" in late["status_reason"]
    assert _status("2025-11", {"physical_progress": 100.0, "period": "2025-11"})["status"] == "done"
    assert _status("2024-12")["status"] == "not_started"


def test_no_report_is_unknown_not_late_even_far_behind_the_plan():
    row = _status("2025-09")  # 90 % planned, nothing reported
    assert row["status"] == "unknown" and row["report_status"] == "missing"
    assert "no report from DISKOMINFO for 2025-09" in row["status_reason"]
    assert _status("2025-09", rejected={"P1"})["report_status"] == "rejected"
    disagree = _status("2025-05", {"physical_progress": 40.0}, {"physical_progress": 45.0, "indicator_code": None})
    assert disagree["status"] == "unknown" and disagree["report_status"] == "inconsistent"


def test_budget_absorption_and_target_achievement():
    row = _status("2025-05", {"physical_progress": 50.0})
    assert row["budget_absorption"] == 0.25  # 250 of 1000
    assert row["target_achievement"] == 0.5  # (20 - 10) / (30 - 10)
    result = masterplan_status(_plan(), "2025-05", _rows({"physical_progress": 50.0}), RULES)
    ind = result.indicators.set_index("indicator_code")
    assert ind.loc["P1-O1", "achievement"] == 0.5 and pd.isna(ind.loc["P1-K1", "value"])  # outcomes: yearly


def test_quick_win_is_due_at_its_date_else_at_the_programme_end_within_its_year():
    assert _plan().programmes[0].quick_win_due == "2025-06"
    assert _plan(quick_win={"stage": "I", "year": 2025}).programmes[0].quick_win_due == "2025-10"  # the end
    assert _plan(quick_win={"stage": "II", "year": 2026}).programmes[0].quick_win_due == "2026-12"


def test_quick_win_due_and_delivered():
    early = _status("2025-05", {"physical_progress": 100.0})
    assert early["quick_win_delivered"] and not early["quick_win_is_due"]
    due = masterplan_status(_plan(), "2025-06", _rows({"physical_progress": 80.0, "period": "2025-06"}), RULES)
    city = due.rollups.set_index(["level", "code"]).loc[("city", "19.71")]
    assert (city["quick_wins_due"], city["quick_wins_delivered"]) == (1, 0)
    done = masterplan_status(_plan(), "2025-06", _rows({"physical_progress": 100.0, "period": "2025-06"}), RULES)
    city = done.rollups.set_index(["level", "code"]).loc[("city", "19.71")]
    assert (city["quick_wins_due"], city["quick_wins_delivered"], city["done"]) == (1, 1, 1)


def test_rollups_count_started_programmes_per_dimension_and_opd():
    result = masterplan_status(_plan(), "2025-05", _rows({"physical_progress": 40.0}), RULES)
    roll = result.rollups.set_index(["level", "code"])
    assert roll.loc[("city", "19.71"), "programmes"] == 1  # P2 starts in 2026
    assert roll.loc[("dimension", "governance"), "at_risk"] == 1
    assert roll.loc[("dimension", "environment"), "programmes"] == 0
    assert roll.loc[("opd", "DISKOMINFO"), "budget_absorption"] == 0.25
    assert set(result.programmes["status"]) == {"at_risk", "not_started"}


def test_rpjmd_alignment_share_linked_and_targets_with_no_programme():
    result = masterplan_status(_plan(), "2025-05", _rows({"physical_progress": 40.0}), RULES)
    align = result.alignment.set_index("rpjmd_code")
    assert align.loc["S1", "served"] and align.loc["S1", "programme_codes"] == "P1"
    assert not align.loc["S2", "served"] and align.loc["S2", "programmes"] == 0
    assert result.rollups.set_index(["level", "code"]).loc[("city", "19.71"), "rpjmd_linked_share"] == 0.5


def test_rules_file_is_validated(tmp_path):
    assert load_rules(PROJECT.masterplan_rules_file).late_gap >= load_rules(PROJECT.masterplan_rules_file).at_risk_gap
    bad = tmp_path / "rules.yaml"
    bad.write_text("version: x\nat_risk_gap: 30\nlate_gap: 20\n")
    with pytest.raises(Exception, match="late_gap \\(20.0\\) must be at least at_risk_gap"):
        load_rules(bad)
    # the names scorecards show: every status the rules give has one, and a misspelt status is refused
    labels = load_rules(PROJECT.masterplan_rules_file).labels
    assert set(STATUSES) <= set(labels) and all(v.name_id and v.name_en for v in labels.values())
    bad.write_text("version: x\nat_risk_gap: 10\nlate_gap: 20\nlabels:\n  ontrack: {name_id: a, name_en: b}\n")
    with pytest.raises(Exception, match="labels for unknown statuses: \\['ontrack'\\]"):
        load_rules(bad)


# --- through the real file connector, staging, quality gate and timeliness -----------------------------------

CITY, MONTH = "19.71", "2025-09"  # the simulator's faults that month: DISDUKCAPIL missing, DLH inconsistent
NOW = datetime(2025, 11, 1, tzinfo=UTC)  # frozen: every September report is due by now


def _gate(tmp_path, landing):
    ingest = ingest_table(PROJECT, "masterplan_progress", CITY, MONTH, raw_dir=tmp_path / "raw", landing_dir=landing)
    staged = stage_table(MASTERPLAN_PROGRESS, ingest.frame, city=CITY, month=MONTH, pii_key=None)
    gate = run_quality_gate(PROJECT, MASTERPLAN_PROGRESS, staged, city=CITY, month=MONTH, now=pd.Timestamp(NOW))
    return ingest, gate


def test_missing_inconsistent_and_late_reports_from_files(tmp_path):
    landing = tmp_path / "landing"
    write_progress_drops(PROJECT, landing, [CITY], [MONTH])
    ingest, gate = _gate(tmp_path, landing)
    result = partition_status(PROJECT, CITY, MONTH, gate)
    status = result.programmes.set_index("programme_code")
    # DISDUKCAPIL sent nothing: its programme is unknown (not late), and the OPD is missing in timeliness
    assert status.loc["GOV-02", ["status", "report_status"]].tolist() == ["unknown", "missing"]
    # DLH's report said 130 %: the quality gate rejected the row, so that programme is unknown too
    assert "physical_progress_is_percent" in set(gate.quarantine["rule"])
    assert set(status.loc[["ENV-01", "ENV-02"], "report_status"]) >= {"rejected"}
    assert (status.loc[status["report_status"] == "received", "status"] != "unknown").all()
    timely = opd_timeliness(PROJECT, tmp_path / "raw", [gate], [ingest], city=CITY, month=MONTH, now=NOW)
    timely = timely[timely["table_name"] == "masterplan_progress"].set_index("opd_code")
    assert timely.loc["DISDUKCAPIL", "status"] == "missing"
    assert timely.loc["DISKOMINFO", "status"] == "on_time"

    # DISDUKCAPIL's report arrives three weeks after its due date: late in timeliness, its status now computed
    late = write_progress_drops(PROJECT, tmp_path / "late", [CITY], [MONTH], faults=False)
    src = next(p for p in late if "/DISDUKCAPIL/" in str(p))
    dst = landing / src.relative_to(tmp_path / "late")
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(src.read_bytes())
    sent = datetime(2025, 10, 31, tzinfo=UTC).timestamp()
    os.utime(dst, (sent, sent))
    ingest, gate = _gate(tmp_path, landing)
    timely = opd_timeliness(PROJECT, tmp_path / "raw", [gate], [ingest], city=CITY, month=MONTH, now=NOW)
    row = timely[(timely["table_name"] == "masterplan_progress") & (timely["opd_code"] == "DISDUKCAPIL")].iloc[0]
    assert row["status"] == "late" and row["days_late"] > 15
    status = partition_status(PROJECT, CITY, MONTH, gate).programmes.set_index("programme_code")
    assert status.loc["GOV-02", "report_status"] == "received"
    assert status.loc["GOV-02", "status"] != "unknown" and status.loc["GOV-02", "actual_progress"] > 0


# --- evaluation readiness (Kominfo components) ---------------------------------------------------------------


def test_readiness_scores_each_kominfo_part_from_the_evidence_and_weights_them_by_the_methodology():
    from kotacerdas.masterplan.readiness import evaluation_readiness
    from kotacerdas.regulators import load_regulator_methodology

    kominfo = load_regulator_methodology(PROJECT.pipeline.kominfo_methodology, PROJECT.dir)
    plan = _plan()  # P1: OPD, budget 2025, outcome target 2025, no maturity indicator; quick win due 2025-06
    status = masterplan_status(plan, "2025-06", _rows({"physical_progress": 30.0, "period": "2025-06"}), RULES)
    ready = evaluation_readiness(plan, status, "2025-06", kominfo).set_index("component")
    assert ready.loc["output", "ratio"] == 1.0 and ready.loc["output", "score"] == 5.0
    assert ready.loc["outcome", "ratio"] == 0.5  # 30 % reported of 60 % planned
    assert ready.loc["impact", "ratio"] == 0.0  # no linked maturity indicator
    assert (ready.loc["quick_win", "ratio"], ready.loc["quick_win", "score"]) == (0.0, 1.0)  # due, not delivered
    assert ready.loc["baseline", "ratio"] == 0.0  # baselines given without their year
    parts = ready[ready["component_type"] == "part"]
    assert parts["weight"].sum() == 100.0
    assert ready.loc["index", "score"] == pytest.approx((parts["score"] * parts["weight"]).sum() / 100)
    assert ready.loc["outcome", "score"] == 3.0 and set(ready["methodology_version"]) == {kominfo.version}


def test_a_part_with_nothing_due_yet_is_not_applicable_and_the_index_is_renormalised_over_the_others():
    from kotacerdas.masterplan.readiness import evaluation_readiness
    from kotacerdas.regulators import load_regulator_methodology

    kominfo = load_regulator_methodology(PROJECT.pipeline.kominfo_methodology, PROJECT.dir)
    plan = _plan()  # the quick win falls due in 2025-06: in March nothing is due, which is no failure
    status = masterplan_status(plan, "2025-03", _rows({"physical_progress": 30.0, "period": "2025-03"}), RULES)
    ready = evaluation_readiness(plan, status, "2025-03", kominfo).set_index("component")
    quick = ready.loc["quick_win"]
    assert pd.isna(quick["ratio"]) and pd.isna(quick["score"]) and pd.isna(quick["contribution"])
    assert quick["evidence"] == "not applicable: no quick win due by 2025-03"
    parts = ready[(ready["component_type"] == "part") & ready["score"].notna()]
    assert len(parts) == len(kominfo.parts) - 1
    expected = (parts["score"] * parts["weight"]).sum() / parts["weight"].sum()
    assert ready.loc["index", "score"] == pytest.approx(expected)
    assert parts["contribution"].sum() == pytest.approx(expected)
    assert ready.loc["index", "evidence"].endswith("not applicable yet: quick_win")
    # in June the quick win is due and not delivered: then it counts, as the lowest score
    june = masterplan_status(plan, "2025-06", _rows({"physical_progress": 30.0, "period": "2025-06"}), RULES)
    assert evaluation_readiness(plan, june, "2025-06", kominfo).set_index("component").loc["quick_win", "score"] == 1.0


def test_a_quick_win_delivered_earlier_stays_delivered_when_a_report_goes_missing(postgres_url):
    import sqlalchemy as sa

    from kotacerdas.masterplan.partition import delivered_quick_wins
    from kotacerdas.warehouse.engine import create_warehouse_engine
    from kotacerdas.warehouse.publish import publish_partition

    engine = create_warehouse_engine(sa.make_url(postgres_url))
    try:
        june = masterplan_status(_plan(), "2025-06", _rows({"physical_progress": 100.0, "period": "2025-06"}), RULES)
        publish_partition(engine, "19.71", "2025-06", june.frames(), run_id="r1")
        assert delivered_quick_wins(engine, "19.71", "2025-07") == {"P1"}
        assert delivered_quick_wins(engine, "19.71", "2025-06") == set()  # only earlier months count
        # a month with no version in force (re-dated plan) clears what an earlier run published there
        publish_partition(engine, "19.71", "2025-06", empty_frames(), run_id="r2")
        assert delivered_quick_wins(engine, "19.71", "2025-07") == set()
    finally:
        engine.dispose()
    july = masterplan_status(_plan(), "2025-07", _rows().iloc[0:0], RULES, delivered_before={"P1"})
    row = july.programmes.set_index("programme_code").loc["P1"]
    assert row["status"] == "unknown" and row["quick_win_delivered"]  # no report: status unknown, still delivered
    city = july.rollups.set_index(["level", "code"]).loc[("city", "19.71")]
    assert (city["quick_wins_due"], city["quick_wins_delivered"]) == (1, 1)


def _official(year: str, **parts: float) -> pd.DataFrame:
    """An official Kominfo evaluation of a year as the yearly job publishes it (kotacerdas.regulators.annual)."""
    from kotacerdas.regulators import load_regulator_methodology
    from kotacerdas.regulators.annual import annual_indices

    evaluation = pd.DataFrame([{"part": p, "item": "", "score": s, "evaluator": "Kominfo"} for p, s in parts.items()])
    empty = pd.DataFrame()
    got = annual_indices(
        "19.71",
        year,
        evaluation=evaluation,
        assessments=empty,
        responses=empty,
        kominfo=load_regulator_methodology(PROJECT.pipeline.kominfo_methodology, PROJECT.dir),
        spbe=load_regulator_methodology(PROJECT.pipeline.spbe_methodology, PROJECT.dir),
        ikm_methodology=load_regulator_methodology(PROJECT.pipeline.ikm_methodology, PROJECT.dir),
    )
    return got.frames["regulator_kominfo_evaluation"]


def test_baseline_measures_improvement_over_the_previous_official_evaluation_in_the_warehouse(postgres_url):
    import sqlalchemy as sa

    from kotacerdas.masterplan.partition import previous_evaluation
    from kotacerdas.masterplan.readiness import evaluation_readiness
    from kotacerdas.regulators import load_regulator_methodology
    from kotacerdas.warehouse.engine import create_warehouse_engine
    from kotacerdas.warehouse.publish import publish_partition

    kominfo = load_regulator_methodology(PROJECT.pipeline.kominfo_methodology, PROJECT.dir)
    engine = create_warehouse_engine(sa.make_url(postgres_url))
    try:
        assert previous_evaluation(engine, "19.71", "2025-06") is None  # nothing published yet
        y2023 = _official("2023", baseline=2, output=2, outcome=2, impact=2, quick_win=2)
        y2024 = _official("2024", baseline=3, output=4, outcome=2, impact=1, quick_win=5)
        publish_partition(engine, "19.71", "2023", {"regulator_kominfo_evaluation": y2023}, run_id="r23")
        publish_partition(engine, "19.71", "2024", {"regulator_kominfo_evaluation": y2024}, run_id="r24")
        # an incomplete figure of another year is no baseline
        incomplete = _official("2022", baseline=5, output=5, outcome=5, impact=5, quick_win=5)
        incomplete = incomplete.assign(status="incomplete")
        publish_partition(engine, "19.71", "2022", {"regulator_kominfo_evaluation": incomplete}, run_id="r22")
        previous = previous_evaluation(engine, "19.71", "2025-06")
        in_2024 = previous_evaluation(engine, "19.71", "2024-11")  # the evaluation of the month's year is not previous
        in_2023 = previous_evaluation(engine, "19.71", "2023-05")
        official = y2024.set_index("component")["score"]
    finally:
        engine.dispose()
    assert previous is not None and (previous.year, previous.earlier_year) == ("2024", "2023")
    assert previous.scores["index"] == pytest.approx(official["index"])
    assert in_2024 is not None and (in_2024.year, in_2024.earlier_year) == ("2023", None)
    assert in_2023 is None  # 2022 was published incomplete

    plan = _plan()
    status = masterplan_status(plan, "2025-06", _rows({"physical_progress": 30.0, "period": "2025-06"}), RULES)
    ready = evaluation_readiness(plan, status, "2025-06", kominfo, previous).set_index("component")
    others = ["output", "outcome", "impact", "quick_win"]
    improved = [p for p in others if ready.loc[p, "score"] > official[p]]
    # self-assessed: output 5 (> 4), outcome 3 (> 2), impact 1 (= 1), quick win 1 (< 5)
    assert improved == ["output", "outcome"]
    assert ready.loc["baseline", "ratio"] == 0.5 and ready.loc["baseline", "score"] == 3.0
    evidence = ready.loc["baseline", "evidence"]
    assert "previous evaluation 2024" in evidence and "2 of 4" in evidence
    change = official["index"] - y2023.set_index("component")["score"]["index"]
    assert f"2023→2024 {change:+.2f}" in evidence
    first = evaluation_readiness(plan, status, "2025-06", kominfo, None).set_index("component")
    assert first.loc["baseline", "evidence"].startswith("no previous evaluation")
    assert first.loc["baseline", "ratio"] == 0.0  # then the plan's fact base: baselines given without their year


def test_months_of_a_city_published_together_carry_a_quick_win_delivered_earlier_in_the_group(tmp_path):
    """A backfill along a city publishes several of its months in one transaction: June's delivered quick win is
    not in the warehouse yet when July is computed, and must count as delivered before all the same (as it does
    when June is published first); the result is the same as month by month."""
    import sqlalchemy as sa

    from kotacerdas.masterplan.partition import delivered_quick_wins, group_status
    from kotacerdas.warehouse.engine import create_warehouse_engine
    from kotacerdas.warehouse.publish import publish_partition

    months = ["2025-06", "2025-07"]
    landing = tmp_path / "landing"
    write_progress_drops(PROJECT, landing, [CITY], months, faults=False)
    (landing / CITY / "BPKPAD" / "laporan_masterplan_2025-07.csv").unlink()  # ECO-01's OPD reports nothing in July
    gates = {}
    for month in months:
        ingest = ingest_table(
            PROJECT, "masterplan_progress", CITY, month, raw_dir=tmp_path / "raw", landing_dir=landing
        )
        staged = stage_table(MASTERPLAN_PROGRESS, ingest.frame, city=CITY, month=month, pii_key=None)
        gates[month] = run_quality_gate(
            PROJECT, MASTERPLAN_PROGRESS, staged, city=CITY, month=month, now=pd.Timestamp(NOW)
        )
    engine = create_warehouse_engine(sa.make_url(f"duckdb:///{tmp_path / 'w.duckdb'}"))
    try:
        together = group_status(PROJECT, engine, [(CITY, m, gates[m]) for m in reversed(months)])
        one_by_one = {}
        for month in months:
            one_by_one[month] = partition_status(
                PROJECT, CITY, month, gates[month], delivered_quick_wins(engine, CITY, month)
            )
            publish_partition(engine, CITY, month, one_by_one[month].frames(), run_id="r")
    finally:
        engine.dispose()
    july = together[(CITY, "2025-07")].programmes.set_index("programme_code").loc["ECO-01"]
    assert july["status"] == "unknown" and july["quick_win_delivered"]  # done in June, no report in July
    for month in months:
        pd.testing.assert_frame_equal(together[(CITY, month)].programmes, one_by_one[month].programmes)


def test_the_gap_behind_the_plan_is_written_half_up_as_every_published_figure():
    from kotacerdas.masterplan.status import classify

    programme = _plan().dimensions[0].programmes[0]
    # 2.25 is exact in binary: Python's format would write 2.2 (half to even); the tables write 2.3
    status, why = classify(programme, "2025-05", 50.0, 47.75, "received", RULES)
    assert status == "on_track" and why.startswith("2.3 points behind the plan")
    # 50 - 47.85 is 2.1499… in floats: the gap is taken on the decimals the plan and the report state
    assert classify(programme, "2025-05", 50.0, 47.85, "received", RULES)[1].startswith("2.2 points behind")
    # and so is the rule's edge: exactly 10 behind is at risk (≥ at_risk_gap), whatever the floats say
    assert classify(programme, "2025-05", 50.3, 40.3, "received", RULES)[0] == "at_risk"


def test_readiness_writes_the_changes_since_the_last_evaluation_half_up_with_their_sign():
    from kotacerdas.masterplan.readiness import PreviousEvaluation, baseline_evidence

    previous = PreviousEvaluation(
        "2024", {"index": 2.125, "quick_wins": 3.0, "governance": 2.5}, "2023", {"index": 2.25}
    )
    _, text = baseline_evidence(previous, {"quick_wins": 3.125, "governance": 2.496}, (None, ""))
    assert "(official index 2.13)" in text  # format(2.125, ".2f") gives 2.12
    assert "quick_wins +0.13" in text  # 3.125 - 3.0
    assert "governance 0.00" in text  # -0.004: no sign on a change that rounds to nothing
    assert "2023→2024 -0.13" in text  # 2.125 - 2.25: half up, away from zero
    assert "1 of 2 components self-assessed above it" in text


def test_a_gate_s_verdict_writes_its_rejected_share_half_up():
    from kotacerdas.quality.gate import GateResult
    from kotacerdas.schemas import RULES_COLUMNS, empty_quarantine, typed_frame

    empty, rules = pd.DataFrame(), typed_frame([], RULES_COLUMNS)
    gate = GateResult("complaints", "19.71", "2025-03", empty, empty_quarantine(), rules, 80, 23, 0.05)
    # 23 / 80 is 28.75 %; in floats 100 × 0.2875 is 28.749…, which rounds to 28.7
    assert "28.8% of 80 rows rejected (threshold 5%)" in gate.verdict()
    # the early warning's shares too: 2 of 80, with limits of 1.25 % and 3.125 % (half up: 3.13, not 3.12)
    warned = GateResult("t", "19.71", "2025-03", empty, empty_quarantine(), rules, 80, 2, 0.03125, warn_share=0.0125)
    assert "2.50% of 80 rows rejected (warns above 1.25%, blocks above 3.13%)" in warned.verdict()
