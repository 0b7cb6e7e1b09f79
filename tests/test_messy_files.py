"""Messy file drops, as OPD staff and Indonesian portals really export them: real files from
tests/data/reference/messy/ (and regions/), plus the encodings, separators, dates and workbooks Excel produces.
Each case parses to the right values; a file that cannot be parsed is kept in raw, reported, never half-loaded."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import datetime

import pandas as pd
import pytest
from conftest import REFERENCE

from kotacerdas.config import FileSource
from kotacerdas.errors import SourceError
from kotacerdas.ingest import ingest_table
from kotacerdas.ingest.cleaning import excel_serial_to_iso, normalise_decimal, normalise_period, repair_region_code
from kotacerdas.ingest.files import read_file_drop
from kotacerdas.ingest.landing import read_raw
from kotacerdas.schemas import INDICATOR_SUBMISSIONS, SERVICE_REQUESTS
from kotacerdas.simulator import write_file_drops
from kotacerdas.stage.hygiene import RejectedCell
from kotacerdas.stage.staging import stage_table

MESSY = REFERENCE / "messy"
REGIONS = REFERENCE / "regions"
POOR = MESSY / "jumlah_penduduk_miskin_berdasarkan_kabupatenkota_data.csv"
POVERTY_LINE = MESSY / "angka_garis_kemiskinan_per_kapita_per_bulan__kabupaten_data.csv"
VILLAGES = MESSY / "dpmdes-idm_sts_kejadian_pencemaran_air__des_kel_data.csv"
LPPD = MESSY / "lppd_semarang_data.json"


def _source(**overrides) -> FileSource:
    """A file source for indicator_submissions the way a data engineer would declare a Jabar export."""
    spec = {
        "name": "jabar_export",
        "type": "file",
        "table": "indicator_submissions",
        "pattern": "*.csv",
        "separator": "auto",
        "encoding": "auto",
        "extra_columns": "ignore",
        "region_codes": {"city_code": "kemendagri"},
        "constants": {"opd_code": "BPS", "indicator_code": "POOR_POPULATION"},
        "columns": {
            "kode_kabupaten_kota": "city_code",
            "Kode Kab/Kota": "city_code",
            "jumlah_penduduk_miskin": "value",
            "Jumlah Penduduk Miskin": "value",
            "garis_kemiskinan_perkapita": "value",
            "satuan": "unit",
            "tahun": "period",
            "nama_kabupaten_kota": "evidence_ref",
        },
    }
    spec.update(overrides)
    return FileSource.model_validate(spec)


def _kabkota_codes() -> dict[str, str]:
    """Kemendagri kab/kota code -> its BPS-style code, from the reference list."""
    with (REGIONS / "kode_wilayah_prov_kabkota.csv").open(encoding="utf-8") as fh:
        return {r["kode_kemendagri"]: r["kode_bps_style"] for r in csv.DictReader(fh)}


def _stage(frame: pd.DataFrame, table=INDICATOR_SUBMISSIONS):
    frame = frame.copy()
    frame["_raw_file"], frame["_raw_row"] = "f", range(1, len(frame) + 1)
    return stage_table(table, frame, city="32.01", month="2019-01", pii_key=None)


def test_real_jabar_export_parses_to_the_right_values():
    frame = read_file_drop(_source(), POOR)
    original = list(csv.DictReader(POOR.read_text(encoding="utf-8").splitlines()))
    assert len(frame) == len(original) == 513
    known = _kabkota_codes()
    # BPS-style 3201 becomes the Kemendagri code 32.01, checked against the reference list.
    assert set(frame["city_code"]) <= set(known)
    assert all(known[c] == o["kode_kabupaten_kota"] for c, o in zip(frame["city_code"], original, strict=True))
    staged = _stage(frame)
    assert staged.rejected.empty
    assert staged.frame["value"].tolist() == [float(o["jumlah_penduduk_miskin"]) for o in original]
    first = staged.frame.iloc[0]
    assert (first["city_code"], first["value"], first["unit"], first["period"]) == ("32.01", 451.3, "RIBU JIWA", "2002")
    assert first["evidence_ref"] == "KABUPATEN BOGOR" and set(staged.frame["opd_code"]) == {"BPS"}


def _excel_export(text: str, *, encoding: str, sep: str, decimal_comma: bool) -> bytes:
    """Re-save a real CSV as Indonesian-locale Excel would: `;`, decimal comma, thousands dot, cp1252 / BOM."""
    rows = list(csv.reader(io.StringIO(text)))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, lineterminator="\r\n")
    writer.writerow(["Kode Kab/Kota" if h == "kode_kabupaten_kota" else h for h in rows[0]])
    for row in rows[1:]:
        cells = []
        for h, v in zip(rows[0], row, strict=True):
            if h in ("jumlah_penduduk_miskin", "garis_kemiskinan_perkapita") and decimal_comma:
                whole, _, frac = v.partition(".")
                v = f"{int(whole):,}".replace(",", ".") + ("," + frac if frac else "")
            if h == "nama_kabupaten_kota":
                v = v.replace("KABUPATEN ", "KAB. ") + " – Jawa Barat"  # an en dash: byte 0x96 in cp1252
            cells.append(v)
        writer.writerow(cells)
    return out.getvalue().encode(encoding)


@pytest.mark.parametrize(("encoding", "sep"), [("cp1252", ";"), ("utf-8-sig", ";"), ("utf-8", ","), ("cp1252", ",")])
def test_windows_1252_bom_separators_and_thousands_dot(tmp_path, encoding, sep):
    text = POVERTY_LINE.read_text(encoding="utf-8")
    data = _excel_export(text, encoding=encoding, sep=sep, decimal_comma=True)
    assert (b"\x96" in data) == (encoding == "cp1252") and data.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")
    path = tmp_path / "garis_kemiskinan.csv"
    path.write_bytes(data)
    # BPS groups thousands with a dot (359.787): declared, or every such value would be rejected as ambiguous
    source = _source(decimal=",", thousands=".", constants={"opd_code": "BPS", "indicator_code": "POVERTY_LINE"})
    staged = _stage(read_file_drop(source, path))
    original = list(csv.DictReader(text.splitlines()))
    assert staged.rejected.empty and len(staged.frame) == len(original) == 81
    assert staged.frame["value"].tolist() == [float(o["garis_kemiskinan_perkapita"]) for o in original]
    assert b"359.787" in data  # the thousands dot really was there
    assert staged.frame["evidence_ref"].iloc[0] == "KAB. BOGOR – Jawa Barat"
    assert staged.frame["city_code"].iloc[0] == "32.01"


def test_float_region_codes_in_the_real_village_file_are_repaired():
    source = _source(
        columns={
            "bps_kode_kabupaten_kota": "city_code",
            "bps_kode_desa_kelurahan": "evidence_ref",
            "status_pencemaran_air": "unit",
            "tahun": "period",
        },
        region_codes={"city_code": "kemendagri", "evidence_ref": "as_written"},
        constants={"opd_code": "DPMDES", "indicator_code": "WATER_POLLUTION_EVENT"},
    )
    frame = read_file_drop(source, VILLAGES)
    original = list(csv.DictReader(VILLAGES.read_text(encoding="utf-8").splitlines()))
    assert len(frame) == len(original) == 15936
    assert (
        original[0]["bps_kode_kabupaten_kota"] == "3201.0" and original[0]["bps_kode_desa_kelurahan"] == "3201190006.0"
    )
    assert frame.iloc[0][["city_code", "evidence_ref", "period"]].tolist() == ["32.01", "3201190006", "2019"]
    assert set(frame["city_code"]) <= set(_kabkota_codes())
    assert frame["evidence_ref"].str.fullmatch(r"\d{10}").all()  # every village code: 10 digits, no ".0"
    assert set(frame["period"]) == {"2019", "2020", "2021"} and set(frame["unit"]) == {"ADA", "TIDAK ADA"}


def test_float_mangled_codes_of_the_region_reference_are_repaired_where_unambiguous():
    """wilayah_luas.csv writes 11.10 as 11.1 and the province 31 as 31.0 (floats); every code comes back."""
    with (REGIONS / "wilayah_luas.csv").open(encoding="utf-8") as fh:
        luas = list(csv.DictReader(fh))
    with (REGIONS / "kode_wilayah_prov_kabkota.csv").open(encoding="utf-8") as fh:
        by_name = {r["nama"].strip(): r["kode_kemendagri"] for r in csv.DictReader(fh)}
    mangled = [
        r["kode_kemendagri_as_written"]
        for r in luas
        if r["kode_kemendagri_as_written"] in ("11.1", "12.1", "12.2", "14.1", "31.0")
    ]
    assert len(mangled) == 5
    checked = 0
    for r in luas:
        if r["nama"].strip() in by_name:
            assert repair_region_code(r["kode_kemendagri_as_written"]) == by_name[r["nama"].strip()], r
            checked += 1
    assert checked > 500
    # The same repairs for numbers a workbook hands over, and what is left alone because it is not a code.
    assert [repair_region_code(v) for v in (3201.0, 11.1, 3201, "3201", " 32.01 ", "1971.0")] == [
        "32.01",
        "11.10",
        "32.01",
        "32.01",
        "32.01",
        "19.71",
    ]
    assert repair_region_code("3201190006.0") == "3201190006"  # a village code is no kab/kota: not dotted
    assert repair_region_code("3.2e3") == "3.2e3" and repair_region_code("32.015") == "32.015"
    assert repair_region_code("3201190006.0", "as_written") == "3201190006"


def test_lppd_json_decimal_commas_and_its_real_defects():
    """LPPD Kab. Semarang: decimal commas as text, "WTP" in a numeric column, an indicator listed twice."""
    source = FileSource.model_validate(
        {
            "name": "lppd",
            "type": "file",
            "table": "indicator_submissions",
            "pattern": "*.json",
            "format": "json",
            "decimal": ",",
            "extra_columns": "ignore",
            "columns": {"Indikator_Kinerja": "indicator_code", "Capaian_Tahun_2019": "value"},
            "constants": {"city_code": "33.22", "opd_code": "BAPPEDA", "period": "2019", "unit": "%"},
        }
    )
    frame = read_file_drop(source, LPPD)
    records = json.loads(LPPD.read_text(encoding="utf-8"))
    assert len(frame) == len(records) == 83
    staged = _stage(frame)
    kept = staged.frame.set_index("_raw_row")["value"]
    assert kept[1] == pytest.approx(75.00) and records[0]["Capaian_Tahun_2019"] == "75,00"
    assert kept[2] == pytest.approx(34.56)
    rejected = staged.rejected
    wtp = rejected[rejected["rule"] == "type:value"]
    assert wtp["value"].tolist() == ["WTP"] and "decimal comma" in wtp["reason"].iloc[0]
    # One indicator name appears twice and one 18 times (per kecamatan): 1 + 17 rows rejected as repeated keys.
    duplicates = rejected[rejected["rule"] == "unique:key"]
    assert len(duplicates) == 18 and duplicates["reason"].str.contains("same key, different values").all()
    # Every row is either staged or rejected with its reason: none lost.
    assert len(staged.frame) + rejected.drop_duplicates("_raw_row").shape[0] == 83


def test_dates_as_dmy_iso_and_excel_serials_in_csv_and_xlsx(tmp_path):
    import openpyxl

    source = FileSource.model_validate(
        {
            "name": "loket",
            "type": "file",
            "table": "service_requests",
            "pattern": "*",
            "separator": "auto",
            "encoding": "auto",
            "decimal": ",",
            "columns": {
                "No Permohonan": "request_id",
                "Kode Wilayah": "city_code",
                "Kode OPD": "opd_code",
                "Layanan": "service_code",
                "Kanal": "channel",
                "Status": "status",
                "Tanggal Pengajuan": "submitted_at",
                "Tanggal Selesai": "completed_at",
                "Standar (hari)": "sla_days",
            },
            "optional_columns": ["completed_at"],
            "region_codes": {"city_code": "kemendagri"},
        }
    )
    header = [
        "No Permohonan",
        "Kode Wilayah",
        "Kode OPD",
        "Layanan",
        "Kanal",
        "Status",
        "Tanggal Pengajuan",
        "Standar (hari)",
    ]
    cells = [
        ["P1", "19.71", "DLH", "ANGKUT-SAMPAH", "offline", "completed", "03/03/2025 09:30", "2"],
        ["P2", "1971", "DLH", "ANGKUT-SAMPAH", "online", "submitted", "2025-03-04", "2"],
        ["P3", "1971.0", "DLH", "ANGKUT-SAMPAH", "online", "submitted", "45720,5", "2"],  # serial, comma
        ["P4", "19.71", "DLH", "ANGKUT-SAMPAH", "online", "submitted", "45721", "2"],
    ]
    expected = [datetime(2025, 3, 3, 9, 30), datetime(2025, 3, 4), datetime(2025, 3, 4, 12), datetime(2025, 3, 5)]
    csv_path = tmp_path / "loket.csv"
    csv_path.write_bytes(("\r\n".join(";".join(r) for r in [header, *cells]) + "\r\n").encode("cp1252"))
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    sheet.append(["P1", "19.71", "DLH", "ANGKUT-SAMPAH", "offline", "completed", datetime(2025, 3, 3, 9, 30), 2])
    sheet.append(["P2", 1971, "DLH", "ANGKUT-SAMPAH", "online", "submitted", "2025-03-04", 2])
    sheet.append(["P3", 1971.0, "DLH", "ANGKUT-SAMPAH", "online", "submitted", 45720.5, 2])  # unformatted serial
    sheet.append(["P4", "19.71", "DLH", "ANGKUT-SAMPAH", "online", "submitted", 45721, 2.0])
    xlsx_path = tmp_path / "loket.xlsx"
    book.save(xlsx_path)
    for path in (csv_path, xlsx_path):
        staged = _stage(read_file_drop(source, path), table=SERVICE_REQUESTS)
        assert staged.rejected.empty, staged.rejected.to_dict("records")
        assert staged.frame["submitted_at"].tolist() == [pd.Timestamp(e) for e in expected], path.suffix
        assert set(staged.frame["city_code"]) == {"19.71"} and staged.frame["sla_days"].tolist() == [2] * 4
        assert staged.frame["completed_at"].isna().all()  # optional and absent: missing, not an error


def test_unambiguous_value_repairs():
    assert [normalise_decimal(v, ",", ".") for v in ("1.234,56", "72,36", "1.234", "1.234.567", "75.57", "tujuh")] == [
        "1234.56",
        "72.36",
        "1234",
        "1234567",
        "75.57",
        "tujuh",
    ]
    assert [normalise_decimal(v, ".") for v in ("1,234.5", "1,234", "12.5")] == ["1234.5", "1234", "12.5"]
    assert excel_serial_to_iso("45717") == "2025-03-01T00:00:00" and excel_serial_to_iso("12") == "12"
    # With a decimal comma and no declared thousands dot, one group of three digits reads two ways: rejected.
    texts = ("30.750", "0.125", "-1.234")
    ambiguous = [normalise_decimal(v, ",") for v in texts]
    assert [(c.rule, c.text) for c in ambiguous] == [("number:ambiguous_decimal", v) for v in texts]
    assert "30750" in ambiguous[0].reason and "30.750" in ambiguous[0].reason
    # A declared thousands dot settles 30.750, never 0.125 (no thousands group follows a leading 0).
    assert normalise_decimal("30.750", ",", ".") == "30750"
    assert normalise_decimal("0.125", ",", ".").rule == "number:ambiguous_decimal"
    assert [normalise_decimal(v, ",") for v in ("1.234.567", "1.234,5", "12.5")] == ["1234567", "1234.5", "12.5"]
    assert [
        normalise_period(v)
        for v in (
            "2025-03",
            "2025-03-01",
            "01/03/2025",
            "03/2025",
            "Maret 2025",
            "Mar-25",
            "45717",
            45717,
            "2019.0",
            "2025-13",
            "triwulan I",
        )
    ] == [
        "2025-03",
        "2025-03",
        "2025-03",
        "2025-03",
        "2025-03",
        "2025-03",
        "2025-03",
        "2025-03",
        "2019",
        "2025-13",
        "triwulan I",
    ]


def test_messy_simulator_exports_stage_exactly_like_the_clean_ones(opd_project, tmp_path):
    cities, months = ["19.71", "19.03"], ["2025-02", "2025-03"]
    clean_dir, messy_dir = tmp_path / "clean", tmp_path / "messy"
    write_file_drops(opd_project, clean_dir, cities, months, seed=42)
    messy_paths = write_file_drops(opd_project, messy_dir, cities, months, seed=42, messy=True)
    assert {p.suffix for p in messy_paths} == {".csv", ".xlsx"}
    raw_bytes = b"".join(p.read_bytes() for p in messy_paths if p.suffix == ".csv")
    assert b"\x96" in raw_bytes and b"\xe2\x80\x93" in raw_bytes  # both Windows-1252 and UTF-8 files
    columns = ["city_code", "opd_code", "indicator_code", "period", "value", "unit"]
    for city in cities:
        for month in months:
            got = {}
            for name, landing in (("clean", clean_dir), ("messy", messy_dir)):
                result = ingest_table(
                    opd_project,
                    "indicator_submissions",
                    city,
                    month,
                    raw_dir=tmp_path / f"raw-{name}",
                    landing_dir=landing,
                    env={},
                )
                assert result.failures == []
                staged = stage_table(INDICATOR_SUBMISSIONS, result.frame, city=city, month=month, pii_key=None)
                assert staged.rejected.empty
                got[name] = staged.frame
            clean, messy = got["clean"][columns], got["messy"][columns]
            pd.testing.assert_frame_equal(messy.reset_index(drop=True), clean.reset_index(drop=True))
            assert got["messy"]["evidence_ref"].str.endswith(" – lampiran").all()


def test_unparseable_files_are_kept_in_raw_reported_and_never_half_loaded(opd_project, tmp_path):
    landing = tmp_path / "landing"
    write_file_drops(opd_project, landing, ["19.71"], ["2025-03"])
    broken = landing / "19.71" / "DLH" / "capaian_indikator_2025-03.csv"
    lines = broken.read_bytes().split(b"\r\n")
    lines[2] += b";catatan: angka sementara"  # one row with a field too many, in the middle of the file
    broken.write_bytes(b"\r\n".join(lines))
    garbage = landing / "19.71" / "DISPAR" / "capaian_indikator_2025-03.xlsx"
    (landing / "19.71" / "DISPAR" / "capaian_indikator_2025-03.csv").unlink()
    garbage.write_bytes(b"PK\x03\x04 this is not really a workbook")
    result = ingest_table(
        opd_project, "indicator_submissions", "19.71", "2025-03", raw_dir=tmp_path / "raw", landing_dir=landing, env={}
    )
    by_opd = {f.opd: f for f in result.failures}
    assert set(by_opd) == {"DLH", "DISPAR"}
    assert "line 3 has 8 fields, the header has 7" in by_opd["DLH"].message and str(broken) in by_opd["DLH"].message
    assert "nothing of this file was loaded" in by_opd["DLH"].message and by_opd["DLH"].hint
    assert "not a readable XLSX workbook" in by_opd["DISPAR"].message and ".xlsx" in by_opd["DISPAR"].hint
    # Neither file contributed a single row (the DLH rows before the bad line are not loaded either).
    assert {"DLH", "DISPAR"}.isdisjoint(set(result.frame["opd_code"])) and len(result.frame) > 0
    # Both are in the raw zone byte for byte, with their checksum, as the record of what the OPD sent.
    for path in (broken, garbage):
        raw = next(r for r in result.raw_files if r.relpath.endswith(path.name) and r.origin == str(path))
        stored = read_raw(tmp_path / "raw", raw.relpath)[0]
        assert stored == path.read_bytes() and hashlib.sha256(stored).hexdigest() == raw.sha256
        assert raw.rows == 0


def test_header_problems_name_the_file_and_the_expected_headers(tmp_path):
    source = _source(extra_columns="error")
    path = tmp_path / "x.csv"
    path.write_text(
        "kode_kabupaten_kota,Kode Kab/Kota,jumlah_penduduk_miskin,satuan,tahun\n3201,3201,1,a,2020\n", encoding="utf-8"
    )
    with pytest.raises(SourceError, match=r"x\.csv.*ambiguous: city_code from both"):
        read_file_drop(source, path)
    path.write_text("KODE_KABUPATEN_KOTA;Satuan;Tahun;Catatan\n3201;a;2020;-\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"missing: value \(one of .*unknown: \['Catatan'\]"):
        read_file_drop(source, path)


def test_title_rows_above_the_header_and_trailing_separators(tmp_path):
    """Exports often start with a report title and end every line with an empty column."""
    path = tmp_path / "laporan.csv"
    path.write_bytes(
        "LAPORAN JUMLAH PENDUDUK MISKIN;;;\r\nDinas Sosial, 2020;;;\r\n"
        "Kode Kab/Kota;Jumlah Penduduk Miskin;satuan;tahun;\r\n3201;491,1;RIBU JIWA;2020;\r\n"
        "3271.0;79,7;RIBU JIWA;2020.0;\r\n".encode("cp1252")
    )
    frame = read_file_drop(_source(header_row=3, decimal=",", optional_columns=["evidence_ref"]), path)
    assert frame[["city_code", "value", "period"]].values.tolist() == [
        ["32.01", "491.1", "2020"],
        ["32.71", "79.7", "2020"],
    ]


# --- what a new user's files did (defects of the 2026-12 trial): each must be kept or named, never guessed ----------

INDICATOR_HEADER = ["Kode Wilayah", "Kode OPD", "Kode Indikator", "Periode", "Nilai", "Satuan", "Bukti Dukung"]


def _indicator_source(opd_project, **overrides) -> FileSource:
    """The OPDs' indicator files as config/sources.yaml declares them."""
    source = next(s for s in opd_project.sources.sources if s.name == "opd_file_drop_indicators")
    return source.model_copy(update=overrides)


