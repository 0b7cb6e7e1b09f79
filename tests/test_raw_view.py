"""`kotacerdas raw`: the row of a stored payload that a staged or rejected row names (`_raw_file`, `_raw_row`), read
from the encrypted raw zone as delivered, with personal data shown only as the warehouse's pseudonyms."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import simulator_env
from typer.testing import CliRunner

from kotacerdas.errors import ConfigError, StorageError
from kotacerdas.ingest import ingest_table
from kotacerdas.ingest.raw_view import raw_row
from kotacerdas.privacy import pseudonymise
from kotacerdas.simulator import write_file_drops

CITY, MONTH = "19.71", "2025-03"
PII_KEY = b"test-pii-key-for-raw-rows"


@pytest.fixture(scope="module")
def fetched(opd_project, opd_simulator, tmp_path_factory):
    """Service requests from the simulator's REST API (NIK and phone in them) and indicator submissions dropped as
    files, ingested into one raw zone."""
    root = tmp_path_factory.mktemp("raw_view")
    env = simulator_env(opd_simulator)
    write_file_drops(opd_project, root / "landing", [CITY], [MONTH])
    folders = {"raw_dir": root / "raw", "landing_dir": root / "landing", "env": env}
    rest = ingest_table(opd_project, "service_requests", CITY, MONTH, **folders)
    files = ingest_table(opd_project, "indicator_submissions", CITY, MONTH, **folders)
    assert not rest.failures and not files.failures
    return root / "raw", rest.frame, files.frame


def _fields(shown) -> dict[str, object]:
    return {f.column: f.value for f in shown.fields if f.column}


def test_a_rest_row_is_shown_as_delivered_with_personal_data_as_the_warehouse_s_pseudonyms(opd_project, fetched):
    raw, frame, _ = fetched
    row = frame[frame["applicant_nik"].notna() & frame["applicant_phone"].notna()].iloc[-1]
    shown = raw_row(opd_project, raw, row["_raw_file"], int(row["_raw_row"]), PII_KEY)

    values = _fields(shown)
    assert values["request_id"] == row["request_id"] and values["service_code"] == row["service_code"]
    assert values["applicant_nik"] == pseudonymise(row["applicant_nik"], "nik", PII_KEY)
    assert values["applicant_phone"] == pseudonymise(row["applicant_phone"], "phone", PII_KEY)
    everything = " ".join(f"{f.name} {f.value}" for f in shown.fields)
    assert str(row["applicant_nik"]) not in everything and str(row["applicant_phone"]) not in everything
    # the source's own field names, and the payload's record with its checked sha256
    assert {f.name for f in shown.fields} >= {"id_permohonan", "nik_pemohon"}
    assert shown.record.relpath == row["_raw_file"] and shown.rows >= int(row["_raw_row"])
    assert shown.source == "opd_api_service_requests"


def test_without_a_pseudonymisation_key_personal_data_is_redacted(opd_project, fetched):
    raw, frame, _ = fetched
    row = frame[frame["applicant_nik"].notna()].iloc[0]
    shown = raw_row(opd_project, raw, row["_raw_file"], int(row["_raw_row"]), None)
    assert _fields(shown)["applicant_nik"] == "<redacted>"


def test_a_file_drop_row_is_the_file_s_data_row_the_warehouse_names(opd_project, fetched):
    raw, _, frame = fetched
    for _, row in frame.sample(3, random_state=1).iterrows():
        shown = raw_row(opd_project, raw, row["_raw_file"], int(row["_raw_row"]), PII_KEY)
        values = _fields(shown)
        assert values["indicator_code"] == row["indicator_code"]
        # the cell as the OPD wrote it, decimal comma and all; ingestion read it as the number after it
        assert pd.isna(row["value"]) or values["value"] == row["value"].replace(".", ",")
        assert shown.record.relpath == row["_raw_file"]


def test_a_row_out_of_range_a_climbing_path_and_a_payload_changed_on_disk_are_refused(opd_project, fetched):
    raw, frame, _ = fetched
    relpath = frame["_raw_file"].iloc[0]
    rows = raw_row(opd_project, raw, relpath, 1, PII_KEY).rows
    with pytest.raises(ConfigError, match=rf"has {rows} data row\(s\); there is no row {rows + 1}"):
        raw_row(opd_project, raw, relpath, rows + 1, PII_KEY)
    with pytest.raises(ConfigError, match="never climbs out"):
        raw_row(opd_project, raw, f"../{relpath}", 1, PII_KEY)
    with pytest.raises(ConfigError, match="no payload"):
        raw_row(opd_project, raw, relpath + ".gone", 1, PII_KEY)

    copy = raw.parent / "altered"
    import shutil

    shutil.copytree(raw, copy)
    blob = bytearray((copy / relpath).read_bytes())
    blob[-1] ^= 1
    (copy / relpath).write_bytes(bytes(blob))
    with pytest.raises(StorageError) as caught:
        raw_row(opd_project, copy, relpath, 1, PII_KEY)
    assert "KOTACERDAS_STORAGE_KEY" in caught.value.hint


def test_the_command_prints_the_row_and_where_it_was_fetched(opd_project, fetched, monkeypatch):
    from pipelines.cli import app

    raw, frame, _ = fetched
    row = frame[frame["applicant_nik"].notna()].iloc[0]
    monkeypatch.setenv("KOTACERDAS_RAW_DIR", str(raw))
    monkeypatch.setenv("KOTACERDAS_PII_KEY", PII_KEY.decode())
    result = CliRunner().invoke(app, ["raw", row["_raw_file"], "--row", str(int(row["_raw_row"]))])

    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert row["request_id"] in text and pseudonymise(row["applicant_nik"], "nik", PII_KEY)[:12] in text
    assert str(row["applicant_nik"]) not in result.output
    assert "sha256" in text and "(checked)" in text


NIK, PHONE = "3171012345670001", "081234567890"


def test_no_spelling_of_personal_data_is_shown_in_clear(opd_project, tmp_path):
    """Aliases, numbers, nested records, a free-text note, headers that did not map: never the NIK or the phone."""
    import json

    from conftest import edited_project

    from kotacerdas.ingest.landing import store_raw

    def edit(data):
        rest = next(s for s in data["sources"] if s["name"] == "opd_api_service_requests")
        rest["columns"] |= {"nik": "applicant_nik", "telepon": "applicant_phone"}  # second spellings
        data["sources"].append(
            {
                "name": "opd_file_drop_requests",
                "type": "file",
                "table": "service_requests",
                "pattern": "{city}/{opd}/permohonan_{month}.csv",
                "columns": {"ID Permohonan": "request_id", "No KTP": "applicant_nik", "NIK": "applicant_nik"},
            }
        )

    project = edited_project(tmp_path, opd_project, edit_sources=edit)
    raw = tmp_path / "raw"
    record = {
        "id_permohonan": "R-1",
        "nik": NIK,  # the alias, not the first spelling
        "hp_pemohon": PHONE,  # the first spelling of the phone, and a second one in a form no scrubber reads
        "telepon": "812-3456-7890",
        "nomor": int(NIK),  # a NIK sent as a number, in a field nobody mapped
        "pemohon": {"nik": NIK, "hp": PHONE},  # nested
        "catatan": f"pemohon {NIK} hubungi {PHONE}",
    }
    page = json.dumps({"data": [record]}).encode()
    where = {"city": CITY, "period": MONTH, "opd": "DINKES", "fetch_id": "f1", "origin": "http://x/", "rows": 1}
    rest = store_raw(raw, source="opd_api_service_requests", name="page-0001.json", content=page, **where)
    # a file whose headers do not map (a required column missing): stored, not loaded; still pseudonymised
    csv = f"No  KTP,keterangan\n{NIK},hp {PHONE}\n".encode()
    dropped = store_raw(raw, source="opd_file_drop_requests", name="permohonan_2025-03.csv", content=csv, **where)

    for relpath in (rest.relpath, dropped.relpath):
        shown = raw_row(project, raw, relpath, 1, PII_KEY)
        text = " ".join(f"{f.name}={f.value}" for f in shown.fields)
        assert NIK not in text and PHONE not in text and PHONE[1:] not in text and "3456" not in text, text
    fields = {f.name: f for f in raw_row(project, raw, rest.relpath, 1, PII_KEY).fields}
    assert fields["nik"].value == pseudonymise(NIK, "nik", PII_KEY) and fields["nik"].column == "applicant_nik"
    assert fields["telepon"].value == pseudonymise("812-3456-7890", "phone", PII_KEY)
    assert fields["id_permohonan"].value == "R-1"
    headers = {f.name: f for f in raw_row(project, raw, dropped.relpath, 1, PII_KEY).fields}
    assert headers["No  KTP"].column == "applicant_nik"  # matched as headers are: spaces and case aside
    assert headers["No  KTP"].value == pseudonymise(NIK, "nik", PII_KEY)
    # a payload's record is no payload
    with pytest.raises(ConfigError, match="not a payload"):
        raw_row(project, raw, rest.relpath + ".meta.json", 1, PII_KEY)
