"""The personal-data scrubber: NIKs, Indonesian phone numbers and e-mail addresses found in any text, replaced by a
keyed pseudonym or dropped per policy, and what it must leave alone (ids, dates, amounts, codes, pseudonyms)."""

from __future__ import annotations

import pandas as pd
import pytest

from kotacerdas.config import ProjectConfig
from kotacerdas.privacy import PersonalDataPolicy, Scrubber, pseudonymise, scrub_published_text
from kotacerdas.schemas import COMPLAINTS, INDICATOR_SUBMISSIONS, SERVICE_REQUESTS
from kotacerdas.stage.staging import stage_table

KEY = b"pii-test-key"
NIK = "1971015208900011"


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        (f"NIK {NIK} pemohon", "nik", NIK),
        ("NIK: 1971 0152 0890 0011.", "nik", NIK),  # grouped 4-4-4-4
        ("1971015208900011/KTP", "nik", NIK),
        ("no 197101.520890.0011", "nik", NIK),  # grouped 6-6-4
        ("hubungi 0812-7788-9900", "phone", "081277889900"),
        ("WA +62 812 7788 9900 ya", "phone", "081277889900"),
        ("6281277889900", "phone", "081277889900"),
        ("(0717) 422145", "phone", "0717422145"),
        ("kantor 021-5550123", "phone", "0215550123"),
        ("surel Sari.Dewi77@Example.co.id", "email", "sari.dewi77@example.co.id"),
        ("budi_081277889900@mail.com", "email", "budi_081277889900@mail.com"),  # the whole address, not the phone
    ],
)
def test_personal_data_in_free_text_is_replaced_by_its_pseudonym(text, kind, value):
    out = Scrubber(KEY).text(text)
    assert f"[{kind}:{pseudonymise(value, kind, KEY)}]" in out
    assert value not in out.lower().replace(" ", "").replace("-", "")


@pytest.mark.parametrize(
    "text",
    [
        "DISDUKCAPIL-202503-00012",
        "LPR-1971-DINKES-202503-0012",
        "IKM-1971-DLH-202503-00004",
        "2025-03-31T10:15:00",
        "31/03/2025 10:15",
        "Rp 1.234.567.890",
        "75,57",
        "12345678901234567",  # 17 digits: not a NIK
        "https://ppid.pangkalpinangkota.go.id/dokumen/2025/03/lampiran-12.pdf",
        "001/02/DLH/III/2025",
        "19.71",
        "KTP-EL",
        "08:30-12:00",
        "628 1234",
        "0717",
        "Perda No. 12 Tahun 2021",
    ],
)
def test_ids_dates_amounts_and_codes_are_left_alone(text):
    assert Scrubber(KEY).text(text) == text


def test_pseudonyms_are_never_scanned_again_and_match_the_declared_columns():
    scrub = Scrubber(KEY)
    once = scrub.text(f"{NIK} / 0812-7788-9900")
    assert scrub.text(once) == once  # 64 hex digits may hold 16 decimal digits in a row: not a NIK
    assert once == f"[nik:{pseudonymise(NIK, 'nik', KEY)}] / [phone:{pseudonymise('081277889900', 'phone', KEY)}]"
    assert scrub.found == {"nik": 1, "phone": 1, "email": 0}


def test_drop_policy_and_missing_key_leave_only_the_kind():
    text = f"NIK {NIK}, sari@example.id"
    assert Scrubber(KEY, PersonalDataPolicy(free_text="drop")).text(text) == "NIK [nik], [email]"
    assert Scrubber(None).text(text) == "NIK [nik], [email]"  # no key: nothing to pseudonymise with
    assert Scrubber(KEY, PersonalDataPolicy(scan=("email",))).text(text) == (
        f"NIK {NIK}, [email:{pseudonymise('sari@example.id', 'email', KEY)}]"
    )