def _indicator_csv(path, rows) -> None:
    lines = [";".join(INDICATOR_HEADER), *(";".join(r) for r in rows)]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("31/02/2025", "there is no day 31 in February 2025"),
        ("45/03/2025", "there is no day 45 in March 2025"),
        ("00/03/2025", "there is no day 0 in March 2025"),
        ("2025-02-31", "there is no day 31 in February 2025"),
        ("29/02/2025 10:00", "there is no day 29 in February 2025"),
        ("15/13/2025", "there is no month 13"),
    ],
)
def test_an_impossible_date_is_no_month_and_keeps_its_text(text, why):
    cell = normalise_period(text)
    assert isinstance(cell, RejectedCell), cell
    assert cell.text == text and cell.rule == "type:period"
    assert cell.reason.startswith(f"{text} is not a date: {why}") and "YYYY-MM" in cell.reason
    # the column named in the rule is the table's period column
    assert normalise_period(text, column="as_of").rule == "type:as_of"
    # real dates still give their month (a leap day, a day with a time)
    assert [normalise_period(v) for v in ("29/02/2024", "28/02/2025 10:00", "2025-02-28", "31/03/2025")] == [
        "2024-02",
        "2025-02",
        "2025-02",
        "2025-03",
    ]


@pytest.mark.parametrize("month", ["2025-02", "2025-03"])
def test_an_impossible_date_in_a_file_is_quarantined_with_what_the_opd_wrote(opd_project, tmp_path, month):
    """In a 2025-03 file the quarantine showed `2025-02`, which the OPD never wrote; in a 2025-02 file it passed."""
    path = tmp_path / f"capaian_indikator_{month}.csv"
    _indicator_csv(
        path,
        [
            ["19.71", "DINKES", "HLT_IMMUNISATION", "31/02/2025", "91,5", "%", "a"],
            ["19.71", "DINKES", "HLT_STUNTING", f"01/{month[5:]}/2025", "12,5", "%", "b"],
        ],
    )
    frame = read_file_drop(_indicator_source(opd_project), path, city="19.71", opd="DINKES", period=month)
    frame["_raw_file"] = path.name
    staged = stage_table(INDICATOR_SUBMISSIONS, frame, city="19.71", month=month, pii_key=None)
    assert staged.frame[["indicator_code", "period", "value"]].values.tolist() == [["HLT_STUNTING", month, 12.5]]
    bad = staged.rejected.to_dict("records")
    assert [(r["rule"], r["column_name"], r["value"], r["_raw_row"]) for r in bad] == [
        ("type:period", "period", "31/02/2025", 1)
    ]
    assert "31/02/2025 is not a date: there is no day 31 in February 2025" in bad[0]["reason"]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".json"])
