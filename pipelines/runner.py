"""Run the monthly (or yearly) job in this process and report each partition's outcome: one run per partition
(`run_partitions`), or one run per range of partitions as a single-run backfill makes them (`run_backfill`)."""

from __future__ import annotations

import gc
import logging
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from assets.partitions import capped_backfill_ranges, city_period_key, partition_from_key, range_tags
from kotacerdas.config import settings
from pipelines.definitions import MONTHLY_JOB
from pipelines.event_log import batch_event_writes
from pipelines.in_process import execute_in_process_uncaptured
from pipelines.terminal_logger import terminal_logger
from sensors.events import failed_partitions, step_error_message

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DAGSTER_HOME = REPO_ROOT / "dagster_home"
GC_THRESHOLD_DURING_RUNS = 50_000  # new container objects between two young collections (CPython's default: 700)


@dataclass(frozen=True)
class PartitionOutcome:
    city: str
    period: str  # YYYY-MM, or YYYY for the yearly job
    run_id: str
    success: bool
    problems: tuple[str, ...]  # failed steps and failed blocking checks, in words


def local_instance() -> dg.DagsterInstance:
    """The instance in $DAGSTER_HOME (default: ./dagster_home), so `dagster dev` shows these runs too."""
    home = settings().dagster_home
    ensure_instance_config(home or DEFAULT_DAGSTER_HOME)
    if home is None:  # the instance's storages (pipelines/event_log.py) find their folders from it
        os.environ["DAGSTER_HOME"] = str(DEFAULT_DAGSTER_HOME)
    batch_event_writes(os.environ)
    return dg.DagsterInstance.get()


def ensure_instance_config(home: Path) -> Path | None:
    """Make `home` a DAGSTER_HOME with the project's dagster.yaml when it has none, and say so; the path written, or
    None. Without it Dagster falls back to its defaults: no limit on the warehouse writer pool (DuckDB takes one
    writer at a time), no run queue order, its slower event log, telemetry on."""
    home.mkdir(parents=True, exist_ok=True)
    target, ours = home / "dagster.yaml", DEFAULT_DAGSTER_HOME / "dagster.yaml"
    if target.exists() or target.resolve() == ours.resolve() or not ours.is_file():
        return None
    shutil.copyfile(ours, target)
    logging.getLogger(__name__).warning(
        "DAGSTER_HOME %s had no dagster.yaml: the project's (%s) is copied there; edit it for this instance", home, ours
    )
    return target


def _problem_events(result: dg.ExecuteInProcessResult) -> list[dg.DagsterEvent]:
    """The run's step failures and failed ERROR checks: the few of its events (a month's run records some 40,000)
    that `_problems` reads once per partition."""
    problems = []
    for event in result.all_events:
        if event.is_step_failure:
            problems.append(event)
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
                problems.append(event)
    return problems


def _problems(events: list[dg.DagsterEvent], partition_key: str | None = None) -> tuple[str, ...]:
    """Failed steps and failed ERROR checks (`_problem_events`), in words. In a range run (`partition_key` given)
    checks are recorded per partition (assets/partitioned.py): only this partition's count."""
    problems = []
    for event in events:
        if event.is_step_failure:
            scoped = failed_partitions(event)
            if partition_key is not None and scoped is not None and partition_key not in scoped:
                continue  # a range step that failed for other partitions of its range (theirs are published)
            problems.append(f"step {event.step_key} failed: {step_error_message(event)}")
        else:
            evaluation = event.event_specific_data
            # a run of one partition records its checks without a partition key; a range run with each one's
            if partition_key is None or evaluation.partition in (None, partition_key):
                problems.append(
                    f"check {evaluation.asset_key.to_user_string()}.{evaluation.check_name} failed: "
                    f"{evaluation.description}"
                )
    return tuple(problems)


