"""A run whose step waits for a pool slot sleeps between its tries (pipelines/pool_wait.py) instead of spinning."""

from __future__ import annotations

import inspect
import threading
import types
from pathlib import Path

import dagster as dg
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext
from dagster._core.executor.multiprocess import MultiprocessExecutor

from pipelines import pool_wait

POOL = "test_writer"
HOLD_S = 2.5  # how long another run holds the pool's one slot


def test_dagster_1_13_still_asks_again_at_once():
    """Dagster's own method never gives a wait above 0: the bug pool_wait mends. When this fails, Dagster has
    mended it: remove pipelines/pool_wait.py."""
    pending = types.SimpleNamespace(_pending_claims={"publish"}, _pending_timeouts={"publish": 1e12})
    assert pool_wait.dagster_method()(pending) <= 0
    pool_wait.install()
    assert InstanceConcurrencyContext.interval_to_next_pending_claim_check(pending) > 0


def test_dagster_1_13_multiprocess_executor_still_never_sleeps():
    """Dagster's multiprocess loop has no sleep of its own, so a run whose steps all wait spins: when this fails,
    Dagster waits there now: drop pool_wait's `get_steps_to_execute`."""
    assert "sleep" not in inspect.getsource(MultiprocessExecutor.execute)


@dg.op(pool=POOL)
def write_warehouse() -> int:
    return 1


@dg.job
def pooled_job():
    write_warehouse()


@dg.job(executor_def=dg.multiprocess_executor)
def pooled_multiprocess_job():
    write_warehouse()


def make_pooled_multiprocess_job() -> dg.JobDefinition:
    return pooled_multiprocess_job


def _tries_while_another_run_holds_the_slot(tmp_path, monkeypatch, execute) -> int:
    """`execute(instance)` runs the job while "another-run" holds the pool's one slot for HOLD_S and returns
    (success, the op's output); how often the run tried to claim the slot."""
    pool_wait.install()
    attempts = []
    claim = InstanceConcurrencyContext.claim

    def counted(self, *args, **kwargs):
        attempts.append(1)
        return claim(self, *args, **kwargs)

    monkeypatch.setattr(InstanceConcurrencyContext, "claim", counted)
    overrides = {"concurrency": {"pools": {"default_limit": 1}}}
    with dg.instance_for_test(temp_dir=str(tmp_path), overrides=overrides) as instance:
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default(POOL)
        assert storage.claim_concurrency_slot(POOL, "another-run", "its-step").is_claimed
        releaser = threading.Timer(HOLD_S, storage.free_concurrency_slots_for_run, args=("another-run",))
        releaser.start()
        try:
            assert execute(instance) == (True, 1)
        finally:
            releaser.join()
    return len(attempts)


def test_a_run_waiting_for_the_pool_tries_a_few_times_then_runs(tmp_path, monkeypatch):
    def execute(instance):
        result = pooled_job.execute_in_process(instance=instance)
        return result.success, result.output_for_node("write_warehouse")

    attempts = _tries_while_another_run_holds_the_slot(tmp_path, monkeypatch, execute)
    # tries at about 0, 1, 2.1 and 3.3 s: a handful, where Dagster's own loop asks hundreds of thousands of times
    assert 2 <= attempts <= 10, attempts


def test_a_multiprocess_run_waiting_for_the_pool_sleeps_between_tries(tmp_path, monkeypatch):
    """The daemon's runs use the multiprocess executor, whose own loop has no sleep (test above)."""

    # by module and folder: pytest imports this file from tests/, which is not a package
    job = dg.build_reconstructable_job(
        __name__, "make_pooled_multiprocess_job", reconstructor_working_directory=str(Path(__file__).parent)
    )

    def execute(instance):
        with dg.execute_job(job, instance=instance) as result:
            return result.success, result.output_for_node("write_warehouse")

    attempts = _tries_while_another_run_holds_the_slot(tmp_path, monkeypatch, execute)
    # each try past the first is a wake-up at most MAX_IDLE_S apart: a few, where the loop alone asks ~10^5 times
    assert 2 <= attempts <= 12, attempts
