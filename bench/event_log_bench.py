"""Benchmark (not a test): CPU to store a month's Dagster events of one asset and one check over N partitions, with
the project's SQLite event log (`pipelines.event_log.PooledSqliteEventLogStorage`) next to Dagster's own
`SqliteEventLogStorage`, in the same process, alternated, on the same events.

    .venv/bin/python bench/event_log_bench.py                    # 514 partitions (a national month), 3 rounds
    .venv/bin/python bench/event_log_bench.py --partitions 100 --rounds 5

The events come from a real run of a range of N partitions (Dagster's in-process executor, event batches on, as
kotacerdas runs them): the run's planned materializations and the step's materializations (each handed over as
one batch, as Dagster does), the check's planned event (one row per partition) and its N evaluations (one at a time,
as Dagster hands them over). Each round stores them into fresh databases; CPU is `time.process_time()` of the
storing alone. A national month has 25 such assets and 19 checks (`bench/national_bench.py` counts its events).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import dagster as dg
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assets.partitioned import partitioned_check  # noqa: E402
from pipelines.event_log import EVENT_BATCH_ENV, EVENT_BATCH_SIZE, PooledSqliteEventLogStorage  # noqa: E402

Kind = dg.DagsterEventType


def month_events(partitions: int) -> dict[Kind, list[EventLogEntry]]:
    """The events of one range run over `partitions` city-months of an asset with one partitioned check."""
    keys = dg.StaticPartitionsDefinition([f"{i:05d}|2025-01" for i in range(partitions)])

    @dg.asset(partitions_def=keys, check_specs=[partitioned_check("ok", asset="service_requests", partitions_def=keys)])
    def service_requests(context):
        for key in context.partition_keys:
            context.add_asset_metadata({"rows": 3000, "rejected": 12}, partition_key=key)
        yield dg.MaterializeResult(metadata={"partitions_in_run": partitions})
        for i, key in enumerate(context.partition_keys):  # as assets.partitioned.report_checks reports a range
            yield dg.AssetCheckEvaluation(
                asset_key=dg.AssetKey("service_requests"),
                check_name="ok",
                passed=i % 7 != 0,
                partition=key,
                blocking=False,
                metadata={"failed_rows": i % 7, "rules": dg.MetadataValue.md("| rule | rows |\n|---|---|\n| a | 1 |")},
            )
        yield dg.Output(None, output_name="service_requests_ok")

    defs = dg.Definitions(assets=[service_requests], jobs=[dg.define_asset_job("month", selection=[service_requests])])
    first, last = keys.get_partition_keys()[0], keys.get_partition_keys()[-1]
    tags = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
    os.environ.setdefault(EVENT_BATCH_ENV, EVENT_BATCH_SIZE)
    with dg.DagsterInstance.ephemeral() as instance:
        run = defs.resolve_job_def("month").execute_in_process(instance=instance, tags=tags)
        logs = instance.all_logs(run.run_id)
    return {kind: [e for e in logs if e.dagster_event_type == kind] for kind in Kind}


def store(storage: SqliteEventLogStorage, events: dict[Kind, list[EventLogEntry]]) -> dict[str, float]:
    """CPU seconds of each part, stored as Dagster hands them over."""
    planned, done = events[Kind.ASSET_MATERIALIZATION_PLANNED], events[Kind.ASSET_MATERIALIZATION]
    parts: list[tuple[str, Callable[[], None]]] = [
        ("planned materializations (one batch)", lambda: storage.store_event_batch(planned)),
        ("materializations (one batch)", lambda: storage.store_event_batch(done)),
        ("planned check (a row per partition)", lambda: _each(storage, events[Kind.ASSET_CHECK_EVALUATION_PLANNED])),
        ("check evaluations (one at a time)", lambda: _each(storage, events[Kind.ASSET_CHECK_EVALUATION])),
    ]
    spent = {}
    for name, run in parts:
        start = time.process_time()
        run()
        spent[name] = time.process_time() - start
    return spent


def _each(storage: SqliteEventLogStorage, events: Sequence[EventLogEntry]) -> None:
    for event in events:
        storage.store_event(event)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--partitions", type=int, default=514)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    events = month_events(args.partitions)
    kinds = {
        "Dagster's SqliteEventLogStorage": SqliteEventLogStorage,
        "kotacerdas' PooledSqliteEventLogStorage": PooledSqliteEventLogStorage,
    }
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in kinds}
    for _ in range(args.rounds):
        for name, kind in kinds.items():  # alternated, each into fresh databases
            with tempfile.TemporaryDirectory() as folder:
                storage = kind(folder)
                try:
                    rounds[name].append(store(storage, events))
                finally:
                    storage.dispose()
    print(f"{args.partitions} partitions, {args.rounds} rounds, CPU ms (median of rounds; per event in brackets)")
    for name, results in rounds.items():
        print(f"  {name}")
        for part in results[0]:
            count = _count(part, events)
            ms = statistics.median(r[part] for r in results) * 1000
            print(f"    {part:42s} {ms:9.1f} ms  ({ms / count:.3f} ms × {count})")
        total = statistics.median(sum(r.values()) for r in results) * 1000
        print(f"    {'all':42s} {total:9.1f} ms")


def _count(part: str, events: dict[Kind, list[EventLogEntry]]) -> int:
    if part.startswith("planned materializations"):
        return len(events[Kind.ASSET_MATERIALIZATION_PLANNED])
    if part.startswith("materializations"):
        return len(events[Kind.ASSET_MATERIALIZATION])
    if part.startswith("planned check"):
        return len(events[Kind.ASSET_CHECK_EVALUATION])  # its rows
    return len(events[Kind.ASSET_CHECK_EVALUATION])


if __name__ == "__main__":
    main()
