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
