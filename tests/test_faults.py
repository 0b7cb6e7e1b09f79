"""Fault modes of the OPD simulator over real HTTP: transient faults recover with every row exactly once;
permanent faults fail only the affected source × partition, with an error that says where and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import OPD_TEST_TOKEN, edited_project, fast_rest, simulator_env

from kotacerdas.ingest import ingest_table
from kotacerdas.schemas import SATISFACTION_RESPONSES, SERVICE_REQUESTS
from kotacerdas.simulator import OpdSimulator
from kotacerdas.simulator.faults import Fault
from kotacerdas.stage.staging import stage_table

CITY, OTHER_CITY, MONTH = "19.71", "19.03", "2025-03"
SOURCE = "opd_api_service_requests"
PAGE_SIZE = 40  # DISDUKCAPIL has ~250 requests a month: several pages, so faults can hit the middle


@pytest.fixture(scope="module")
def fault_project(opd_project, tmp_path_factory):
    return edited_project(
        tmp_path_factory.mktemp("faults"), opd_project, edit_sources=lambda d: fast_rest(d, page_size=PAGE_SIZE)
    )


@pytest.fixture
def sim(fault_project):
    with OpdSimulator(fault_project, seed=42, token=OPD_TEST_TOKEN) as server:
        yield server


def _env(sim: OpdSimulator) -> dict[str, str]:
    return simulator_env(sim)


def _ingest(project, sim, tmp_path: Path, table="service_requests", city=CITY):
    return ingest_table(project, table, city, MONTH, raw_dir=tmp_path / "raw", landing_dir=tmp_path, env=_env(sim))


def _ids(frame, opd, id_column="request_id"):
    return frame.loc[frame["opd_code"] == opd, id_column].tolist()


def _all_text(root: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in root.rglob("*") if p.is_file())


TRANSIENT = {
    "latency under the read timeout": "latency:seconds=0.01",
    "latency over the read timeout, once": "latency:seconds=0.7,times=1",
    "HTTP 500 twice": "error:status=500,times=2",
    "HTTP 503 three times": "error:status=503,times=3",
    "429 with Retry-After": "rate_limit:retry_after=1,times=2",
    "dropped connection twice": "drop:times=2",
    "truncated JSON twice": "truncate:times=2",
    "page 2 repeats page 1 once": "duplicate_page:times=1",
}


@pytest.mark.parametrize("spec", TRANSIENT.values(), ids=TRANSIENT.keys())
def test_transient_fault_recovers_with_every_row_exactly_once(fault_project, sim, tmp_path, spec):
    # The fault hits page 2 of DISDUKCAPIL (mid-partition), or every page for the plain latency.
    scope = "" if spec.startswith("latency:seconds=0.01") else ",opd=DISDUKCAPIL,page=2"
    fault = sim.add_fault(f"{SOURCE}:{spec}{scope}")
    result = _ingest(fault_project, sim, tmp_path)
    assert result.failures == []
    assert fault.applied == (fault.times or fault.applied) and fault.applied >= 1  # the fault really happened
    for opd in fault_project.cities.opds_for("service_requests"):
        delivered = [r["id_permohonan"] for r in sim.rows("service_requests", CITY, opd.code, MONTH)]
        assert _ids(result.frame, opd.code) == delivered  # same rows, same order: none lost, none twice
    # Only complete, good pages are used for rows; the stored payloads add up to the frame.
    used = {r for r in result.frame["_raw_file"]}
    assert sum(r.rows for r in result.raw_files if r.relpath in used) == len(result.frame)


PERMANENT = {
    "HTTP 500": ("error:status=500", "answered HTTP 500 after 3 retries"),
    "429 for ever": ("rate_limit:retry_after=1", "answered HTTP 429 after 3 retries"),
    "dropped connections": ("drop", "failed after 3 retries"),
    "latency over the read timeout": ("latency:seconds=0.6", "timed out"),
    "truncated JSON": ("truncate", "unreadable body 4 times"),
    "page 2 always repeats page 1": ("duplicate_page", "pagination loop"),
    "renamed field": (
        "rename_field:field=tgl_pengajuan,to=tanggal_pengajuan",
        "lacks mapped field(s) ['tgl_pengajuan']; fields it sent that are not mapped: ['tanggal_pengajuan']",
    ),
    "missing field": ("drop_field:field=kanal", "lacks mapped field(s) ['kanal']"),
}


@pytest.mark.parametrize(("spec", "says"), PERMANENT.values(), ids=PERMANENT.keys())
def test_permanent_fault_fails_only_that_source_partition(fault_project, sim, tmp_path, caplog, spec, says):
    caplog.set_level("DEBUG")
    fault = sim.add_fault(f"{SOURCE}:{spec}{',' if ':' in spec else ':'}city={CITY},opd=DINKES")
    result = _ingest(fault_project, sim, tmp_path)
    assert fault.applied >= 1
    [failure] = result.failures
    assert (failure.source, failure.table, failure.city, failure.opd, failure.period) == (
        SOURCE,
        "service_requests",
        CITY,
        "DINKES",
        MONTH,
    )
    assert says in failure.message
    assert SOURCE in failure.message and f"kode_opd=DINKES&bulan={MONTH}" in failure.url
    assert failure.url.startswith(sim.url) and failure.hint  # where, and what to do
    text = str(failure)
    assert all(part in text for part in (SOURCE, CITY, "DINKES", MONTH, failure.url, "what to do"))
    # Nothing of the failed partition is kept (even pages fetched before the fault), the other OPDs are whole.
    assert "DINKES" not in set(result.frame["opd_code"])
    for opd in fault_project.cities.opds_for("service_requests"):
        if opd.code != "DINKES":
            delivered = [r["id_permohonan"] for r in sim.rows("service_requests", CITY, opd.code, MONTH)]
            assert _ids(result.frame, opd.code) == delivered
    # Another source of the same partition and the same source in another city deliver in full.
    complaints = _ingest(fault_project, sim, tmp_path, table="complaints")
    assert complaints.failures == [] and "DINKES" in set(complaints.frame["opd_code"])
    other_city = _ingest(fault_project, sim, tmp_path, city=OTHER_CITY)
    assert other_city.failures == []
    expected = [r["id_permohonan"] for r in sim.rows("service_requests", OTHER_CITY, "DINKES", MONTH)]
    assert _ids(other_city.frame, "DINKES") == expected
    # The secret appears nowhere: not in the error, the log or the raw zone.
    assert OPD_TEST_TOKEN not in text + caplog.text + _all_text(tmp_path / "raw")


def test_schema_drift_is_cured_by_an_alias_in_config(opd_project, tmp_path):
    """A renamed field fails loudly until the new name is mapped; then every row is read again."""

    def alias(data):
        fast_rest(data)
        source = next(s for s in data["sources"] if s["name"] == SOURCE)
        source["columns"]["tanggal_pengajuan"] = "submitted_at"

    project = edited_project(tmp_path, opd_project, edit_sources=alias)
    with OpdSimulator(project, seed=42) as server:
        server.add_fault(f"{SOURCE}:rename_field:field=tgl_pengajuan,to=tanggal_pengajuan,opd=DLH")
        result = ingest_table(
            project,
            "service_requests",
            CITY,
            MONTH,
            raw_dir=tmp_path / "raw",
            landing_dir=tmp_path,
            env={"KOTACERDAS_OPD_API_URL": server.url},
        )
        assert result.failures == []
        dlh = result.frame[result.frame["opd_code"] == "DLH"]
        assert dlh["submitted_at"].tolist() == [
            r["tgl_pengajuan"] for r in server.rows("service_requests", CITY, "DLH", MONTH)
        ]


def test_wrong_types_are_typed_or_quarantined_never_silently_empty(fault_project, sim, tmp_path):
    clean = _ingest(fault_project, sim, tmp_path)
    clean_staged = stage_table(SERVICE_REQUESTS, clean.frame, city=CITY, month=MONTH, pii_key=b"k")
    sim.add_fault(f"{SOURCE}:wrong_type:field=standar_hari,to=text,opd=DINKES")  # 1 -> "1 hari"
    sim.add_fault(f"{SOURCE}:wrong_type:field=tgl_pengajuan,to=epoch,opd=DLH")  # ISO text -> seconds
    sim.add_fault(f"{SOURCE}:wrong_type:field=kode_layanan,to=object,opd=DISHUB")  # "X" -> {"value": "X"}
    sim.add_fault(f"{SOURCE}:wrong_type:field=standar_hari,to=string,opd=DISDUKCAPIL")  # 3 -> "3": fine
    result = _ingest(fault_project, sim, tmp_path)
    assert result.failures == []  # a wrong type is a row problem, not a source problem
    staged = stage_table(SERVICE_REQUESTS, result.frame, city=CITY, month=MONTH, pii_key=b"k")
    rejected = staged.rejected
    by_rule = rejected.groupby("rule")["record_key"].apply(lambda s: {k.split("|")[1] for k in s}).to_dict()
    assert by_rule["type:sla_days"] == {"DINKES"}
    assert by_rule["type:submitted_at"] >= {"DLH"} and by_rule["type:service_code"] == {"DISHUB"}
    assert rejected.loc[rejected["rule"] == "type:sla_days", "value"].str.endswith(" hari").all()
    assert rejected.loc[rejected["rule"] == "type:service_code", "reason"].str.contains("JSON object").all()
    # Every DINKES/DLH/DISHUB row is rejected (with its reason), none became an empty value.
    assert not set(staged.frame["opd_code"]) & {"DINKES", "DLH", "DISHUB"}
    assert staged.frame["sla_days"].notna().all()
    # Numbers sent as strings are read as the same numbers: DISDUKCAPIL stages exactly as without the fault.
    ours = staged.frame[staged.frame["opd_code"] == "DISDUKCAPIL"].drop(columns=["_raw_file"])
    theirs = clean_staged.frame[clean_staged.frame["opd_code"] == "DISDUKCAPIL"].drop(columns=["_raw_file"])
    assert ours.reset_index(drop=True).equals(theirs.reset_index(drop=True))
    rows_in = len(result.frame)
    assert len(staged.frame) + rejected.drop_duplicates(["_raw_file", "_raw_row"]).shape[0] == rows_in


def test_string_numbers_in_survey_answers_stage_like_numbers(fault_project, sim, tmp_path):
    sim.add_fault("opd_api_ikm_survey:wrong_type:field=u1,to=string")
    result = _ingest(fault_project, sim, tmp_path, table="satisfaction_responses")
    staged = stage_table(SATISFACTION_RESPONSES, result.frame, city=CITY, month=MONTH, pii_key=None)
    assert set(result.frame["u1"].map(type)) == {str}
    assert staged.frame["u1"].dtype == "Int64" and staged.frame["u1"].between(0, 5).all()
    assert not (staged.rejected["rule"] == "type:u1").any()


def test_fault_specs_parse_and_reject_nonsense(fault_project):
    fault = Fault.parse("opd_api_complaints:error:status=503,times=2,opd=DINKES")
    assert (fault.kind, fault.target, fault.status, fault.times, fault.opd) == (
        "error",
        "opd_api_complaints",
        503,
        2,
        "DINKES",
    )
    assert fault.transient and not Fault.parse("*:latency:seconds=0.5").transient
    assert Fault.parse("*:latency:seconds=0.5").target is None
    for bad, says in (
        ("complaints", "TARGET:KIND"),
        ("x:explode", "unknown fault kind"),
        ("x:error:colour=red", "bad option"),
        ("x:error:times=two", "must be a number"),
        ("x:rename_field:field=a", "needs to="),
        ("x:wrong_type:field=a,to=blob", "one of"),
    ):
        with pytest.raises(ValueError, match=says):
            Fault.parse(bad)
    with OpdSimulator(fault_project) as server, pytest.raises(ValueError, match="no source or path"):
        server.add_fault("opd_api_nothing:drop")
