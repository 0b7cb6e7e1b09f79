"""A backfill's runs leave the daemon's queue oldest period first (pipelines/run_queue.py), and `kotacerdas run`
makes its ranges in the same order: a month ending after its later months makes their scorecards be written again.
"""

from __future__ import annotations

import random

import dagster as dg
import pytest
from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteRepositoryOrigin
from dagster._core.run_coordinator import SubmitRunContext
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon

from assets.partitions import CityPeriodPartitions, backfill_ranges, period_of_key
from pipelines.run_queue import OldestMonthFirstRunCoordinator, backfill_priority, queue_tags

MONTHS = [f"2025-{m:02d}" for m in range(1, 13)]
BACKFILL = {"dagster/backfill": "abcdefgh"}


@dg.op
def nothing() -> None:
    pass


@dg.job
def monthly() -> None:
    nothing()


@pytest.fixture
def instance(project_dagster_home):
    """An instance of the project's dagster_home/dagster.yaml, in a fresh DAGSTER_HOME."""
    with dg.DagsterInstance.get() as instance:
        yield instance


def _submitted_run(instance: dg.DagsterInstance, tags: dict[str, str], **create) -> dg.DagsterRun:
    """A run of `monthly` as the daemon's backfill creates one (a queued run names its code location), submitted."""
    origin = RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("kotacerdas"), "__repository__")
    run = instance.create_run_for_job(monthly, tags=tags, remote_job_origin=origin.get_job_origin("monthly"), **create)
    return instance.run_coordinator.submit_run(SubmitRunContext(run, workspace=None))


def _range_tags(month: str) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": f"11.01|{month}",
        "dagster/asset_partition_range_end": f"96.71|{month}",
    }


def test_a_backfill_run_has_the_priority_of_its_period():
    assert backfill_priority(BACKFILL | _range_tags("2025-09")) == -202509
    assert backfill_priority(BACKFILL | _range_tags("2025-10")) < backfill_priority(BACKFILL | _range_tags("2025-09"))
    assert backfill_priority(BACKFILL | {"dagster/partition": "19.71|2025-01"}) == -202501
    # a year's run (the regulators' annual indices) after the months of that year, before the next year's
    assert backfill_priority(BACKFILL | {"dagster/partition": "19.71|2025"}) == -202513
    assert -202512 > -202513 > -202601
    assert backfill_priority(_range_tags("2025-09")) is None  # not a backfill's: priority 0, Dagster's default
    assert backfill_priority(BACKFILL | _range_tags("2025-09") | {"dagster/priority": "5"}) is None  # the user's
    assert backfill_priority(BACKFILL) is None
    assert backfill_priority(BACKFILL | {"dagster/partition": "19.71|latest"}) is None


def test_the_daemon_starts_a_backfills_months_oldest_first(instance):
    """Runs created in the order Dagster made them in a national year (09, 08, 06, …), submitted to the project's
    run coordinator, come out of the queue as Dagster's daemon sorts it: the months in order, after the runs that
    are not a backfill's (created in between, kept at priority 0), whose own order is kept."""
    assert isinstance(instance.run_coordinator, OldestMonthFirstRunCoordinator)
    scrambled = ["2025-09", "2025-08", "2025-06", "2025-04", "2025-02", "2025-11", "2025-07", "2025-12"]
    scrambled += ["2025-03", "2025-05", "2025-01", "2025-10"]
    created = []
    for i, month in enumerate(scrambled):
        created.append(("backfill", month, _submitted_run(instance, BACKFILL | _range_tags(month))))
        if i in (3, 7):  # a scheduled run queued while the backfill's runs wait
            scheduled = _submitted_run(instance, {"dagster/partition": f"19.71|2026-0{i}"})
            created.append(("scheduled", f"2026-0{i}", scheduled))

    queued = instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.QUEUED]), ascending=True)
    assert len(queued) == len(created)
    order = QueuedRunCoordinatorDaemon(interval_seconds=1)._priority_sort(queued)
    by_id = {run.run_id: (kind, period) for kind, period, run in created}
    assert [by_id[r.run_id] for r in order] == [("scheduled", "2026-03"), ("scheduled", "2026-07")] + [
        ("backfill", m) for m in MONTHS
    ]
    assert instance.get_run_by_id(created[0][2].run_id).tags["dagster/priority"] == "-202509"


def test_a_re_execution_keeps_its_months_priority_while_the_backfill_runs_and_loses_it_after():
    """Dagster copies a run's tags to its re-execution, the backfill's id only while the backfill goes on."""
    first = BACKFILL | _range_tags("2025-03")
    tagged = first | queue_tags(first)
    assert tagged["dagster/priority"] == "-202503"
    assert queue_tags(tagged) == {}  # a retry within the backfill: its month's place in the queue
    after = {k: v for k, v in tagged.items() if k != "dagster/backfill"}
    assert queue_tags(after)["dagster/priority"] == "0"  # by hand after the backfill: as any run by hand
    assert queue_tags({"dagster/priority": "-5"}) == {}  # the user's own priority


def test_a_run_already_queued_is_not_tagged_again(instance):
    """Dagster skips a run submitted again once it left NOT_STARTED; so does its tagging (its history stays)."""
    again = _submitted_run(instance, BACKFILL | _range_tags("2025-02"), status=DagsterRunStatus.QUEUED)
    assert again.status == DagsterRunStatus.QUEUED and "dagster/priority" not in again.tags


def test_a_runs_priority_set_by_the_user_is_kept(instance):
    run = _submitted_run(instance, BACKFILL | _range_tags("2025-02") | {"dagster/priority": "3"})
    assert instance.get_run_by_id(run.run_id).tags["dagster/priority"] == "3"
    assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.QUEUED


def test_kotacerdas_run_makes_a_backfills_ranges_oldest_month_first():
    """Dagster lists the ranges of a multi-partition subset in the order of a set of strings (it changes with the
    process's hash seed); `backfill_ranges` sorts them, whichever dimension they run along."""
    cities = [f"{p}.{c:02d}" for p in (11, 12, 13) for c in range(1, 11)]  # 30 cities: one range per month
    partitions_def = CityPeriodPartitions(
        {
            "city": dg.StaticPartitionsDefinition(cities),
            "month": dg.MonthlyPartitionsDefinition(start_date="2024-01", fmt="%Y-%m"),
        }
    )
    wanted = [(c, m) for c in cities for m in MONTHS]
    random.Random(15).shuffle(wanted)
    ranges = backfill_ranges(partitions_def, wanted)
    assert [period_of_key(r.start) for r in ranges] == MONTHS
    assert [period_of_key(r.end) for r in ranges] == MONTHS
    # two cities × twelve months: one range per city, each over the twelve months in order
    ranges = backfill_ranges(partitions_def, [(c, m) for c in cities[:2] for m in MONTHS])
    assert [(r.start, r.end) for r in ranges] == [(f"{c}|2025-01", f"{c}|2025-12") for c in cities[:2]]
