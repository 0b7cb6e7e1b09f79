"""The Alembic migrations on real DuckDB and PostgreSQL: up from nothing, down and up again, a pre-migration
(create_all) warehouse adopted with its data, and the head schema exactly `kotacerdas.warehouse.schema`."""

from __future__ import annotations

import time
import warnings

import pandas as pd
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from kotacerdas.config import ProjectConfig
from kotacerdas.schemas import CANONICAL_TABLES
from kotacerdas.warehouse import migrate, reference
from kotacerdas.warehouse.engine import create_warehouse_engine
from kotacerdas.warehouse.reference import load_reference_data, region_frame
from kotacerdas.warehouse.schema import (
    EVALUATOR_VIEWS,
    FACT_TABLES,
    STAGED_COLUMNS,
    STEWARD_VIEWS,
    metadata,
)

_TYPES = {
    "TEXT": {"varchar", "text", "character varying"},
    "DOUBLE": {"double", "double precision"},
    "BIGINTEGER": {"bigint"},
    "BOOLEAN": {"boolean"},
    "DATETIME": {"timestamp", "timestamp without time zone"},
    "DATE": {"date"},
}


@pytest.fixture(params=["duckdb", "postgres"])
def engine(request):
    eng = sa.create_engine(request.getfixturevalue("duckdb_url" if request.param == "duckdb" else "postgres_url"))
    yield eng
    eng.dispose()


def _columns(engine) -> dict[str, dict[str, tuple[str, bool]]]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT c.table_name, c.column_name, c.data_type, c.is_nullable FROM information_schema.columns c "
            "JOIN information_schema.tables t ON t.table_name = c.table_name AND t.table_schema = c.table_schema "
            "WHERE c.table_schema IN ('public', 'main') AND t.table_type = 'BASE TABLE'"
        ).all()
    out: dict[str, dict[str, tuple[str, bool]]] = {}
    for table, column, dtype, nullable in rows:
        out.setdefault(table, {})[column] = (dtype.lower(), nullable == "YES")
    out.pop("alembic_version", None)
    return out


def _views(engine) -> set[str]:
    with engine.connect() as conn:
        return {
            r[0]
            for r in conn.exec_driver_sql(
                "SELECT table_name FROM information_schema.tables WHERE table_type = 'VIEW' "
                "AND table_schema IN ('public', 'main')"
            )
        }


def test_head_schema_is_exactly_the_schema_module(engine):
    assert migrate.upgrade(engine) == (None, migrate.head_revision())
    found = _columns(engine)
    assert set(found) == set(metadata.tables)
    for name, table in metadata.tables.items():
        expected = {c.name: (type(c.type).__name__.upper(), c.nullable) for c in table.c}
        assert set(found[name]) == set(expected), name
        for col, (sqltype, nullable) in expected.items():
            dtype, is_nullable = found[name][col]
            assert dtype in _TYPES[sqltype], (name, col, dtype)
            assert is_nullable == bool(nullable), (name, col)
    assert _views(engine) == {*EVALUATOR_VIEWS, *STEWARD_VIEWS}
    if engine.dialect.name == "postgresql":  # Alembic's own comparison (duckdb_engine cannot reflect for it)
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata) == []


def test_down_to_nothing_and_up_again(engine):
    migrate.upgrade(engine)
    assert migrate.downgrade(engine, "base") is None
    assert _columns(engine) == {} and _views(engine) == set()
    assert migrate.upgrade(engine)[1] == migrate.head_revision()
    assert set(_columns(engine)) == set(metadata.tables)


def test_warehouse_made_before_migrations_is_adopted_with_its_data(engine):
    migrate.upgrade(engine, migrate.BASELINE_REVISION)  # the five tables create_all used to make ...
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE alembic_version")  # ... and no version table
        conn.exec_driver_sql(
            "INSERT INTO index_scores (city_code, period, level, code, score) "
            "VALUES ('19.71', '2024-12', 'index', 'INDEX', 61.5)"
        )
    engine2 = create_warehouse_engine(engine.url)  # first use migrates
    with engine2.connect() as conn:
        assert migrate.current_revision(conn) == migrate.head_revision()
        assert conn.exec_driver_sql("SELECT score FROM index_scores").scalar_one() == 61.5
        assert conn.exec_driver_sql("SELECT count(*) FROM v_scorecard").scalar_one() == 1
    assert migrate.ensure_schema(engine2) is False  # at head: nothing to do
    engine2.dispose()


