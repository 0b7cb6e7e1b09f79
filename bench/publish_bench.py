"""Benchmark (not a test): rows/s publishing fact rows with `publish_partition`, next to a plain bulk load of the
same rows — `psql \\copy … CSV` for PostgreSQL, DuckDB's own `COPY … FROM 'file.csv'` for DuckDB — in the same run.

    .venv/bin/python bench/publish_bench.py                  # 1,000,000 rows, 3 rounds, PostgreSQL and DuckDB
    .venv/bin/python bench/publish_bench.py --rows 200000 --rounds 1 --backend postgres

PostgreSQL: a scratch database is created on KOTACERDAS_TEST_PG_URL (default postgresql+psycopg://postgres@
127.0.0.1:5432/postgres) and dropped afterwards. Each round empties the table first (TRUNCATE + CHECKPOINT), so
both loads insert into the same empty, indexed table. Timings are wall clock of the whole call: for
publish_partition that includes preparing the DataFrame (dtypes, partition check), formatting it and the
transaction; for psql the process start and connection.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kotacerdas.warehouse.engine import create_warehouse_engine  # noqa: E402
from kotacerdas.warehouse.publish import _nulls_for_duckdb, _prepare, publish_partition  # noqa: E402
from kotacerdas.warehouse.schema import INDEX_SCORE_COLUMNS, RUN_COLUMNS  # noqa: E402

CITY, PERIOD, TABLE = "19.71", "2025-01", "index_scores"
PG_ADMIN_URL = os.environ.get("KOTACERDAS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def fact_rows(n: int, seed: int = 1) -> pd.DataFrame:
    """`n` index_scores rows of one partition, shaped like real ones (codes, unrounded scores, some NULLs)."""
    rng = np.random.default_rng(seed)
    levels = np.array(["indicator", "element", "dimension", "index"])
    score = rng.random(n) * 100
    score[rng.random(n) < 0.02] = np.nan
    return pd.DataFrame(
        {
            "city_code": CITY,
            "period": PERIOD,
            "level": levels[rng.integers(0, 4, n)],
            "code": pd.array([f"GOV_INDICATOR_{i % 5000:04d}" for i in range(n)], dtype="string"),
            "parent_code": "public_service",
            "score": score,
            "weight": rng.random(n),
            "coverage": rng.random(n),
            "maturity_level": pd.array(rng.integers(1, 6, n), dtype="Int64"),
            "methodology": "smart-city-maturity",
            "methodology_version": "1.0.0",
            "data_coverage": rng.random(n),
        }
    ).astype(INDEX_SCORE_COLUMNS)


def write_csv(frame: pd.DataFrame, path: Path) -> list[str]:
    """The rows exactly as publish_partition writes them (run columns included), as CSV for the baselines."""
    import datetime as dt

    prepared = _prepare(TABLE, frame, CITY, PERIOD, "bench", dt.datetime(2025, 1, 1))
    con = duckdb.connect()
    con.register("rows", _nulls_for_duckdb(prepared))
    con.execute(f"COPY rows TO '{path}' (FORMAT csv, HEADER false)")  # quotes only where needed
    con.close()
    return list(prepared.columns)


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>12,.0f} rows/s ({seconds:.2f} s)"


def _in_round_order(r: int, *loads: tuple) -> tuple:
    """The loads of round r: as given in even rounds, reversed in odd ones."""
    return loads if r % 2 == 0 else loads[::-1]


def bench_postgres(frame: pd.DataFrame, csv: Path, columns: list[str], rounds: int) -> tuple[list, list]:
    psql = shutil.which("psql")
    if psql is None:
        raise SystemExit("psql is not on PATH: install postgresql-client")
    name = f"kc_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(PG_ADMIN_URL).set(database=name)
    try:
        engine = create_warehouse_engine(url)
        libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
        cols = ", ".join(columns)
        ours, plain = [], []

        def empty() -> None:
            with engine.begin() as conn:
                conn.exec_driver_sql(f"TRUNCATE {TABLE}")
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("CHECKPOINT")

        def count() -> int:
            with engine.connect() as conn:
                return conn.exec_driver_sql(f"SELECT count(*) FROM {TABLE}").scalar_one()

        def load_plain() -> None:
            subprocess.run(
                [psql, libpq, "-v", "ON_ERROR_STOP=1", "-qc", f"\\copy {TABLE} ({cols}) FROM '{csv}' CSV"], check=True
            )

        def load_ours() -> None:
            publish_partition(engine, CITY, PERIOD, {TABLE: frame}, run_id="bench")

        for r in range(rounds):
            # alternate which load goes first, so neither always meets the warmer cache
            for load, times in _in_round_order(r, (load_plain, plain), (load_ours, ours)):
                empty()
                t = time.perf_counter()
                load()
                times.append(time.perf_counter() - t)
                loaded = count()
                assert loaded == len(frame), f"{load.__name__} loaded {loaded:,} rows, not {len(frame):,}"
            print(
                f"  postgres round {r + 1}: psql \\copy {_rate(len(frame), plain[-1])}   "
                f"publish_partition {_rate(len(frame), ours[-1])}",
                flush=True,
            )
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    return ours, plain


def bench_duckdb(frame: pd.DataFrame, csv: Path, columns: list[str], rounds: int, tmp: Path) -> tuple[list, list]:
    ours, plain = [], []
    for r in range(rounds):
        path = tmp / f"bench_{r}.duckdb"
        engine = create_warehouse_engine(f"duckdb:///{path}")

        def load_plain(engine: sa.Engine = engine) -> None:
            with engine.begin() as conn:
                conn.exec_driver_sql(f"COPY {TABLE} ({', '.join(columns)}) FROM '{csv}' (FORMAT csv, HEADER false)")

        def load_ours(engine: sa.Engine = engine) -> None:
            publish_partition(engine, CITY, PERIOD, {TABLE: frame}, run_id="bench")

        # alternate which load goes first, so neither always meets the warmer file
        for load, times in _in_round_order(r, (load_plain, plain), (load_ours, ours)):
            with engine.begin() as conn:
                conn.exec_driver_sql(f"DELETE FROM {TABLE}")
            t = time.perf_counter()
            load()
            times.append(time.perf_counter() - t)
            with engine.connect() as conn:
                loaded = conn.exec_driver_sql(f"SELECT count(*) FROM {TABLE}").scalar_one()
            assert loaded == len(frame), f"{load.__name__} loaded {loaded:,} rows, not {len(frame):,}"
        engine.dispose()
        print(
            f"  duckdb   round {r + 1}: COPY FROM csv {_rate(len(frame), plain[-1])}   "
            f"publish_partition {_rate(len(frame), ours[-1])}",
            flush=True,
        )
    return ours, plain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backend", choices=["postgres", "duckdb", "both"], default="both")
    args = parser.parse_args()

    frame = fact_rows(args.rows)
    print(
        f"{args.rows:,} rows of {TABLE} ({len(INDEX_SCORE_COLUMNS) + len(RUN_COLUMNS)} columns), "
        f"{args.rounds} round(s); cpus: {os.cpu_count()}"
    )
    with tempfile.TemporaryDirectory(prefix="kc-bench-") as tmp:
        csv = Path(tmp) / "rows.csv"
        columns = write_csv(frame, csv)
        print(f"CSV for the baselines: {csv.stat().st_size / 1e6:.0f} MB")
        results = {}
        if args.backend in ("postgres", "both"):
            results["postgres (vs psql \\copy)"] = bench_postgres(frame, csv, columns, args.rounds)
        if args.backend in ("duckdb", "both"):
            results["duckdb (vs DuckDB COPY FROM csv)"] = bench_duckdb(frame, csv, columns, args.rounds, Path(tmp))
    print("\nmedian of the rounds:")
    for name, (ours, plain) in results.items():
        o, p = statistics.median(ours), statistics.median(plain)
        print(
            f"  {name:<34} publish_partition {args.rows / o:>11,.0f} rows/s   plain {args.rows / p:>11,.0f} "
            f"rows/s   ratio {p / o:.0%}"
        )


if __name__ == "__main__":
    main()
