"""The multiprocess executor forks its steps from a fork server that imported the project and Great Expectations
once (pipelines/executors.py), unless a run's config asks for `spawn`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dagster as dg

from pipelines.executors import multiprocess_forkserver_executor


@dg.op
def where_am_i() -> dict:
    return {"parent": os.getppid(), "gx_loaded": "great_expectations" in sys.modules}


@dg.job(executor_def=multiprocess_forkserver_executor)
def one_step_job():
    where_am_i()


def make_one_step_job() -> dg.JobDefinition:
    return one_step_job


def _step_saw(run_config: dict | None = None) -> dict:
    with dg.instance_for_test() as instance:
        # by module and folder: pytest imports this file from tests/, which is not a package
        job = dg.build_reconstructable_job(
            __name__, "make_one_step_job", reconstructor_working_directory=str(Path(__file__).parent)
        )
        with dg.execute_job(job, instance=instance, run_config=run_config) as result:
            assert result.success
            return result.output_for_node("where_am_i")


def test_steps_are_forked_from_a_server_that_preloaded_great_expectations():
    seen = _step_saw()
    assert seen["parent"] != os.getpid()  # the fork server, not this process, started the step
    assert seen["gx_loaded"]  # imported before the step began: the step did not pay for it


def test_a_run_can_still_ask_for_spawn():
    seen = _step_saw({"execution": {"config": {"start_method": {"spawn": {}}}}})
    assert seen["parent"] == os.getpid()
    assert not seen["gx_loaded"]
