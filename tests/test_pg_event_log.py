"""The production instance (config/dagster-production.yaml) stores its events through
`pipelines.pg_event_log.PooledPostgresEventLogStorage` on a real PostgreSQL database: Dagster reads back what it
wrote, and the events of many partitions share a few pooled connections instead of a new one each."""

from __future__ import annotations

import multiprocessing

import dagster as dg
import sqlalchemy as sa

from pipelines.pg_event_log import POOL_SIZE, PooledPostgresEventLogStorage

PARTITIONS = dg.StaticPartitionsDefinition([f"p{i}" for i in range(6)])


@dg.asset(partitions_def=PARTITIONS, check_specs=[dg.AssetCheckSpec("rows_ok", asset="pg_numbers")])
def pg_numbers(context):
    context.log.info(f"partition {context.partition_key}")
    yield dg.MaterializeResult(metadata={"partition": context.partition_key})
    yield dg.AssetCheckResult(check_name="rows_ok", passed=True)


DEFS = dg.Definitions(assets=[pg_numbers], jobs=[dg.define_asset_job("pg_numbers_job", selection=[pg_numbers])])


def _materialize(instance: dg.DagsterInstance, key: str) -> dg.ExecuteInProcessResult:
    return DEFS.resolve_job_def("pg_numbers_job").execute_in_process(instance=instance, partition_key=key)


def _backend_pid(storage: PooledPostgresEventLogStorage) -> int:
    with storage._connect() as conn:
        return conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()


def test_the_production_instance_stores_events_through_a_few_pooled_connections(production_dagster_home):
    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, PooledPostgresEventLogStorage)
        connects = []
        sa.event.listen(storage._engine, "connect", lambda *_: connects.append(1))
        results = [_materialize(instance, f"p{i}") for i in range(6)]
        assert all(r.success for r in results)
        # six runs of some 15 events each, with their asset and check index writes: the pool's few, not ~150
        assert 1 <= len(connects) <= POOL_SIZE, len(connects)
        assert instance.get_materialized_partitions(dg.AssetKey("pg_numbers")) == {f"p{i}" for i in range(6)}
        check = storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey("pg_numbers"), "rows_ok")]
        )
        assert list(check.values())[0].status.value == "SUCCEEDED"
        assert any(e.user_message == "partition p3" for e in instance.all_logs(results[3].run_id))
        instance.delete_run(results[0].run_id)
        assert instance.all_logs(results[0].run_id) == []


_INHERITED: list[dg.DagsterInstance] = []  # the parent's instance, as a forked child finds it in memory


def _report_in_child(queue) -> None:
    try:
        instance = _INHERITED[0]
        instance.report_runless_asset_event(dg.AssetMaterialization("from_child"))
        queue.put(_backend_pid(instance.event_log_storage))
    except BaseException as exc:  # noqa: BLE001 — handed to the parent, which asserts on it
        queue.put(repr(exc))


def test_a_forked_child_opens_its_own_connection_and_leaves_the_parents_alone(production_dagster_home):
    """A Celery prefork worker forks after the instance exists. Two processes on one PostgreSQL session would mix
    their messages: the child must open its own connection and must not close the parent's (the ping would hide a
    closed one by reconnecting, so the backends' pids are compared)."""
    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        assert _materialize(instance, "p1").success
        before = _backend_pid(storage)
        _INHERITED[:] = [instance]
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        child = context.Process(target=_report_in_child, args=(queue,))
        child.start()
        child.join(timeout=120)
        in_child = queue.get(timeout=5)
        assert child.exitcode == 0 and isinstance(in_child, int), in_child
        assert in_child != before
        assert _backend_pid(storage) == before
        assert _materialize(instance, "p2").success
        assert dg.AssetKey("from_child") in instance.get_asset_keys()
