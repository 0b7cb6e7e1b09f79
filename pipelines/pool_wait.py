"""Let a run that waits for a pool slot sleep instead of spinning.

A step of a pool (the warehouse's writer pool, `assets/publish.py`) that finds the pool full is retried after an
interval that Dagster computes per step (1 s, growing to 15 s). But Dagster 1.13's
`InstanceConcurrencyContext.interval_to_next_pending_claim_check` returns `min([0, *intervals])`, never more than
0, so an executor with nothing else to do asks again at once: the waiting run burns a core and queries the event log
in a loop until the slot frees (dagster-io/dagster PR 20367 named this and was closed unmerged). Seen with py-spy
on 2026-12-06 in two in-process runs of a month at once: the waiting run's `get_steps_to_execute` took a whole core
while the other run published. The daemon's two runs at once (multiprocess executor) wait the same way.

Dagster's multiprocess executor (every run the daemon launches) does not sleep at all when no step is in flight
and its next steps wait for a slot (or for a retry's delay): its loop asks again at once (with a step process
still alive it at least waits 20 ms for its events), a core's worth of CPU per waiting run, beside the other run's
steps on a 2-core machine.

`install()` mends both: the in-process method returns what it was meant to, the time until the next pending claim
is due (never below 0), which Dagster's in-process loop then sleeps in one go (up to the claim interval, 15 s; that
loop checks for nothing meanwhile, as before). And when a run has no step in flight, none it may start and no
skipped or abandoned step to report, `get_steps_to_execute` sleeps until the next claim or retry is due, at most
`MAX_IDLE_S`, so that the multiprocess executor still sees a termination, and drains the events of a step process
that has finished but not yet exited, within a second.
The retry schedule, the claims and the slots are Dagster's own. tests/test_pool_wait.py fails when a Dagster
upgrade changes either place, so this is dropped once Dagster fixes them."""

from __future__ import annotations

import time

from dagster._core.execution.plan.active import ActiveExecution
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext

MAX_IDLE_S = 1.0  # the longest a run's loop sleeps at once: it checks for a termination between sleeps

_DAGSTER_METHOD = InstanceConcurrencyContext.interval_to_next_pending_claim_check
_DAGSTER_GET_STEPS = ActiveExecution.get_steps_to_execute


def _interval_to_next_pending_claim_check(self: InstanceConcurrencyContext) -> float:
    """Seconds until the earliest pending claim may be tried again (0: one is due now)."""
    if not self._pending_claims or not self._pending_timeouts:
        return 0.0
    return max(0.0, min(self._pending_timeouts.values()) - time.time())


def _get_steps_to_execute(self: ActiveExecution, limit: int | None = None):
    """Dagster's own choice of steps; when it is none and nothing runs, wait until a claim or retry is due."""
    steps = _DAGSTER_GET_STEPS(self, limit)
    if not steps and not self.has_in_flight_steps and _only_time_can_help(self):
        idle = min(self.sleep_interval(), MAX_IDLE_S)
        if idle > 0:
            time.sleep(idle)
    return steps


def _only_time_can_help(execution: ActiveExecution) -> bool:
    """Steps wait for a pool slot or a retry's delay, and no skipped or abandoned step is left to report."""
    concurrency = execution._instance_concurrency_context
    waiting = bool(execution._waiting_to_retry) or bool(concurrency and concurrency.has_pending_claims())
    return waiting and not execution._pending_skip and not execution._pending_abandon


def install() -> None:
    """Idempotent; affects every executor in this process (in-process and multiprocess alike)."""
    InstanceConcurrencyContext.interval_to_next_pending_claim_check = _interval_to_next_pending_claim_check
    ActiveExecution.get_steps_to_execute = _get_steps_to_execute


def dagster_method():
    """Dagster's own method, as this module found it (for the test that watches for an upgrade)."""
    return _DAGSTER_METHOD
