"""Wide file drops (one column per year) reshaped to rows through `unpivot` in sources.yaml: the real LPPD Kab.
Semarang export from tests/data/reference/messy/, its lineage, the gate's row count, and the errors that keep a
wrong file or a wrong regex from loading anything."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from conftest import REFERENCE, edited_project

from kotacerdas.config import FileSource, SourcesConfig, load_yaml_model
from kotacerdas.errors import ConfigError, SourceError
from kotacerdas.ingest import ingest_table
from kotacerdas.ingest.files import read_file_drop
from kotacerdas.ingest.landing import read_raw
from kotacerdas.quality.gate import run_quality_gate
from kotacerdas.schemas import INDICATOR_SUBMISSIONS
from kotacerdas.stage.staging import stage_table

MESSY = REFERENCE / "messy"
LPPD = MESSY / "lppd_semarang_data.json"
POOR = MESSY / "jumlah_penduduk_miskin_berdasarkan_kabupatenkota_data.csv"
YEARS = r"Capaian_Tahun_(?P<period>\d{4})"


def _lppd_source(**overrides) -> dict:
    spec = {
        "name": "lppd_wide",
        "type": "file",
        "table": "indicator_submissions",
        "pattern": "{city}/{opd}/*.json",
        "format": "json",
        "decimal": ",",
        "extra_columns": "ignore",
        "columns": {"Indikator_Kinerja": "indicator_code"},
        "constants": {"city_code": "{city}", "opd_code": "{opd}", "unit": "%"},
        "unpivot": {"columns": YEARS, "value": "value"},
    }
    spec.update(overrides)
    return spec


def _records() -> list[dict]:
    return json.loads(LPPD.read_text(encoding="utf-8"))


def _stage(frame: pd.DataFrame):
    frame = frame.assign(_raw_file="lppd.json")
    return stage_table(INDICATOR_SUBMISSIONS, frame, city="33.22", month="2019-12", pii_key=None)


def test_lppd_wide_years_become_one_row_per_indicator_and_year():
    source = FileSource.model_validate(_lppd_source())
    frame = read_file_drop(source, LPPD, city="33.22", opd="BAPPEDA")
    records = _records()
    assert len(records) == 83 and len(frame) == 2 * len(records)
    # Each wide row gives its 2018 row, then its 2019 row, both pointing at that wide row.
    assert frame["_raw_row"].tolist() == [r for r in range(1, 84) for _ in (2018, 2019)]
    assert frame["period"].tolist() == ["2018", "2019"] * 83
    for row, name in zip(frame["_raw_row"], frame["indicator_code"], strict=True):
        assert name == records[row - 1]["Indikator_Kinerja"]

    staged = _stage(frame)
    kept = staged.frame.set_index(["indicator_code", "period"])["value"]
    assert kept[("Angka Harapan Hidup", "2018")] == pytest.approx(75.57)
    assert kept[("Angka Harapan Hidup", "2019")] == pytest.approx(75.0)
    assert kept[("Persentase Pelayanan Jaminan Kesehatan Bagi Masyarakat", "2019")] == pytest.approx(34.56)
    # "0,00" (the file's way of saying "not measured") is a value, not a gap: the quality rules judge it.
    assert records[14]["Capaian_Tahun_2019"] == "0,00"
    assert kept[(records[14]["Indikator_Kinerja"], "2019")] == 0.0
    assert kept[(records[14]["Indikator_Kinerja"], "2018")] == pytest.approx(93.87)

    rejected = staged.rejected
    wtp = rejected[rejected["rule"] == "type:value"]
    opini = [i + 1 for i, r in enumerate(records) if r["Capaian_Tahun_2018"] == "WTP"]
    assert opini == [33] and records[32]["Capaian_Tahun_2019"] == "WTP"
    assert wtp["_raw_row"].tolist() == [33, 33] and wtp["value"].tolist() == ["WTP", "WTP"]
    assert [k.split("|")[-1] for k in wtp["record_key"]] == ["2018", "2019"]
    assert wtp["reason"].str.contains("decimal comma").all()
    # The names repeated in the file collide per year (18 per year, as in the tidy reading); the two years of one
    # wide row never collide with each other.
    duplicates = rejected[rejected["rule"] == "unique:key"]
    assert len(duplicates) == 2 * 18
    assert sorted(duplicates.groupby("_raw_row").size().unique()) == [2]
    kept_from = duplicates["reason"].str.extract(r"lppd\.json row (\d+);")[0].astype(int)
    assert (kept_from < duplicates["_raw_row"]).all()
    assert staged.input_rows == 166 and len(staged.frame) + staged.rejected_rows == 166
    assert staged.rejected_rows == len(rejected[["_raw_row", "record_key"]].drop_duplicates()) == 38


def test_empty_cells_give_no_row_unless_kept_and_the_header_period_is_repaired(tmp_path):
    path = tmp_path / "capaian.csv"
    path.write_bytes("Indikator;Capaian Maret 2025;Capaian 04/2025\r\nA;1,5;0,00\r\nB;;\r\nC; ;7\r\n".encode("cp1252"))
    spec = _lppd_source(
        separator=";",
        format="csv",
        columns={"Indikator": "indicator_code"},
        unpivot={"columns": r"Capaian (?P<period>.+)", "value": "value"},
    )
    frame = read_file_drop(FileSource.model_validate(spec), path, city="19.71", opd="DLH")
    got = frame[["_raw_row", "indicator_code", "period", "value"]].values.tolist()
    assert got == [[1, "A", "2025-03", "1.5"], [1, "A", "2025-04", "0.00"], [3, "C", "2025-04", "7"]]
    spec["unpivot"]["empty_cells"] = "keep"
    frame = read_file_drop(FileSource.model_validate(spec), path, city="19.71", opd="DLH")
    assert len(frame) == 6 and frame["_raw_row"].tolist() == [1, 1, 2, 2, 3, 3]
    assert frame["value"].isna().tolist() == [False, False, True, True, True, False]


def test_a_file_without_the_wide_columns_fails_whole_and_names_its_headers():
    source = FileSource.model_validate(
        _lppd_source(format="auto", separator="auto", columns={"nama_kabupaten_kota": "indicator_code"})
    )
    with pytest.raises(
        SourceError,
        match=r"jumlah_penduduk_miskin.*no header matching unpivot\.columns "
        r"'Capaian_Tahun_.*'tahun'.*nothing of this file was loaded",
    ) as err:
        read_file_drop(source, POOR, city="32.01", opd="BPS")
    assert "unpivot.columns" in err.value.hint and "lppd_wide" in err.value.hint


def test_headers_that_give_the_same_key_or_no_group_value_fail_the_file(tmp_path):
    path = tmp_path / "capaian.csv"
    path.write_text("Indikator,Capaian 2018 (%),Capaian 2018 revisi\nA,1,2\n", encoding="utf-8")
    spec = _lppd_source(
        separator=",",
        format="csv",
        columns={"Indikator": "indicator_code"},
        unpivot={"columns": r"Capaian (?P<period>\d{4}).*", "value": "value"},
    )
    with pytest.raises(
        SourceError,
        match=r"'Capaian 2018 \(%\)' and 'Capaian 2018 revisi' both give "
        r"\{'period': '2018'\}",
    ):
        read_file_drop(FileSource.model_validate(spec), path)
    path.write_text("Indikator,Capaian,Capaian 2019\nA,1,2\n", encoding="utf-8")
    spec["unpivot"]["columns"] = r"Capaian ?(?P<period>\d{4})?"
    with pytest.raises(SourceError, match=r"header 'Capaian' matches .* but gives no \['period'\]"):
        read_file_drop(FileSource.model_validate(spec), path)


@pytest.mark.parametrize(
    ("unpivot", "message"),
    [
        ({"columns": r"Capaian_Tahun_(\d{4})", "value": "value"}, r"has no named group"),
        ({"columns": r"Capaian_Tahun_(?P<period>\d{4}", "value": "value"}, r"is not a regular expression"),
        (
            {"columns": r"Capaian_(?P<evidence_ref>\w+)", "value": "value"},
            r"none of its named groups \['evidence_ref'\] is a key column",
        ),
        ({"columns": r"Capaian_(?P<tahun>\d{4})", "value": "value"}, r"\['tahun'\], which are not columns of table"),
        (
            {"columns": r"Capaian_(?P<period>\d{4})", "value": "period"},
            r"unpivot\.value 'period' is also a named group",
        ),
        ({"columns": r"Capaian_(?P<period>\d{4})", "value": "unit"}, r"\['unit'\] would be filled both by unpivot"),
        ({"columns": r"Capaian_(?P<period>\d{4})"}, r"unpivot\.value: Field required"),
    ],
)
def test_a_wrong_unpivot_is_a_config_error_naming_file_source_and_key(tmp_path, unpivot, message):
    import yaml

    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": [_lppd_source(unpivot=unpivot)]}), encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as err:
        load_yaml_model(path, SourcesConfig)
    assert str(path) in err.value.message and "sources.0.file" in err.value.message
    assert "'lppd_wide'" in err.value.message or "Field required" in message  # pydantic's own error: by location


def test_tidy_files_keep_one_row_per_line_and_their_lineage():
    source = FileSource.model_validate(
        {
            "name": "jabar",
            "type": "file",
            "table": "indicator_submissions",
            "pattern": "*.csv",
            "separator": "auto",
            "extra_columns": "ignore",
            "region_codes": {"city_code": "kemendagri"},
            "columns": {"kode_kabupaten_kota": "city_code", "jumlah_penduduk_miskin": "value", "tahun": "period"},
            "constants": {"opd_code": "BPS", "indicator_code": "POOR_POPULATION"},
        }
    )
    frame = read_file_drop(source, POOR)
    assert len(frame) == 513 and frame["_raw_row"].tolist() == list(range(1, 514))
    assert frame.iloc[0][["city_code", "value", "period"]].tolist() == ["32.01", "451.3", "2002"]


def test_ingest_keeps_the_wide_row_as_lineage_and_the_gate_counts_long_rows(opd_project, tmp_path):
    project = edited_project(tmp_path, opd_project, edit_sources=lambda data: data["sources"].append(_lppd_source()))
    city, month = "19.71", "2025-03"
    opds = [o.code for o in project.cities.opds_for("indicator_submissions")]
    good, wrong = opds[0], opds[1]
    landing = tmp_path / "landing"
    (landing / city / good).mkdir(parents=True)
    shutil.copy(LPPD, landing / city / good / "lppd_semarang_data.json")
    (landing / city / wrong).mkdir(parents=True)
    wrong_file = landing / city / wrong / "lppd_2019.json"
    wrong_file.write_text(
        json.dumps([{"Indikator_Kinerja": "Angka Harapan Hidup", "Realisasi_2019": "75,00"}]), encoding="utf-8"
    )
    result = ingest_table(
        project,
        "indicator_submissions",
        city,
        month,
        raw_dir=tmp_path / "raw",
        landing_dir=landing,
        env={},
        sources=["lppd_wide"],
    )

    by_opd = {f.opd: f for f in result.failures}
    assert "no header matching unpivot.columns" in by_opd[wrong].message
    assert "Realisasi_2019" in by_opd[wrong].message and str(wrong_file) in by_opd[wrong].message
    assert all("not found" in f.message for o, f in by_opd.items() if o not in (good, wrong))
    raw_wrong = next(r for r in result.raw_files if r.origin == str(wrong_file))
    assert raw_wrong.rows == 0 and read_raw(tmp_path / "raw", raw_wrong.relpath)[0] == wrong_file.read_bytes()

    frame = result.frame
    assert set(frame["opd_code"]) == {good} and len(frame) == 166
    raw_good = next(r for r in result.raw_files if r.origin.endswith(f"{good}/lppd_semarang_data.json"))
    assert set(frame["_raw_file"]) == {raw_good.relpath} and raw_good.rows == 166
    records = _records()
    for row, period, value in zip(frame["_raw_row"], frame["period"], frame["value"], strict=True):
        assert value == records[row - 1][f"Capaian_Tahun_{period}"].replace(",", ".")
    assert frame.groupby("_raw_row")["period"].apply(sorted).map(tuple).unique().tolist() == [("2018", "2019")]

    staged = stage_table(INDICATOR_SUBMISSIONS, frame, city=city, month=month, pii_key=None)
    gate = run_quality_gate(project, INDICATOR_SUBMISSIONS, staged, city=city, month=month)
    assert gate.input_rows == 166  # long rows, although they share 83 raw rows
    assert gate.rejected_rows == 166 - len(gate.valid)
