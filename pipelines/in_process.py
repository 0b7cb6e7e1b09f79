"""`JobDefinition.execute_in_process` without its output capture.

Dagster's `execute_in_process` keeps every step's output value in the result (for `output_for_node`), so a run of
a month keeps every city's data frames of every asset in memory until it ends: about 14 MiB per city, 7.8 GB for
the 514 kabupaten/kota (docs/operators/performance.md). The CLI never reads outputs back from the result (the IO
manager has them), so this runs the same in-process execution with the capture off. It repeats the few lines of
`JobDefinition.execute_in_process` of Dagster 1.13 around `core_execute_in_process`, which takes the switch;
tests/test_runner_memory.py fails if a Dagster upgrade moves them.
"""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.execution.execute_in_process import core_execute_in_process, merge_run_tags


def execute_in_process_uncaptured(
    job: dg.JobDefinition,
    *,
    instance: dg.DagsterInstance | None,
    run_config: Mapping[str, object],
    partition_key: str | None = None,
    tags: Mapping[str, str] | None = None,
    raise_on_error: bool = False,
) -> dg.ExecuteInProcessResult:
    """Run `job` in this process like `job.execute_in_process(...)`; the result has its events, not its outputs."""
    ephemeral = job.as_ephemeral_job(resource_defs={}, input_values={})
    if not run_config and ephemeral.partitioned_config and partition_key:
        run_config = ephemeral.partitioned_config.get_run_config_for_partition_key(partition_key)
    run_tags = merge_run_tags(  # checks the partition key too
        job_def=job,
        partition_key=partition_key,
        tags=tags,
        asset_selection=[],
        instance=instance,
        run_config=run_config,
    )
    return core_execute_in_process(
        job=InMemoryJob(job_def=ephemeral),
        run_config=run_config,
        instance=instance,
        output_capturing_enabled=False,
        raise_on_error=raise_on_error,
        run_tags=run_tags,
        asset_selection=frozenset(),
    )
