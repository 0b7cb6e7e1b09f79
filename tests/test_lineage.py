"""Lineage with SQL alone, on a partition the whole asset graph published (simulator over HTTP → DuckDB and
PostgreSQL): index → dimensions → elements → indicators → staged rows counted → raw files with their sha256."""

from __future__ import annotations

import hashlib
import importlib
import math
import re
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from kotacerdas.ingest.landing import read_raw
from kotacerdas.simulator import write_file_drops
from pipelines.cli import app
from pipelines.definitions import defs
from pipelines.runner import run_partitions

CITY, MONTH = "19.71", "2025-03"


@pytest.fixture(params=["duckdb", "postgres"])
def published(request, tmp_path, monkeypatch, opd_project, opd_env, opd_simulator):
    url = request.getfixturevalue("duckdb_url" if request.param == "duckdb" else "postgres_url")
    write_file_drops(opd_project, tmp_path / "landing", [CITY], [MONTH], seed=42)
    for key, value in {
        **opd_env,
        "KOTACERDAS_LANDING_DIR": str(tmp_path / "landing"),
        "KOTACERDAS_RAW_DIR": str(tmp_path / "raw"),
        "KOTACERDAS_PII_KEY": "lineage-key",
        "KOTACERDAS_WAREHOUSE_URL": url,
    }.items():
        monkeypatch.setenv(key, value)
    outcome = run_partitions(defs, [(CITY, MONTH)], instance=dg.DagsterInstance.ephemeral())[0]
    assert outcome.success, outcome.problems
    engine = sa.create_engine(url)
    yield engine, tmp_path / "raw"
    engine.dispose()


def _all(conn, sql: str, **params) -> list[sa.Row]:
    return conn.execute(sa.text(sql), {"city": CITY, "period": MONTH, **params}).all()


