"""Dagster's SQLite event log, keeping its connections open.

Dagster's `SqliteEventLogStorage` creates an engine, opens a connection and disposes of both for every event it
stores, and an asset event touches two databases (the run's and the cross-run index). A monthly run of 514
kabupaten/kota records some 30,000 events, so that connection churn alone cost about 8 ms of CPU per event
(`bench/national_bench.py`, issue #15), and it opens one more engine to ask whether a table exists before every
asset event and check evaluation. This subclass remembers the tables it has seen and keeps one open connection per
database file instead: the storage's own lock already serialises every use of a connection, so one connection per
file is safe across the threads of a process; other processes (webserver, daemon, run workers) have their own and
SQLite's file locking with the same busy timeout arbitrates between them, as before. Run databases are few per
process and closed least-recently-used first.

It also writes what the parent writes with fewer statements: a batch of asset events (a step's partitions, a run's
planned materializations) with one statement per table, a check evaluation and a check's planned rows with statements
built once and the event serialised once. `tests/test_event_log.py` compares every row of every table with what
Dagster's own storage writes for the same events; `bench/event_log_bench.py` measures both.

It relies on the parent's `_connect(shard)` contract (a connection in a transaction, under `self._db_lock`), an
internal of Dagster 1.13, as are the helpers and tables it writes with (`_event_to_row`, `_get_asset_entry_values`,
`_store_asset_event_tags`, the check executions' columns): `tests/test_event_log.py` runs Dagster's own reads and
writes through it and compares the rows, so an upgrade that changes the contract or what Dagster writes fails
there. Production uses dagster-postgres (docs/operators/scheduling.md) through its own pooled subclass,
`pipelines/pg_event_log.py`.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import dagster as dg
import sqlalchemy as sa
from dagster._core.errors import DagsterInvariantViolationError
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus as CheckStatus
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable, AssetKeyTable, SqlEventLogStorageTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._serdes import ConfigurableClassData, serialize_value

# Dagster stores a step's asset events of many partitions as one batch only when this is set (it reads it from the
# environment of the process that runs the step); kotacerdas' runs and `kotacerdas ui` set it unless it is set.
EVENT_BATCH_ENV, EVENT_BATCH_SIZE = "DAGSTER_EVENT_BATCH_SIZE", "1000"
OPEN_RUN_DATABASES = 8  # a process writes to one or a few runs at a time; the index stays open besides


def batch_event_writes(env: MutableMapping[str, str]) -> None:
    """Have Dagster hand asset events over in batches (`store_event_batch`) in processes started with `env`."""
    env.setdefault(EVENT_BATCH_ENV, EVENT_BATCH_SIZE)


class RemembersTables:
    """Dagster asks its event log whether a table exists before storing every asset event and check evaluation, and
    whether `asset_keys` has a column before every asset event; each answer costs a catalogue query (and, for a
    table, a connection). A table or column once seen is remembered: migrations only add them. Mixed in before a
    Dagster storage class; the class sets `_tables_seen` before the storage's own `__init__`, and empties it where
    it drops its tables."""

    _tables_seen: set[str]

    def has_table(self, table_name: str) -> bool:
        if table_name not in self._tables_seen and super().has_table(table_name):  # type: ignore[misc]
            self._tables_seen.add(table_name)
        return table_name in self._tables_seen

    def _has_asset_key_col_on_connection(self, conn: sa.Connection, column_name: str) -> bool:
        seen = f"asset_keys.{column_name}"
        if seen not in self._tables_seen and super()._has_asset_key_col_on_connection(conn, column_name):  # type: ignore[misc]
            self._tables_seen.add(seen)
        return seen in self._tables_seen


class PooledSqliteEventLogStorage(RemembersTables, SqliteEventLogStorage):
    """SqliteEventLogStorage with one open connection per database file (see the module's docstring)."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, sa.Engine] = OrderedDict()
        self._tables_seen = set()
        # While store_event_batch runs (in one thread, holding the lock): shard -> its connection and transaction
        self._batch: dict[str, tuple[sa.Connection, sa.RootTransaction]] | None = None
        self._batch_thread: int | None = None
        super().__init__(base_dir, inst_data)

    @classmethod
    def config_type(cls) -> Any:
        return {"base_dir": dg.Field(dg.StringSource, is_required=False)}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Any
    ) -> PooledSqliteEventLogStorage:
        """`base_dir` defaults to where Dagster's default storage keeps the event log: $DAGSTER_HOME/history/runs."""
        base_dir = config_value.get("base_dir")
        if not base_dir:
            home = os.environ.get("DAGSTER_HOME")
            if not home:
                raise dg.DagsterInvalidConfigError(
                    "PooledSqliteEventLogStorage needs DAGSTER_HOME (or base_dir in dagster.yaml)", [], config_value
                )
            base_dir = os.path.join(home, "history", "runs", "")
        return cls(base_dir=base_dir, inst_data=inst_data)

    def _engine(self, shard: str) -> sa.Engine:
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = sa.create_engine(
            self.conn_string_for_shard(shard),
            poolclass=sa.pool.StaticPool,  # one connection, reused; the lock around it is the parent's
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        )
        sa.event.listen(engine, "connect", _sync_at_checkpoints)
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        runs = [s for s in self._engines if s != INDEX_SHARD_NAME and s not in (self._batch or {})]
        for old in runs[: max(0, len(runs) - OPEN_RUN_DATABASES)]:
            self._engines.pop(old).dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[sa.Connection]:
        if self._batch is not None and self._batch_thread == threading.get_ident():
            if shard not in self._batch:  # the batch's transaction on this database, committed at its end
                conn = self._engine(shard).connect()
                self._batch[shard] = (conn, conn.begin())
            yield self._batch[shard][0]
            return
        with self._db_lock:
            with self._engine(shard).connect() as conn, conn.begin():
                yield conn
            self._announce(shard)

    def _announce(self, shard: str) -> None:
        """Dagster's watchers of a run (the UI's live run logs) wait for the run's database file to change. In WAL
        mode a commit on a connection kept open writes only `<run>.db-wal` until a checkpoint (Dagster's storage
        closed its connection after every event, which checkpoints); touching the file tells them, as the close
        did. The index has no watchers."""
        if shard == INDEX_SHARD_NAME:
            return
        with suppress(OSError):  # deleted meanwhile (a run deleted): nothing to watch
            os.utime(self.path_for_shard(shard))

    def store_event(self, event: EventLogEntry) -> None:
        """A check evaluation writes the cross-run index twice (the event, then the check's execution row), each
        write committed on its own by the parent: here both go in one transaction, as a batch of one (#15)."""
        if self._batch is None and event.dagster_event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            self.store_event_batch([event])
        else:
            super().store_event(event)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """The asset events Dagster hands over together (DAGSTER_EVENT_BATCH_SIZE: a step's materializations of
        many partitions, a run's planned materializations) are stored with one transaction per database for the
        batch, where the parent commits each event on its own, twice. All of a database's events or none: after an
        error nothing of the batch stays, and Dagster stores the events one by one instead. Consecutive asset events
        of one run go through `_store_asset_events` (a run's planned batch has its checks' planned events among its
        materializations, sorted by key), the others one by one, in their order."""
        late_error: Exception | None = None
        with self._db_lock:
            self._batch, self._batch_thread = {}, threading.get_ident()
            try:
                if len(events) == 1 and _is_check_evaluation_of_a_run(events[0]):
                    late_error = self._store_check_evaluation(events[0])
                else:
                    for run_of_assets, group in itertools.groupby(events, key=_batched_run):
                        if run_of_assets is not None:
                            self._store_asset_events(list(group))
                        else:
                            for event in group:
                                self.store_event(event)
                for _, transaction in self._batch.values():
                    transaction.commit()
                for shard in self._batch:
                    self._announce(shard)
            except BaseException:
                for _, transaction in self._batch.values():
                    if transaction.is_active:
                        transaction.rollback()
                raise
            finally:
                for conn, _ in self._batch.values():
                    conn.close()
                self._batch, self._batch_thread = None, None
        if late_error is not None:  # raised after the commits, as the parent raises it after storing
            raise late_error

    def _store_asset_events(self, events: Sequence[EventLogEntry]) -> None:
        """What the parent's `store_event` writes for each of these asset events, a statement per table for all of
        them (inside the batch's transactions): the events into the run's database and into the index (their ids
        come back in order), their tags, and each asset's row in `asset_keys` once, as the events would have
        left it one by one. The parent builds, compiles and runs five statements per event (about 1 ms of CPU; a
        batch is a step's partitions of one asset, 514 in a national month, or a run's planned materializations,
        514 × 25: #15). dagster-postgres' own batch does the same for materializations, writing only the last
        event's values to `asset_keys`."""
        rows = [self._event_to_row(event) for event in events]
        with self.run_connection(events[0].run_id) as conn:
            conn.execute(SqlEventLogStorageTable.insert(), rows)
        with self.index_connection() as conn:
            returning = SqlEventLogStorageTable.insert().returning(
                SqlEventLogStorageTable.c.id, sort_by_parameter_order=True
            )
            event_ids = list(conn.execute(returning, rows).scalars())
            if len(event_ids) != len(events) or None in event_ids:
                raise DagsterInvariantViolationError("Cannot store asset event tags for null event id.")
            self._store_asset_event_tags(conn, events, event_ids)
            has_index_cols = self._has_asset_key_index_cols_on_connection(conn)
            for key, values in _asset_entries(events, event_ids, self._get_asset_entry_values, has_index_cols).items():
                self._upsert_asset_key(conn, key, values)

    def _store_check_evaluation(self, event: EventLogEntry) -> Exception | None:
        """What the parent's `store_event` writes for a run's check evaluation (a national month has 9,766, one at a
        time): the event into the run's database and the index, then the check's execution row in the index,
        planned when the run started, updated (inserted when there is none, as the parent does). The statements
        are built once for all events and the event is serialised once, where the parent builds four and
        serialises it twice: about 2.5 ms of CPU an evaluation before (#15). Duplicate planned rows give the parent's
        error, returned to be raised once the evaluation is stored (as the parent does)."""
        if not self.supports_asset_checks:
            raise DagsterInvariantViolationError(
                "Asset checks require a database schema migration. Run `dagster instance migrate`."
            )
        row = self._event_to_row(event)
        with self.run_connection(event.run_id) as conn:
            conn.execute(_INSERT_EVENT, row)
        with self.index_connection() as conn:
            event_id = conn.execute(_INSERT_EVENT_RETURNING_ID, row).scalar_one()
            evaluation = event.get_dagster_event().asset_check_evaluation_data
            status = CheckStatus.SUCCEEDED if evaluation.passed else CheckStatus.FAILED
            target = evaluation.target_materialization_data
            values = {
                "execution_status": status.value,
                "evaluation_event": row["event"],
                "evaluation_event_storage_id": event_id,
                "materialization_event_storage_id": target.storage_id if target else None,
                "partition": evaluation.partition,
            }
            where = {
                "w_asset_key": evaluation.asset_key.to_string(),
                "w_check_name": evaluation.check_name,
                "w_run_id": event.run_id,
                "w_partition": evaluation.partition,
            }
            timestamp = self._event_insert_timestamp(event)
            update = _UPDATE_CHECK_EXECUTION[evaluation.partition is None]
            updated = conn.execute(update, {f"v_{k}": v for k, v in values.items()} | where | {"v_ts": timestamp})
            if updated.rowcount == 0:  # no planned row (an external step launcher's run): the parent inserts one
                conn.execute(
                    AssetCheckExecutionsTable.insert(),
                    values
                    | {
                        "asset_key": where["w_asset_key"],
                        "check_name": evaluation.check_name,
                        "run_id": event.run_id,
                        "evaluation_event_timestamp": timestamp,
                    },
                )
            elif updated.rowcount > 1:
                return DagsterInvariantViolationError(
                    f"Updated {updated.rowcount} rows for asset check evaluation {evaluation.asset_check_key} "
                    "as a result of duplicate AssetCheckPlanned events."
                )
        return None

    def _store_asset_check_evaluation_planned(self, event: EventLogEntry, event_id: int | None) -> None:
        """The parent's planned rows of a check, one per partition of the run, each holding the planned event: here
        the event is serialised once for all of them (the parent serialises it per row: 9,766 times for a
        national month's 19 checks) and the rows go in as one executemany, not one statement of 514 rows."""
        planned = event.get_dagster_event().asset_check_planned_data
        keys = planned.partitions_subset.get_partition_keys() if planned.partitions_subset else [None]
        shared = {
            "asset_key": planned.asset_key.to_string(),
            "check_name": planned.check_name,
            "run_id": event.run_id,
            "execution_status": CheckStatus.PLANNED.value,
            "evaluation_event": serialize_value(event),
            "evaluation_event_timestamp": self._event_insert_timestamp(event),
            "evaluation_event_storage_id": event_id,
        }
        with self.index_connection() as conn:
            conn.execute(AssetCheckExecutionsTable.insert(), [shared | {"partition": key} for key in keys])

    def _store_asset_event(self, conn: sa.Connection, event: EventLogEntry, event_id: int) -> None:
        """The asset's row in `asset_keys`, as the parent writes it, but updated first: the parent inserts first
        and, for every event of an asset it has seen before (all but the first), catches the unique-key error
        and updates. An insert that still fails (another process inserted the row in between) updates."""
        dagster_event = event.dagster_event
        if not (dagster_event and dagster_event.asset_key):
            return
        values = self._get_asset_entry_values(event, event_id, self._has_asset_key_index_cols_on_connection(conn))
        if values:
            self._upsert_asset_key(conn, dagster_event.asset_key.to_string(), values)

    @staticmethod
    def _upsert_asset_key(conn: sa.Connection, key: str, values: dict[str, Any]) -> None:
        update = AssetKeyTable.update().values(**values).where(AssetKeyTable.c.asset_key == key)
        if conn.execute(update).rowcount:
            return
        try:  # SQLite aborts only the failing statement, not the transaction (as the parent relies on too)
            conn.execute(AssetKeyTable.insert().values(asset_key=key, **values))
        except sa.exc.IntegrityError:
            conn.execute(update)

    def _close_all(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._close_all()  # the files are deleted next: no connection may keep writing to them
        self._tables_seen.clear()
        super().wipe()

    def delete_events(self, run_id: str) -> None:
        super().delete_events(run_id)
        with self._db_lock:
            engine = self._engines.pop(run_id, None)
        if engine is not None:
            engine.dispose()

    def dispose(self) -> None:
        self._close_all()
        super().dispose()


# The asset events whose whole storage `_store_asset_events` does; any other type goes through `store_event`.
BATCHED_ASSET_EVENTS = frozenset(
    {dg.DagsterEventType.ASSET_MATERIALIZATION, dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED}
)


def _is_check_evaluation_of_a_run(event: object) -> bool:
    return (
        isinstance(event, EventLogEntry)
        and bool(event.run_id)  # a runless evaluation (reported from outside a run) has its own path
        and event.dagster_event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    )


# Statements built once: SQLAlchemy compiles each once and runs it with each event's values.
_INSERT_EVENT = SqlEventLogStorageTable.insert()
_INSERT_EVENT_RETURNING_ID = SqlEventLogStorageTable.insert().returning(SqlEventLogStorageTable.c.id)


def _update_check_execution(partition_is_null: bool) -> sa.Update:
    """The parent's update of a check's execution row, keyed by asset, check, run and partition."""
    table = AssetCheckExecutionsTable
    partition = table.c.partition.is_(None) if partition_is_null else table.c.partition == sa.bindparam("w_partition")
    where = sa.and_(
        table.c.asset_key == sa.bindparam("w_asset_key"),
        table.c.check_name == sa.bindparam("w_check_name"),
        table.c.run_id == sa.bindparam("w_run_id"),
        partition,
    )
    columns = (
        "execution_status",
        "evaluation_event",
        "evaluation_event_storage_id",
        "materialization_event_storage_id",
        "partition",
    )
    values: dict[str, Any] = {c: sa.bindparam(f"v_{c}") for c in columns}
    values["evaluation_event_timestamp"] = sa.bindparam("v_ts")
    return table.update().where(where).values(values)


_UPDATE_CHECK_EXECUTION = {null: _update_check_execution(null) for null in (True, False)}


def _batched_run(event: object) -> str | None:
    """The run of an asset event `_store_asset_events` stores; None for any other event."""
    if isinstance(event, EventLogEntry) and event.dagster_event_type in BATCHED_ASSET_EVENTS:
        return event.run_id
    return None


def _asset_entries(
    events: Sequence[EventLogEntry],
    event_ids: Sequence[int],
    entry_values: Callable[[EventLogEntry, int, bool], dict[str, Any]],
    has_index_cols: bool,
) -> dict[str, dict[str, Any]]:
    """Each asset's `asset_keys` values after `events` in order, one update per event: which columns an event sets
    depends on its type alone, so the last event of each type of an asset decides them (a later one wins a column
    two set). `entry_values` (the parent's `_get_asset_entry_values`) serialises the last materialization of each
    asset once, not once per partition."""
    last: dict[tuple[str, Any], int] = {}
    entries: dict[str, dict[str, Any]] = {}  # in the order the assets first appear, as the parent inserts them
    for position, event in enumerate(events):
        asset_key = event.get_dagster_event().asset_key
        if asset_key is not None:
            last[(asset_key.to_string(), event.dagster_event_type)] = position
            entries.setdefault(asset_key.to_string(), {})
    for position in sorted(last.values()):
        values = entry_values(events[position], event_ids[position], has_index_cols)
        key = events[position].get_dagster_event().asset_key.to_string()  # type: ignore[union-attr]
        entries[key].update(values)
    return {key: values for key, values in entries.items() if values}


def _sync_at_checkpoints(dbapi_connection: Any, _record: Any) -> None:
    """SQLite's synchronous=NORMAL: in WAL mode (Dagster's) a commit no longer waits for the disk, only a
    checkpoint does. The database cannot be corrupted; a power cut may lose the last events of a run, which the
    run's own end (or its absence) shows. SQLite recommends it for WAL; each commit was an fsync."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
