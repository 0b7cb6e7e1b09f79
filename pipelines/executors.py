"""Choose how runs execute: Dagster's multiprocess executor on one machine, Celery beyond it.

KOTACERDAS_EXECUTOR=multiprocess (default) | in_process | celery | k8s (needs dagster-k8s). `in_process` runs every
step of a run in its run worker, one after the other: no fork server and no step processes, a fifth less memory for
the same time on 2 cores (docs/operators/scheduling.md), but a step that crashes the interpreter ends its run.

The Celery broker comes from KOTACERDAS_CELERY_BROKER_URL (default RabbitMQ on 127.0.0.1) and results travel back
over `rpc://`; workers are started with `dagster-celery worker start -y config/celery.yaml` against the same
DAGSTER_HOME (see README).

The multiprocess executor starts its step processes from a fork server that has imported the project and Great
Expectations once per run, where Dagster's default (`spawn`) has every step import them again (4-7 s of CPU a step
on 2 cores, by the machine's load; a month's run has some 25 steps). A run's config may still choose
`start_method: spawn`.

A process has one fork server, started by its first run with the environment and code it had then, and kept until
the process ends. A run worker (every run the daemon or the UI launches) runs one run, so this changes nothing
there; a process that runs several jobs with `execute_job` while changing its environment calls
`stop_fork_server()` between them (the tests do, after each test).
"""

import multiprocessing.forkserver

import dagster as dg

from kotacerdas.config import environment, settings

EXECUTOR_ENV = "KOTACERDAS_EXECUTOR"
# What the fork server imports before it forks a step: the code location (the job's module, as Dagster would
# preload by default) and Great Expectations, which the code location imports only when a step validates.
FORKSERVER_PRELOAD = ["pipelines.definitions", "great_expectations"]
FORKSERVER = {"forkserver": {"preload_modules": FORKSERVER_PRELOAD}}


@dg.executor(
    name="multiprocess",
    config_schema=dg.multiprocess_executor.config_schema,
    requirements=dg.multiple_process_executor_requirements(),
)
def multiprocess_forkserver_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    """Dagster's multiprocess executor, same config, with the fork server as the start method unless the run's
    config names one."""
    config = dict(init_context.executor_config)
    if not config.get("start_method"):
        config["start_method"] = FORKSERVER
    return dg.multiprocess_executor.executor_creation_fn(init_context._replace(executor_config=config))


def stop_fork_server() -> None:
    """Stop this process's fork server if one runs: the next run's steps come from a new one, which imports the code
    and takes the environment afresh. (The standard library's own, private, stop: it has no public one.)"""
    server = multiprocessing.forkserver._forkserver
    if getattr(server, "_forkserver_pid", None) is not None:
        server._stop()


def executor_from_env() -> dg.ExecutorDefinition:
    chosen = settings()
    kind = chosen.executor
    if kind == "multiprocess":
        return multiprocess_forkserver_executor
    if kind == "in_process":
        return dg.in_process_executor
    if kind == "celery":
        from dagster_celery import celery_executor

        return celery_executor.configured(
            {
                # read by Dagster from the environment where the run starts, so the URL is never stored
                "broker": {"env": "KOTACERDAS_CELERY_BROKER_URL"}
                if "KOTACERDAS_CELERY_BROKER_URL" in environment()
                else chosen.celery_broker_url.get_secret_value(),
                "backend": "rpc://",
                # workers listen with `-q`; one queue per deployment keeps them apart
                "config_source": {"task_default_queue": chosen.celery_queue},
            },
            name="celery",
        )
    if kind == "k8s":
        try:
            from dagster_k8s import k8s_job_executor
        except ImportError as exc:
            raise ImportError(f"{EXECUTOR_ENV}=k8s needs `pip install dagster-k8s==0.29.27`") from exc
        return k8s_job_executor
    raise ValueError(f"{EXECUTOR_ENV}={kind!r}: expected `multiprocess`, `celery` or `k8s`")