def test_reference_data_loads_once_and_repairs_float_mangled_codes(engine):
    migrate.upgrade(engine)
    project = ProjectConfig()
    first = load_reference_data(engine, project)
    assert first["regions"] == 514 + 38 + 7 + 42 and all(first.values())
    assert load_reference_data(engine, project) == {}  # this process loaded these files: not even compared
    reference._LOADED.clear()  # as a new process would
    assert set(load_reference_data(engine, project).values()) == {0}  # unchanged: every unit skipped
    with engine.connect() as conn:
        rows = dict(
            conn.exec_driver_sql(
                "SELECT region_code, area_km2 FROM dim_region WHERE region_code IN ('11.10', '12.10', '31')"
            ).all()
        )
        city = conn.exec_driver_sql(
            "SELECT kind, bps_code, population, population_band, parent_code "
            "FROM dim_region WHERE region_code = '19.03'"
        ).one()
    assert rows == {"11.10": 1851.615, "12.10": 2772.346, "31": 661.53}
    assert tuple(city) == ("kabupaten", "1903", 216079, "100k-250k", "19")


def test_region_files_ship_with_the_project_not_shared():
    frame = region_frame(ProjectConfig().dir / "regions")
    assert frame["region_code"].is_unique and frame["area_km2"].notna().sum() == 514 + 38
    assert set(frame.loc[frame["level"] == "kabupaten_kota", "kind"]) == {"kota", "kabupaten"}


def test_every_fact_column_has_a_pandas_dtype_and_a_sql_type():
    """The column contracts (kotacerdas.schemas) name dtypes the frames and the warehouse both understand."""
    from kotacerdas.warehouse.schema import _SQL_TYPES

    assert all(pd.api.types.pandas_dtype(d) is not None for cols in FACT_TABLES.values() for d in cols.values())
    assert {d for cols in FACT_TABLES.values() for d in cols.values()} <= set(_SQL_TYPES)
    for name, table in CANONICAL_TABLES.items():  # a staged table is its canonical table, partitioned
        assert set(STAGED_COLUMNS[name]) == {"city_code", "period", *table.columns}, name


