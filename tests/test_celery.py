"""Scale-out: partitions of the monthly job run through Dagster's Celery executor — real RabbitMQ on loopback,
two worker processes, instance storage in PostgreSQL (dagster-postgres), warehouse in PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from assets.partitions import partition_tags
from kotacerdas.simulator import write_file_drops
from sensors.events import step_error_message

REPO = Path(__file__).resolve().parent.parent
BROKER = os.environ.get("KOTACERDAS_CELERY_BROKER_URL", "pyamqp://guest:guest@127.0.0.1:5672//")
PARTITIONS = [("19.71", "2025-06"), ("19.03", "2025-06")]


def _broker_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture
def celery_env(
    tmp_path, monkeypatch, opd_project, opd_env, postgres_url, production_dagster_home, definitions_from_this_env
):
    if not _broker_up():
        pytest.fail(
            "RabbitMQ is not reachable on 127.0.0.1:5672; start it with `rabbitmq-server -detached` (.ci/run does)"
        )
    home = production_dagster_home  # the production instance: dagster-postgres, pooled event log
    landing = tmp_path / "landing"
    write_file_drops(opd_project, landing, sorted({c for c, _ in PARTITIONS}), ["2025-06"], seed=42)
    env = {
        **opd_env,
        "DAGSTER_HOME": str(home),
        "KOTACERDAS_EXECUTOR": "celery",
        "KOTACERDAS_CELERY_BROKER_URL": BROKER,
        # a queue of this test's own: no worker left from elsewhere can take its steps
        "KOTACERDAS_CELERY_QUEUE": f"kc-test-{uuid.uuid4().hex[:8]}",
        "KOTACERDAS_WAREHOUSE_URL": postgres_url,
        "KOTACERDAS_LANDING_DIR": str(landing),
        "KOTACERDAS_RAW_DIR": str(tmp_path / "raw"),
        "KOTACERDAS_PII_KEY": "celery-test-key",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    dg.DagsterInstance.get().dispose()  # creates the storage schema once, before two workers race to do it
    return env


@pytest.fixture
def two_workers(celery_env, tmp_path):
    workers = []
    for name in ("w1", "w2"):
        log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 - closed below, after the worker stops
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("dagster-celery")),
                "worker",
                "start",
                "-n",
                f"{name}-{os.getpid()}",
                "-y",
                str(REPO / "config" / "celery.yaml"),
                "-q",
                celery_env["KOTACERDAS_CELERY_QUEUE"],
                "-l",
                "INFO",
                "-A",
                "dagster_celery.app",
                "--",
                "--concurrency",
                "1",
            ],
            # dagster-celery runs `celery` from PATH: the one of this environment
            cwd=REPO,
            env={**os.environ, **celery_env, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        workers.append((proc, log, tmp_path / f"{name}.log"))
    deadline = time.monotonic() + 90
    while not all("ready" in path.read_text() for _, _, path in workers):
        if time.monotonic() > deadline or any(p.poll() is not None for p, _, _ in workers):
            pytest.fail("celery workers did not start: " + " | ".join(path.read_text()[-2000:] for *_, path in workers))
        time.sleep(0.5)
    yield
    for proc, log, _ in workers:
        _stop_tree(proc)
        log.close()


def _descendants(pid: int) -> list[int]:
    """Child processes, recursively, from /proc: `celery` workers fork their own pool processes."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            child = int(stat.parent.name)
            children += [child, *_descendants(child)]
    return children


def _alive(pid: int) -> bool:
    """Running, not a zombie: a killed process stays in /proc until its parent reaps it (the worker's pool
    processes until the worker does, the worker until `proc.poll()`), so /proc alone waited out the deadline."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _stop_tree(proc: subprocess.Popen) -> None:
    tree = [proc.pid, *_descendants(proc.pid)]
    for pid in reversed(tree):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (proc.poll() is None or any(_alive(pid) for pid in tree)):
        time.sleep(0.2)
    for pid in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=10)


def _run_partition(city: str, month: str) -> tuple[bool, list[str], set[int]]:
    from pipelines.definitions import monthly_job

    with dg.execute_job(
        dg.reconstructable(monthly_job), instance=dg.DagsterInstance.get(), tags=partition_tags(city, month)
    ) as result:
        failures = [step_error_message(e) for e in result.all_events if e.is_step_failure]
        in_workers = [e for e in result.all_events if "in celery worker" in (e.message or "")]
        assert in_workers, "no step was handed to a Celery worker: the run used another executor"
        return result.success, failures, {e.pid for e in result.all_events if e.is_step_success}


def test_partitions_run_on_two_celery_workers(two_workers, celery_env):
    outcomes = [_run_partition(city, month) for city, month in PARTITIONS]
    for success, failures, _ in outcomes:
        assert success, failures
    pids = set().union(*(step_pids for *_, step_pids in outcomes))
    assert os.getpid() not in pids  # every step ran in a worker, none in the test process
    assert len(pids) >= 2, f"expected steps on both workers, saw pids {pids}"

    engine = sa.create_engine(celery_env["KOTACERDAS_WAREHOUSE_URL"])
    with engine.connect() as conn:
        published = conn.exec_driver_sql(
            "SELECT city_code, period, count(*) FROM index_scores WHERE level = 'index' GROUP BY 1, 2"
        ).all()
    engine.dispose()
    assert sorted((c, p) for c, p, _ in published) == sorted(PARTITIONS)
