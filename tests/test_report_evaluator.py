"""The evaluator path with evaluator rights, on real PostgreSQL: the pipeline publishes as the owner, then a login
made by `kotacerdas warehouse grant-evaluator` runs every read command (scorecard, explain, report, export, quality) —
views only, no migrations table, no raw table."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import dagster as dg
import pytest
import sqlalchemy as sa
from conftest import OPD_TEST_TOKEN, REPO_ROOT

from kotacerdas.simulator import write_file_drops
from pipelines.definitions import defs
from pipelines.runner import run_backfill

CITIES = ("19.71", "19.03")


def _cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=REPO_ROOT,
        timeout=300,
    )


@pytest.fixture
def published(tmp_path, opd_project, opd_simulator, postgres_url, monkeypatch):
    env = {
        "KOTACERDAS_OPD_API_URL": opd_simulator.url,
        "KOTACERDAS_OPD_API_TOKEN": OPD_TEST_TOKEN,
        "KOTACERDAS_LANDING_DIR": str(tmp_path / "landing"),
        "KOTACERDAS_RAW_DIR": str(tmp_path / "raw"),
        "KOTACERDAS_REPORTS_DIR": str(tmp_path / "reports"),
        "KOTACERDAS_WAREHOUSE_URL": postgres_url,
        "DAGSTER_HOME": str(tmp_path),
    }
    write_file_drops(opd_project, tmp_path / "landing", list(CITIES), ["2025-03"], seed=42)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    outcomes = run_backfill(
        defs, [(c, "2025-03") for c in CITIES], instance=dg.DagsterInstance.ephemeral(), log_level="ERROR"
    )
    assert all(o.success for o in outcomes), [o.problems for o in outcomes]
    suffix = uuid.uuid4().hex[:8]
    name, group = f"kc_reader_{suffix}", f"kc_readers_{suffix}"
    yield env, name, group
    with sa.create_engine(
        sa.make_url(postgres_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    ).connect() as admin:
        admin.exec_driver_sql(f'DROP DATABASE IF EXISTS "{sa.make_url(postgres_url).database}" WITH (FORCE)')
        admin.exec_driver_sql(f'DROP ROLE IF EXISTS "{name}"')
        admin.exec_driver_sql(f'DROP ROLE IF EXISTS "{group}"')


def test_every_read_command_runs_on_an_evaluator_login(published, tmp_path):
    env, name, group = published
    granted = _cli(
        {**env, "EVAL_PW": "s3cret-eval"},
        "warehouse",
        "grant-evaluator",
        name,
        "--group",
        group,
        "--password-env",
        "EVAL_PW",
    )
    assert granted.returncode == 0, granted.stderr
    evaluator = {
        **env,
        "KOTACERDAS_WAREHOUSE_URL": sa.make_url(env["KOTACERDAS_WAREHOUSE_URL"])
        .set(username=name, password="s3cret-eval")
        .render_as_string(hide_password=False),
    }

    # the login really is an evaluator's: no migrations table, no fact table
    engine = sa.create_engine(evaluator["KOTACERDAS_WAREHOUSE_URL"], poolclass=sa.pool.NullPool)
    for table in ("alembic_version", "index_scores", "staged_service_requests"):
        with engine.connect() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.exec_driver_sql(f"SELECT 1 FROM {table} LIMIT 1")

    for args in (
        ("scorecard", "--months", "2025-03"),
        ("explain", "--city", "19.71", "--period", "2025-03"),
        ("report", "--city", "19.71", "--period", "2025-03", "--out", str(tmp_path / "pages")),
        ("export", "--format", "csv,xlsx,sdmx-csv,fiware,json", "--out", str(tmp_path / "exports")),
        ("quality", "--city", "19.71", "--period", "2025-03"),
    ):
        done = _cli(evaluator, *args)
        assert done.returncode == 0, (args, done.stderr)
        assert "Traceback" not in done.stderr
    assert (tmp_path / "pages" / "scorecard_19.71_2025-03_id.html").is_file()
    assert (tmp_path / "pages" / "national_2025-03_id.html").is_file()
    assert (tmp_path / "exports" / "kotacerdas_sdmx.csv").is_file()

    # the gates and deliveries, not the rejected rows as delivered: those are for a steward's login
    quality = _cli(evaluator, "quality", "--city", "19.71", "--period", "2025-03")
    assert "quality gate per table" in quality.stdout and "deliveries per OPD" in quality.stdout
    assert "rejected rows by rule" not in quality.stdout
    assert "may not read the rejected rows" in " ".join(quality.stderr.split())
    refused = _cli(evaluator, "quality", "--period", "2025-03", "--csv", str(tmp_path / "rejected.csv"))
    assert refused.returncode == 2 and "--steward" in refused.stderr and not (tmp_path / "rejected.csv").exists()
    assert refused.stdout == ""  # refused before anything is printed

    # a command that changes the warehouse says it needs the owner's login (not "another process holds DuckDB")
    upgrade = _cli(evaluator, "warehouse", "upgrade")
    assert upgrade.returncode == 2 and "Traceback" not in upgrade.stderr
    assert "needs the login that owns the warehouse" in " ".join(upgrade.stderr.split()), upgrade.stderr

    # a view the login may not read is named, on stderr, with what to do
    with sa.create_engine(env["KOTACERDAS_WAREHOUSE_URL"], isolation_level="AUTOCOMMIT").connect() as owner:
        owner.exec_driver_sql(f'REVOKE SELECT ON v_scorecard FROM "{group}"')
    denied = _cli(evaluator, "scorecard", "--months", "2025-03")
    assert denied.returncode == 2 and "grant-evaluator" in denied.stderr and "Traceback" not in denied.stderr