def test_0006_replaces_the_unused_regulator_tables_and_grants_the_existing_evaluator_group(postgres_url):
    """An evaluator group made before 0006 can read the new regulator views after the upgrade, and a regulator
    table someone filled by hand stops the upgrade instead of being dropped."""
    engine = sa.create_engine(postgres_url)
    group, created = "kotacerdas_evaluator", False
    try:
        migrate.upgrade(engine, "0005")
        with engine.begin() as conn:
            created = not conn.exec_driver_sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{group}'").first()
            if created:
                conn.exec_driver_sql(f"CREATE ROLE {group} NOLOGIN")
            conn.exec_driver_sql(
                "INSERT INTO regulator_spbe (region_code, year, index_score) VALUES ('19.71', 2024, 3.1)"
            )
        with pytest.raises(Exception, match="regulator_spbe, which holds 1 row"):
            migrate.upgrade(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM regulator_spbe")
        migrate.upgrade(engine)
        with engine.connect() as conn:
            for view in ("v_regulator_kominfo", "v_regulator_spbe", "v_regulator_ikm"):
                granted = conn.exec_driver_sql(f"SELECT has_table_privilege('{group}', '{view}', 'SELECT')")
                assert granted.scalar_one(), view
    finally:
        engine.dispose()
        if created:
            _drop_cluster_role(postgres_url, group)


def _drop_cluster_role(url: str, role: str, attempts: int = 10) -> None:
    """Drop a role that other databases of the cluster may have granted rights to meanwhile: while it exists, the
    migrations of tests running beside this one (pytest -n) grant it their views, and DROP ROLE refuses a role with
    rights left in any database (or fails on a concurrent update of them). Its rights here go first; the others go
    with their tests' databases, so DROP ROLE is retried for a few seconds. Another test's database is never
    touched: when the role still has rights there, it is left for a later run to drop, with a warning."""
    admin = sa.create_engine(sa.make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    own = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with own.connect() as conn:  # only this test migrates its database: its rights here go once
            conn.exec_driver_sql(f"DROP OWNED BY {role}")  # the role owns nothing: this withdraws its rights
        for attempt in range(attempts):
            try:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
                return
            except sa.exc.DBAPIError as exc:
                if attempt == attempts - 1:
                    warnings.warn(f"role {role} left on the test cluster: {exc.orig}", stacklevel=1)
                    return
                time.sleep(0.5)  # the other tests' databases come and go
    finally:
        own.dispose()
        admin.dispose()


def test_0010_gives_gates_published_before_it_no_warning_level(engine):
    """Rows of quality_gates published before 0010 have no warning level: `warns` is unknown for those that passed,
    false for those that did not; a row published since says whether it warned."""
    migrate.upgrade(engine, "0009")
    insert = (
        "INSERT INTO quality_gates (city_code, period, table_name, input_rows, valid_rows, rejected_rows, "
        "rejected_share, threshold, passed, status) VALUES "
    )
    with engine.begin() as conn:
        conn.exec_driver_sql(
            insert + "('19.71', '2025-01', 'complaints', 100, 97, 3, 0.03, 0.05, TRUE, 'complete'), "
            "('19.03', '2025-01', 'complaints', 100, 90, 10, 0.10, 0.05, FALSE, 'complete')"
        )
    assert migrate.upgrade(engine)[1] == migrate.head_revision()
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO quality_gates (city_code, period, table_name, input_rows, valid_rows, rejected_rows, "
            "rejected_share, threshold, passed, status, warn_threshold) "
            "VALUES ('19.71', '2025-02', 'complaints', 100, 97, 3, 0.03, 0.05, TRUE, 'complete', 0.025)"
        )
        rows = conn.exec_driver_sql(
            "SELECT city_code, period, warn_threshold, warns FROM v_quality ORDER BY period, city_code"
        ).fetchall()
    assert [tuple(r) for r in rows] == [
        ("19.03", "2025-01", None, False),
        ("19.71", "2025-01", None, None),
        ("19.71", "2025-02", 0.025, True),
    ]


def test_0011_shows_rejected_rows_published_before_it_without_their_opd(engine):
    """A quarantine row published before 0011 has no OPD (its key still names it); one published since has, with
    the OPD's name from dim_opd; `v_quarantine` shows both and goes away with 0011 again."""
    migrate.upgrade(engine, "0010")
    insert = (
        "INSERT INTO quarantine (city_code, period, table_name, rule, severity, column_name, value, reason, "
        "record_key, _raw_file, _raw_row{}) VALUES "
    )
    row = "('19.71', '2025-01', 'complaints', 'status_in_set', 'error', 'status', 'lost', 'r', '19.71|DINKES|7', 'f', 3"
    with engine.begin() as conn:
        conn.exec_driver_sql(insert.format("") + row + ")")
    assert migrate.upgrade(engine)[1] == migrate.head_revision()
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO dim_opd (opd_code, name) VALUES ('DINKES', 'Dinas Kesehatan')")
        conn.exec_driver_sql(insert.format(", opd_code") + row.replace("2025-01", "2025-02") + ", 'DINKES')")
        rows = conn.exec_driver_sql(
            "SELECT period, opd_code, opd_name, rule, value, record_key, raw_file, raw_row FROM v_quarantine "
            "ORDER BY period"
        ).fetchall()
    assert [tuple(r) for r in rows] == [
        ("2025-01", None, None, "status_in_set", "lost", "19.71|DINKES|7", "f", 3),
        ("2025-02", "DINKES", "Dinas Kesehatan", "status_in_set", "lost", "19.71|DINKES|7", "f", 3),
    ]
    assert migrate.downgrade(engine, "0010") == "0010"
    assert "v_quarantine" not in _views(engine) and "opd_code" not in _columns(engine)["quarantine"]
