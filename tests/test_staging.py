"""Staging: typed cast with quarantine (never silent NaN), pseudonymised personal data, duplicate keys."""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd
import pytest

from kotacerdas.config import overridden_environment
from kotacerdas.ingest import ingest_table
from kotacerdas.privacy import pii_key_from_env, pseudonymise, pseudonymise_series
from kotacerdas.schemas import (
    COMPLAINTS,
    INDICATOR_SUBMISSIONS,
    QUARANTINE_COLUMNS,
    SATISFACTION_RESPONSES,
    SERVICE_REQUESTS,
)
from kotacerdas.stage.staging import stage_table

KEY = b"test-pii-key"
NIKS = ["1971015203850001", "1971024411900002", "1971030101700003", "1971040202800004"]


def _requests_frame() -> pd.DataFrame:
    rows = [
        ["R1", "2025-03-03T08:15:00", "2025-03-04T10:00:00", 1, NIKS[0], "081234567801"],
        ["R2", "03/03/2025 09:30", None, "3", NIKS[1], None],
        ["R3", "2025-03-32T10:15:00", "", 2, NIKS[2], "+62 812-3456-7803"],  # impossible date
        ["R4", "2025-03-05", "2025-03-06T12:00:00", "dua", NIKS[3], "081234567804"],  # sla not a number
    ]
    frame = pd.DataFrame(
        rows,
        columns=["request_id", "submitted_at", "completed_at", "sla_days", "applicant_nik", "applicant_phone"],
        dtype=object,
    )
    frame.insert(1, "city_code", "19.71")
    frame.insert(2, "opd_code", "DISDUKCAPIL")
    frame["service_code"], frame["channel"], frame["status"] = "KTP-EL", "online", "completed"
    frame["_raw_file"] = "opd_api_service_requests/19.71/2025-03/DISDUKCAPIL/x/page-0001.json"
    frame["_raw_row"] = range(1, len(frame) + 1)
    return frame


def test_unparseable_values_are_rejected_with_type_rule_and_good_rows_kept():
    result = stage_table(SERVICE_REQUESTS, _requests_frame(), city="19.71", month="2025-03", pii_key=KEY)
    assert result.frame["request_id"].tolist() == ["R1", "R2"]
    assert list(result.frame.columns) == list(SERVICE_REQUESTS.all_columns)
    assert {c: str(t) for c, t in result.frame.dtypes.items()} == {
        c: str(pd.Series(dtype=d).dtype) for c, d in SERVICE_REQUESTS.all_columns.items()
    }
    assert result.frame["submitted_at"].tolist() == [
        pd.Timestamp("2025-03-03 08:15"),
        pd.Timestamp("2025-03-03 09:30"),
    ]  # dd/mm/yyyy too
    assert pd.isna(result.frame["completed_at"].iloc[1]) and result.frame["sla_days"].tolist() == [1, 3]

    rej = result.rejected
    assert list(rej.columns) == list(QUARANTINE_COLUMNS)
    assert {c: str(t) for c, t in rej.dtypes.items()} == {
        c: str(pd.Series(dtype=d).dtype) for c, d in QUARANTINE_COLUMNS.items()
    }
    assert rej[["rule", "value", "_raw_row"]].values.tolist() == [
        ["type:submitted_at", "2025-03-32T10:15:00", 3],
        ["type:sla_days", "dua", 4],
    ]
    assert set(rej["severity"]) == {"error"} and set(rej["table_name"]) == {"service_requests"}
    assert set(rej["city_code"]) == {"19.71"} and set(rej["period"]) == {"2025-03"}
    assert "YYYY-MM-DDTHH:MM:SS" in rej["reason"].iloc[0] and "whole number" in rej["reason"].iloc[1]
    assert rej["record_key"].tolist() == ["19.71|DISDUKCAPIL|R3", "19.71|DISDUKCAPIL|R4"]


def test_personal_data_is_pseudonymised_and_never_in_clear():
    frame = _requests_frame()
    frame.loc[1, "applicant_nik"] = "19710244119O0002"  # a typo'd NIK is still personal data
    result = stage_table(SERVICE_REQUESTS, frame, city="19.71", month="2025-03", pii_key=KEY)
    everything = result.frame.astype(str).to_csv() + result.rejected.astype(str).to_csv()
    for nik in NIKS + ["19710244119O0002", "081234567801", "3456"]:
        assert nik not in everything
    expected = hmac.new(KEY, f"nik:{NIKS[0]}".encode(), hashlib.sha256).hexdigest()
    assert result.frame["applicant_nik"].iloc[0] == expected
    assert result.frame["applicant_phone"].str.fullmatch(r"[0-9a-f]{64}").iloc[0]
    # Same person, different spelling of the phone number -> same pseudonym.
    assert pseudonymise("+62 812-3456-7801", "phone", KEY) == pseudonymise("081234567801", "phone", KEY)
    # Without a key personal data is dropped, not kept in clear.
    dropped = stage_table(SERVICE_REQUESTS, frame, city="19.71", month="2025-03", pii_key=None)
    assert dropped.frame["applicant_nik"].isna().all() and dropped.frame["applicant_phone"].isna().all()
    with overridden_environment({"KOTACERDAS_PII_KEY": "abc"}):
        assert pii_key_from_env() == b"abc"


