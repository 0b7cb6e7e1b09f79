"""The whole asset graph, in process, for 2 cities × 2 months: simulator over HTTP → DuckDB and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from kotacerdas.simulator import write_file_drops
from kotacerdas.warehouse.schema import TABLES
from pipelines.definitions import defs
from pipelines.runner import run_partitions

CITIES = ("19.71", "19.03")
MONTHS = ("2025-02", "2025-03")
PARTITIONS = [(c, m) for c in CITIES for m in MONTHS]
PII_KEY = "e2e-test-pii-key"


@pytest.fixture
def pipeline_env(tmp_path, monkeypatch, opd_project, opd_env):
    landing, raw = tmp_path / "landing", tmp_path / "raw"
    write_file_drops(opd_project, landing, list(CITIES), list(MONTHS), seed=42)
    for key, value in {
        **opd_env,
        "KOTACERDAS_LANDING_DIR": str(landing),
        "KOTACERDAS_RAW_DIR": str(raw),
        "KOTACERDAS_PII_KEY": PII_KEY,
    }.items():
        monkeypatch.setenv(key, value)
    return tmp_path


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse_url(request, monkeypatch, pipeline_env):
    url = request.getfixturevalue("duckdb_url" if request.param == "duckdb" else "postgres_url")
    monkeypatch.setenv("KOTACERDAS_WAREHOUSE_URL", url)
    return url


def _counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() for name, t in TABLES.items()
        }


def test_whole_graph_publishes_every_city_month_dimension_and_index(warehouse_url, opd_simulator):
    instance = dg.DagsterInstance.ephemeral()
    outcomes = run_partitions(defs, PARTITIONS, instance=instance)
    assert [o.problems for o in outcomes] == [()] * len(PARTITIONS)
    assert all(o.success for o in outcomes)
    # each ingested partition is also kept light, which quality, quarantine and published_scores read
    values = Path(instance.storage_directory()) / "values"
    raw = {p.with_suffix("") for p in values.glob("*_raw/*/*.pickle") if not p.name.endswith(".light.pickle")}
    assert len(raw) == 6 * len(PARTITIONS)  # the six monthly tables
    assert {p.with_suffix("").with_suffix("") for p in values.glob("*_raw/*/*.light.pickle")} == raw

    engine = sa.create_engine(warehouse_url)
    with engine.connect() as conn:
        scores = conn.exec_driver_sql(
            "SELECT city_code, period, level, code, score, maturity_level, methodology_version "
            "FROM index_scores WHERE level IN ('dimension', 'index')"
        ).all()
        quarantined = conn.exec_driver_sql("SELECT count(*) FROM quarantine").scalar_one()
        raw_files = conn.exec_driver_sql("SELECT count(*), count(DISTINCT sha256) FROM raw_files").one()
        catalogue = conn.exec_driver_sql(
            "SELECT city_code, period, count(*) FROM staged_service_catalogue "
            "WHERE as_of = period GROUP BY city_code, period"
        ).all()
        yearly = conn.exec_driver_sql(
            "SELECT (SELECT count(*) FROM staged_spbe_assessments) + (SELECT count(*) FROM staged_evaluation_scores)"
        ).scalar_one()
    # 6 dimensions + the index for each of the 4 partitions, all scored, all with a level 1-5
    assert len(scores) == len(PARTITIONS) * 7
    assert {(c, p) for c, p, *_ in scores} == set(PARTITIONS)
    assert all(s is not None and 0 <= s <= 100 for *_, s, _, _ in scores)
    assert all(lv in (1, 2, 3, 4, 5) for *_, lv, _ in scores)
    assert {v for *_, v in scores} == {"1.0.0"}
    assert quarantined > 0  # the simulator injects defective rows; they are kept, not lost
    assert raw_files[0] > 0 and raw_files[0] == raw_files[1]
    # The monthly service catalogue flows through the monthly assets into the warehouse; the yearly tables do not.
    services = sum(len(o.services) for o in opd_simulator.project.cities.opds_for("service_catalogue"))
    assert sorted(catalogue) == sorted((c, m, services) for c, m in PARTITIONS) and yearly == 0

    # Re-materializing a partition replaces it: same row counts everywhere.
    before = _counts(engine)
    again = run_partitions(defs, [PARTITIONS[0]], instance=instance)
    assert again[0].success
    after = _counts(engine)
    # raw_files lists the payloads of the latest fetch of the partition, so its count is stable too
    assert after == before
    engine.dispose()


def test_personal_data_never_reaches_the_warehouse_in_clear(warehouse_url, opd_simulator):
    outcomes = run_partitions(defs, PARTITIONS[:1], instance=dg.DagsterInstance.ephemeral())
    assert outcomes[0].success
    city, month = PARTITIONS[0]
    seeded = set()
    for table, fields in (("service_requests", ("nik_pemohon", "hp_pemohon")), ("complaints", ("email_pelapor",))):
        for opd in opd_simulator.project.cities.opds_for(table):
            for row in opd_simulator.rows(table, city, opd.code, month):
                seeded |= {str(row[f]) for f in fields if row.get(f)}
    assert len(seeded) > 50
    engine = sa.create_engine(warehouse_url)
    with engine.connect() as conn:
        text = []
        for table in TABLES.values():
            cols = [c for c in table.c if isinstance(c.type, sa.Text)]
            for row in conn.execute(sa.select(*cols)):
                text.extend(str(v) for v in row if v is not None)
    engine.dispose()
    blob = "\n".join(text)
    leaked = [value for value in seeded if value in blob]
    assert leaked == []
