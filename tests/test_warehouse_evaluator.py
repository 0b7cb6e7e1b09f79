"""The evaluator role on real PostgreSQL: reads every evaluator view, and nothing else — no writes, no staging,
no quarantine, no personal data (not even pseudonymised)."""

from __future__ import annotations

import uuid

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from kotacerdas.config import ProjectConfig
from kotacerdas.errors import ConfigError
from kotacerdas.privacy import pseudonymise
from kotacerdas.warehouse.engine import create_warehouse_engine
from kotacerdas.warehouse.publish import publish_partition
from kotacerdas.warehouse.reference import load_reference_data
from kotacerdas.warehouse.roles import grant_evaluator
from kotacerdas.warehouse.schema import EVALUATOR_VIEWS, FACT_TABLES, TABLES
from pipelines.cli import app

pytestmark = pytest.mark.postgres
KEY = b"evaluator-test-key"
NIKS = [f"19710{i:011d}" for i in range(5)]


def _frame(name: str, rows: list[dict]) -> pd.DataFrame:
    cols = FACT_TABLES[name]
    return pd.DataFrame(rows, columns=list(cols)).astype(cols)


def _partition(city: str, period: str) -> dict[str, pd.DataFrame]:
    base = {"city_code": city, "period": period}
    raw = {"_raw_file": f"opd_api/{city}/{period}/DISDUKCAPIL/f1/page-0001.json", "_raw_sha256": "ab" * 32}
    requests = [
        {
            **base,
            "request_id": f"R{i}",
            "opd_code": "DISDUKCAPIL",
            "service_code": "KTP-EL",
            "channel": "online",
            "status": "completed",
            "submitted_at": pd.Timestamp("2025-03-01 08:00"),
            "completed_at": pd.Timestamp("2025-03-02 08:00"),
            "sla_days": 3,
            "applicant_nik": pseudonymise(nik, "nik", KEY),
            "applicant_phone": pseudonymise(f"0812{i:08d}", "phone", KEY),
            **raw,
            "_raw_row": i,
        }
        for i, nik in enumerate(NIKS)
    ]
    scores = [
        {
            **base,
            "level": lvl,
            "code": code,
            "parent_code": parent,
            "score": 50.0 + i,
            "weight": 1.0,
            "coverage": 1.0,
            "maturity_level": 3 if lvl != "indicator" else None,
            "methodology": "smart-city-maturity",
            "methodology_version": "1.0.0",
            "status": "complete",  # a change is only computed between complete months
        }
        for i, (lvl, code, parent) in enumerate(
            [
                ("index", "INDEX", None),
                ("dimension", "governance", "INDEX"),
                ("element", "public_service", "governance"),
                ("indicator", "GOV_ONLINE_REQUEST_SHARE", "public_service"),
            ]
        )
    ]
    return {
        "staged_service_requests": _frame("staged_service_requests", requests),
        "index_scores": _frame("index_scores", scores),
        "indicator_values": _frame(
            "indicator_values",
            [
                {
                    **base,
                    "indicator_code": "GOV_ONLINE_REQUEST_SHARE",
                    "dimension": "governance",
                    "element": "public_service",
                    "unit": "%",
                    "value": 100.0,
                    "numerator": 5.0,
                    "denominator": 5.0,
                    "rows_used": 5,
                    "source_table": "service_requests",
                    "status": "ok",
                    "catalog_version": "2025.1",
                    "normalised_score": 53.0,
                    "weight": 1.0,
                    "quality_flag": "ok",
                }
            ],
        ),
        "indicator_lineage": _frame(
            "indicator_lineage",
            [
                {
                    **base,
                    "indicator_code": "GOV_ONLINE_REQUEST_SHARE",
                    "table_name": "service_requests",
                    "_raw_file": raw["_raw_file"],
                    "_raw_row": i,
                    "in_numerator": True,
                }
                for i in range(len(NIKS))
            ],
        ),
        "quarantine": _frame(
            "quarantine",
            [
                {
                    **base,
                    "table_name": "service_requests",
                    "rule": "type:submitted_at",
                    "severity": "error",
                    "column_name": "applicant_nik",
                    "value": pseudonymise(NIKS[0], "nik", KEY),
                    "reason": "secret reason",
                    "record_key": "x",
                    "_raw_file": raw["_raw_file"],
                    "_raw_row": 9,
                }
            ],
        ),
    }


@pytest.fixture
def warehouse(postgres_url):
    engine = create_warehouse_engine(postgres_url)
    load_reference_data(engine, ProjectConfig())
    for period in ("2025-02", "2025-03"):
        publish_partition(engine, "19.71", period, _partition("19.71", period), run_id="r")
    yield engine
    engine.dispose()


