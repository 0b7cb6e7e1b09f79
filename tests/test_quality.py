"""The quality gate with real GX: each defect is rejected with the right rule and severity, nothing else."""

from __future__ import annotations

import time
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kotacerdas import schemas
from kotacerdas.config import ProjectConfig
from kotacerdas.errors import ConfigError, QualityGateError
from kotacerdas.quality import load_suite, load_suites, validate_table
from kotacerdas.quality.gate import within_threshold
from kotacerdas.schemas import (
    COMPLAINTS,
    INDICATOR_SUBMISSIONS,
    RULES_COLUMNS,
    SATISFACTION_RESPONSES,
    SERVICE_REQUESTS,
)

CITY = "19.71"
MONTH = "2024-03"
CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"


@cache
def suite(table_name: str):
    # Module-level cache: GX import, context and suite checks happen once per test session.
    return load_suite(table_name, ProjectConfig(CONFIG_DIR))


def staged(table: schemas.CanonicalTable, rows: list[dict]) -> pd.DataFrame:
    """A staged frame as staging produces it: canonical columns and nullable dtypes, lineage included."""
    data = {}
    for col, dtype in table.all_columns.items():
        values = [r.get(col) for r in rows]
        if dtype == schemas.TIMESTAMP:
            data[col] = pd.Series(pd.to_datetime(pd.Series(values, dtype="object"), format="ISO8601"), dtype=dtype)
        else:
            data[col] = pd.Series(values, dtype=dtype)
    return pd.DataFrame(data)


def failures(result) -> set[tuple[str, str, str]]:
    """(record_key, rule, severity) of every quarantine row."""
    q = result.rejected
    return set(zip(q["record_key"], q["rule"], q["severity"], strict=True))


def request(i: int, **over) -> dict:
    row = {
        "request_id": f"R{i}",
        "city_code": CITY,
        "opd_code": "DISDUKCAPIL",
        "service_code": "KTP-EL",
        "channel": "online",
        "status": "completed",
        "submitted_at": "2024-03-05 09:00",
        "completed_at": "2024-03-06 10:00",
        "sla_days": 3,
        "applicant_nik": "x",
        "applicant_phone": "y",
        "_raw_file": "raw/sr.json",
        "_raw_row": i,
    }
    return {**row, **over}


# --- service_requests: one row per defect class ---------------------------------------------------------


@pytest.fixture(scope="module")
def sr_result():
    rows = [
        request(0),  # clean
        request(1, channel="walk-in"),
        request(2, completed_at="2024-03-04 08:00"),  # completed before submitted
        request(3, submitted_at="2024-04-01 00:00", completed_at=None),  # first instant of next month: outside
        request(4, request_id=None),  # null key
        request(5, request_id="DUP"),
        request(6, request_id="DUP"),  # duplicate key: both copies rejected
        request(7, opd_code="DISPAR"),  # DISPAR exists but does not deliver service_requests
        request(8, sla_days=120),  # warn only
        request(9, status="in_process", completed_at=None, submitted_at="2024-03-31 23:59:59"),  # clean, NaT ok
        request(10, opd_code="NOPE", channel=None),  # unknown OPD; a null channel is not "not in set"
        request(11, service_code=None, sla_days=None),  # warn only; null sla_days is not out of range
    ]
    df = staged(SERVICE_REQUESTS, rows)
    df.index = pd.RangeIndex(100, 100 + len(df))  # the gate must not rely on a 0..n-1 index
    return df, validate_table(df, SERVICE_REQUESTS, suite("service_requests"), city=CITY, month=MONTH)


def test_each_defect_rejected_with_its_rule(sr_result):
    _, result = sr_result
    key = f"{CITY}|DISDUKCAPIL|"
    assert failures(result) == {
        (key + "R1", "channel_in_set", "error"),
        (key + "R2", "completed_after_submitted", "error"),
        (key + "R3", "submitted_at_in_month", "error"),
        (key, "request_id_not_null", "error"),
        (key + "DUP", "key_unique", "error"),  # listed twice (rows 5 and 6), see below
        (f"{CITY}|DISPAR|R7", "opd_code_in_set", "error"),
        (key + "R8", "sla_days_unusually_large", "warn"),
        (f"{CITY}|NOPE|R10", "opd_code_in_set", "error"),
        (key + "R11", "service_code_not_null", "warn"),
    }
    dup = result.rejected[result.rejected["rule"] == "key_unique"]
    assert dup["_raw_row"].tolist() == [5, 6]


