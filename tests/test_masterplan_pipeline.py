"""The masterplan through the whole monthly graph, in process, on PostgreSQL: the OPDs' progress files with the
simulator's faults → quality gate → masterplan_status published → the views, `masterplan status` and `explain`."""

from __future__ import annotations

import dagster as dg
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from kotacerdas.simulator import write_file_drops
from pipelines.cli import app
from pipelines.definitions import defs
from pipelines.runner import run_partitions

CITY, MONTH = "19.71", "2025-09"  # the simulator's faults: DISDUKCAPIL, DINKES, DISPAR missing; DLH inconsistent


@pytest.fixture(scope="module")
def published(tmp_path_factory, opd_project, opd_simulator):
    from conftest import OPD_TEST_TOKEN, fresh_postgres_database

    tmp = tmp_path_factory.mktemp("masterplan")
    write_file_drops(opd_project, tmp / "landing", [CITY], [MONTH], seed=42, masterplan_faults=True)
    with fresh_postgres_database() as url, pytest.MonkeyPatch.context() as env:
        for key, value in {
            "KOTACERDAS_OPD_API_URL": opd_simulator.url,
            "KOTACERDAS_OPD_API_TOKEN": OPD_TEST_TOKEN,
            "KOTACERDAS_LANDING_DIR": str(tmp / "landing"),
            "KOTACERDAS_RAW_DIR": str(tmp / "raw"),
            "KOTACERDAS_WAREHOUSE_URL": url,
        }.items():
            env.setenv(key, value)
        outcomes = run_partitions(defs, [(CITY, MONTH)], instance=dg.DagsterInstance.ephemeral())
        yield url, outcomes


def _rows(url: str, sql: str) -> list[dict]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.exec_driver_sql(sql)]
    finally:
        engine.dispose()


def test_status_is_published_with_unknown_for_missing_and_rejected_reports(published):
    url, outcomes = published
    assert outcomes[0].success, outcomes[0].problems
    status = {r["programme_code"]: r for r in _rows(url, "SELECT * FROM v_masterplan_status")}
    assert len(status) == 12 and {r["masterplan_version"] for r in status.values()} == {"2025.2"}  # the revision
    assert (status["GOV-02"]["status"], status["GOV-02"]["report_status"]) == ("unknown", "missing")
    assert "rejected" in {status["ENV-01"]["report_status"], status["ENV-02"]["report_status"]}
    known = [r for r in status.values() if r["report_status"] == "received"]
    assert known and all(r["status"] in {"on_track", "at_risk", "late", "done"} for r in known)
    # the missing report shows in timeliness too (delivered or not needs no clock)
    delivery = _rows(
        url, "SELECT opd_code, delivered FROM v_opd_quality WHERE table_name = 'masterplan_progress' AND expected"
    )
    assert {r["opd_code"]: r["delivered"] for r in delivery}["DISDUKCAPIL"] is False
    rejected = _rows(url, "SELECT rule FROM quarantine WHERE table_name = 'masterplan_progress'")
    assert "physical_progress_is_percent" in {r["rule"] for r in rejected}

    city = _rows(url, "SELECT * FROM v_masterplan_rollups WHERE level = 'city'")[0]
    counts = sum(city[s] for s in ("on_track", "at_risk", "late", "done", "unknown"))
    assert counts == city["programmes"] == 12 and city["unknown"] >= 2
    # tahap I 2025: GOV-02 (ends 2025-09) and ECO-01 (2025-06) are due; SOC-01 and ENV-01 end later in the year
    assert city["quick_wins_due"] == 2 and city["quick_wins_delivered"] <= 2
    unserved = _rows(url, "SELECT rpjmd_code FROM v_masterplan_alignment WHERE NOT served")
    assert [r["rpjmd_code"] for r in unserved] == ["S4.2"]
    ready = {r["component"]: r for r in _rows(url, "SELECT * FROM v_masterplan_readiness")}
    assert set(ready) == {"baseline", "output", "outcome", "impact", "quick_win", "index"}
    assert all(1 <= r["self_score"] <= 5 for r in ready.values())
    assert ready["index"]["official_score"] is None  # no official evaluation of 2025 loaded in this test


def test_status_and_explain_commands_read_the_views(published):
    url, _ = published
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KOTACERDAS_WAREHOUSE_URL", url)
        status = CliRunner().invoke(app, ["masterplan", "status", "--city", CITY, "--period", MONTH])
        explained = CliRunner().invoke(
            app, ["masterplan", "explain", "--city", CITY, "--period", MONTH, "--programme", "GOV-01"]
        )
    assert status.exit_code == 0, status.output
    assert "quick wins delivered/due" in status.output and "GOV-02" in status.output
    assert "evaluation readiness per Kominfo component" in status.output and "quick_win" in status.output
    assert explained.exit_code == 0, explained.output
    assert "GOV-01" in explained.output and "laporan_masterplan_2025-09.csv" in explained.output
    assert "delivery of masterplan_progress" in explained.output
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KOTACERDAS_WAREHOUSE_URL", url)
        same = CliRunner().invoke(app, ["explain", "--city", CITY, "--period", MONTH, "--programme", "GOV-01"])
    assert same.exit_code == 0 and same.output == explained.output


def test_status_defaults_to_the_latest_month_published_and_explain_says_nothing_was_received(published):
    url, _ = published
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KOTACERDAS_WAREHOUSE_URL", url)
        status = CliRunner().invoke(app, ["masterplan", "status", "--city", CITY])
        missing = CliRunner().invoke(
            app, ["masterplan", "explain", "--city", CITY, "--period", MONTH, "--programme", "GOV-02"]
        )
    assert status.exit_code == 0, status.output
    assert f"period {MONTH}: the latest month published" in status.output  # said on stderr, mixed in by CliRunner
    assert f"{CITY} {MONTH}, masterplan 2025.2" in status.output and "GOV-02" in status.output
    assert missing.exit_code == 0, missing.output
    delivery = next(line for line in missing.output.splitlines() if "delivery of masterplan_progress" in line)
    assert "missing" in delivery and "nothing received" in delivery and "None" not in missing.output
