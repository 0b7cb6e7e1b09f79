"""Each defect class, from the OPD simulator over HTTP and from the real messy files, through staging and the quality
gate: the right rows quarantined with the right rule and severity, every other row valid, the block past the
threshold."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

import dagster as dg
import pandas as pd
import pytest
from conftest import OPD_TEST_TOKEN, REFERENCE, edited_project, fast_rest, simulator_env

from assets.quality import check_result
from kotacerdas.config import FileSource
from kotacerdas.ingest import ingest_table
from kotacerdas.ingest.files import read_file_drop
from kotacerdas.quality.completeness import Completeness
from kotacerdas.quality.gate import run_quality_gate
from kotacerdas.schemas import INDICATOR_SUBMISSIONS, get_table
from kotacerdas.simulator import OpdSimulator
from kotacerdas.stage.staging import StagingResult, stage_table

CITY, MONTH = "19.71", "2025-03"
KEY = b"fault-test-key"
ID = {"service_requests": "request_id", "complaints": "complaint_id", "satisfaction_responses": "response_id"}
SOURCE_ID = {"service_requests": "id_permohonan", "complaints": "id_laporan", "satisfaction_responses": "id_responden"}
MESSY = REFERENCE / "messy"


@pytest.fixture(scope="module")
def project(opd_project, tmp_path_factory):
    return edited_project(tmp_path_factory.mktemp("qfaults"), opd_project, edit_sources=fast_rest)


@pytest.fixture(scope="module")
def sim(project):
    with OpdSimulator(project, seed=42, token=OPD_TEST_TOKEN) as server:
        yield server


@pytest.fixture
def gate_of(project, sim, tmp_path):
    sim.clear_faults()

    def run(table: str, city: str = CITY, month: str = MONTH):
        ingested = ingest_table(
            project,
            table,
            city,
            month,
            raw_dir=tmp_path / "raw",
            landing_dir=tmp_path,
            env=simulator_env(sim),
        )
        staged = stage_table(get_table(table), ingested.frame, city=city, month=month, pii_key=KEY)
        gate = run_quality_gate(
            project, get_table(table), staged, city=city, month=month, now=pd.Timestamp("2025-09-01")
        )
        return ingested, gate

    yield run
    sim.clear_faults()


def _quarantined(gate, severity="error") -> dict[str, set[str]]:
    """record id -> rules it failed."""
    q = gate.quarantine[gate.quarantine["severity"] == severity]
    out: dict[str, set[str]] = {}
    for key, rule in zip(q["record_key"], q["rule"], strict=True):
        out.setdefault(key.split("|")[-1], set()).add(rule)
    return out


def _conserved(ingested, gate) -> None:
    """Every delivered row is valid or rejected, never both, never lost."""
    rejected = gate.quarantine[gate.quarantine["severity"] == "error"][["_raw_file", "_raw_row"]].drop_duplicates()
    valid = gate.valid[["_raw_file", "_raw_row"]]
    assert len(valid.merge(rejected)) == 0
    assert len(valid) + len(rejected) == len(ingested.frame) == gate.input_rows


# --- the simulator's fault modes ------------------------------------------------------------------------------

WRONG_TYPES = [
    # (table, source field, wrong_type, OPD, rule of every row of that OPD)
    ("service_requests", "tgl_pengajuan", "epoch", "DLH", "type:submitted_at"),
    ("service_requests", "standar_hari", "text", "DISHUB", "type:sla_days"),
    ("service_requests", "kanal", "object", "DINSOS", "type:channel"),
    ("complaints", "tgl_diterima", "bool", "DLH", "type:received_at"),
    ("satisfaction_responses", "u3", "text", "DINKES", "type:u3"),
]


@pytest.mark.parametrize(("table", "field", "to", "opd", "rule"), WRONG_TYPES)
def test_wrong_types_send_every_row_of_the_opd_to_quarantine_with_the_type_rule(
    gate_of, sim, table, field, to, opd, rule
):
    sim.add_fault(f"*:wrong_type:field={field},to={to},opd={opd}")
    ingested, gate = gate_of(table)
    affected = {str(r[SOURCE_ID[table]]) for r in sim.rows(table, CITY, opd, MONTH) if r.get(field) is not None}
    got = _quarantined(gate)
    assert affected and {k for k, rules in got.items() if rule in rules} == affected
    assert not (set(gate.valid[ID[table]]) & affected)
    _conserved(ingested, gate)
    # The OPD is a small part of the table: the rest flows on unless its share passes the threshold.
    assert gate.passed == (gate.rejected_share <= gate.threshold)


def test_a_string_for_a_number_is_read_not_rejected(gate_of, sim):
    sim.add_fault("*:wrong_type:field=standar_hari,to=string,opd=DLH")
    ingested, gate = gate_of("service_requests")
    assert not any(r.startswith("type:sla_days") for r in gate.quarantine["rule"])
    assert set(gate.valid.loc[gate.valid["opd_code"] == "DLH", "sla_days"].dropna()) <= {2, 14}


@pytest.mark.parametrize(
    "spec",
    [
        "opd_api_service_requests:rename_field:field=tgl_pengajuan,to=tanggal_pengajuan,opd=DPMPTSP",  # schema drift
        "opd_api_service_requests:drop_field:field=kanal,opd=DPMPTSP",
        "opd_api_service_requests:error:status=500,opd=DPMPTSP",  # an outage that outlasts the retries
    ],
)
def test_schema_drift_and_outages_fail_the_source_not_the_quality_gate(gate_of, sim, spec):
    sim.add_fault(spec)
    ingested, gate = gate_of("service_requests")
    assert [f.opd for f in ingested.failures] == ["DPMPTSP"]
    assert "DPMPTSP" not in set(gate.valid["opd_code"])
    assert "DPMPTSP" not in set(gate.quarantine["record_key"].str.split("|").str[1])
    _conserved(ingested, gate)


def test_a_whole_opd_of_bad_timestamps_blocks_the_table(gate_of, sim):
    sim.add_fault("*:wrong_type:field=tgl_pengajuan,to=epoch,opd=DISDUKCAPIL")  # the biggest OPD
    _, gate = gate_of("service_requests")
    assert gate.rejected_share > gate.threshold and not gate.passed
    report = gate.check_report("error")
    assert not report.passed and "BLOCKED" in report.description
    assert report.failing_rows_by_rule["type:submitted_at"] >= len(
        sim.rows("service_requests", CITY, "DISDUKCAPIL", MONTH)
    )
    assert "type:submitted_at" in report.rules_markdown and "type:submitted_at" in report.sample_markdown


def test_one_error_check_passes_warns_or_blocks_by_the_share_of_rejected_rows(gate_of):
    _, gate = gate_of("service_requests")
    share = gate.rejected_share
    assert 0 < share <= gate.threshold and gate.passed  # the generator's defects: some rows rejected, not many
    at_level = replace(gate, warn_share=share)  # the warning level is inclusive, as the threshold is
    assert at_level.check_report("error").passed and check_result(at_level, "error").passed
    # above the warning level, within the threshold: fails as a WARN (it does not block), says why and what to do
    warned = replace(gate, warn_share=share / 2)
    report = warned.check_report("error")
    assert not report.passed and report.warns_only and warned.passed
    assert report.description.startswith("service_requests: WARNING") and "flows on" in report.description
    check = check_result(warned, "error")
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["warn_above_share"].value == round(share / 2, 4)
    # past the threshold: fails as an ERROR (it blocks), whatever the warning level
    blocked = replace(gate, threshold=share / 2, warn_share=share / 4)
    report = blocked.check_report("error")
    assert not report.passed and not report.warns_only and "BLOCKED" in report.description
    assert check_result(blocked, "error").severity == dg.AssetCheckSeverity.ERROR
    # the `warn` report is about the `warn` rules only: the warning level does not change it
    assert warned.check_report("warn").passed == gate.check_report("warn").passed
    # an incomplete partition blocks, unless the run publishes it on purpose: then it warns, and says what is missing
    missing = Completeness(
        "service_requests", CITY, MONTH, (("opd_api", "DINKES"),), 1, {}, ("opd_api × DINKES failed: timeout",)
    )
    incomplete = replace(gate, warn_share=1.0, completeness=missing)
    assert check_result(incomplete, "error").severity == dg.AssetCheckSeverity.ERROR
    assert not incomplete.check_report("error").passed and not incomplete.check_report("error").warns_only
    allowed = replace(incomplete, allow_incomplete=True)
    report = allowed.check_report("error")
    assert not report.passed and report.warns_only and "published anyway with status incomplete" in report.description
    assert "rows rejected" not in report.description  # the share is within the warning level: not the reason
    assert check_result(allowed, "error").severity == dg.AssetCheckSeverity.WARN


# --- the defects the simulator's generators put in the data ---------------------------------------------------


def _ts(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


# A partition whose generated data holds every defect class (the simulator is deterministic for a seed).
DEFECT_MONTH = "2025-05"


def _expected_service_request_rules(sim: OpdSimulator) -> dict[str, set[str]]:
    """The defects of the delivered rows, found independently of the gate (source field names)."""
    start, end = datetime(2025, 5, 1), datetime(2025, 6, 1)
    expected: dict[str, set[str]] = {}
    for opd in sim.project.cities.opds_for("service_requests"):
        seen = set()
        for r in sim.rows("service_requests", CITY, opd.code, DEFECT_MONTH):
            rid, rules = r["id_permohonan"], set()
            submitted, completed = _ts(r["tgl_pengajuan"]), _ts(r["tgl_selesai"])
            if submitted is None:
                rules.add("type:submitted_at")
            elif not start <= submitted < end:
                rules.add("submitted_at_in_month")
            if submitted and completed and completed < submitted:
                rules.add("completed_after_submitted")
            if r["kanal"] not in ("online", "offline"):
                rules.add("channel_in_set")
            if "type:submitted_at" in rules:
                rules = {"type:submitted_at"}  # staging rejects it before any other rule sees it
            elif rid in seen:
                rules = {"unique:key"}  # the exported copy; its first row is judged on its own
            else:
                seen.add(rid)
            if rules:
                expected.setdefault(rid, set()).update(rules)
    return expected


def test_generator_defects_are_quarantined_with_their_rules_and_nothing_else(gate_of, sim):
    ingested, gate = gate_of("service_requests", month=DEFECT_MONTH)
    expected = _expected_service_request_rules(sim)
    assert {r for rules in expected.values() for r in rules} >= {
        "type:submitted_at",
        "submitted_at_in_month",
        "completed_after_submitted",
        "channel_in_set",
        "unique:key",
    }
    assert _quarantined(gate) == expected
    assert gate.passed and 0 < gate.rejected_share < gate.threshold
    _conserved(ingested, gate)


def test_ikm_answers_off_the_scale_are_quarantined(gate_of, sim):
    _, gate = gate_of("satisfaction_responses", month=DEFECT_MONTH)
    expected = {}
    for opd in sim.project.cities.opds_for("satisfaction_responses"):
        for r in sim.rows("satisfaction_responses", CITY, opd.code, DEFECT_MONTH):
            bad = {f"{u}_in_range" for u in (f"u{i}" for i in range(1, 10)) if r[u] not in (1, 2, 3, 4)}
            if bad:
                expected[r["id_responden"]] = bad
    assert expected
    got = {k: {r for r in rules if r.endswith("_in_range")} for k, rules in _quarantined(gate).items()}
    assert {k: v for k, v in got.items() if v} == expected


# --- the real messy files (tests/data/reference/messy) -----------------------------------------------------------


def _gate_frame(project, frame: pd.DataFrame, city: str, month: str):
    frame = frame.copy()
    frame["_raw_file"] = "messy"
    if "_raw_row" not in frame:
        frame["_raw_row"] = range(1, len(frame) + 1)
    staged: StagingResult = stage_table(INDICATOR_SUBMISSIONS, frame, city=city, month=month, pii_key=None)
    return staged, run_quality_gate(project, INDICATOR_SUBMISSIONS, staged, city=city, month=month)


def test_lppd_percentages_over_100_negative_and_wtp(opd_project):
    """LPPD Kab. Semarang's real values as percentages our OPDs submit: > 100, negative, "WTP", decimal commas."""
    source = FileSource.model_validate(
        {
            "name": "lppd",
            "type": "file",
            "table": "indicator_submissions",
            "pattern": "*.json",
            "format": "json",
            "decimal": ",",
            "extra_columns": "ignore",
            "columns": {"Indikator_Kinerja": "evidence_ref", "Capaian_Tahun_2019": "value"},
            "constants": {"city_code": CITY, "period": MONTH, "unit": "%"},
        }
    )
    frame = read_file_drop(source, MESSY / "lppd_semarang_data.json")
    records = json.loads((MESSY / "lppd_semarang_data.json").read_text(encoding="utf-8"))
    frame["_raw_row"] = range(1, len(frame) + 1)
    # The percentages (and the "WTP" in the value column), each as its own (OPD, % indicator) submission, so that
    # keys are unique and only the values are judged.
    frame = frame[frame["evidence_ref"].str.startswith("Persentase") | (frame["value"] == "WTP")]
    catalog_pct = [
        "GOV_OPEN_DATA_SHARE",
        "ECO_SOCIAL_AID_NONCASH_SHARE",
        "LIV_TRANSPORT_PUNCTUALITY",
        "SOC_SCHOOL_ONLINE_LEARNING_SHARE",
        "ENV_WASTE_COLLECTED_SHARE",
        "ENV_GREEN_OPEN_SPACE_SHARE",
        "ENV_LED_STREETLIGHT_SHARE",
        "BRD_STREETLIGHT_COVERAGE",
        "ECO_ETAX_SHARE",
    ]
    opds = [o.code for o in opd_project.cities.opds_for("indicator_submissions")]
    pairs = [(o, i) for o in opds for i in catalog_pct][: len(frame)]
    assert len(pairs) == len(frame) > 40
    frame = frame.assign(opd_code=[p[0] for p in pairs], indicator_code=[p[1] for p in pairs])
    staged, gate = _gate_frame(opd_project, frame, CITY, MONTH)

    def number(text: str) -> float | None:
        try:
            return float(text.replace(",", "."))
        except ValueError:
            return None

    values = {i + 1: number(r["Capaian_Tahun_2019"]) for i, r in enumerate(records) if i + 1 in set(frame["_raw_row"])}
    over = {row for row, v in values.items() if v is not None and v > 100}
    negative = {row for row, v in values.items() if v is not None and v < 0}
    assert len(over) >= 5 and len(negative) >= 2  # the file's real defects
    q = gate.quarantine
    by_rule = {rule: set(q.loc[q["rule"] == rule, "_raw_row"]) for rule in set(q["rule"])}
    assert by_rule["value_percent_in_range"] == over | negative
    assert by_rule["value_non_negative"] == negative
    assert len(by_rule["type:value"]) == 1 and values[min(by_rule["type:value"])] is None  # "WTP"
    ok = set(values) - over - negative - by_rule["type:value"]
    assert set(gate.valid["_raw_row"]) == ok
    # about a fifth rejected: within the suite's 25 % (a city's dozen values), past half of it, so the check warns
    assert gate.passed and gate.rejected_share > gate.threshold / 2