def test_valid_rows_and_share(sr_result):
    df, result = sr_result
    assert result.valid["request_id"].tolist() == ["R0", "R8", "R9", "R11"]  # warn rows stay valid
    assert list(result.valid.columns) == list(df.columns)
    assert (result.valid.dtypes == df.dtypes).all()
    assert result.valid.index.tolist() == [100, 108, 109, 111]
    assert result.rejected_share == pytest.approx(8 / 12)
    assert not within_threshold(result.rejected_share, result.failed_table_rules, 0.05) and within_threshold(
        result.rejected_share, result.failed_table_rules, 0.7
    )


def test_quarantine_contract(sr_result):
    _, result = sr_result
    q = result.rejected
    assert list(q.columns) == list(schemas.QUARANTINE_COLUMNS)
    assert q.dtypes.astype(str).to_dict() == {c: d for c, d in schemas.QUARANTINE_COLUMNS.items()}
    assert set(q["table_name"]) == {"service_requests"} and set(q["city_code"]) == {CITY}
    assert set(q["period"]) == {MONTH} and set(q["_raw_file"]) == {"raw/sr.json"}
    by_rule = q.set_index("rule")
    assert by_rule.loc["channel_in_set", "value"] == "walk-in"
    assert by_rule.loc["channel_in_set", "column_name"] == "channel"
    assert by_rule.loc["channel_in_set", "reason"] == "The channel is online or offline (got walk-in)"
    assert by_rule.loc["channel_in_set", "_raw_row"] == 1
    assert pd.isna(by_rule.loc["request_id_not_null", "value"])
    assert by_rule.loc["request_id_not_null", "reason"].endswith("(got null)")
    assert by_rule.loc["completed_after_submitted", "column_name"] == "completed_at,submitted_at"
    assert by_rule.loc["completed_after_submitted", "value"] == (
        "completed_at=2024-03-04 08:00:00; submitted_at=2024-03-05 09:00:00"
    )
    assert by_rule.loc["sla_days_unusually_large", "value"] == "120"
    assert q["_raw_row"].tolist() == sorted(q["_raw_row"].tolist())  # input row order


def test_rules_table(sr_result):
    _, result = sr_result
    rules = result.rules.set_index("rule")
    assert list(result.rules.columns) == list(RULES_COLUMNS)
    assert result.rules["rule"].tolist() == suite("service_requests").rule_ids  # file order, then volume
    assert rules.loc["columns_match_schema", "success"]  # table-level: in rules, no quarantine rows
    assert pd.isna(rules.loc["columns_match_schema", "unexpected_count"])
    assert rules.loc["key_unique", "unexpected_count"] == 2
    assert not rules.loc["sla_days_unusually_large", "success"]
    assert rules.loc["sla_days_unusually_large", "severity"] == "warn"
    assert rules.loc["status_in_set", "success"] and rules.loc["status_in_set", "element_count"] == 12
    assert result.failed_table_rules == ()


# --- the other tables -----------------------------------------------------------------------------------


