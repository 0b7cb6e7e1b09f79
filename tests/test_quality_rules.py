"""The table-level rules added to the suites: volume against the earlier months in the raw zone (with its "no
history" start), freshness, percentages unless the catalog allows more, and the suite settings' errors."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
import yaml
from conftest import OPD_TEST_TOKEN, edited_project, fast_rest, simulator_env
from test_quality import request, staged

from kotacerdas.errors import ConfigError
from kotacerdas.ingest import ingest_table
from kotacerdas.quality import load_suite, validate_table
from kotacerdas.quality.gate import run_quality_gate, within_threshold
from kotacerdas.quality.volume import check_volume, delivered_rows_history
from kotacerdas.schemas import COMPLAINTS, INDICATOR_SUBMISSIONS, SERVICE_REQUESTS
from kotacerdas.simulator import OpdSimulator
from kotacerdas.stage.staging import stage_table

CITY = "19.71"


@pytest.fixture(scope="module")
def project(opd_project, tmp_path_factory):
    return edited_project(tmp_path_factory.mktemp("qrules"), opd_project, edit_sources=fast_rest)


def _ingest(project, sim, raw, month, table="complaints"):
    env = simulator_env(sim)
    return ingest_table(project, table, CITY, month, raw_dir=raw, landing_dir=raw, env=env)


def test_volume_compares_rows_delivered_with_the_earlier_months_of_the_raw_zone(project, tmp_path):
    raw = tmp_path / "raw"
    suite = load_suite("complaints", project)
    with OpdSimulator(project, seed=42, token=OPD_TEST_TOKEN) as sim:
        first = _ingest(project, sim, raw, "2025-01")
        assert delivered_rows_history(project, raw, "complaints", CITY, "2025-01", 6) == {}
        staging = stage_table(COMPLAINTS, first.frame, city=CITY, month="2025-01", pii_key=None)
        gate = run_quality_gate(project, COMPLAINTS, staging, city=CITY, month="2025-01", raw_dir=raw)
        volume = gate.rules.set_index("rule").loc["volume_within_band"]
        assert volume["success"] and volume["details"].startswith("no history: 0 earlier month(s)")
        assert volume["observed_value"] == str(len(first.frame))

        second = _ingest(project, sim, raw, "2025-02")
        _ingest(project, sim, raw, "2025-02")  # a re-run: the latest fetch counts, not the sum of both
        history = delivered_rows_history(project, raw, "complaints", CITY, "2025-04", 6)
        assert history == {"2025-01": len(first.frame), "2025-02": len(second.frame)}

        # Five of the OPDs fail in April: far fewer rows than usual.
        for opd in ("DISDUKCAPIL", "DPMPTSP", "DINKES", "DISKOMINFO", "DLH"):
            sim.add_fault(f"opd_api_complaints:error:status=404,opd={opd},month=2025-04")
        april = _ingest(project, sim, raw, "2025-04")
    staging = stage_table(COMPLAINTS, april.frame, city=CITY, month="2025-04", pii_key=None)
    gate = run_quality_gate(project, COMPLAINTS, staging, city=CITY, month="2025-04", raw_dir=raw)
    volume = gate.rules.set_index("rule").loc["volume_within_band"]
    assert not volume["success"] and volume["severity"] == "warn"
    assert " rows, below the band " in volume["details"] and "2025-01" in volume["details"]
    assert gate.passed  # a warning: the rows that did arrive flow on
    warn = gate.check_report("warn")
    assert not warn.passed and "volume_within_band" in warn.failed_table_rules
    assert suite.volume.lower == 0.5 and suite.volume.upper == 2.0


def test_volume_band_and_the_minimum_history():
    suite = load_suite("service_requests")
    rule = suite.volume
    assert check_volume(rule, 10, {"2025-01": 100}).note.startswith("no history: 1 earlier month(s)")
    ok = check_volume(rule, 150, {"2025-01": 100, "2025-02": 120, "2025-03": 80})
    assert ok.success and (ok.lower, ok.upper) == (50, 200)
    assert not check_volume(rule, 201, {"2025-01": 100, "2025-02": 100}).success


def test_an_error_volume_rule_blocks_the_partition(tmp_path, opd_project):
    project = edited_project(tmp_path, opd_project)
    path = project.dir / "expectations" / "service_requests.yaml"
    path.write_text(
        path.read_text(encoding="utf-8")
        .replace("volume:                     # rows delivered", "volume:  # rows delivered")
        .replace("  severity: warn\n  history_months", "  severity: error\n  history_months", 1),
        encoding="utf-8",
    )
    suite = load_suite("service_requests", project)
    assert suite.volume.severity == "error"
    result = validate_table(
        staged(SERVICE_REQUESTS, [request(0)]),
        SERVICE_REQUESTS,
        suite,
        city=CITY,
        month="2024-03",
        volume_history={"2024-01": 500, "2024-02": 400},
    )
    assert result.failed_table_rules == ("volume_within_band",) and not within_threshold(
        result.rejected_share, result.failed_table_rules, 1.0
    )


def test_freshness_is_measured_from_the_end_of_the_month_or_now():
    suite = load_suite("service_requests")
    late = [request(0, submitted_at="2024-03-30 10:00", completed_at=None)]
    early = [request(0, submitted_at="2024-03-12 10:00", completed_at=None)]

    def fresh(rows, now):
        result = validate_table(
            staged(SERVICE_REQUESTS, rows), SERVICE_REQUESTS, suite, city=CITY, month="2024-03", now=pd.Timestamp(now)
        )
        return result.rules.set_index("rule").loc["data_fresh"]

    assert fresh(late, "2024-06-01")["success"]
    stale = fresh(early, "2024-06-01")
    assert not stale["success"] and stale["details"] == "expected >= 2024-03-29 00:00:00"
    assert stale["observed_value"] == "2024-03-12 10:00:00"
    assert fresh(early, "2024-03-14 09:00")["success"]  # the month is still running: 3 days before now


def test_percentages_unless_the_catalog_allows_more(tmp_path, opd_project):
    rows = [
        {
            "city_code": CITY,
            "opd_code": "DLH",
            "indicator_code": code,
            "period": "2024-03",
            "value": 130.0,
            "unit": "%",
            "evidence_ref": "x",
            "_raw_file": "f",
            "_raw_row": i,
        }
        for i, code in enumerate(["ENV_WASTE_COLLECTED_SHARE", "BRD_TOURIST_VISITS"])
    ]
    df = staged(INDICATOR_SUBMISSIONS, rows)
    result = validate_table(df, INDICATOR_SUBMISSIONS, load_suite("indicator_submissions"), city=CITY, month="2024-03")
    assert result.rejected[["rule", "_raw_row"]].values.tolist() == [["value_percent_in_range", 0]]  # visits: no %

    def allow(data):
        for ind in data["indicators"]:
            if ind["code"] == "ENV_WASTE_COLLECTED_SHARE":
                ind["allows_over_100"] = True

    project = edited_project(tmp_path, opd_project)
    path = project.dir / "indicators.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    allow(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    result = validate_table(
        df, INDICATOR_SUBMISSIONS, load_suite("indicator_submissions", project), city=CITY, month="2024-03"
    )
    assert result.rejected.empty


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("freshness_max_age_days: 3", "freshness_max_age_days: -1"), "freshness_max_age_days"),
        (
            lambda t: t.replace("freshness_max_age_days: 3   #", "#"),
            r"uses \$\{freshness_floor\} but the suite sets no",
        ),
        (lambda t: t.replace("band: [0.5, 2.0]", "band: [2.0, 0.5]"), "0 <= lower < upper"),
        (
            lambda t: t.replace("  severity: warn\n  history_months", "  id: key_unique\n  history_months", 1),
            "is also a rule id",
        ),
    ],
)
def test_bad_suite_settings(tmp_path, opd_project, edit, message):
    project = edited_project(tmp_path, opd_project)
    path = project.dir / "expectations" / "service_requests.yaml"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_suite("service_requests", project)


def _submission(city: str, code: str, opd: str, value: float, row: int) -> dict:
    return {
        "city_code": city,
        "opd_code": opd,
        "indicator_code": code,
        "period": "2024-03",
        "value": value,
        "unit": "jumlah",
        "evidence_ref": "x",
        "_raw_file": "f",
        "_raw_row": row,
    }


def test_a_count_per_resident_is_held_to_its_own_citys_population():
    """The same number of tourist visits is plausible for Pangkalpinang (242,285 residents: at most 20,000 per 1,000,
    4,845,700) and not for Bangka Selatan (216,079: 4,321,580); the steward reads the bound for the city."""
    suite = load_suite("indicator_submissions")
    rows = [
        ("BRD_TOURIST_VISITS", "DISPAR", 4_500_000.0),
        ("BRD_NEW_BUSINESSES", "DPMPTSP", 30_000.0),  # 124 / 139 per 1,000: above 100 for both
        ("SOC_DIGITAL_LITERACY_PARTICIPANTS", "DISKOMINFO", 230_000.0),  # 949 / 1,064 per 1,000
        ("GOV_OPEN_DATA_SHARE", "DISKOMINFO", 80.0),
    ]
    rejected = {}
    for city in ("19.71", "19.03"):
        df = staged(INDICATOR_SUBMISSIONS, [_submission(city, *r, i) for i, r in enumerate(rows)])
        result = validate_table(df, INDICATOR_SUBMISSIONS, suite, city=city, month="2024-03")
        rejected[city] = sorted(zip(result.rejected["_raw_row"], result.rejected["rule"], strict=True))
        if city == "19.03":
            reasons = dict(zip(result.rejected["rule"], result.rejected["reason"], strict=True))
    assert rejected["19.71"] == [(1, "new_businesses_plausible")]
    assert rejected["19.03"] == [
        (0, "tourist_visits_plausible"),
        (1, "new_businesses_plausible"),
        (2, "digital_literacy_participants_plausible"),
    ]
    # the value as typed (4500000, not 4500000.0), the bound for the city
    assert reasons["tourist_visits_plausible"].endswith("(at most 4,321,580 for 216,079 residents; got 4500000)")


def test_a_bound_per_resident_is_exact_for_every_kabupaten_kota():
    """1,000 participants per 1,000 residents is exactly the population: Kabupaten Sampang's 1,033,926 participants
    pass (scaled as bound × (population / 1,000), its bound was a float step under 1,033,926 and rejected them), and
    20 visits per resident of Aceh Utara is exactly 12,820,140 (it was 12,820,139.999999998)."""
    suite = load_suite("indicator_submissions")
    populations = {"11.08": 641_007, "35.27": 1_033_926, **suite.populations}
    codes = {**suite.config_values, "city_codes": [*populations]}
    wide = dataclasses.replace(suite, config_values=codes, populations=populations)
    literacy = wide.rule("digital_literacy_participants_plausible")
    assert wide.bound_kwargs(literacy, "35.27", "2024-03")["max_value"] == 1_033_926
    assert wide.bound_kwargs(wide.rule("tourist_visits_plausible"), "11.08", "2024-03")["max_value"] == 12_820_140
    rows = [_submission("35.27", "SOC_DIGITAL_LITERACY_PARTICIPANTS", "DISKOMINFO", 1_033_926.0, 0)]
    df = staged(INDICATOR_SUBMISSIONS, rows)
    result = validate_table(df, INDICATOR_SUBMISSIONS, wide, city="35.27", month="2024-03")
    assert "digital_literacy_participants_plausible" not in set(result.rejected["rule"])


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "value", "value_set": [1]}},
            "per_residents is for expect_column_values_to_be_between",
        ),
        ({"type": "expect_column_values_to_be_between", "kwargs": {"column": "value"}}, "got neither"),
        (
            {"type": "expect_column_values_to_be_between", "kwargs": {"column": "value", "max_value": "${year}"}},
            "as finite numbers",
        ),
        (
            {"type": "expect_column_values_to_be_between", "kwargs": {"column": "value", "max_value": float("inf")}},
            "as finite numbers",
        ),
        (  # YAML's `true` is not 1 resident, nor "1000" a number
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "value", "max_value": 10},
                "per_residents": True,
            },
            "per_residents",
        ),
        (
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "value", "max_value": 10},
                "per_residents": "1000",
            },
            "per_residents",
        ),
    ],
)
def test_per_residents_only_scales_a_range_of_numbers(tmp_path, opd_project, rule, message):
    project = edited_project(tmp_path, opd_project)
    path = project.dir / "expectations" / "indicator_submissions.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    scaled = {"id": "scaled", "severity": "error", "description": "d", "per_residents": 1000}
    data["expectations"].append({**scaled, **rule})
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_suite("indicator_submissions", project)


def test_an_implausible_value_is_rejected_not_published():
    # 29 nines once passed the gate as new business registrations, moved Smart Branding 71.20 → 83.42 and broke the
    # scorecards; a NIK (16 digits) typed in the value column is the same mistake
    # a phone number typed as a spreadsheet number loses its 0: 0812345678 arrives as 812,345,678 tourist visits
    values = [99999999999999999999999999999.0, 3_271_010_101_900_001.0, float("inf"), 812_345_678.0]
    values += [1_250_000.0, 12.0]
    codes = ["BRD_NEW_BUSINESSES", "SOC_DIGITAL_LITERACY_PARTICIPANTS", "LIV_EMERGENCY_RESPONSE_MINUTES"]
    codes += ["BRD_TOURIST_VISITS", "BRD_TOURIST_VISITS", "GOV_OPEN_DATA_SHARE"]
    opds = ["DPMPTSP"] * 4 + ["DISPAR", "DPMPTSP"]  # one key each: the visits of two OPDs
    rows = [
        {
            "city_code": CITY,
            "opd_code": opd,
            "indicator_code": code,
            "period": "2024-03",
            "value": value,
            "unit": "count",
            "evidence_ref": "x",
            "_raw_file": "f",
            "_raw_row": i,
        }
        for i, (code, opd, value) in enumerate(zip(codes, opds, values, strict=True))
    ]
    df = staged(INDICATOR_SUBMISSIONS, rows)
    result = validate_table(df, INDICATOR_SUBMISSIONS, load_suite("indicator_submissions"), city=CITY, month="2024-03")
    # 1.25 million a month is a lot, not impossible: rows 4 and 5 break no rule
    rejected = sorted(zip(result.rejected["_raw_row"], result.rejected["rule"], strict=True))
    assert sorted(row for row, rule in rejected if rule == "value_plausible") == [0, 1, 2, 3]
    assert {row for row, _ in rejected} == {0, 1, 2, 3}  # some also exceed their bound per resident


def test_one_bad_value_of_a_citys_dozen_does_not_block_its_month(opd_project):
    """A city sends about 13 indicator values a month: one rejected (7.7 %) used to block the whole city-month, every
    other OPD's values with it. The suite allows a quarter; four bad values of 13 (31 %) still block."""
    from kotacerdas.schemas import empty_quarantine
    from kotacerdas.stage.staging import StagingResult

    codes = load_suite("indicator_submissions", opd_project).config_values["submitted_indicators"][:13]

    def gate(bad: int):  # the first `bad` values negative: value_non_negative rejects them
        rows = [_submission("19.71", code, "DISKOMINFO", -1.0 if i < bad else 5.0, i) for i, code in enumerate(codes)]
        frame = staged(INDICATOR_SUBMISSIONS, rows)
        staging = StagingResult(frame, empty_quarantine(), len(frame))
        return run_quality_gate(opd_project, INDICATOR_SUBMISSIONS, staging, city="19.71", month="2024-03")

    one, four = gate(1), gate(4)
    assert len(codes) == 13
    assert one.rejected_rows == 1 and one.within_threshold
    assert four.rejected_rows == 4 and not four.within_threshold