def test_an_empty_file_says_it_is_empty(opd_project, tmp_path, suffix):
    path = tmp_path / f"capaian_indikator_2025-03{suffix}"
    path.write_bytes(b"")
    with pytest.raises(SourceError) as info:
        read_file_drop(_indicator_source(opd_project), path)
    assert f"{path}: the file is empty (0 bytes)" in info.value.message
    assert "separator" not in str(info.value) and "upload" in (info.value.hint or "")


def test_a_csv_of_blank_lines_says_it_holds_no_data(opd_project, tmp_path):
    path = tmp_path / "capaian_indikator_2025-03.csv"
    data = b"\xef\xbb\xbf\r\n \r\n"  # a byte-order mark, an empty line and a line of one space
    path.write_bytes(data)
    with pytest.raises(SourceError) as info:
        read_file_drop(_indicator_source(opd_project), path)
    assert f"holds no data: its {len(data)} bytes are blank lines or spaces" in info.value.message
    assert "separator" not in str(info.value) and "upload" in (info.value.hint or "")


def test_a_long_cell_is_read_and_one_beyond_the_bound_is_named(opd_project, tmp_path):
    from kotacerdas.ingest.files import MAX_CELL_CHARS

    source = _indicator_source(opd_project)
    path = tmp_path / "capaian_indikator_2025-03.csv"
    evidence = "Rincian kegiatan imunisasi per puskesmas; " * 5000  # 210,000 characters, a separator inside
    quoted = '"' + evidence + '"'
    _indicator_csv(path, [["19.71", "DINKES", "HLT_IMMUNISATION", "2025-03", "91,5", "%", quoted]])
    assert len(evidence) > 131072  # the csv module's default field limit
    frame = read_file_drop(source, path)
    assert frame["evidence_ref"].tolist() == [evidence] and frame["value"].tolist() == ["91.5"]

    too_long = "x" * (MAX_CELL_CHARS + 1)
    _indicator_csv(
        path,
        [
            ["19.71", "DINKES", "HLT_IMMUNISATION", "2025-03", "91,5", "%", "a"],
            ["19.71", "DINKES", "HLT_STUNTING", "2025-03", '"' + too_long + '"', "%", "b"],
        ],
    )
    expected = f"line 3, column 5 (Nilai) holds a cell longer than {MAX_CELL_CHARS:,} characters"
    with pytest.raises(SourceError) as info:
        read_file_drop(source, path)
    assert expected in info.value.message and "nothing of this file was loaded" in info.value.message
    assert "not valid CSV" not in info.value.message and "template" not in (info.value.hint or "")
    # the bound is the project's own, whatever limit another library set for the csv module
    before = csv.field_size_limit()
    csv.field_size_limit(MAX_CELL_CHARS * 4)
    try:
        with pytest.raises(SourceError) as info:
            read_file_drop(source, path)
    finally:
        csv.field_size_limit(before)
    assert expected in info.value.message