def _run_config(log_level: str) -> dict:
    return {"loggers": {"console": {"config": {"log_level": log_level}}}}


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """CPython's cyclic garbage collector during runs: what is alive before them (imports, definitions) is frozen out
    of its scans, and it runs after 50,000 new container objects instead of 700. A month's run allocates millions of
    them (Dagster's events and metadata, pandas' internals), and every collection walks the young ones, every full
    one the whole heap: 11 % of a 100-city run went there (bench/national_bench.py). Cycles are still collected."""
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD_DURING_RUNS, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _runs(
    defs: dg.Definitions,
    job_name: str,
    runs: Iterable[tuple[dict[str, object], list[tuple[str, str, str | None]]]],
    *,
    instance: dg.DagsterInstance | None,
    on_done: Callable[[PartitionOutcome], None] | None,
    log_level: str,
    tags: Mapping[str, str],
) -> list[PartitionOutcome]:
    """Execute each run (execute_in_process keyword arguments) and report the outcome of each of its partitions
    ((city, period, partition key to read its checks by, or None for a single-partition run))."""
    # one line per message on the terminal; the event log keeps every failure's full text for the UI
    job = defs.resolve_job_def(job_name).with_logger_defs({"console": terminal_logger})
    outcomes = []
    with _fewer_collections():  # once for all the runs: a full collection per run would scan the heap each time
        for kwargs, partitions in runs:
            result = execute_in_process_uncaptured(
                job,
                instance=instance,
                raise_on_error=False,
                run_config=_run_config(log_level),
                **{**kwargs, "tags": {**tags, **kwargs.get("tags", {})}},
            )
            events = _problem_events(result)
            scoped_only = all(failed_partitions(e) is not None for e in events if e.is_step_failure)
            for city, period, key in partitions:
                problems = _problems(events, partition_key=key)
                # in a range, a run failed only by steps that name their partitions failed those, not this one
                ran = result.success or (key is not None and scoped_only)
                outcome = PartitionOutcome(city, period, result.run_id, ran and not problems, problems)
                outcomes.append(outcome)
                if on_done:
                    on_done(outcome)
    return outcomes


def run_partitions(
    defs: dg.Definitions,
    partitions: Iterable[tuple[str, str]],
    *,
    instance: dg.DagsterInstance | None = None,
    on_done: Callable[[PartitionOutcome], None] | None = None,
    log_level: str = "INFO",
    tags: Mapping[str, str] | None = None,
    job_name: str = MONTHLY_JOB,
) -> list[PartitionOutcome]:
    """Materialize every asset of each partition, one run each; a failing partition does not stop the others."""
    partitions_def = defs.resolve_job_def(job_name).partitions_def
    runs = (
        ({"partition_key": str(city_period_key(partitions_def, city, period))}, [(city, period, None)])
        for city, period in partitions
    )
    return _runs(
        defs,
        job_name,
        runs,
        instance=instance,
        on_done=on_done,
        log_level=log_level,
        tags={"kotacerdas/trigger": "cli", **(tags or {})},
    )


def run_backfill(
    defs: dg.Definitions,
    partitions: Iterable[tuple[str, str]],
    *,
    instance: dg.DagsterInstance | None = None,
    on_done: Callable[[PartitionOutcome], None] | None = None,
    log_level: str = "INFO",
    tags: Mapping[str, str] | None = None,
    job_name: str = MONTHLY_JOB,
    partitions_per_run: int | None = None,
) -> list[PartitionOutcome]:
    """Materialize the partitions in as few runs as Dagster's single-run backfill would make (every city of a
    month in one run), or runs of at most `partitions_per_run` (`backfill_partitions_per_run` of pipeline.yaml, to
    bound a run's memory); a partition failing its quality gate is not published, the others of its run are."""
    partitions_def = defs.resolve_job_def(job_name).partitions_def

    def members(key_range: dg.PartitionKeyRange) -> list[tuple[str, str, str]]:
        parts = (partition_from_key(partitions_def, k) for k in partitions_def.get_partition_keys_in_range(key_range))
        return [(p.city, p.period, p.key) for p in parts]

    ranges = capped_backfill_ranges(partitions_def, partitions, partitions_per_run)
    runs = (({"tags": range_tags(r)}, members(r)) for r in ranges)
    return _runs(
        defs,
        job_name,
        runs,
        instance=instance,
        on_done=on_done,
        log_level=log_level,
        tags={"kotacerdas/trigger": "cli-backfill", **(tags or {})},
    )