def test_real_region_codes_are_checked_against_the_kemendagri_list(opd_project):
    """Jabar kab/kota (BPS codes, repaired to Kemendagri) are real regions but not our cities; kecamatan codes of
    the village file are no kab/kota at all."""
    source = FileSource.model_validate(
        {
            "name": "jabar",
            "type": "file",
            "table": "indicator_submissions",
            "pattern": "*.csv",
            "separator": "auto",
            "encoding": "auto",
            "extra_columns": "ignore",
            "region_codes": {"city_code": "kemendagri"},
            "columns": {
                "kode_kabupaten_kota": "city_code",
                "jumlah_penduduk_miskin": "value",
                "satuan": "unit",
                "nama_kabupaten_kota": "evidence_ref",
            },
            "constants": {"opd_code": "DINSOS", "indicator_code": "ECO_SOCIAL_AID_NONCASH_SHARE", "period": MONTH},
        }
    )
    frame = read_file_drop(source, MESSY / "jumlah_penduduk_miskin_berdasarkan_kabupatenkota_data.csv").head(27)
    villages = pd.read_csv(MESSY / "dpmdes-idm_sts_kejadian_pencemaran_air__des_kel_data.csv", dtype=str, nrows=3)
    kecamatan = frame.head(3).assign(city_code=villages["kemendagri_kode_kecamatan"].tolist())
    frame = pd.concat([frame, kecamatan], ignore_index=True)
    frame["_raw_row"] = range(1, len(frame) + 1)  # the three made-up rows get rows of their own: 28, 29, 30
    frame["indicator_code"] = [f"X{i}" for i in range(len(frame))]  # unique keys; the code rule fails too
    _, gate = _gate_frame(opd_project, frame, CITY, MONTH)
    q = gate.quarantine
    rows = {rule: set(q.loc[q["rule"] == rule, "_raw_row"]) for rule in set(q["rule"])}
    assert rows["city_code_is_region"] == {28, 29, 30}  # 32.01.02 and co: kecamatan, not kab/kota
    assert rows["city_code_in_set"] == set(range(1, 31))  # none is a city of cities.yaml
    assert rows["indicator_code_in_catalog"] == set(range(1, 31))