def _titled_workbook(path, *, blank_row: bool) -> None:
    """A workbook as a new user sent it: a merged title (and subtitle) above the template's header."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet["A1"] = "LAPORAN CAPAIAN INDIKATOR KINERJA"
    sheet.merge_cells("A1:G1")
    if blank_row:
        sheet.append([])
    else:
        sheet["A2"] = "Dinas Kesehatan Kota Bukittinggi, Maret 2025"
        sheet.merge_cells("A2:G2")
    sheet.append(INDICATOR_HEADER)
    sheet.append(["19.71", "DINKES", "HLT_IMMUNISATION", "2025-03", 91.5, "%", "SK 12/2025"])
    book.save(path)


@pytest.mark.parametrize(("blank_row", "header_row"), [(False, 3), (True, 2)])
def test_title_rows_above_a_workbooks_header_are_named_with_the_header_row_to_set(
    opd_project, tmp_path, blank_row, header_row
):
    path = tmp_path / "capaian_indikator_2025-03.xlsx"
    _titled_workbook(path, blank_row=blank_row)
    source = _indicator_source(opd_project)
    with pytest.raises(SourceError) as info:
        read_file_drop(source, path)
    message, hint = info.value.message, info.value.hint or ""
    assert "beyond the last header column" not in message
    assert "the headers are on row 3 of sheet 'Sheet'" in message
    assert "row 1 ('LAPORAN CAPAIAN INDIKATOR KINERJA', merged A1:G1)" in message
    assert "title" in message and "nothing of this file was loaded" in message
    assert f"set `header_row: {header_row}` of source 'opd_file_drop_indicators'" in hint
    assert "delete the title rows" in hint
    # the hint is right: with that header_row the same file reads
    frame = read_file_drop(source.model_copy(update={"header_row": header_row}), path)
    assert frame[["indicator_code", "period", "value"]].values.tolist() == [["HLT_IMMUNISATION", "2025-03", 91.5]]


def test_stray_cells_right_of_a_workbooks_table_are_located(opd_project, tmp_path):
    """Without title rows, a value beyond the header is still what it was, now with its row and column."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(INDICATOR_HEADER)
    sheet.append(["19.71", "DINKES", "HLT_IMMUNISATION", "2025-03", 91.5, "%", "SK 12/2025", None, "catatan"])
    path = tmp_path / "capaian_indikator_2025-03.xlsx"
    book.save(path)
    with pytest.raises(SourceError) as info:
        read_file_drop(_indicator_source(opd_project), path)
    assert "row 2 has a value in column I ('catatan') beyond the last header column G ('Bukti Dukung')" in str(
        info.value
    )
    assert "header_row" not in str(info.value)