def test_numbers_with_decimal_comma_and_empty_cells():
    frame = pd.DataFrame(
        {
            "city_code": ["19.71"] * 5,
            "opd_code": ["DLH"] * 5,
            "indicator_code": ["A", "B", "C", "D", "E"],
            "period": ["2025-03"] * 5,
            "value": ["72,36", "1.234,5", 17.95, "", "tujuh"],
            "unit": ["%"] * 5,
            "evidence_ref": [None] * 5,
            "_raw_file": ["f.csv"] * 5,
            "_raw_row": [1, 2, 3, 4, 5],
        },
        dtype=object,
    )
    result = stage_table(INDICATOR_SUBMISSIONS, frame, city="19.71", month="2025-03", pii_key=None)
    values = result.frame.set_index("indicator_code")["value"]
    assert values["A"] == pytest.approx(72.36) and values["B"] == pytest.approx(1234.5)
    assert values["C"] == pytest.approx(17.95) and pd.isna(values["D"])  # empty: missing, not rejected
    assert result.rejected[["rule", "value"]].values.tolist() == [["type:value", "tujuh"]]


def test_duplicate_keys_keep_the_first_row():
    frame = pd.DataFrame(
        {
            "complaint_id": ["C1", "C2", "C1", "C1"],
            "city_code": ["19.71"] * 4,
            "opd_code": ["DLH"] * 4,
            "category": ["kebersihan", "kebersihan", "kebersihan", "infrastruktur"],
            "status": ["received"] * 4,
            "received_at": ["2025-03-01T10:00:00"] * 4,
            "first_response_at": [None] * 4,
            "resolved_at": [None] * 4,
            "reporter_email": ["a@b.id", None, "a@b.id", "x@y.id"],
            "_raw_file": ["p1"] * 4,
            "_raw_row": [1, 2, 3, 4],
        },
        dtype=object,
    )
    result = stage_table(COMPLAINTS, frame, city="19.71", month="2025-03", pii_key=KEY)
    assert result.frame["_raw_row"].tolist() == [1, 2]
    rej = result.rejected
    assert rej["rule"].tolist() == ["unique:key", "unique:key"] and rej["_raw_row"].tolist() == [3, 4]
    assert rej["reason"].str.startswith("exact duplicate").tolist() == [True, False]
    assert "a@b.id" not in rej.to_csv() and "x@y.id" not in rej.to_csv()


def test_simulator_partition_stages_cleanly(opd_project, opd_simulator, opd_env, tmp_path):
    ingested = ingest_table(
        opd_project,
        "satisfaction_responses",
        "19.71",
        "2025-03",
        raw_dir=tmp_path / "raw",
        landing_dir=tmp_path,
        env=opd_env,
    )
    result = stage_table(SATISFACTION_RESPONSES, ingested.frame, city="19.71", month="2025-03", pii_key=KEY)
    rejected_rows = set(zip(result.rejected["_raw_file"], result.rejected["_raw_row"], strict=True))
    assert len(result.frame) + len(rejected_rows) == len(ingested.frame)  # every row kept or rejected
    assert len(result.rejected) / len(ingested.frame) < 0.05
    assert result.frame["u1"].dtype == "Int64"
    requests_in = ingest_table(
        opd_project, "service_requests", "19.71", "2025-03", raw_dir=tmp_path / "raw", landing_dir=tmp_path, env=opd_env
    )
    staged = stage_table(SERVICE_REQUESTS, requests_in.frame, city="19.71", month="2025-03", pii_key=KEY)
    niks = set(requests_in.frame["applicant_nik"].dropna())
    assert niks and niks.isdisjoint(set(staged.frame["applicant_nik"].dropna()))
    assert niks.isdisjoint(set(staged.rejected["value"].dropna()))


