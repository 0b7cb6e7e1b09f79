"""The service catalogue (monthly) and the yearly SPBE assessments and Kominfo evaluation scores: from the OPD
simulator over real HTTP and real file drops, through staging and their quality suites, into the regulators'
indices and the warehouse (DuckDB and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import OPD_TEST_TOKEN, edited_project, fast_rest, simulator_env

from kotacerdas.errors import ConfigError
from kotacerdas.ingest import ingest_table
from kotacerdas.ingest.landing import read_fetches
from kotacerdas.quality.gate import run_quality_gate
from kotacerdas.regulators import kominfo_index, load_regulator_methodology, spbe_index
from kotacerdas.schemas import EVALUATION_SCORES, SERVICE_CATALOGUE, SPBE_ASSESSMENTS, CanonicalTable
from kotacerdas.simulator import OpdSimulator, write_file_drops
from kotacerdas.stage.staging import stage_table
from kotacerdas.warehouse import migrate
from kotacerdas.warehouse.lineage import staged_frames
from kotacerdas.warehouse.publish import publish_partition

CITY, OTHER_CITY, MONTH, YEAR = "19.71", "19.03", "2025-03", "2024"
DTYPES = {
    "service_catalogue": {
        "city_code": "string",
        "opd_code": "string",
        "service_code": "string",
        "service_name": "string",
        "sla_days": "Int64",
        "online": "boolean",
        "as_of": "string",
    },
    "spbe_assessments": {
        "city_code": "string",
        "period": "string",
        "indicator_number": "Int64",
        "level": "Int64",
        "assessor": "string",
        "evidence_ref": "string",
    },
    "evaluation_scores": {
        "city_code": "string",
        "period": "string",
        "part": "string",
        "item": "string",
        "score": "float64",
        "evaluator": "string",
    },
}


def _env(sim: OpdSimulator) -> dict[str, str]:
    return simulator_env(sim)


def _ingest_and_gate(project, sim, tmp_path: Path, table: CanonicalTable, period: str, city: str = CITY):
    landing = tmp_path / "landing"
    ingested = ingest_table(
        project, table.name, city, period, raw_dir=tmp_path / "raw", landing_dir=landing, env=_env(sim)
    )
    staged = stage_table(table, ingested.frame, city=city, month=period, pii_key=None)
    gate = run_quality_gate(project, table, staged, city=city, month=period, raw_dir=tmp_path / "raw")
    return ingested, staged, gate


def _dtypes(frame: pd.DataFrame, table: str) -> dict[str, str]:
    return {c: str(frame[c].dtype) for c in DTYPES[table]}


def test_service_catalogue_is_each_opds_services_with_the_standard_its_requests_carry(
    opd_project, opd_simulator, tmp_path
):
    ingested, staged, gate = _ingest_and_gate(opd_project, opd_simulator, tmp_path, SERVICE_CATALOGUE, MONTH)
    assert ingested.failures == [] and gate.passed and gate.quarantine.empty
    assert _dtypes(staged.frame, "service_catalogue") == DTYPES["service_catalogue"]
    assert set(staged.frame["as_of"]) == {MONTH} and set(staged.frame["city_code"]) == {CITY}
    expected = {
        (o.code, s.code): (s.sla_days, s.online)
        for o in opd_project.cities.opds_for("service_catalogue")
        for s in o.services
    }
    got = {(r.opd_code, r.service_code): (r.sla_days, r.online) for r in staged.frame.itertuples()}
    assert got == expected and 0.5 < staged.frame["online"].mean() < 1  # most, not all, services are online
    # The same standard as every service request of the month says.
    requests = ingest_table(
        opd_project,
        "service_requests",
        CITY,
        MONTH,
        raw_dir=tmp_path / "raw",
        landing_dir=tmp_path / "landing",
        env=_env(opd_simulator),
    ).frame
    said = requests.groupby(["opd_code", "service_code"])["sla_days"].agg(lambda v: set(v.dropna().astype(int)))
    assert all(said[key] <= {got[key][0]} for key in said.index)
    assert all(f.relpath.startswith(f"opd_api_service_catalogue/{CITY}/{MONTH}/") for f in ingested.raw_files)


def test_spbe_from_the_self_assessment_xlsx_and_the_evaluation_api_places_rows_by_year(
    opd_project, opd_simulator, tmp_path
):
    paths = write_file_drops(opd_project, tmp_path / "landing", [CITY], [], years=["2023", YEAR])
    assert [p.relative_to(tmp_path / "landing").as_posix() for p in paths] == [
        f"{CITY}/DISKOMINFO/penilaian_mandiri_spbe_2023.xlsx",
        f"{CITY}/DISKOMINFO/penilaian_mandiri_spbe_{YEAR}.xlsx",
    ]
    methodology = load_regulator_methodology(opd_project.pipeline.spbe_methodology)
    indices = {}
    for year in ("2023", YEAR):
        ingested, staged, gate = _ingest_and_gate(opd_project, opd_simulator, tmp_path, SPBE_ASSESSMENTS, year)
        assert ingested.failures == [] and gate.passed and gate.quarantine.empty, gate.verdict()
        assert _dtypes(staged.frame, "spbe_assessments") == DTYPES["spbe_assessments"]
        frame = staged.frame
        assert set(frame["period"]) == {year} and frame.groupby("assessor").size().to_dict() == {
            "external": 47,
            "self": 47,
        }
        # The raw zone keeps each source's fetch under the year.
        assert {f.relpath.split("/")[2] for f in ingested.raw_files} == {year}
        for source in ("diskominfo_file_drop_spbe", "spbe_api_evaluation"):
            [fetch] = read_fetches(tmp_path / "raw", source=source, city=CITY, period=year)
            assert (fetch["period"], fetch["opd"], fetch["rows"]) == (year, "DISKOMINFO", 47)
        for assessor, rows in frame.groupby("assessor"):
            levels = dict(zip(rows["indicator_number"].astype(int), rows["level"].astype(int), strict=True))
            indices[(year, assessor)] = spbe_index(levels, methodology).index
    # Realistic: regions rate themselves above what the assessors verify; a year later they stand higher.
    assert all(indices[(y, "self")] >= indices[(y, "external")] for y in ("2023", YEAR))
    assert all(1.5 < v < 4.2 for v in indices.values())
    with pytest.raises(ConfigError, match="spbe_assessments is a yearly table: its period must be YYYY"):
        ingest_table(
            opd_project,
            "spbe_assessments",
            CITY,
            MONTH,
            raw_dir=tmp_path / "raw",
            landing_dir=tmp_path / "landing",
            env=_env(opd_simulator),
        )


def test_evaluation_scores_over_an_api_key_feed_the_kominfo_index(opd_project, opd_simulator, tmp_path):
    ingested, staged, gate = _ingest_and_gate(opd_project, opd_simulator, tmp_path, EVALUATION_SCORES, YEAR)
    assert ingested.failures == [] and gate.passed and gate.quarantine.empty
    assert _dtypes(staged.frame, "evaluation_scores") == DTYPES["evaluation_scores"]
    frame = staged.frame
    methodology = load_regulator_methodology(opd_project.pipeline.kominfo_methodology)
    parts = frame[frame["part"] != "pillar"]
    pillars = frame[frame["part"] == "pillar"]
    assert set(parts["part"]) == set(methodology.parts) and parts["item"].isna().all()
    assert set(pillars["item"]) == set(methodology.pillars) and frame["score"].between(1, 5).all()
    result = kominfo_index(
        dict(zip(parts["part"], parts["score"], strict=True)),
        methodology,
        pillars=dict(zip(pillars["item"], pillars["score"], strict=True)),
        year=int(YEAR),
    )
    assert 1 <= result.published <= 5 and set(result.pillars_published) == set(methodology.pillars)
    # Fetched once per city and year from the OPD that reports it (cities.yaml), not once per OPD.
    assert {f.relpath.split("/")[3] for f in ingested.raw_files} == {"BAPPEDA"}


BAD_ROWS = [
    # table, period, field edited (the source's own name), bad value, as quarantine shows it, rule that names it
    (SPBE_ASSESSMENTS, YEAR, "tingkat", 7, "7", "level_on_scale"),
    (SPBE_ASSESSMENTS, YEAR, "kode_wilayah", "19.99", "19.99", "city_code_is_region"),
    (EVALUATION_SCORES, YEAR, "komponen", "masterplan", "masterplan", "part_in_methodology"),
    (EVALUATION_SCORES, YEAR, "nilai", 6, "6", "score_on_scale"),  # a whole number as typed
    (SERVICE_CATALOGUE, MONTH, "standar_hari", 0, "0", "sla_days_positive"),
    (SERVICE_CATALOGUE, MONTH, "kode_wilayah", "19.03", "19.03", "city_code_is_partition"),
]


@pytest.mark.parametrize(
    ("table", "period", "field", "value", "shown", "rule"),
    BAD_ROWS,
    ids=[f"{t.name}-{rule}" for t, *_, rule in BAD_ROWS],
)
def test_a_bad_row_is_rejected_by_its_suite_with_the_rule_named(
    opd_project, tmp_path, table, period, field, value, shown, rule
):
    with OpdSimulator(opd_project, seed=42, token=OPD_TEST_TOKEN) as sim:
        reporter = opd_project.cities.opds_for(table.name)[0].code
        per_city = "opd_code" not in table.columns  # the yearly APIs are asked per city, not per OPD
        sim.edit_rows(table.name, CITY, None if per_city else reporter, period, 1, {field: value})
        write_file_drops(opd_project, tmp_path / "landing", [CITY], [], years=[YEAR])
        ingested, staged, gate = _ingest_and_gate(opd_project, sim, tmp_path, table, period)
    assert ingested.failures == []
    errors = gate.quarantine[gate.quarantine["severity"] == "error"]
    assert rule in set(errors["rule"]), errors[["rule", "value"]]
    assert set(errors["_raw_row"]) == {1} and set(errors.loc[errors["rule"] == rule, "value"]) == {shown}
    assert len(gate.valid) == len(staged.frame) - 1  # only that row is kept out


def test_an_spbe_file_with_a_level_out_of_scale_or_another_year_loses_only_those_rows(
    opd_project, opd_simulator, tmp_path
):
    [path] = write_file_drops(opd_project, tmp_path / "landing", [CITY], [], years=[YEAR])
    book = openpyxl.load_workbook(path)
    sheet = book.active
    header = [c.value for c in sheet[3]]
    sheet.cell(4, header.index("Tingkat Kematangan") + 1, 7)  # indicator 1: level 7
    sheet.cell(5, header.index("Tahun") + 1, 2023)  # indicator 2 copied from last year's sheet
    book.save(path)
    _, _, gate = _ingest_and_gate(opd_project, opd_simulator, tmp_path, SPBE_ASSESSMENTS, YEAR)
    errors = gate.quarantine[gate.quarantine["severity"] == "error"]
    rejected = errors.groupby("rule")["record_key"].apply(set).to_dict()
    assert rejected == {"level_on_scale": {f"{CITY}|{YEAR}|1|self"}, "period_is_partition": {f"{CITY}|2023|2|self"}}
    assert len(gate.valid) == 2 * 47 - 2 and gate.passed  # 2 of 94 rows: within the 5 % threshold


def test_yearly_sources_cannot_name_a_month(opd_project, tmp_path):
    def month_in_path(data):
        source = next(s for s in data["sources"] if s["name"] == "kominfo_api_evaluation")
        source["path"] += "&bulan={month}"

    project = edited_project(tmp_path, opd_project, edit_sources=month_in_path)
    with pytest.raises(
        ConfigError,
        match=r"kominfo_api_evaluation.*uses \{month\}, but table 'evaluation_scores' "
        r"is yearly",
    ):
        _ = project.sources


def test_a_per_city_table_has_one_reporting_opd(opd_project, tmp_path):
    def two_reporters(data):
        next(o for o in data["opds"] if o["code"] == "DISKOMINFO")["datasets"].append("evaluation_scores")

    project = edited_project(tmp_path, opd_project, edit_cities=two_reporters)
    with pytest.raises(
        ConfigError,
        match=r"evaluation_scores is reported once per city, but OPDs \['DISKOMINFO', "
        r"'BAPPEDA'\]",
    ):
        _ = project.cities


def test_yearly_endpoints_have_the_same_faults_pagination_and_auth(opd_project, tmp_path):
    project = edited_project(tmp_path, opd_project, edit_sources=lambda d: fast_rest(d, page_size=10))
    with OpdSimulator(project, seed=42, token=OPD_TEST_TOKEN) as sim:
        expected = len(sim.rows("spbe_assessments", CITY, None, YEAR))
        sim.add_fault(f"spbe_api_evaluation:error:status=503,times=2,month={YEAR}")
        sim.add_fault("kominfo_api_evaluation:error:status=500")
        spbe = ingest_table(
            project,
            "spbe_assessments",
            CITY,
            YEAR,
            raw_dir=tmp_path / "raw",
            landing_dir=tmp_path / "landing",
            env=_env(sim),
            sources=["spbe_api_evaluation"],
        )
        evaluation = ingest_table(
            project,
            "evaluation_scores",
            CITY,
            YEAR,
            raw_dir=tmp_path / "raw",
            landing_dir=tmp_path / "landing",
            env=_env(sim),
        )
        denied = ingest_table(
            project,
            "spbe_assessments",
            CITY,
            YEAR,
            raw_dir=tmp_path / "raw",
            landing_dir=tmp_path / "landing",
            env={"KOTACERDAS_OPD_API_URL": sim.url},
            sources=["spbe_api_evaluation"],
        )
    # transient: recovered, every row once, over 5 cursor pages of 10
    assert spbe.failures == [] and len(spbe.frame) == expected == 47 and spbe.frame["indicator_number"].is_unique
    assert len(spbe.raw_files) == 5
    [failure] = evaluation.failures  # permanent: that source × city × year fails, says where
    assert (failure.source, failure.opd, failure.period) == ("kominfo_api_evaluation", "BAPPEDA", YEAR)
    assert "HTTP 500" in failure.message and f"tahun={YEAR}" in failure.url and evaluation.frame.empty
    assert "HTTP 401" in denied.failures[0].message  # no token, no data


def test_simulated_assessments_are_deterministic_and_cover_the_structure(opd_project):
    with (
        OpdSimulator(opd_project, seed=42) as a,
        OpdSimulator(opd_project, seed=42) as b,
        OpdSimulator(opd_project, seed=7) as c,
    ):
        for table in ("spbe_assessments", "evaluation_scores"):
            assert a.rows(table, CITY, None, YEAR) == b.rows(table, CITY, None, YEAR)
            assert a.rows(table, CITY, None, YEAR) != c.rows(table, CITY, None, YEAR)
        levels = [
            r["tingkat"]
            for city in (CITY, OTHER_CITY)
            for year in ("2022", "2023", YEAR)
            for r in a.rows("spbe_assessments", city, None, year)
        ]
        scores = [(r["komponen"], r["pilar"]) for r in a.rows("evaluation_scores", OTHER_CITY, None, YEAR)]
    assert len(levels) == 2 * 3 * 47 and set(levels) <= {1, 2, 3, 4, 5} and len(set(levels)) >= 4
    assert 2.0 < sum(levels) / len(levels) < 3.8  # around the national SPBE index of kabupaten/kota
    assert len(scores) == 5 + 6 and len(set(scores)) == 11


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request):
    engine = sa.create_engine(request.getfixturevalue("duckdb_url" if request.param == "duckdb" else "postgres_url"))
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def test_staged_rows_of_every_new_table_publish_by_city_and_period(warehouse, opd_project, opd_simulator, tmp_path):
    """A later yearly publish step writes `staged_spbe_assessments` and `staged_evaluation_scores` per city × year
    the way the monthly one writes staged rows per city × month."""
    write_file_drops(opd_project, tmp_path / "landing", [CITY], [], years=[YEAR])
    counts = {}
    for table, period in ((SERVICE_CATALOGUE, MONTH), (SPBE_ASSESSMENTS, YEAR), (EVALUATION_SCORES, YEAR)):
        ingested, _, gate = _ingest_and_gate(opd_project, opd_simulator, tmp_path, table, period)
        sha256 = {f.relpath: f.sha256 for f in ingested.raw_files}
        frames = staged_frames({table.name: gate.valid.reset_index(drop=True)}, sha256, city_code=CITY, period=period)
        for _ in range(2):  # a re-run replaces the partition
            written = publish_partition(warehouse, CITY, period, frames, run_id="test")
        counts[table.name] = (written[f"staged_{table.name}"], len(gate.valid))
    assert all(w == n > 0 for w, n in counts.values())
    with warehouse.connect() as conn:
        spbe = conn.exec_driver_sql(
            "SELECT period, count(*), min(level), max(level) FROM staged_spbe_assessments GROUP BY period"
        ).all()
        pillars = conn.exec_driver_sql(
            "SELECT count(*) FROM staged_evaluation_scores WHERE part = 'pillar' "
            "AND item IS NOT NULL AND _raw_sha256 IS NOT NULL"
        ).scalar_one()
        online = conn.exec_driver_sql(
            "SELECT count(*) FROM staged_service_catalogue WHERE online AND as_of = period"
        ).scalar_one()
    [(period, rows, low, high)] = spbe
    assert (period, rows) == (YEAR, 94) and 1 <= low < high <= 5
    assert pillars == 6 and online > 0


def test_earlier_periods_for_the_volume_rule_are_months_or_years():
    from kotacerdas.periods import previous_periods, template_fields

    assert previous_periods("2025-02", 3) == ["2025-01", "2024-12", "2024-11"]
    assert previous_periods(YEAR, 2) == ["2023", "2022"]
    assert template_fields(MONTH) == {"month": MONTH, "year": "2025"} and template_fields(YEAR) == {"year": YEAR}


def test_two_bad_catalogue_entries_are_quarantined_without_blocking_the_month(opd_project, tmp_path):
    """The catalogue suite's own threshold (25 %): two bad entries of one OPD are over pipeline.yaml's 5 % of the
    city's catalogue but do not block the city's month; a catalogue mostly wrong does."""
    with OpdSimulator(opd_project, seed=42, token=OPD_TEST_TOKEN) as sim:
        sim.edit_rows("service_catalogue", CITY, "DISDUKCAPIL", MONTH, 2, {"standar_hari": 0})
        _, staged, gate = _ingest_and_gate(opd_project, sim, tmp_path / "a", SERVICE_CATALOGUE, MONTH)
        assert gate.threshold == 0.25 and opd_project.pipeline.max_rejected_share < gate.rejected_share < 0.25
        assert gate.passed and gate.rejected_rows == 2
        for opd in opd_project.cities.opds_for("service_catalogue"):
            sim.edit_rows("service_catalogue", CITY, opd.code, MONTH, 5, {"standar_hari": 0})
        _, _, mostly_wrong = _ingest_and_gate(opd_project, sim, tmp_path / "b", SERVICE_CATALOGUE, MONTH)
    assert mostly_wrong.rejected_share > 0.25 and not mostly_wrong.passed
    assert "threshold 25%" in mostly_wrong.verdict()