def test_complaints_cross_column_and_city():
    base = {
        "city_code": CITY,
        "opd_code": "DINKES",
        "category": "layanan",
        "status": "resolved",
        "received_at": "2024-03-10 08:00",
        "first_response_at": "2024-03-10 09:00",
        "resolved_at": "2024-03-12 08:00",
        "reporter_email": "h",
        "_raw_file": "c.json",
    }
    rows = [
        {**base, "complaint_id": "C0", "_raw_row": 0},
        {**base, "complaint_id": "C1", "_raw_row": 1, "resolved_at": "2024-03-09 08:00"},
        {**base, "complaint_id": "C2", "_raw_row": 2, "first_response_at": "2024-03-01 08:00"},
        {**base, "complaint_id": "C3", "_raw_row": 3, "city_code": "19.03"},  # known city, other partition
        {
            **base,
            "complaint_id": "C4",
            "_raw_row": 4,
            "status": "open",
            "category": None,
            "first_response_at": None,
            "resolved_at": None,
        },
        {**base, "complaint_id": "C5", "_raw_row": 5, "received_at": "2024-02-29 23:59"},
    ]
    result = validate_table(staged(COMPLAINTS, rows), COMPLAINTS, suite("complaints"), city=CITY, month=MONTH)
    k = f"{CITY}|DINKES|"
    assert failures(result) == {
        (k + "C1", "resolved_after_received", "error"),
        (k + "C2", "first_response_after_received", "error"),
        ("19.03|DINKES|C3", "city_code_is_partition", "error"),
        (k + "C4", "status_in_set", "error"),
        (k + "C4", "category_not_null", "warn"),
        (k + "C5", "received_at_in_month", "error"),
    }
    assert result.valid["complaint_id"].tolist() == ["C0"]


def test_ikm_answers_out_of_scale_and_missing():
    base = {
        "city_code": CITY,
        "opd_code": "DPMPTSP",
        "service_code": "NIB",
        "surveyed_at": "2024-03-15",
        **{u: 3 for u in schemas.IKM_ELEMENTS},
        "_raw_file": "ikm.csv",
    }
    rows = [
        {**base, "response_id": "S0", "_raw_row": 0},
        {**base, "response_id": "S1", "_raw_row": 1, "u4": 5},
        {**base, "response_id": "S2", "_raw_row": 2, "u9": 0, "u1": None},
        {**base, "response_id": "S3", "_raw_row": 3, "opd_code": "DISHUB"},  # no IKM from DISHUB in config
    ]
    df = staged(SATISFACTION_RESPONSES, rows)
    result = validate_table(df, SATISFACTION_RESPONSES, suite("satisfaction_responses"), city=CITY, month=MONTH)
    k = f"{CITY}|DPMPTSP|"
    assert failures(result) == {
        (k + "S1", "u4_in_range", "error"),
        (k + "S2", "u9_in_range", "error"),
        (k + "S2", "u1_answered", "error"),
        (f"{CITY}|DISHUB|S3", "opd_code_in_set", "error"),
    }
    assert result.rejected.set_index("rule").loc["u4_in_range", "value"] == "5"
    assert result.valid["response_id"].tolist() == ["S0"]


def test_indicator_submissions_period_and_value():
    C = [
        "ENV_WASTE_COLLECTED_SHARE",
        "ENV_GREEN_OPEN_SPACE_SHARE",
        "ENV_LED_STREETLIGHT_SHARE",
        "GOV_OPEN_DATA_SHARE",
        "BRD_TOURIST_VISITS",
    ]  # catalog codes OPDs submit
    base = {
        "city_code": CITY,
        "opd_code": "DLH",
        "period": MONTH,
        "value": 12.5,
        "unit": "%",
        "evidence_ref": "doc-1",
        "_raw_file": "dlh.xlsx",
    }
    rows = [
        {**base, "indicator_code": C[0], "_raw_row": 0},
        {**base, "indicator_code": C[1], "_raw_row": 1, "value": -1.0},
        {**base, "indicator_code": C[2], "_raw_row": 2, "period": "2024-02"},
        {**base, "indicator_code": C[3], "_raw_row": 3, "value": float("nan"), "evidence_ref": None},
        {**base, "indicator_code": C[4], "_raw_row": 4, "evidence_ref": None},
    ]
    df = staged(INDICATOR_SUBMISSIONS, rows)
    result = validate_table(df, INDICATOR_SUBMISSIONS, suite("indicator_submissions"), city=CITY, month=MONTH)
    k = f"{CITY}|DLH|"
    assert failures(result) == {
        (k + f"{C[1]}|{MONTH}", "value_non_negative", "error"),
        (k + f"{C[1]}|{MONTH}", "value_percent_in_range", "error"),  # a % indicator: 0-100
        (k + f"{C[2]}|2024-02", "period_is_partition", "error"),
        (k + f"{C[3]}|{MONTH}", "value_not_null", "error"),
        (k + f"{C[3]}|{MONTH}", "evidence_ref_not_null", "warn"),
        (k + f"{C[4]}|{MONTH}", "evidence_ref_not_null", "warn"),
    }
    assert result.valid["indicator_code"].tolist() == [C[0], C[4]]


