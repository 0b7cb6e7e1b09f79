"""A publishing process killed with SIGKILL inside its transaction leaves the warehouse exactly as before, and
publishing again completes the partition; other partitions are never touched (real DuckDB and PostgreSQL).

The child process publishes two tables of one partition. After the first table is replaced (inside the
transaction) it tells the parent on stdout; the parent then kills it:
- `hold`: the child waits on stdin after signalling, so it is certainly inside the transaction (both backends);
- `copy`: the child goes straight on into the COPY of a large second table, and the parent kills it once
  PostgreSQL shows that COPY running (`pg_stat_activity`), i.e. in the middle of the bulk load.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from kotacerdas.warehouse.engine import create_warehouse_engine
from kotacerdas.warehouse.publish import publish_partition
from kotacerdas.warehouse.schema import INDEX_SCORE_COLUMNS, INDICATOR_VALUE_COLUMNS

CITY, PERIOD, OTHER = "19.71", "2025-01", "19.03"
APP_NAME = "kc-crash-test"

CHILD = r"""
import sys
sys.path.insert(0, sys.argv[1])
from test_warehouse_crash import CITY, PERIOD, make_frames
from kotacerdas.warehouse.engine import create_warehouse_engine
from kotacerdas.warehouse.publish import publish_partition

url, mode, rows = sys.argv[2], sys.argv[3], int(sys.argv[4])
frames = make_frames(CITY, PERIOD, rows, tag="killed")
engine = create_warehouse_engine(url)

def inside(name, written):
    if name == "indicator_values":
        print("inside", flush=True)
        if mode == "hold":
            sys.stdin.read()  # never answered: the parent kills this process here

publish_partition(engine, CITY, PERIOD, frames, run_id="killed", on_table_written=inside)
print("committed", flush=True)
"""


def make_frames(city: str, period: str, rows: int, tag: str) -> dict[str, pd.DataFrame]:
    """indicator_values (20 rows) then index_scores (`rows` rows), with values that differ by `tag`."""
    rng = np.random.default_rng(abs(hash(tag)) % 2**32)
    values = pd.DataFrame(
        {
            "city_code": city,
            "period": period,
            "indicator_code": [f"{tag}_{i}" for i in range(20)],
            "dimension": "governance",
            "element": "public_service",
            "unit": "%",
            "value": rng.random(20) * 100,
            "numerator": np.nan,
            "denominator": 3.0,
            "rows_used": np.arange(20),
            "source_table": "service_requests",
            "status": "ok",
            "catalog_version": tag,
        }
    ).astype(INDICATOR_VALUE_COLUMNS)
    scores = pd.DataFrame(
        {
            "city_code": city,
            "period": period,
            "level": "indicator",
            "code": [f"{tag}_{i}" for i in range(rows)],
            "parent_code": "public_service",
            "score": rng.random(rows) * 100,
            "weight": rng.random(rows),
            "coverage": 1.0,
            "data_coverage": 1.0,
            "maturity_level": pd.array(rng.integers(1, 6, rows), dtype="Int64"),
            "methodology": "m",
            "methodology_version": tag,
        }
    ).astype(INDEX_SCORE_COLUMNS)
    return {"indicator_values": values, "index_scores": scores}


def _snapshot(engine: sa.Engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {
            t: sorted(conn.exec_driver_sql(f"SELECT * FROM {t}").all(), key=repr)
            for t in ("indicator_values", "index_scores")
        }


def _spawn(url: str, mode: str, rows: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(Path(__file__).parent), url, mode, str(rows)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_inside(child: subprocess.Popen) -> None:
    line = child.stdout.readline()
    if line.strip() != "inside":
        child.kill()
        pytest.fail(f"child did not reach the transaction: {line!r} {child.stderr.read()[-2000:]}")


def _copy_running(admin: sa.Engine) -> bool:
    with admin.connect() as conn:
        return (
            conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %(app)s AND state = 'active' "
                "AND query LIKE 'COPY%%'",
                {"app": APP_NAME},
            ).scalar_one()
            > 0
        )


@pytest.mark.parametrize(
    "backend,mode,rows", [("duckdb", "hold", 50_000), ("postgres", "hold", 50_000), ("postgres", "copy", 1_000_000)]
)
def test_sigkill_inside_the_transaction_leaves_the_previous_version(request, backend, mode, rows):
    url = request.getfixturevalue("duckdb_url" if backend == "duckdb" else "postgres_url")
    if backend == "postgres":
        url = sa.make_url(url).update_query_dict({"application_name": APP_NAME}).render_as_string(hide_password=False)
    engine = create_warehouse_engine(url)
    publish_partition(engine, CITY, PERIOD, make_frames(CITY, PERIOD, 1_000, "old"), run_id="old")
    publish_partition(engine, OTHER, PERIOD, make_frames(OTHER, PERIOD, 500, "other"), run_id="other")
    before = _snapshot(engine)
    engine.dispose()  # DuckDB: one process may hold the file

    child = _spawn(url, mode, rows)
    try:
        _wait_inside(child)
        if mode == "copy":
            admin = sa.create_engine(url.replace(APP_NAME, "kc-crash-observer"))
            deadline = time.monotonic() + 60
            while not _copy_running(admin):
                assert child.poll() is None, "the child finished before it could be killed mid-COPY"
                assert time.monotonic() < deadline, "never saw the COPY running"
                time.sleep(0.005)
            admin.dispose()
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    assert "committed" not in child.stdout.read()

    engine = create_warehouse_engine(url)
    assert _snapshot(engine) == before  # exactly the previous version, both tables, both partitions
    again = publish_partition(engine, CITY, PERIOD, make_frames(CITY, PERIOD, 2_000, "new"), run_id="new")
    assert again == {"indicator_values": 20, "index_scores": 2_000}
    after = _snapshot(engine)
    with engine.connect() as conn:
        versions = conn.exec_driver_sql(
            f"SELECT DISTINCT methodology_version FROM index_scores WHERE city_code = '{CITY}'"
        ).scalars()
        assert set(versions) == {"new"}
    engine.dispose()
    assert [r for r in after["index_scores"] if r[0] == OTHER] == [r for r in before["index_scores"] if r[0] == OTHER]
