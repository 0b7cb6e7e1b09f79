"""A backfill as a data engineer launches it: `dagster dev` (webserver + daemon) in its own processes, the backfill
submitted through the UI's GraphQL API, runs launched by the daemon — the harness of bench/backfill_bench.py, on
the first 3 kabupaten/kota of the Kemendagri list × 2 months. About a minute and a half."""

from __future__ import annotations

import sys
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from backfill_bench import run_backfill_bench  # noqa: E402


def test_daemon_backfill_of_3_cities_x_2_months_is_2_runs(tmp_path):
    outcome = run_backfill_bench(tmp_path, n_cities=3, months=["2025-01", "2025-02"])
    log = (tmp_path / "dagster_dev.log").read_text(errors="replace")[-3000:]
    assert outcome.status == "COMPLETED_SUCCESS", log
    assert outcome.partitions == 6
    # the daemon grouped the 6 partitions along the smaller dimension: one run per month, 3 cities in each
    assert len(outcome.runs) == 2 and {r["status"] for r in outcome.runs} == {"SUCCESS"}
    # the bench's CPU figure counts the runs' processes: two runs of a city-month each take seconds of CPU
    assert outcome.cpu_s > 5 and outcome.peak_rss_total_mb > 0
    # runs the daemon launches carry their code location, which the Overview timeline needs to draw them
    # (docs/operators/scheduling.md: in-process runs of `kotacerdas run` have none, and the timeline skips them)
    assert all(r["repositoryOrigin"] and r["repositoryOrigin"]["repositoryLocationName"] for r in outcome.runs)
    ranges = sorted(
        {
            (t["key"], t["value"])
            for r in outcome.runs
            for t in r["tags"]
            if t["key"].startswith("dagster/asset_partition_range")
        }
    )
    assert ranges == [
        ("dagster/asset_partition_range_end", "11.03|2025-01"),
        ("dagster/asset_partition_range_end", "11.03|2025-02"),
        ("dagster/asset_partition_range_start", "11.01|2025-01"),
        ("dagster/asset_partition_range_start", "11.01|2025-02"),
    ]
    engine = sa.create_engine(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    with engine.connect() as conn:
        published = conn.exec_driver_sql(
            "SELECT city_code, period, count(*) FROM index_scores WHERE level = 'index' GROUP BY 1, 2"
        ).all()
    engine.dispose()
    assert sorted((c, p) for c, p, _ in published) == [
        (c, m) for c in ("11.01", "11.02", "11.03") for m in ("2025-01", "2025-02")
    ]
