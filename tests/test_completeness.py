"""Completeness is part of the quality gate: a source outage, a missing file or an empty delivery leaves the
published numbers as they were, fails `kotacerdas run` with the cause, and `--allow-incomplete` publishes on purpose
with status `incomplete` and a coverage below 1. Real files, the simulator over loopback HTTP, a DuckDB file."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from conftest import OPD_TEST_TOKEN, edited_project, fast_rest
from typer.testing import CliRunner

from kotacerdas.quality.completeness import assess_completeness
from kotacerdas.rounding import round_half_up
from kotacerdas.simulator import OpdSimulator, write_file_drops
from pipelines.cli import app
from pipelines.runner import run_partitions

CITY, MONTH, YEAR = "19.71", "2025-01", "2025"
SCORES = "SELECT level, code, score, run_id FROM index_scores WHERE city_code = :c AND period = :p ORDER BY 1, 2"
SPBE = "SELECT assessor, component_type, component, score, run_id FROM regulator_spbe ORDER BY 1, 2, 3"


@pytest.fixture(scope="module")
def project(opd_project, tmp_path_factory):
    return edited_project(tmp_path_factory.mktemp("completeness"), opd_project, edit_sources=fast_rest)


@pytest.fixture(scope="module")
def sim(project):
    with OpdSimulator(project, seed=42, token=OPD_TEST_TOKEN) as server:
        yield server


def _environment(mp: pytest.MonkeyPatch, base: Path, project, sim: OpdSimulator) -> None:
    for key, value in {
        "KOTACERDAS_CONFIG_DIR": str(project.dir),
        "KOTACERDAS_OPD_API_URL": sim.url,
        "KOTACERDAS_OPD_API_TOKEN": OPD_TEST_TOKEN,
        "KOTACERDAS_LANDING_DIR": str(base / "landing"),
        "KOTACERDAS_RAW_DIR": str(base / "raw"),
        "KOTACERDAS_PII_KEY": "completeness-test",
        "KOTACERDAS_WAREHOUSE_URL": f"duckdb:///{base / 'warehouse.duckdb'}",
        "DAGSTER_HOME": str(base / "dagster_home"),
        "COLUMNS": "400",  # rich: one problem per line, unwrapped
    }.items():
        mp.setenv(key, value)
    (base / "dagster_home").mkdir(exist_ok=True)


@pytest.fixture(scope="module")
def published(project, sim, tmp_path_factory):
    """A warehouse where 19.71 2025-01 and its year's regulators' indices were published from complete inputs."""
    from pipelines.definitions import YEARLY_JOB, defs

    base = tmp_path_factory.mktemp("published")
    write_file_drops(project, base / "landing", [CITY], [MONTH], seed=42, years=[YEAR])
    with pytest.MonkeyPatch.context() as mp:
        _environment(mp, base, project, sim)
        instance = dg.DagsterInstance.ephemeral()
        outcomes = run_partitions(defs, [(CITY, MONTH)], instance=instance)
        outcomes += run_partitions(defs, [(CITY, YEAR)], instance=instance, job_name=YEARLY_JOB)
    assert [o.problems for o in outcomes] == [(), ()]
    return base


@pytest.fixture
def warehouse(published, tmp_path, monkeypatch, project, sim):
    """A copy of the published warehouse and landing folder for one test, and the environment pointing at them."""
    shutil.copytree(published / "landing", tmp_path / "landing")
    shutil.copy(published / "warehouse.duckdb", tmp_path / "warehouse.duckdb")
    _environment(monkeypatch, tmp_path, project, sim)
    engine = sa.create_engine(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    yield tmp_path, engine
    engine.dispose()


def _read(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).all()


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["run", *args, "--city", CITY])
    return result.exit_code, " ".join(result.output.split())


def _last_run_status(base: Path) -> dg.DagsterRunStatus:
    """The Dagster run `kotacerdas run` just made: a failed run is what the run-failure sensor reports."""
    instance = dg.DagsterInstance.from_config(str(base / "dagster_home"))
    try:
        return instance.get_runs(limit=1)[0].status
    finally:
        instance.dispose()


def test_the_complete_partition_publishes_the_demo_figure(published):
    engine = sa.create_engine(f"duckdb:///{published / 'warehouse.duckdb'}")
    [(score, status, coverage)] = _read(
        engine,
        "SELECT score, status, data_coverage FROM index_scores "
        "WHERE city_code = :c AND period = :p AND level = 'index'",
        c=CITY,
        p=MONTH,
    )
    engine.dispose()
    assert (round_half_up(score), status) == (round_half_up(62.54), "complete") and coverage > 0.9


def _fault_files(landing: Path, opd: str) -> list[Path]:
    return sorted((landing / CITY / opd).glob(f"capaian_indikator_{MONTH}.*"))


FAULTS = {
    "REST URL unset": "url_unset",
    "simulator error fault": "http_500",
    "missing file": "missing_file",
    "0-row file": "empty_file",
}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_an_incomplete_partition_keeps_the_published_numbers_and_fails_the_run(warehouse, sim, monkeypatch, fault):
    base, engine = warehouse
    before = _read(engine, SCORES, c=CITY, p=MONTH)
    added = None
    if fault == "url_unset":
        monkeypatch.delenv("KOTACERDAS_OPD_API_URL")
        cause = "KOTACERDAS_OPD_API_URL"
    elif fault == "http_500":
        added = sim.add_fault(f"opd_api_complaints:error:status=500,city={CITY},opd=DINKES")
        cause = "opd_api_complaints × DINKES failed"
    elif fault == "missing_file":
        [path] = _fault_files(base / "landing", "DISHUB")
        path.unlink()
        cause = "opd_file_drop_indicators × DISHUB failed: expected file"
    else:
        [path] = _fault_files(base / "landing", "DISHUB")
        header = path.read_bytes().splitlines(keepends=True)[0]
        path.write_bytes(header)  # the header only: a well-formed file with no row
        cause = "opd_file_drop_indicators × DISHUB delivered 0 row(s), at least 1 expected"
    try:
        code, output = _run("--months", MONTH)
    finally:
        if added is not None:
            sim.clear_faults()
    assert code != 0 and _last_run_status(base) == dg.DagsterRunStatus.FAILURE
    assert f"{CITY} {MONTH}" in output and "INCOMPLETE" in output and cause in output
    assert _read(engine, SCORES, c=CITY, p=MONTH) == before  # same numbers, same run: nothing replaced
    # What stewards see names it too: v_quality does not call the table passed.
    quality = _read(
        engine, "SELECT table_name, passed, status, incomplete_reason FROM v_quality WHERE period = :p", p=MONTH
    )
    incomplete = [q for q in quality if q.status == "incomplete"]
    assert incomplete and all(q.passed is False and q.incomplete_reason for q in incomplete)


def test_allow_incomplete_publishes_with_status_incomplete_and_coverage_below_one(warehouse, monkeypatch):
    base, engine = warehouse
    monkeypatch.delenv("KOTACERDAS_OPD_API_URL")
    code, output = _run("--months", MONTH, "--allow-incomplete")
    assert code == 0, output
    assert f"{CITY} {MONTH}* " in output and "* incomplete inputs" in output  # the scorecard says so
    rows = _read(
        engine,
        "SELECT level, status, data_coverage FROM index_scores WHERE city_code = :c AND period = :p "
        "AND level IN ('dimension', 'index')",
        c=CITY,
        p=MONTH,
    )
    assert {status for _, status, _ in rows} == {"incomplete"}
    [index_coverage] = [cov for level, _, cov in rows if level == "index"]
    assert 0 <= index_coverage < 1
    [wide] = _read(engine, "SELECT status, index_data_coverage FROM v_scorecard_wide WHERE period = :p", p=MONTH)
    assert wide.status == "incomplete" and wide.index_data_coverage < 1
    # never ranked beside complete cities
    ranks = _read(engine, "SELECT rank_overall, status FROM v_ranking WHERE period = :p AND level = 'index'", p=MONTH)
    assert ranks == [(None, "incomplete")] or all(r is None for r, _ in ranks)


def test_a_missing_spbe_self_assessment_keeps_the_regulators_indices(warehouse):
    base, engine = warehouse
    before = _read(engine, SPBE)
    assert {r.assessor for r in before} >= {"self"}
    [path] = sorted((base / "landing" / CITY / "DISKOMINFO").glob(f"penilaian_mandiri_spbe_{YEAR}.*"))
    path.unlink()
    code, output = _run("--years", YEAR)
    assert code != 0 and _last_run_status(base) == dg.DagsterRunStatus.FAILURE
    assert f"{CITY} {YEAR}" in output and "diskominfo_file_drop_spbe × DISKOMINFO failed" in output
    assert _read(engine, SPBE) == before


def test_completeness_config_exceptions_and_none_expected(opd_project, tmp_path):
    """An exception for some cities and periods wins over the table; `expected: false` never makes it incomplete."""
    from kotacerdas.ingest.table import IngestResult, SourceFailure

    project = edited_project(tmp_path, opd_project)
    (project.dir / "completeness.yaml").write_text(
        "tables:\n  complaints: {min_rows: 5}\n  evaluation_scores: {expected: false}\n"
        "exceptions:\n  - {table: complaints, cities: ['19.71'], periods: '2025-01:2025-03', opds: [DINKES]}\n",
        encoding="utf-8",
    )
    config = type(project)(project.dir)
    failure = SourceFailure("opd_api_complaints", "complaints", CITY, "DISHUB", MONTH, "u", "HTTP 500")
    ingest = IngestResult("complaints", frame=None, raw_files=[], failures=[failure])
    # in the exception's window only DINKES is expected: DISHUB's failure does not count, DINKES' 0 rows do
    inside = assess_completeness(config, ingest, CITY, MONTH)
    assert inside.expected_units == (("opd_api_complaints", "DINKES"),)
    assert inside.reasons == ("opd_api_complaints × DINKES delivered 0 row(s), at least 5 expected",)
    outside = assess_completeness(config, ingest, CITY, "2025-04")
    assert "opd_api_complaints × DISHUB failed: HTTP 500" in outside.reasons and outside.coverage == 0
    # the other OPDs fell short alike: named once, with their count
    others = [o.code for o in config.cities.opds_for("complaints") if o.code != "DISHUB"]
    assert set(outside.reasons) == {
        "opd_api_complaints × DISHUB failed: HTTP 500",
        f"opd_api_complaints × {', '.join(others)} ({len(others)} OPDs) delivered 0 row(s), at least 5 expected",
    }
    none = assess_completeness(config, IngestResult("evaluation_scores", None, [], [failure]), CITY, YEAR)
    assert none.complete and none.coverage == 1.0
    (project.dir / "completeness.yaml").write_text("tables:\n  complaints: {opds: [NOPE]}\n", encoding="utf-8")
    with pytest.raises(Exception, match="unknown OPD"):
        _ = type(project)(project.dir).completeness


def test_simulate_opd_file_drops_write_the_yearly_spbe_self_assessment_and_stop_on_sigterm(tmp_path):
    import signal
    import subprocess
    import sys

    from conftest import REPO_ROOT

    drops = tmp_path / "drops"
    cmd = ["simulate-opd", "--port", "0", "--file-drops", str(drops), "--months", "2025-11:2026-01"]

    def as_a_worker_thread_may_leave_it():  # SIGTERM ignored and blocked, as children can inherit it
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})

    sim = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", *cmd],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=as_a_worker_thread_may_leave_it,
    )
    try:
        lines = []
        for line in sim.stdout:  # the files are written before it says it is serving
            lines.append(line)
            if "serving on" in line:
                break
    finally:
        sim.terminate()
        sim.wait(timeout=60)
    assert any("serving on" in line for line in lines), lines
    for city in ("19.71", "19.03"):
        years = {p.name.split("_")[-1].split(".")[0] for p in drops.glob(f"{city}/*/penilaian_mandiri_spbe_*")}
        assert years == {"2025", "2026"}


def test_in_a_range_run_the_incomplete_city_is_not_published_the_others_are_and_the_run_fails(
    project, sim, tmp_path, monkeypatch
):
    from pipelines.definitions import defs
    from pipelines.runner import run_backfill

    other = "19.03"
    write_file_drops(project, tmp_path / "landing", [CITY, other], [MONTH], seed=42)
    [path] = _fault_files(tmp_path / "landing", "DISHUB")
    path.unlink()
    _environment(monkeypatch, tmp_path, project, sim)
    instance = dg.DagsterInstance.ephemeral()
    outcomes = {o.city: o for o in run_backfill(defs, [(CITY, MONTH), (other, MONTH)], instance=instance)}
    assert outcomes[other].success and not outcomes[CITY].success
    assert any("opd_file_drop_indicators × DISHUB failed" in p for p in outcomes[CITY].problems)
    assert instance.get_run_by_id(outcomes[CITY].run_id).status == dg.DagsterRunStatus.FAILURE
    engine = sa.create_engine(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    published = _read(engine, "SELECT DISTINCT city_code, status FROM index_scores")
    engine.dispose()
    assert published == [(other, "complete")]


def test_opds_failing_alike_but_for_their_own_code_are_named_once(opd_project):
    """An API that is down fails each OPD's own URL: one reason for all of them (a city-month printed the same
    connection error 120 times), with {opd} where each message had its code. DLH inside another word stays."""
    from kotacerdas.ingest.table import IngestResult, SourceFailure

    opds = [o.code for o in opd_project.cities.opds_for("complaints")]

    def refused(opd: str) -> str:
        return f"GET http://127.0.0.1:1/api?kode_opd={opd}&bulan=2025-03 failed after 4 retries: Connection refused"

    failures = [SourceFailure("opd_api_complaints", "complaints", CITY, o, MONTH, "u", refused(o)) for o in opds]
    failures[0] = SourceFailure("opd_api_complaints", "complaints", CITY, opds[0], MONTH, "u", "HTTP 500 (DLHX)")
    result = assess_completeness(opd_project, IngestResult("complaints", None, [], failures), CITY, MONTH)
    assert set(result.reasons) == {
        f"opd_api_complaints × {opds[0]} failed: HTTP 500 (DLHX)",
        f"opd_api_complaints × {', '.join(opds[1:])} ({len(opds) - 1} OPDs) failed: {refused('{opd}')}",
    }


def test_a_failure_of_one_opd_reads_with_its_own_code(opd_project):
    # the steward's `why` read "expected file 19.03/{opd}/capaian_indikator_2026-11.* not found" for DISPAR alone
    from kotacerdas.ingest.table import IngestResult, SourceFailure

    opd = opd_project.cities.opds_for("complaints")[1].code
    message = f"expected file {CITY}/{opd}/pengaduan_{MONTH}.csv not found"
    failure = SourceFailure("opd_api_complaints", "complaints", CITY, opd, MONTH, "u", message)
    result = assess_completeness(opd_project, IngestResult("complaints", None, [], [failure]), CITY, MONTH)
    assert f"opd_api_complaints × {opd} failed: {message}" in result.reasons
    assert not any("{opd}" in reason for reason in result.reasons)