@pytest.fixture
def evaluator(warehouse, postgres_url):
    suffix = uuid.uuid4().hex[:8]
    name, group = f"kc_eval_{suffix}", f"kc_evaluators_{suffix}"
    yield name, group, sa.make_url(postgres_url).set(username=name)
    warehouse.dispose()
    # Roles are cluster-wide: drop them once the test database (and the grants in it) is gone.
    with sa.create_engine(
        sa.make_url(postgres_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    ).connect() as admin:
        db = sa.make_url(postgres_url).database
        admin.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        for role in (name, group, f"{name}_s", f"{group}_s"):  # _s: a steward's, when a test made one
            admin.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')


def _denied(engine: sa.Engine, sql: str) -> bool:
    with engine.connect() as conn:
        try:
            conn.exec_driver_sql(sql)
        except sa.exc.ProgrammingError as exc:  # insufficient privilege
            return "permission denied" in str(exc) or "must be owner" in str(exc)
    return False


def test_evaluator_reads_views_and_nothing_else(warehouse, evaluator, monkeypatch):
    name, group, url = evaluator
    monkeypatch.setenv("KOTACERDAS_WAREHOUSE_URL", warehouse.url.render_as_string(hide_password=False))
    result = CliRunner().invoke(app, ["warehouse", "grant-evaluator", name, "--group", group])
    assert result.exit_code == 0, result.output
    grant_evaluator(warehouse, name, group=group)  # idempotent

    with sa.create_engine(url).connect() as conn:  # sessions are read-only by default ...
        assert conn.exec_driver_sql("SHOW default_transaction_read_only").scalar_one() == "on"
    # ... but an evaluator can switch that off: what must stop writes is the lack of privileges.
    reader = sa.create_engine(url, connect_args={"options": "-c default_transaction_read_only=off"})
    try:
        with reader.connect() as conn:
            for view in EVALUATOR_VIEWS:
                conn.exec_driver_sql(f"SELECT * FROM {view}").all()
            wide = conn.exec_driver_sql(
                "SELECT period, governance, index_change_previous FROM v_scorecard_wide ORDER BY period"
            ).all()
            assert [tuple(r) for r in wide] == [("2025-02", 51.0, None), ("2025-03", 51.0, 0.0)]
        for table in [*TABLES, "dim_region", "alembic_version", "reference_loads"]:
            assert _denied(reader, f"SELECT * FROM {table} LIMIT 1"), table
        for sql in (
            "INSERT INTO index_scores (city_code, period) VALUES ('x', 'y')",
            "DELETE FROM index_scores",
            "UPDATE v_raw_files SET sha256 = 'x'",
            "DELETE FROM v_region",
            "INSERT INTO v_region (region_code, name, level) VALUES ('x', 'y', 'z')",
            "CREATE TABLE evil (x int)",
            "DROP VIEW v_scorecard",
            "TRUNCATE staged_service_requests",
        ):
            assert _denied(reader, sql), sql
        # Personal data: no view has such a column, and no view holds a NIK or phone, clear or pseudonymised.
        secrets = set(NIKS) | {pseudonymise(n, "nik", KEY) for n in NIKS} | {"secret reason"}
        with reader.connect() as conn:
            text = []
            for view in EVALUATOR_VIEWS:
                result = conn.exec_driver_sql(f"SELECT * FROM {view}")
                assert not {"applicant_nik", "applicant_phone", "reporter_email"} & set(result.keys()), view
                text += [str(v) for row in result for v in row if v is not None]
        blob = "\n".join(text)
        assert [s for s in secrets if s in blob] == []
    finally:
        reader.dispose()


def test_grant_evaluator_refuses_duckdb_and_admin_roles(duckdb_url, warehouse):
    with pytest.raises(ConfigError, match="only on PostgreSQL"):
        grant_evaluator(sa.create_engine(duckdb_url), "someone")
    with pytest.raises(ConfigError, match="administrative rights"):
        grant_evaluator(warehouse, "postgres")
    with pytest.raises(ConfigError, match="not a usable role name"):
        grant_evaluator(warehouse, 'x"; DROP TABLE index_scores; --')


def test_a_steward_login_reads_the_rejected_rows_an_evaluator_may_not(warehouse, evaluator):
    """The rejected rows hold what an OPD sent (here a reason that must not reach evaluators): a steward's login
    (`grant-evaluator --steward`) reads them in v_quarantine, with the OPD; an evaluator's does not, nor the table."""
    name, group, url = evaluator
    grant_evaluator(warehouse, name, group=group)
    result = CliRunner().invoke(
        app,
        ["warehouse", "grant-evaluator", f"{name}_s", "--group", f"{group}_s", "--steward"],
        env={"KOTACERDAS_WAREHOUSE_URL": warehouse.url.render_as_string(hide_password=False)},
    )
    assert result.exit_code == 0, result.output
    assert "v_quarantine" in result.output and f"{group}_s" in result.output
    steward = sa.create_engine(url.set(username=f"{name}_s"), poolclass=sa.pool.NullPool)
    reader = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with steward.connect() as conn:
            sql = "SELECT city_code, period, rule, reason FROM v_quarantine ORDER BY period"
            rows = conn.exec_driver_sql(sql).all()
        assert [tuple(r) for r in rows] == [
            ("19.71", "2025-02", "type:submitted_at", "secret reason"),
            ("19.71", "2025-03", "type:submitted_at", "secret reason"),
        ]
        for table in TABLES:
            assert _denied(steward, f"SELECT * FROM {table} LIMIT 1"), table
        assert _denied(reader, "SELECT * FROM v_quarantine")
        # made an evaluator again, the steward leaves the group that reads the rejected rows
        grant_evaluator(warehouse, f"{name}_s", group=group)
        assert _denied(steward, "SELECT * FROM v_quarantine")
        with steward.connect() as conn:
            conn.exec_driver_sql("SELECT * FROM v_scorecard").all()
        # a group of the other kind would give the rows to every evaluator, or take them from every steward
        with pytest.raises(ConfigError, match="evaluators' group"):
            grant_evaluator(warehouse, f"{name}_s", group="kotacerdas_evaluator", steward=True)
        with pytest.raises(ConfigError, match="stewards' group"):
            grant_evaluator(warehouse, f"{name}_s", group="kotacerdas_steward")
    finally:
        steward.dispose()
        reader.dispose()