def test_policy_is_read_from_config(tmp_path):
    (tmp_path / "quality.yaml").write_text("personal_data:\n  free_text: drop\n  scan: [nik]\n", encoding="utf-8")
    assert ProjectConfig(tmp_path).quality.personal_data == PersonalDataPolicy(free_text="drop", scan=("nik",))
    (tmp_path / "quality.yaml").write_text("personal_data:\n  free_text: hash\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"quality.yaml.*personal_data.free_text"):
        _ = ProjectConfig(tmp_path).quality


def test_staging_scrubs_every_column_and_its_rejects():
    frame = pd.DataFrame(
        {
            "complaint_id": ["C1", "C2", "C3"],
            "city_code": ["19.71"] * 3,
            "opd_code": ["DLH", f"DLH {NIK}", "DLH"],  # the rejected row's OPD is in the quarantine too
            "category": [f"sampah, pelapor {NIK}", "banjir", "hubungi 0812-7788-9900"],
            "status": ["received", "received", f"x {NIK}"],
            "received_at": ["2025-03-01T10:00:00", f"NIK {NIK}", "2025-03-02T10:00:00"],
            "first_response_at": [None] * 3,
            "resolved_at": [None] * 3,
            "reporter_email": ["a@b.id", None, "c@d.id"],
            "_raw_file": ["p"] * 3,
            "_raw_row": [1, 2, 3],
        },
        dtype=object,
    )
    result = stage_table(COMPLAINTS, frame, city="19.71", month="2025-03", pii_key=KEY)
    text = result.frame.astype(str).to_csv() + result.rejected.astype(str).to_csv()
    assert NIK not in text and "0812" not in text and "a@b.id" not in text
    nik, phone = pseudonymise(NIK, "nik", KEY), pseudonymise("081277889900", "phone", KEY)
    assert result.frame["category"].tolist() == [f"sampah, pelapor [nik:{nik}]", f"hubungi [phone:{phone}]"]
    assert result.frame["status"].tolist() == ["received", f"x [nik:{nik}]"]  # the gate will reject it
    rejected = result.rejected.set_index("rule")
    assert rejected.loc["type:received_at", "value"] == f"NIK [nik:{pseudonymise(NIK, 'nik', KEY)}]"
    assert rejected.loc["type:received_at", "opd_code"] == f"DLH [nik:{nik}]"
    # The declared column is pseudonymised whole, as before (and not scanned again).
    assert result.frame["reporter_email"].iloc[0] == pseudonymise("a@b.id", "email", KEY)


def test_a_nik_in_a_number_column_sets_the_row_aside():
    frame = pd.DataFrame(
        {
            "city_code": ["19.71"] * 2,
            "opd_code": ["DLH"] * 2,
            "indicator_code": ["A", "B"],
            "period": ["2025-03"] * 2,
            "value": [NIK, "72,5"],
            "unit": ["%"] * 2,
            "evidence_ref": [None] * 2,
            "_raw_file": ["f.csv"] * 2,
            "_raw_row": [1, 2],
        },
        dtype=object,
    )
    result = stage_table(INDICATOR_SUBMISSIONS, frame, city="19.71", month="2025-03", pii_key=KEY)
    assert result.frame["indicator_code"].tolist() == ["B"]
    [row] = result.rejected.to_dict("records")
    assert row["rule"] == "personal_data:value" and row["_raw_row"] == 1 and row["record_key"].endswith("|A|2025-03")
    assert row["value"] == f"[nik:{pseudonymise(NIK, 'nik', KEY)}]" and NIK not in str(row)
    # Service standards, amounts and counts far from 16 digits are numbers, not NIKs.
    requests = pd.DataFrame(
        {
            "request_id": ["R1"],
            "city_code": ["19.71"],
            "opd_code": ["DLH"],
            "submitted_at": ["2025-03-03T08:00:00"],
            "sla_days": [14],
            "_raw_file": ["p"],
            "_raw_row": [1],
        },
        dtype=object,
    )
    assert len(stage_table(SERVICE_REQUESTS, requests, city="19.71", month="2025-03", pii_key=KEY).frame) == 1


def test_ingest_failure_messages_are_scrubbed_before_publishing():
    failures = pd.DataFrame(
        {"message": [f"row 3 has {NIK}"], "hint": ["x"], "origin": ["/landing/a.csv"], "opd_code": ["DLH"]}
    )
    out = scrub_published_text({"ingest_failures": failures}, KEY)["ingest_failures"]
    assert NIK not in out["message"].iloc[0] and out["opd_code"].iloc[0] == "DLH"


def test_scrubbing_a_million_codes_scans_each_distinct_value_once():
    series = pd.Series(["online", "offline", "DLH", "19.71"] * 250_000, dtype="string")
    import time

    start = time.perf_counter()
    out = Scrubber(KEY).series(series)
    assert out is series and time.perf_counter() - start < 2.0
