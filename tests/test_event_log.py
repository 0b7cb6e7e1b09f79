"""The project's Dagster instance (dagster_home/dagster.yaml) keeps its SQLite event log connections open
(pipelines/event_log.py). Dagster's own reads and writes go through it here — materializations of partitions, asset
checks, run deletion, wipe, threads and a second process writing at once — and the files stay readable by Dagster's
default storage, so an operator can switch back at any time."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import dagster as dg
import pytest

from assets.partitioned import partitioned_check
from pipelines.event_log import OPEN_RUN_DATABASES, PooledSqliteEventLogStorage

PARTITIONS = dg.StaticPartitionsDefinition([f"p{i}" for i in range(12)])


@dg.asset(partitions_def=PARTITIONS, check_specs=[dg.AssetCheckSpec("rows_ok", asset="numbers")])
def numbers(context):
    for key in context.partition_keys:
        context.log.info(f"partition {key}")
    yield dg.MaterializeResult(metadata={"rows": len(context.partition_keys)})
    yield dg.AssetCheckResult(check_name="rows_ok", passed=True)


JOB = dg.define_asset_job("numbers_job", selection=[numbers])
DEFS = dg.Definitions(assets=[numbers], jobs=[JOB])


def _materialize(instance: dg.DagsterInstance, key: str) -> dg.ExecuteInProcessResult:
    return DEFS.resolve_job_def("numbers_job").execute_in_process(instance=instance, partition_key=key)


def test_the_project_instance_uses_it_and_dagster_reads_back_what_it_wrote(project_dagster_home):
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        results = [_materialize(instance, f"p{i}") for i in range(OPEN_RUN_DATABASES + 3)]  # more runs than kept open
        assert all(r.success for r in results)
        records = instance.fetch_materializations(dg.AssetKey("numbers"), limit=100).records
        assert sorted(r.partition_key for r in records) == sorted(f"p{i}" for i in range(OPEN_RUN_DATABASES + 3))
        assert instance.get_materialized_partitions(dg.AssetKey("numbers")) == {
            f"p{i}" for i in range(OPEN_RUN_DATABASES + 3)
        }
        check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey("numbers"), "rows_ok")]
        )
        assert list(check.values())[0].status.value == "SUCCEEDED"
        first = results[0].run_id
        logs = instance.all_logs(first)
        assert any(e.user_message == "partition p0" for e in logs)
        # deleting a run (the UI's "Delete") and its events
        instance.delete_run(first)
        assert instance.all_logs(first) == []
        assert "p0" not in {
            r.partition_key for r in instance.fetch_materializations(dg.AssetKey("numbers"), 100).records
        }
    # the same files, where Dagster's default storage keeps them, read by the default storage
    runs_dir = project_dagster_home / "history" / "runs"
    assert (runs_dir / "index.db").exists() and (runs_dir / f"{results[1].run_id}.db").exists()
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    plain = SqliteEventLogStorage(str(runs_dir))
    assert any(e.user_message == "partition p1" for e in plain.get_logs_for_run(results[1].run_id))


def test_threads_and_a_second_process_write_at_once(project_dagster_home):
    writer = textwrap.dedent(
        """
        import dagster as dg
        with dg.DagsterInstance.get() as instance:
            for i in range(60):
                instance.report_runless_asset_event(dg.AssetMaterialization("other", partition=f"q{i}"))
        """
    )
    with dg.DagsterInstance.get() as instance:
        other = subprocess.Popen([sys.executable, "-c", writer])
        errors: list[BaseException] = []

        def report(n: int) -> None:
            try:
                for i in range(40):
                    instance.report_runless_asset_event(dg.AssetMaterialization("threads", partition=f"t{n}-{i}"))
            except BaseException as exc:  # noqa: BLE001 — collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=report, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert other.wait(timeout=300) == 0
        assert errors == []
        assert len(instance.get_materialized_partitions(dg.AssetKey("threads"))) == 160
        assert len(instance.get_materialized_partitions(dg.AssetKey("other"))) == 60


def test_wipe_closes_its_connections_before_the_files_go(project_dagster_home):
    with dg.DagsterInstance.get() as instance:
        run = _materialize(instance, "p1")
        instance.event_log_storage.wipe()
        assert instance.all_logs(run.run_id) == []
        assert instance.get_materialized_partitions(dg.AssetKey("numbers")) == set()
        assert _materialize(instance, "p2").success  # and it keeps working after
        assert instance.get_materialized_partitions(dg.AssetKey("numbers")) == {"p2"}


def test_it_asks_sqlite_whether_a_table_exists_once_not_per_event(project_dagster_home, monkeypatch):
    from dagster._core.storage.event_log.sqlite import sqlite_event_log

    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        assert _materialize(instance, "p1").success
        engines = []
        real = sqlite_event_log.create_engine
        monkeypatch.setattr(sqlite_event_log, "create_engine", lambda *a, **k: engines.append(a) or real(*a, **k))
        for key in ("p2", "p3", "p4"):
            assert _materialize(instance, key).success  # three runs, each with a materialization and a check
        assert storage.supports_asset_checks and not storage.has_table("no_such_table")
        # only the new runs' own databases: no engine per event for has_table
        assert len(engines) <= 3 + 1, engines
        storage.wipe()
        assert storage.supports_asset_checks  # wipe recreates the tables


def _range_run(instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    tags = {"dagster/asset_partition_range_start": "p0", "dagster/asset_partition_range_end": "p11"}
    return DEFS.resolve_job_def("numbers_job").execute_in_process(instance=instance, tags=tags)


def test_a_range_runs_materializations_are_stored_in_one_transaction_per_database(project_dagster_home, monkeypatch):
    """With DAGSTER_EVENT_BATCH_SIZE set (kotacerdas' runs set it) Dagster hands the 12 materializations of a
    range step over as one batch; they cost one commit per database, not two per event, and read back as usual."""
    import sqlalchemy as sa

    from pipelines.event_log import EVENT_BATCH_ENV

    commits = []

    def count(conn):
        commits.append(conn)

    sa.event.listen(sa.engine.Engine, "commit", count)
    try:
        counts = {}
        for size in ("0", "1000"):  # Dagster's default (no batches) as the control
            monkeypatch.setenv(EVENT_BATCH_ENV, size)
            with dg.DagsterInstance.get() as instance:
                instance.event_log_storage.wipe()
                commits.clear()
                assert _range_run(instance).success
                counts[size] = len(commits)
                assert instance.get_materialized_partitions(dg.AssetKey("numbers")) == set(
                    PARTITIONS.get_partition_keys()
                )
    finally:
        sa.event.remove(sa.engine.Engine, "commit", count)
    # 12 planned + 12 materialization events: two commits each one by one; one batch each with batches
    assert counts["0"] - counts["1000"] >= 2 * 2 * 12 - 2 * 2, counts


def test_a_check_evaluation_costs_one_commit_per_database_and_reads_back(project_dagster_home):
    """Dagster commits a check evaluation's event to the run's database, then to the index, then the check's
    execution row to the index again: here one commit per database. Dagster's own reads see the evaluation."""
    import sqlalchemy as sa
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    def commits_storing(storage, event) -> list[str]:
        commits: list[str] = []

        def count(conn):
            commits.append(Path(conn.engine.url.database).name)

        sa.event.listen(sa.engine.Engine, "commit", count)
        try:
            storage.store_event(event)
        finally:
            sa.event.remove(sa.engine.Engine, "commit", count)
        return sorted(commits)

    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        run = _materialize(instance, "p1")
        evaluations = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        event = evaluations[0]
        plain = SqliteEventLogStorage(str(project_dagster_home / "history" / "runs"))
        assert commits_storing(plain, event) == sorted([f"{run.run_id}.db", "index.db", "index.db"])  # the control
        assert commits_storing(storage, event) == sorted([f"{run.run_id}.db", "index.db"])
        check = dg.AssetCheckKey(dg.AssetKey("numbers"), "rows_ok")
        executions = storage.get_asset_check_execution_history(check, limit=5)
        assert {e.run_id for e in executions} == {run.run_id}
        assert {e.status.value for e in executions} == {"SUCCEEDED"}
        stored = [e for e in storage.get_logs_for_run(run.run_id) if e.dagster_event_type == event.dagster_event_type]
        assert len(stored) == 3  # the run's own, the control's and ours


def test_a_batch_that_fails_leaves_nothing_and_dagster_can_store_it_again(project_dagster_home):
    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        run = _materialize(instance, "p1")
        event = next(
            e
            for e in instance.all_logs(run.run_id)
            if e.dagster_event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
        )
        storage.wipe()
        with pytest.raises(Exception):  # noqa: B017, PT011 — the second item is no event: Dagster's own check fails
            storage.store_event_batch([event, "not an event"])
        assert storage.get_logs_for_run(run.run_id) == []
        assert instance.get_materialized_partitions(dg.AssetKey("numbers")) == set()
        storage.store_event_batch([event])  # the connections are usable again, outside any batch
        assert instance.get_materialized_partitions(dg.AssetKey("numbers")) == {"p1"}
        assert len(storage.get_logs_for_run(run.run_id)) == 1


def test_an_asset_seen_before_costs_no_catalogue_query_and_no_failed_insert(project_dagster_home):
    """Dagster's SQLite storage asks for `asset_keys`' columns before every asset event and inserts the asset's row
    before it updates it (a unique-key error for every asset it has seen). Ours remembers the columns and updates
    first; the row it leaves is the one Dagster's own storage reads back."""
    import sqlalchemy as sa

    statements, errors = [], []

    def before(conn, cursor, statement, *args):
        statements.append((Path(conn.engine.url.database).name, statement))

    def failed(context):
        errors.append(context.original_exception)

    with dg.DagsterInstance.get() as instance:
        first = _materialize(instance, "p1")
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", before)
        sa.event.listen(sa.engine.Engine, "handle_error", failed)
        try:
            later = [_materialize(instance, key) for key in ("p2", "p3")]
        finally:
            sa.event.remove(sa.engine.Engine, "before_cursor_execute", before)
            sa.event.remove(sa.engine.Engine, "handle_error", failed)
        assert first.success and all(r.success for r in later)
        assert errors == []
        # (a new run's own database is created with every table, asset_keys too: SQLAlchemy checks it exists)
        on_index = [s for db, s in statements if db == "index.db"]
        assert not [s for s in on_index if "PRAGMA" in s and "asset_keys" in s]
        assert any(s.startswith("UPDATE asset_keys") for s in on_index)
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    plain = SqliteEventLogStorage(str(project_dagster_home / "history" / "runs"))
    record = plain.get_asset_records([dg.AssetKey("numbers")])[0].asset_entry
    assert record.last_run_id == later[-1].run_id
    assert record.last_materialization.dagster_event.partition == "p3"
    assert plain.get_materialized_partitions(dg.AssetKey("numbers")) == {"p1", "p2", "p3"}


def test_the_local_instance_queues_a_backfills_runs_two_at_a_time(project_dagster_home):
    """dagster_home/dagster.yaml loads on this Dagster with its run queue limit, next to the writer pool's limit (the
    two live under `concurrency`; the production file once failed to load for mixing them with `run_coordinator`)."""
    from dagster._core.run_coordinator import QueuedRunCoordinator

    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        config = instance.get_concurrency_config()
        assert config.run_queue_config.max_concurrent_runs == 2
        assert config.pool_config.default_pool_limit == 1


WRITE_TIMES = {"create_timestamp", "update_timestamp"}


def _database_rows(base_dir: Path) -> dict[str, dict[str, list[tuple]]]:
    """Every row of the event log's databases, by file and table (read by SQLite itself, not through Dagster)."""
    import sqlite3

    dump: dict[str, dict[str, list[tuple]]] = {}
    for path in sorted(base_dir.glob("*.db")):
        with sqlite3.connect(path) as conn:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            dump[path.name] = {}
            for table in tables:
                # when a row was written (the database's clock), not what the events say
                columns = [c[1] for c in conn.execute(f"PRAGMA table_info({table})") if c[1] not in WRITE_TIMES]
                quoted = ", ".join(f'"{c}"' for c in columns)  # a column is named `limit`
                rows = conn.execute(f"SELECT {quoted} FROM {table}").fetchall()
                dump[path.name][table] = sorted(rows, key=repr)
    return dump


def test_a_batch_of_asset_events_leaves_the_rows_dagsters_own_storage_leaves(project_dagster_home, tmp_path):
    """A batch of asset events (planned and done, of many partitions and two assets, interleaved, with a check's
    planned event among them as in a run's planned batch) is stored with a statement per table, not the parent's
    five per event: every row of every table is the one Dagster's own storage writes for the same events one by
    one — the same ids, the partitions' tags pointing at them, and each asset's row as the last events left it.
    Only the check's planned event is stored on its own."""
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    from pipelines.event_log import BATCHED_ASSET_EVENTS

    defs = dg.Definitions(assets=[checked], jobs=[dg.define_asset_job("checked_job", selection=[checked])])
    with dg.DagsterInstance.get() as instance:
        tags = {"dagster/asset_partition_range_start": "p0", "dagster/asset_partition_range_end": "p5"}
        first = DEFS.resolve_job_def("numbers_job").execute_in_process(instance=instance, tags=tags)
        tags = {"dagster/asset_partition_range_start": "c0", "dagster/asset_partition_range_end": "c5"}
        second = defs.resolve_job_def("checked_job").execute_in_process(instance=instance, tags=tags)
        logs = [*instance.all_logs(first.run_id), *instance.all_logs(second.run_id)]

    def of(kind, run):  # the second asset's events as if of the first run: one run writing two assets
        return [
            e._replace(run_id=first.run_id) for e in logs if e.dagster_event_type == kind and e.run_id == run.run_id
        ]

    def interleaved(kind):
        return [e for pair in zip(of(kind, first), of(kind, second), strict=True) for e in pair]

    planned = interleaved(dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED)
    done = interleaved(dg.DagsterEventType.ASSET_MATERIALIZATION)
    check_planned = of(dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED, second)
    assert len(planned) == len(done) == 12 and len(check_planned) == 1
    # the first group starts and ends with `numbers` (its last event after `checked`'s): rows in first-seen order
    batches = [planned[:3] + check_planned + planned[3:9], planned[9:] + done[:3], done[3:]]

    plain = SqliteEventLogStorage(str(tmp_path / "plain"))
    ours = PooledSqliteEventLogStorage(str(tmp_path / "ours"))
    store_one = ours.store_event

    def only_others_one_by_one(event):
        assert event.dagster_event_type not in BATCHED_ASSET_EVENTS, f"stored one by one: {event.dagster_event_type}"
        store_one(event)

    try:
        for batch in batches:
            plain.store_event_batch(batch)  # Dagster's: store_event for each
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(ours, "store_event", only_others_one_by_one)
                ours.store_event_batch(batch)
    finally:
        ours.dispose()
        plain.dispose()
    expected, got = _database_rows(tmp_path / "plain"), _database_rows(tmp_path / "ours")
    for tables in (expected, got):
        for db in tables.values():
            db.pop("secondary_indexes", None)  # when each database's migrations ran: not the events'
    assert got == expected
    assert len(got["index.db"]["asset_keys"]) == 2
    assert len(got["index.db"]["asset_event_tags"]) == 12  # a tag of each materialization, by its event's id


CHECKED = dg.StaticPartitionsDefinition([f"c{i}" for i in range(6)])


@dg.asset(partitions_def=CHECKED, check_specs=[partitioned_check("within", asset="checked", partitions_def=CHECKED)])
def checked(context):
    yield dg.MaterializeResult(metadata={"rows": 1})
    for i, key in enumerate(context.partition_keys):  # as assets.partitioned.report_checks reports a range
        yield dg.AssetCheckEvaluation(
            asset_key=dg.AssetKey("checked"), check_name="within", passed=i % 2 == 0, partition=key, blocking=False
        )
    yield dg.Output(None, output_name="checked_within")


def test_check_evaluations_leave_the_rows_dagsters_own_storage_leaves(project_dagster_home, tmp_path):
    """A check evaluation is stored with statements built once and the event serialised once: every row is the one
    Dagster's own storage writes — partitioned evaluations passed and failed, an unpartitioned one, and one of a run
    with no planned row (inserted, not updated); the planned rows (one per partition, one left unevaluated)."""
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    defs = dg.Definitions(assets=[checked], jobs=[dg.define_asset_job("checked_job", selection=[checked])])
    tags = {"dagster/asset_partition_range_start": "c0", "dagster/asset_partition_range_end": "c5"}
    kinds = (dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED, dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    with dg.DagsterInstance.get() as instance:
        ranged = defs.resolve_job_def("checked_job").execute_in_process(instance=instance, tags=tags)
        single, unplanned = _materialize(instance, "p1"), _materialize(instance, "p2")  # `numbers`: unpartitioned
        logs = [*instance.all_logs(ranged.run_id), *instance.all_logs(single.run_id)]
        logs += [e for e in instance.all_logs(unplanned.run_id) if e.dagster_event_type != kinds[0]]
    planned, evaluations = ([e for e in logs if e.dagster_event_type == kind] for kind in kinds)
    assert len(planned) == 2 and len(evaluations) == 8
    assert {e.get_dagster_event().asset_check_evaluation_data.passed for e in evaluations} == {True, False}

    plain = SqliteEventLogStorage(str(tmp_path / "plain"))
    ours = PooledSqliteEventLogStorage(str(tmp_path / "ours"))

    def parents_path(*args):
        raise AssertionError("stored through the parent's store_asset_check_event")

    try:
        for storage in (plain, ours):
            for event in planned:  # the third run's is left out: its evaluation inserts the row
                storage.store_event(event)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(ours, "store_asset_check_event", parents_path)
            for event in evaluations[1:]:  # the first partition's row stays planned
                plain.store_event(event)
                ours.store_event(event)
    finally:
        ours.dispose()
        plain.dispose()
    expected, got = _database_rows(tmp_path / "plain"), _database_rows(tmp_path / "ours")
    for tables in (expected, got):
        for db in tables.values():
            db.pop("secondary_indexes", None)
    assert got == expected
    executions = got["index.db"]["asset_check_executions"]
    assert len(executions) == 8 and {r[5] for r in executions} == {"PLANNED", "SUCCEEDED", "FAILED"}


def test_a_watcher_of_the_run_sees_its_events_as_they_are_stored(tmp_path):
    """The UI's live run logs watch the run's database file (Dagster's watcher on `<run>.db`). A commit on a
    connection kept open writes only the WAL file, so ours touches the database file after each commit: a watcher
    (Dagster's own storage, as the webserver's) sees every event as it is stored, without waiting for a checkpoint
    or the end of the run."""
    import logging
    import time

    from dagster._core.events.log import EventLogEntry
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    def entry(text: str) -> EventLogEntry:
        return EventLogEntry(
            error_info=None,
            level=logging.INFO,
            user_message=text,
            run_id="watched",
            timestamp=time.time(),
            step_key=None,
            job_name="job",
            dagster_event=None,
        )

    ours, webserver = PooledSqliteEventLogStorage(str(tmp_path)), SqliteEventLogStorage(str(tmp_path))
    seen: list[str] = []
    try:
        ours.store_event(entry("first"))
        webserver.watch("watched", None, lambda event, cursor: seen.append(event.user_message))
        wanted = ["first"]
        for text in ("second", "third"):
            ours.store_event(entry(text))
            wanted.append(text)
            deadline = time.monotonic() + 30  # a generous wait for the watcher's thread, not a speed limit
            while seen != wanted and time.monotonic() < deadline:
                time.sleep(0.05)
            assert seen == wanted
    finally:
        webserver.end_watch("watched", None)
        webserver.dispose()
        ours.dispose()