def test_nested_json_and_booleans_are_rejected_not_stringified():
    frame = pd.DataFrame(
        {
            "city_code": ["19.71"] * 3,
            "opd_code": ["DLH"] * 3,
            "indicator_code": ["A", "B", "C"],
            "period": ["2025-03"] * 3,
            "value": [{"nilai": 1}, True, "2,5"],
            "unit": [["%"], "%", True],
            "evidence_ref": [None] * 3,
            "_raw_file": ["f"] * 3,
            "_raw_row": [1, 2, 3],
        },
        dtype=object,
    )
    result = stage_table(INDICATOR_SUBMISSIONS, frame, city="19.71", month="2025-03", pii_key=None)
    assert result.frame["indicator_code"].tolist() == []
    rej = result.rejected
    reasons = {
        (row, rule): reason for row, rule, reason in zip(rej["_raw_row"], rej["rule"], rej["reason"], strict=True)
    }
    assert "JSON object" in reasons[(1, "type:value")] and "JSON list" in reasons[(1, "type:unit")]
    assert "boolean" in reasons[(2, "type:value")] and "boolean" in reasons[(3, "type:unit")]


def test_cadence_splits_the_canonical_tables_into_monthly_and_yearly():
    from kotacerdas.schemas import CANONICAL_TABLES, MONTHLY_TABLES, YEARLY_TABLES, get_table

    assert set(YEARLY_TABLES) == {"spbe_assessments", "evaluation_scores"}
    assert set(MONTHLY_TABLES) == set(CANONICAL_TABLES) - set(YEARLY_TABLES)
    assert "service_catalogue" in MONTHLY_TABLES and get_table("service_catalogue").period_column == "as_of"
    assert all(t.period_column in t.columns and set(t.key) <= set(t.columns) for t in CANONICAL_TABLES.values())


def test_service_catalogue_stages_yes_no_as_boolean():
    from kotacerdas.schemas import SERVICE_CATALOGUE

    frame = pd.DataFrame(
        {
            "city_code": ["19.71"] * 3,
            "opd_code": ["DLH"] * 3,
            "service_code": ["A", "B", "C"],
            "service_name": ["x"] * 3,
            "sla_days": ["2", 3, "2"],
            "online": ["Ya", "tidak", "t"],
            "as_of": ["2025-01"] * 3,
            "_raw_file": ["f"] * 3,
            "_raw_row": [1, 2, 3],
        },
        dtype=object,
    )
    result = stage_table(SERVICE_CATALOGUE, frame, city="19.71", month="2025-01", pii_key=None)
    assert result.frame["online"].tolist() == [True, False] and str(result.frame["online"].dtype) == "boolean"
    assert result.rejected[["rule", "value"]].values.tolist() == [["type:online", "t"]]  # ambiguous: not guessed


def test_a_column_is_pseudonymised_value_by_value_however_often_a_value_repeats():
    """`pseudonymise_series` hashes a repeated value once: the result is each value's own pseudonym, missing values
    stay missing, and values that Python finds equal but that are spelt differently (1, 1.0, True) keep theirs."""
    values = [NIKS[0], None, NIKS[1], NIKS[0], float("nan"), pd.NA, 1, 1.0, True, "081234567801", NIKS[1]]
    series = pd.Series(values, dtype=object)
    for kind in ("nik", "phone"):
        got = pseudonymise_series(series, kind, KEY)
        assert got.dtype == "string" and got.index.equals(series.index)
        expected = [None if pd.isna(v) else pseudonymise(v, kind, KEY) for v in values]
        assert [None if pd.isna(g) else g for g in got] == expected


def test_a_phone_number_or_identifier_in_a_number_column_is_rejected_not_read_as_a_count():
    # "0812345678" read as a number loses its 0 and passed as 812,345,678 tourist visits (Smart Branding 71.20 →
    # 82.87); nine digits or more after a leading 0 (or 62) are never a quantity. The rejected value is scrubbed.
    texts = ["0812345678", "+6281234567890", "0717123456", "0,5", "0812", "120"]
    frame = pd.DataFrame(
        {
            "city_code": ["19.71"] * len(texts),
            "opd_code": ["DISPAR"] * len(texts),
            "indicator_code": [f"I{i}" for i in range(len(texts))],
            "period": ["2025-03"] * len(texts),
            "value": texts,
            "unit": ["visits"] * len(texts),
            "evidence_ref": [None] * len(texts),
            "_raw_file": ["f.csv"] * len(texts),
            "_raw_row": range(1, len(texts) + 1),
        },
        dtype=object,
    )
    with overridden_environment({"KOTACERDAS_PII_KEY": KEY.hex()}):
        result = stage_table(INDICATOR_SUBMISSIONS, frame, city="19.71", month="2025-03", pii_key=KEY)
    assert result.frame.set_index("indicator_code")["value"].to_dict() == {"I3": 0.5, "I4": 812.0, "I5": 120.0}
    rejected = result.rejected.set_index("_raw_row")
    assert sorted(rejected.index) == [1, 2, 3] and set(rejected["rule"]) == {"type:value"}
    assert rejected["reason"].str.contains("a phone number or an identifier").all()
    shown = " ".join(rejected["value"].astype(str))
    assert "0812345678" not in shown and "81234567890" not in shown, shown
