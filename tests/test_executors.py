"""The multiprocess executor forks its steps from a fork server that imported the project and Great Expectations
once (pipelines/executors.py), unless a run's config asks for `spawn`."""

from __future__ import annotations

import multiprocessing.forkserver
import os
import sys
from pathlib import Path

import dagster as dg

from kotacerdas.config.settings import overridden_environment
from pipelines.executors import EXECUTOR_ENV, executor_from_env, multiprocess_forkserver_executor


@dg.op
def where_am_i() -> dict:
    return {
        "parent": os.getppid(),
        "gx_loaded": "great_expectations" in sys.modules,
        "code_location_loaded": "pipelines.definitions" in sys.modules,  # this module does not import it
    }


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


def test_the_code_location_runs_its_steps_with_this_executor():
    assert executor_from_env() is multiprocess_forkserver_executor


def test_a_deployment_can_run_each_run_in_its_run_worker():
    with overridden_environment({EXECUTOR_ENV: "in_process"}):
        assert executor_from_env() is dg.in_process_executor


def test_steps_are_forked_from_a_server_that_preloaded_the_code_location_and_great_expectations():
    seen = _step_saw()
    assert seen["parent"] == multiprocessing.forkserver._forkserver._forkserver_pid  # this process's fork server
    # imported before the step began (the step did not pay for them); a renamed module would fail here
    assert seen["gx_loaded"] and seen["code_location_loaded"]


def test_a_run_can_still_ask_for_spawn():
    seen = _step_saw({"execution": {"config": {"start_method": {"spawn": {}}}}})
    assert seen["parent"] == os.getpid()
    assert not seen["gx_loaded"] and not seen["code_location_loaded"]
