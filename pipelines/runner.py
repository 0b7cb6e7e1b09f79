"""Run the monthly job for a list of city × month partitions in this process and report each outcome."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from pipelines.definitions import MONTHLY_JOB
from pipelines.events import step_error_message
from pipelines.partitions import city_month_key

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DAGSTER_HOME = REPO_ROOT / "dagster_home"


@dataclass(frozen=True)
class PartitionOutcome:
    city: str
    month: str
    run_id: str
    success: bool
    problems: tuple[str, ...]  # failed steps and failed blocking checks, in words


def local_instance() -> dg.DagsterInstance:
    """The instance in $DAGSTER_HOME (default: ./dagster_home), so `dagster dev` shows these runs too."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(DEFAULT_DAGSTER_HOME)))
    home.mkdir(parents=True, exist_ok=True)
    return dg.DagsterInstance.get()


def _problems(result: dg.ExecuteInProcessResult) -> tuple[str, ...]:
    problems = []
    for event in result.all_events:
        if event.is_step_failure:
            problems.append(f"step {event.step_key} failed: {step_error_message(event)}")
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
                problems.append(f"check {evaluation.check_name} failed: {evaluation.description}")
    return tuple(problems)


def run_partitions(
    defs: dg.Definitions,
    partitions: Iterable[tuple[str, str]],
    *,
    instance: dg.DagsterInstance | None = None,
    on_done: Callable[[PartitionOutcome], None] | None = None,
    log_level: str = "INFO",
) -> list[PartitionOutcome]:
    """Materialize every asset of each partition; a failing partition does not stop the others."""
    job = defs.resolve_job_def(MONTHLY_JOB)
    outcomes = []
    for city, month in partitions:
        result = job.execute_in_process(
            partition_key=str(city_month_key(city, month)), instance=instance, raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
            tags={"kotacerdas/trigger": "cli"},
        )
        problems = _problems(result)
        outcome = PartitionOutcome(city, month, result.run_id, result.success and not problems, problems)
        outcomes.append(outcome)
        if on_done:
            on_done(outcome)
    return outcomes