def test_title_rows_above_a_csv_header_are_named_with_the_header_row_to_set(tmp_path):
    """Excel's CSV of a sheet with a title: the title lines end in separators, so the separator is still found."""
    path = tmp_path / "laporan.csv"
    path.write_bytes(
        "LAPORAN JUMLAH PENDUDUK MISKIN;;;\r\nDinas Sosial, 2020;;;\r\n"
        "Kode Kab/Kota;Jumlah Penduduk Miskin;satuan;tahun;\r\n3201;491,1;RIBU JIWA;2020;\r\n".encode("cp1252")
    )
    source = _source(decimal=",", optional_columns=["evidence_ref"])
    with pytest.raises(SourceError) as info:
        read_file_drop(source, path)
    assert "the headers are on line 3, below what looks like a title: line 1 ('LAPORAN JUMLAH PENDUDUK MISKIN'); " in (
        info.value.message
    )
    assert "set `header_row: 3` of source 'jabar_export'" in (info.value.hint or "")
    assert read_file_drop(source.model_copy(update={"header_row": 3}), path)["value"].tolist() == ["491.1"]


def _with_cached_value(path, formula: str, value: str) -> None:
    """Give one formula of a saved workbook a computed value, as Excel stores it (openpyxl writes none)."""
    import zipfile

    with zipfile.ZipFile(path) as zin:
        entries = [(info, zin.read(info)) for info in zin.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, content in entries:
            if info.filename == "xl/worksheets/sheet1.xml":
                before = f"<f>{formula}</f><v></v>".encode()
                assert before in content
                content = content.replace(before, f"<f>{formula}</f><v>{value}</v>".encode())
            zout.writestr(info, content)


def test_a_formula_without_a_computed_value_is_rejected_with_its_formula(opd_project, tmp_path):
    """A tool that writes formulas without computing them leaves the cell with no value; Excel stores one."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(INDICATOR_HEADER)
    sheet.append(["19.71", "DINKES", "HLT_IMMUNISATION", "2025-03", "=10+9.8", "%", "a"])
    sheet.append(["19.71", "DINKES", "HLT_STUNTING", "2025-03", "=20+1.5", "%", "b"])  # computed below
    sheet.append(["19.71", "DINKES", "HLT_MATERNAL", "2025-03", 7, "%", None])
    text = sheet.cell(row=4, column=7, value="=lampiran 3")  # text that starts with '=', not a formula
    text.data_type = "s"
    path = tmp_path / "capaian_indikator_2025-03.xlsx"
    book.save(path)
    _with_cached_value(path, "20+1.5", "21.5")

    frame = read_file_drop(_indicator_source(opd_project), path)
    frame["_raw_file"] = path.name
    staged = stage_table(INDICATOR_SUBMISSIONS, frame, city="19.71", month="2025-03", pii_key=None)
    assert staged.frame[["indicator_code", "value", "evidence_ref"]].values.tolist() == [
        ["HLT_STUNTING", 21.5, "b"],
        ["HLT_MATERNAL", 7.0, "=lampiran 3"],
    ]
    bad = staged.rejected.to_dict("records")
    assert [(r["rule"], r["column_name"], r["value"], r["_raw_row"]) for r in bad] == [
        ("cell:formula_without_value", "value", "=10+9.8", 1)
    ]
    reason = bad[0]["reason"]
    assert "the cell E2 holds the formula =10+9.8 but no computed value" in reason
    assert "open the file in Excel and save it" in reason and "Paste Special > Values" in reason
