"""Choose how runs execute: Dagster's multiprocess executor on one machine, Celery beyond it.

KOTACERDAS_EXECUTOR=multiprocess (default) | celery | k8s (needs dagster-k8s). The Celery broker comes from
KOTACERDAS_CELERY_BROKER_URL (default RabbitMQ on 127.0.0.1) and results travel back over `rpc://`; workers
are started with `dagster-celery worker start -y config/celery.yaml` against the same DAGSTER_HOME (see README).
"""

import os

import dagster as dg

EXECUTOR_ENV = "KOTACERDAS_EXECUTOR"
BROKER_ENV = "KOTACERDAS_CELERY_BROKER_URL"
QUEUE_ENV = "KOTACERDAS_CELERY_QUEUE"  # workers listen with `-q`; one queue per deployment keeps them apart
DEFAULT_BROKER = "pyamqp://guest:guest@127.0.0.1:5672//"


def executor_from_env() -> dg.ExecutorDefinition:
    kind = os.environ.get(EXECUTOR_ENV, "multiprocess")
    if kind == "multiprocess":
        return dg.multiprocess_executor
    if kind == "celery":
        from dagster_celery import celery_executor

        return celery_executor.configured(
            {
                "broker": os.environ.get(BROKER_ENV, DEFAULT_BROKER),
                "backend": "rpc://",
                "config_source": {"task_default_queue": os.environ.get(QUEUE_ENV, "dagster")},
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
