"""Publishing a partition on real DuckDB and PostgreSQL: idempotent, isolated, atomic, SQL-safe."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import sqlalchemy as sa

from kotacerdas.index.maturity import SCORE_COLUMNS
from kotacerdas.indicators.compute import INDICATOR_VALUE_COLUMNS
from kotacerdas.warehouse.engine import create_warehouse_engine, resolve_warehouse_url
from kotacerdas.warehouse.publish import publish_partition


def _values(city: str, period: str, n: int, name: str = "IND") -> pd.DataFrame:
    return pd.DataFrame([{
        "city_code": city, "period": period, "indicator_code": f"{name}_{i}", "dimension": "governance",
        "element": "public_service", "unit": "%", "value": i / 3, "numerator": math.nan, "denominator": 3.0,
        "rows_used": i, "source_table": "service_requests", "status": "ok", "catalog_version": "t",
    } for i in range(n)]).astype(INDICATOR_VALUE_COLUMNS)


@pytest.fixture(params=["duckdb", "postgres"])
def engine(request):
    url = request.getfixturevalue("duckdb_url" if request.param == "duckdb" else "postgres_url")
    eng = create_warehouse_engine(url)
    yield eng
    eng.dispose()


def _rows(engine, where: str = "") -> list[tuple]:
    with engine.connect() as conn:
        return conn.exec_driver_sql(
            f"SELECT city_code, period, indicator_code, value, numerator FROM indicator_values {where} "
            "ORDER BY city_code, period, indicator_code").all()


def test_republish_is_idempotent_and_keeps_other_partitions(engine):
    publish_partition(engine, "19.03", "2025-01", {"indicator_values": _values("19.03", "2025-01", 2)}, run_id="a")
    first = publish_partition(engine, "19.71", "2025-01", {"indicator_values": _values("19.71", "2025-01", 5)},
                              run_id="b")
    before = _rows(engine)
    again = publish_partition(engine, "19.71", "2025-01", {"indicator_values": _values("19.71", "2025-01", 5)},
                              run_id="c")
    assert first == again == {"indicator_values": 5}
    assert _rows(engine) == before and len(before) == 7
    assert _rows(engine, "WHERE city_code = '19.03'")[0][4] is None  # NaN stored as NULL


def test_failed_publish_leaves_previous_version_whole(engine):
    publish_partition(engine, "19.71", "2025-02", {"indicator_values": _values("19.71", "2025-02", 4)}, run_id="a")
    before = _rows(engine)
    row = {"city_code": "19.71", "period": "2025-02", "level": "index", "code": "INDEX", "score": 1.0}
    scores = pd.DataFrame([row], columns=list(SCORE_COLUMNS)).astype(SCORE_COLUMNS)

    def fail_after_first_table(name, rows):  # the first table is already replaced inside the transaction
        raise RuntimeError(f"simulated failure after {name}")

    with pytest.raises(RuntimeError, match="simulated failure after indicator_values"):
        publish_partition(engine, "19.71", "2025-02", {
            "indicator_values": _values("19.71", "2025-02", 9, name="NEW"), "index_scores": scores,
        }, run_id="b", on_table_written=fail_after_first_table)
    assert _rows(engine) == before


def test_rows_of_another_partition_are_refused(engine):
    with pytest.raises(ValueError, match="belong to other partitions"):
        publish_partition(engine, "19.71", "2025-03", {"indicator_values": _values("19.03", "2025-03", 1)},
                          run_id="a")


def test_values_that_would_break_sql_round_trip(engine):
    frame = _values("19.71", "2025-04", 1)
    frame["indicator_code"] = "x'); DROP TABLE indicator_values; --"
    frame["unit"] = "kunjungan/1.000 penduduk — ✓ \"é\"; \\ tab\t"
    publish_partition(engine, "19.71", "2025-04", {"indicator_values": frame}, run_id="a")
    with engine.connect() as conn:
        code, unit = conn.exec_driver_sql("SELECT indicator_code, unit FROM indicator_values").one()
    assert (code, unit) == (frame["indicator_code"][0], frame["unit"][0])


def test_env_var_overrides_config_and_relative_duckdb_paths_use_project_root(tmp_path):
    url = resolve_warehouse_url("duckdb:///data/w.duckdb", tmp_path, env={})
    assert url.database == str(tmp_path / "data" / "w.duckdb")
    pg = resolve_warehouse_url("duckdb:///x.duckdb", tmp_path,
                               env={"KOTACERDAS_WAREHOUSE_URL": "postgresql+psycopg://u:secret@h/db"})
    assert pg.get_backend_name() == "postgresql"


def test_unreachable_warehouse_is_a_clear_error():
    from kotacerdas.errors import ConfigError

    with pytest.raises(ConfigError, match="cannot open the warehouse.*\\*\\*\\*"):
        create_warehouse_engine(sa.make_url("postgresql+psycopg://u:topsecret@127.0.0.1:1/none"))