def test_every_score_traces_to_staged_rows_and_raw_files(published):
    engine, raw_dir = published
    with engine.connect() as conn:
        scores = _all(
            conn,
            "SELECT level, code, parent_code, score, weight, coverage, value, rows_used, "
            "goalpost_worst, goalpost_best, dimension_code FROM v_lineage_scores "
            "WHERE city_code = :city AND period = :period",
        )
        by_code = {s.code: s for s in scores}
        # Each aggregate is the weighted mean of its children's scores (weights renormalised over those present).
        for parent in (s for s in scores if s.level != "indicator" and s.score is not None):
            kids = [s for s in scores if s.parent_code == parent.code and s.score is not None]
            assert kids, parent.code
            assert math.isclose(sum(k.weight for k in kids), 1.0, rel_tol=1e-9)
            assert math.isclose(sum(k.weight * k.score for k in kids), parent.score, rel_tol=1e-9)
        # Indicators: the normalisation is the goalposts of the catalog version that made the value.
        indicators = [s for s in scores if s.level == "indicator" and s.value is not None]
        assert len(indicators) >= 15
        for s in indicators:
            expected = (s.value - s.goalpost_worst) / (s.goalpost_best - s.goalpost_worst) * 100
            assert math.isclose(s.score, min(100.0, max(0.0, expected)), abs_tol=1e-9), s.code
            assert s.dimension_code == by_code[s.parent_code].parent_code
        # The rows counted are listed, each joins its staged row and a raw file whose sha256 is the file on disk.
        counted = dict(
            _all(
                conn,
                "SELECT indicator_code, COUNT(*) FROM indicator_lineage "
                "WHERE city_code = :city AND period = :period GROUP BY indicator_code",
            )
        )
        assert {s.code: s.rows_used for s in indicators if s.rows_used} == {c: n for c, n in counted.items() if n}
        rows = _all(
            conn,
            "SELECT indicator_code, record_id, opd_code, raw_file, raw_sha256, origin "
            "FROM v_lineage_rows WHERE city_code = :city AND period = :period",
        )
        assert len(rows) == sum(counted.values()) > 1000
        assert all(r.record_id and r.opd_code and r.raw_sha256 and r.origin for r in rows)
        # 0009 joins each staged table on its own (PostgreSQL planned 0002's UNION ALL badly): the same rows
        union = importlib.import_module("kotacerdas.warehouse.migrations.versions.0002_star_schema").VIEWS
        where = "WHERE city_code = :city AND period = :period"
        as_0002 = _all(conn, f"SELECT * FROM ({union['v_lineage_rows']}) v0002 {where}")
        as_head = _all(conn, f"SELECT * FROM v_lineage_rows {where}")
        assert len(as_0002) == len(rows)
        assert sorted(map(tuple, as_head), key=repr) == sorted(map(tuple, as_0002), key=repr)
        registered = dict(
            _all(conn, "SELECT raw_file, sha256 FROM raw_files WHERE city_code = :city AND period = :period")
        )
        for raw_file, sha in {(r.raw_file, r.raw_sha256) for r in rows}:
            assert registered[raw_file] == sha
            assert hashlib.sha256(read_raw(raw_dir, raw_file)[0]).hexdigest() == sha
        # Every fact key resolves in its dimension.
        assert (
            _all(
                conn,
                """SELECT iv.indicator_code FROM indicator_values iv LEFT JOIN dim_indicator d
                             ON d.indicator_code = iv.indicator_code AND d.catalog_version = iv.catalog_version
                             WHERE d.indicator_code IS NULL""",
            )
            == []
        )
        assert (
            _all(
                conn,
                "SELECT s.city_code FROM index_scores s LEFT JOIN dim_region r "
                "ON r.region_code = s.city_code WHERE r.region_code IS NULL",
            )
            == []
        )
        assert (
            _all(
                conn,
                "SELECT s.code FROM index_scores s LEFT JOIN dim_methodology_node n ON "
                "n.methodology = s.methodology AND n.version = s.methodology_version AND n.code = s.code "
                "WHERE s.level <> 'indicator' AND n.code IS NULL",
            )
            == []
        )
        # The evaluator views answer for this partition.
        wide = _all(
            conn,
            "SELECT governance, index_score, maturity_level, city_name FROM v_scorecard_wide "
            "WHERE city_code = :city AND period = :period",
        )
        assert len(wide) == 1 and wide[0].city_name == "Kota Pangkal Pinang"
        assert math.isclose(wide[0].index_score, by_code["INDEX"].score)
        league = _all(
            conn,
            "SELECT opd_code, requests, sla_compliance_pct FROM v_opd_league "
            "WHERE city_code = :city AND period = :period",
        )
        assert {r.opd_code for r in league} >= {"DISDUKCAPIL", "DISKOMINFO"}
        assert all(r.sla_compliance_pct is None or 0 <= r.sla_compliance_pct <= 100 for r in league)
        delivery = _all(
            conn,
            "SELECT count(*) FROM v_opd_quality WHERE city_code = :city AND period = :period "
            "AND expected AND delivered",
        )
        assert delivery[0][0] > 10

    # `kotacerdas explain` prints the same chain.
    result = CliRunner().invoke(app, ["explain", "--city", CITY, "--period", MONTH, "--dimension", "governance"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"{CITY} {MONTH} index" in out and "dimension governance" in out and "element public_service" in out
    assert "GOV_ONLINE_REQUEST_SHARE" in out and "goalposts" in out and "sha256" in out
    assert "dimension economy" not in out
    with engine.connect() as conn:
        sha = conn.execute(
            sa.text("SELECT raw_sha256 FROM v_lineage_rows WHERE indicator_code = 'GOV_ONLINE_REQUEST_SHARE' LIMIT 1")
        ).scalar_one()
    assert sha in out
    missing = CliRunner().invoke(app, ["explain", "--city", CITY, "--period", "2019-01"])
    assert missing.exit_code != 0

    # Every example query of the evaluators' page (docs/evaluators/warehouse.md) runs, on both backends, and answers.
    queries = _evaluator_page_queries()
    assert len(queries) >= 8
    with engine.connect() as conn:
        for sql in queries:
            assert conn.exec_driver_sql(sql).all(), sql


def _evaluator_page_queries() -> list[str]:
    page = (Path(__file__).resolve().parent.parent / "docs" / "evaluators" / "warehouse.md").read_text(encoding="utf-8")
    section = page.split("## For evaluators", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sql\n(.*?)```", section, flags=re.S)
    return [q.strip() for block in blocks for q in block.split(";\n") if q.strip()]