# --- edge cases -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(schemas.MONTHLY_TABLES))
def test_empty_frame_passes(name):
    table = schemas.get_table(name)
    result = validate_table(schemas.empty_frame(table), table, suite(name), city=CITY, month=MONTH)
    assert result.valid.empty and result.rejected.empty
    assert list(result.rejected.columns) == list(schemas.QUARANTINE_COLUMNS)
    assert len(result.rules) == len(suite(name).rule_ids)
    failed = set(result.rules.loc[~result.rules["success"], "rule"])
    assert failed <= {"data_fresh"}  # no data is not fresh data: a warning, never a block
    assert result.rejected_share == 0.0 and within_threshold(result.rejected_share, result.failed_table_rules, 0.0)


@pytest.mark.parametrize(
    ("name", "completeness"),
    [("spbe_assessments", "every_indicator_assessed"), ("evaluation_scores", "every_part_scored")],
)
def test_empty_yearly_assessment_blocks_as_incomplete(name, completeness):
    """A regulator's index needs every indicator or part: an assessment without them blocks its city × year."""
    table = schemas.get_table(name)
    result = validate_table(schemas.empty_frame(table), table, suite(name), city=CITY, month="2024")
    assert result.rejected.empty and set(result.rules.loc[~result.rules["success"], "rule"]) == {completeness}
    assert result.failed_table_rules == (completeness,) and not within_threshold(
        result.rejected_share, result.failed_table_rules, 1.0
    )


def test_table_level_failure_blocks_partition_not_rows():
    df = staged(SERVICE_REQUESTS, [request(0)]).assign(extra=1)
    result = validate_table(df, SERVICE_REQUESTS, suite("service_requests"), city=CITY, month=MONTH)
    assert result.rejected.empty and len(result.valid) == 1
    assert result.failed_table_rules == ("columns_match_schema",)
    assert not within_threshold(result.rejected_share, result.failed_table_rules, 1.0)


def test_missing_checked_column_is_an_error():
    df = staged(SERVICE_REQUESTS, [request(0)]).drop(columns="channel")
    with pytest.raises(QualityGateError, match="channel"):
        validate_table(df, SERVICE_REQUESTS, suite("service_requests"), city=CITY, month=MONTH)


def test_unknown_partition_city_or_bad_month():
    df = staged(SERVICE_REQUESTS, [request(0)])
    with pytest.raises(ConfigError, match="99.99"):
        validate_table(df, SERVICE_REQUESTS, suite("service_requests"), city="99.99", month=MONTH)
    with pytest.raises(ValueError, match="YYYY-MM"):
        validate_table(df, SERVICE_REQUESTS, suite("service_requests"), city=CITY, month="2024-3")


def test_placeholders_bound_per_partition():
    s = suite("service_requests")
    kw = s.bound_kwargs(s.rule("submitted_at_in_month"), CITY, "2024-12")
    assert kw["min_value"] == pd.Timestamp("2024-12-01") and kw["max_value"] == pd.Timestamp("2025-01-01")
    assert s.bound_kwargs(s.rule("city_code_is_partition"), CITY, MONTH)["value_set"] == [CITY]
    opds = s.bound_kwargs(s.rule("opd_code_in_set"), CITY, MONTH)["value_set"]
    assert "DISDUKCAPIL" in opds and "DISPAR" not in opds


def test_all_suites_load():
    suites = load_suites(ProjectConfig(CONFIG_DIR))
    assert set(suites) == set(schemas.CANONICAL_TABLES)
    for s in suites.values():
        assert {r.severity for r in s.rules} == {"error", "warn"}


