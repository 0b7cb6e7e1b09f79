"""One writer per partition on PostgreSQL: two real processes publishing the same partition at once never leave
duplicates or a mix of two runs (a transaction-level advisory lock on the partition key), the second waits for
the first, and a wait past the timeout fails naming the partition. On DuckDB a second process is refused the file
at once, with an error that says so."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from kotacerdas.errors import PartitionBusyError, StorageError
from kotacerdas.schemas import INDEX_SCORE_COLUMNS, INDICATOR_VALUE_COLUMNS
from kotacerdas.warehouse.engine import create_warehouse_engine
from kotacerdas.warehouse.publish import LOCK_TIMEOUT_OPTION, partition_lock_key, publish_partition

CITY, PERIOD = "19.71", "2025-01"
TRIALS = 10

# A writer: says "ready", waits for the go file, publishes two tables of one partition (pausing between them,
# inside the transaction, so that two writers really overlap), says "committed". With `hold` it waits on stdin
# after the first table instead, so the test knows it holds the partition.
WRITER = r"""
import os, sys, time
sys.path.insert(0, sys.argv[1])
from test_warehouse_concurrency import make_frames
from kotacerdas.warehouse.engine import create_warehouse_engine
from kotacerdas.warehouse.publish import publish_partition

url, tag, go, mode = sys.argv[2:6]
frames = make_frames("19.71", "2025-01", 3_000, tag=tag)
engine = create_warehouse_engine(url)
with engine.connect() as conn:  # connected before the start, so both writers start as close as they can
    conn.exec_driver_sql("SELECT 1")
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.001)

def between(name, written):
    if name == "indicator_values":
        if mode == "hold":
            print("inside", flush=True)
            sys.stdin.readline()
        else:
            time.sleep(0.3)

