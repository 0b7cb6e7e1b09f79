"""The daemon's run queue, oldest month first.

A backfill launched in the UI becomes one run per month (every city of it), and Dagster creates those runs in the
order of a set of strings, which changes with every daemon process: a national year started its months 09, 08, 06,
04, 02, 11, 07, 12, 03, 05, 01, 10 (bench/results/2026-12-06/year_514.json). The queue starts runs in the order
they were created, so a month often ended after its later months, and its reports step then wrote their pages
again (a page shows its city's trend and change, `kotacerdas.report.build.pages_to_refresh`): 2025-01, started
eleventh, wrote up to 11 × 514 pages more.

This coordinator is Dagster's `QueuedRunCoordinator` that gives a backfill's run, as it enters the queue, the
priority of its period (`dagster/priority`, -YYYYMM for a month, -YYYY13 for a year, so a year's annual indices come
after its months): the queue, which starts runs by priority and then by creation, starts the oldest month first.
Runs not from a backfill (schedules, sensors, a run launched by hand) keep priority 0 and so go before a backfill's
queued months; a priority set by the user is kept as it is. Dagster copies a run's tags to its re-execution: one
made after its backfill has ended (no backfill tag any more) gets priority 0 again, as any run launched by hand.
Dagster also hands the warehouse writer's pool slots out by run priority, so there too a run that is not a
backfill's goes first and a backfill's older month before a later one.

The order holds among the runs queued together: the backfill daemon submits a backfill's runs one by one, and the
queue may start the first one or two submitted (in Dagster's order) before the oldest month is queued. Dagster's
order is that of a Python set of the months (`DefaultPartitionsSubset.get_partition_key_ranges` groups the
city × month keys by month and walks them as a set), so it changes with every daemon process; a national year of
2026-12-08 started 07 and 11 first (docs/operators/performance.md).
"""

from __future__ import annotations

from collections.abc import Mapping

from dagster._core.run_coordinator import QueuedRunCoordinator, SubmitRunContext
from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_START_TAG,
    BACKFILL_ID_TAG,
    PARTITION_NAME_TAG,
    PRIORITY_TAG,
)

# Marks a priority this coordinator set (a re-execution inherits both tags with the others)
PRIORITY_SOURCE_TAG, FROM_PERIOD = "kotacerdas/priority", "backfill period"


def backfill_priority(tags: Mapping[str, str]) -> int | None:
    """The queue priority of a backfill's run from its tags (-202501 for 2025-01, -202513 for the year 2025), or
    None: not a backfill's run, a priority already set, or no period in its partition tags."""
    if BACKFILL_ID_TAG not in tags or PRIORITY_TAG in tags:
        return None
    key = tags.get(ASSET_PARTITION_RANGE_START_TAG) or tags.get(PARTITION_NAME_TAG)
    if not key:
        return None
    # the key's last dimension (assets.partitions.period_of_key, not imported: every process that loads the instance
    # imports this module, and assets' imports are the code location's)
    period = key.rpartition("|")[2]
    digits = period.replace("-", "")
    if not digits.isdigit() or len(digits) not in (4, 6):
        return None
    return -int(digits if len(digits) == 6 else digits + "13")


class OldestMonthFirstRunCoordinator(QueuedRunCoordinator):
    """`QueuedRunCoordinator` whose backfill runs start oldest period first (see the module's docstring)."""

    def submit_run(self, context: SubmitRunContext) -> DagsterRun:
        run = context.dagster_run
        if run.status == DagsterRunStatus.NOT_STARTED:  # not yet queued (the parent skips a run submitted again)
            tags = queue_tags(run.tags)
            if tags:
                self._instance.add_run_tags(run.run_id, tags)
                context = context._replace(dagster_run=self._instance.get_run_by_id(run.run_id) or run)
        return super().submit_run(context)


def queue_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """The tags to add to a run entering the queue: a backfill's period priority; priority 0 again for a
    re-execution that inherited one from a backfill that has ended; nothing otherwise."""
    priority = backfill_priority(tags)
    if priority is not None:
        return {PRIORITY_TAG: str(priority), PRIORITY_SOURCE_TAG: FROM_PERIOD}
    if tags.get(PRIORITY_SOURCE_TAG) == FROM_PERIOD and BACKFILL_ID_TAG not in tags:
        return {PRIORITY_TAG: "0", PRIORITY_SOURCE_TAG: "reset after its backfill"}
    return {}