# --- bad suite files ------------------------------------------------------------------------------------

GOOD = """\
table: service_requests
expectations:
  - id: channel_in_set
    type: expect_column_values_to_be_in_set
    kwargs: {column: channel, value_set: [online, offline]}
    severity: error
    description: ok
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("table: [unclosed", "not valid YAML"),
        (
            GOOD + "  - id: second\n    type: expect_nonsense\n    kwargs: {column: channel}\n"
            "    severity: error\n    description: x\n",
            r"expectations\[1\] \(second\): unknown expectation type",
        ),
        (
            GOOD.replace("kwargs: {column: channel, value_set: [online, offline]}", "kwargs: {column: channel}"),
            r"expectations\[0\] \(channel_in_set\): kwargs do not fit .*value_set",
        ),
        (
            GOOD.replace("severity: error", "severity: fatal"),
            r"expectations\[0\]: severity: Input should be 'error' or 'warn'",
        ),
        (GOOD.replace("column: channel,", "column: chanel,"), r"expectations\[0\].*'chanel'"),
        (GOOD.replace("[online, offline]", '"${channels}"'), r"unknown placeholder \$\{channels\}"),
        (GOOD.replace("service_requests", "complaints"), "suite is for table 'complaints'"),
        (GOOD + GOOD.split("expectations:\n")[1], r"expectations\[1\].*duplicate rule id"),
    ],
)
def test_bad_suite_file(tmp_path, text, message):
    path = tmp_path / "service_requests.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as exc:
        load_suite("service_requests", ProjectConfig(CONFIG_DIR), path=path)
    assert str(path) in str(exc.value)


# --- measurement (printed, not asserted) ------------------------------------------------------------------


def test_timing_10k_rows(capsys):
    n = 10_000
    rng = np.random.default_rng(7)
    submitted = pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, 31 * 24 * 60, n), unit="min")
    df = staged(SERVICE_REQUESTS, [request(i) for i in range(n)])
    df["submitted_at"] = submitted.astype(schemas.TIMESTAMP)
    df["completed_at"] = df["submitted_at"] + pd.to_timedelta(rng.integers(-60, 5 * 24 * 60, n), unit="min")
    df.loc[rng.random(n) < 0.02, "channel"] = "walk-in"
    s = suite("service_requests")
    validate_table(df.head(10), SERVICE_REQUESTS, s, city=CITY, month=MONTH)  # warm-up
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        result = validate_table(df, SERVICE_REQUESTS, s, city=CITY, month=MONTH)
        times.append(time.perf_counter() - t0)
    with capsys.disabled():
        print(
            f"\n[quality timing] service_requests, {n} rows, {len(s.rules)} rules: "
            f"best {min(times):.3f}s, mean {sum(times) / len(times):.3f}s; "
            f"{len(result.rejected)} quarantine rows, rejected share {result.rejected_share:.3f}"
        )


def test_a_suite_may_set_its_own_rejection_threshold(opd_project, tmp_path):
    """service_catalogue's suite allows a quarter of its dozen-odd rows rejected; the others use pipeline.yaml's."""
    from kotacerdas.quality import load_suite
    from kotacerdas.schemas import MONTHLY_TABLES

    assert load_suite(MONTHLY_TABLES["service_catalogue"], opd_project).max_rejected_share == 0.25
    assert load_suite(MONTHLY_TABLES["service_requests"], opd_project).max_rejected_share is None
    bad = tmp_path / "config"
    import shutil

    shutil.copytree(opd_project.dir, bad)
    path = bad / "expectations" / "service_catalogue.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("max_rejected_share: 0.25", "max_rejected_share: 2"), encoding="utf-8"
    )
    from kotacerdas.config import ProjectConfig
    from kotacerdas.errors import ConfigError

    with pytest.raises(ConfigError, match="max_rejected_share"):
        load_suite(MONTHLY_TABLES["service_catalogue"], ProjectConfig(bad))