publish_partition(engine, "19.71", "2025-01", frames, run_id=tag, on_table_written=between)
print("committed", flush=True)
"""


def _frame(columns: dict[str, str], rows: int, fixed: dict) -> pd.DataFrame:
    """Every column of a contract filled (so a column added later is filled too), `fixed` ones as given."""
    filler = {"string": "x", "float64": np.linspace(0, 100, rows), "Int64": 1}
    return pd.DataFrame({c: fixed.get(c, filler.get(d)) for c, d in columns.items()}, index=range(rows)).astype(columns)


def make_frames(city: str, period: str, rows: int, tag: str) -> dict[str, pd.DataFrame]:
    """indicator_values (20 rows) and index_scores (`rows` rows) of one partition, their codes marked by `tag`."""
    where = {"city_code": city, "period": period}
    return {
        "indicator_values": _frame(
            INDICATOR_VALUE_COLUMNS, 20, {**where, "indicator_code": [f"{tag}_{i}" for i in range(20)], "status": "ok"}
        ),
        "index_scores": _frame(
            INDEX_SCORE_COLUMNS, rows, {**where, "level": "indicator", "code": [f"{tag}_{i}" for i in range(rows)]}
        ),
    }


def _writer(url: str, tag: str, go: Path, mode: str = "race") -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(Path(__file__).parent), url, tag, str(go), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _expect(child: subprocess.Popen, word: str) -> None:
    line = child.stdout.readline().strip()
    if line != word:
        child.kill()
        pytest.fail(f"writer said {line!r}, expected {word!r}: {child.stderr.read()[-3000:]}")


def _versions(engine: sa.Engine) -> dict[str, list[tuple[str, int, int]]]:
    """Per table: (run_id, rows, distinct keys) of the partition."""
    with engine.connect() as conn:
        return {
            table: [
                tuple(r)
                for r in conn.exec_driver_sql(
                    f"SELECT run_id, count(*), count(DISTINCT {key}) FROM {table} "
                    "WHERE city_code = %(c)s AND period = %(p)s GROUP BY run_id",
                    {"c": CITY, "p": PERIOD},
                )
            ]
            for table, key in (("indicator_values", "indicator_code"), ("index_scores", "code"))
        }


def test_two_processes_publishing_one_partition_leave_exactly_one_version(postgres_url, tmp_path):
    engine = create_warehouse_engine(postgres_url)  # creates the schema
    engine.dispose()
    for trial in range(TRIALS):
        go = tmp_path / f"go-{trial}"
        tags = (f"a{trial}", f"b{trial}")
        writers = [_writer(postgres_url, tag, go) for tag in tags]
        for w in writers:
            _expect(w, "ready")
        go.touch()
        for w in writers:
            out, err = w.communicate(timeout=120)
            assert w.returncode == 0 and out.strip() == "committed", err[-3000:]
        engine = create_warehouse_engine(postgres_url)
        versions = _versions(engine)
        engine.dispose()
        # One run's rows in both tables, each row once: never both runs' rows, never a table from each run.
        assert len(versions["indicator_values"]) == 1 and len(versions["index_scores"]) == 1, (trial, versions)
        (run_a, rows_a, keys_a), (run_b, rows_b, keys_b) = versions["indicator_values"][0], versions["index_scores"][0]
        assert run_a == run_b and run_a in tags, (trial, versions)
        assert (rows_a, keys_a, rows_b, keys_b) == (20, 20, 3_000, 3_000), (trial, versions)


def _waiting_on_advisory_lock(engine: sa.Engine) -> bool:
    key = partition_lock_key(CITY, PERIOD)
    with engine.connect() as conn:
        return (
            conn.exec_driver_sql(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND ((classid::bigint << 32) | objid::bigint) = %(k)s",
                {"k": key},
            ).scalar_one()
            > 0
        )


def test_the_second_writer_waits_for_the_first_and_a_timeout_names_the_partition(postgres_url, tmp_path):
    engine = create_warehouse_engine(postgres_url)
    go = tmp_path / "go"
    go.touch()
    first = _writer(postgres_url, "first", go, mode="hold")
    try:
        _expect(first, "ready")
        _expect(first, "inside")  # holds the partition, mid-transaction
        with pytest.raises(PartitionBusyError, match=f"partition {CITY} {PERIOD} is being published"):
            # the timeout as the Dagster warehouse resource sets it: an execution option of the engine
            impatient = engine.execution_options(**{LOCK_TIMEOUT_OPTION: 0.5})
            publish_partition(impatient, CITY, PERIOD, make_frames(CITY, PERIOD, 10, "late"), run_id="late")
        second = _writer(postgres_url, "second", go)
        _expect(second, "ready")
        deadline = time.monotonic() + 60
        while not _waiting_on_advisory_lock(engine):  # the second writer is parked on the lock, not writing
            assert second.poll() is None, second.stderr.read()[-3000:]
            assert time.monotonic() < deadline, "the second writer never waited for the lock"
            time.sleep(0.01)
        assert _versions(engine) == {"indicator_values": [], "index_scores": []}  # nothing committed yet
        first.stdin.write("\n")
        first.stdin.flush()
        assert first.communicate(timeout=120)[0].strip() == "committed"
        out, err = second.communicate(timeout=120)
        assert second.returncode == 0 and out.strip() == "committed", err[-3000:]
    finally:
        for child in (first,):
            if child.poll() is None:
                child.kill()
    # The second writer ran after the first committed and replaced its rows whole.
    assert _versions(engine) == {"indicator_values": [("second", 20, 20)], "index_scores": [("second", 3_000, 3_000)]}
    engine.dispose()


def test_the_warehouse_resource_gives_publishes_the_configured_lock_timeout(tmp_path, opd_project, duckdb_url):
    config = tmp_path / "config"
    shutil.copytree(opd_project.dir, config)
    pipeline = config / "pipeline.yaml"
    text = pipeline.read_text(encoding="utf-8")
    assert "publish_lock_timeout_seconds: 600" in text
    pipeline.write_text(text.replace("publish_lock_timeout_seconds: 600", "publish_lock_timeout_seconds: 42"), "utf-8")
    from assets.resources import WarehouseResource  # here: the writer processes import this module, not dagster

    engine = WarehouseResource(url=duckdb_url, config_dir=str(config)).engine()
    assert engine.get_execution_options()[LOCK_TIMEOUT_OPTION] == 42
    engine.dispose()


def test_duckdb_has_one_writer_per_file_and_a_second_process_is_told_so(duckdb_url, tmp_path):
    go = tmp_path / "go"
    go.touch()
    first = _writer(duckdb_url, "first", go, mode="hold")
    try:
        _expect(first, "ready")
        _expect(first, "inside")  # holds the file, mid-transaction
        engine = sa.create_engine(duckdb_url)
        frames = make_frames(CITY, PERIOD, 10, "late")
        with pytest.raises(StorageError, match=f"partition {CITY} {PERIOD}.*open in another process") as refused:
            publish_partition(engine, CITY, PERIOD, frames, run_id="late")
        assert "PostgreSQL" in refused.value.hint and "(PID " in refused.value.message
        engine.dispose()
        first.stdin.write("\n")
        first.stdin.flush()
        assert first.communicate(timeout=120)[0].strip() == "committed"
    finally:
        if first.poll() is None:
            first.kill()
    engine = create_warehouse_engine(duckdb_url)  # the file is free again: this process publishes
    publish_partition(engine, CITY, PERIOD, make_frames(CITY, PERIOD, 10, "late"), run_id="late")
    with engine.connect() as conn:
        runs = conn.exec_driver_sql("SELECT DISTINCT run_id FROM index_scores").scalars().all()
    engine.dispose()
    assert runs == ["late"]
