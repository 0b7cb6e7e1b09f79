"""Dagster's PostgreSQL event log (dagster-postgres), keeping a few connections open.

dagster-postgres opens a new PostgreSQL connection for every event it stores (its engine has no pool, so that an
instance holds no connection between uses), and an asset event or a check evaluation opens one or two more for the
asset index. A new connection costs the server a backend process: about 7 ms of wall on the 2-core VM against 0.4 ms
for a pooled one. A 100-city month stores some 7,750 events, and its Dagster overhead waited about 70 s beyond its
CPU (issue #15, docs/operators/performance.md).

This subclass keeps `POOL_SIZE` pooled connections (an asset event nests three; up to `MAX_OVERFLOW` more while
several threads write), each checked with a ping before use so that a server restart costs a reconnect, not a failed
step, and remembers the tables it has seen (Dagster asks whether one exists before every asset event). The webserver
replaces the engine with its own pool as before (`optimize_for_webserver`). A forked child (a Celery prefork worker)
drops the parent's pooled connections without closing them; it opens its own.

config/dagster-production.yaml names it as `event_log_storage`, beside dagster-postgres' own run and schedule
storage. `tests/test_pg_event_log.py` runs Dagster's reads and writes through it on a real PostgreSQL database.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Mapping
from typing import Any

from dagster._serdes import ConfigurableClassData
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.utils import create_pg_engine, get_token_provider_from_config, pg_url_from_config

from pipelines.event_log import RemembersTables

# Storing an asset event nests connections (the event's, the asset index's, a look-up inside): three stay pooled
POOL_SIZE = 3
MAX_OVERFLOW = 4  # more while threads of one process write at once, closed when given back
POOL_RECYCLE_SECONDS = 3600  # below PostgreSQL's and most proxies' idle timeouts


class PooledPostgresEventLogStorage(RemembersTables, PostgresEventLogStorage):
    """PostgresEventLogStorage with a small connection pool (see the module's docstring)."""

    def __init__(
        self,
        postgres_url: str,
        should_autocreate_tables: bool = True,
        inst_data: ConfigurableClassData | None = None,
        token_provider: Any = None,
    ):
        self._tables_seen = set()
        super().__init__(postgres_url, should_autocreate_tables, inst_data, token_provider)
        unpooled = self._engine
        kwargs: dict[str, Any] = {
            "isolation_level": "AUTOCOMMIT",
            "pool_size": POOL_SIZE,
            "max_overflow": MAX_OVERFLOW,
            "pool_recycle": POOL_RECYCLE_SECONDS,
            "pool_pre_ping": True,
            "pool_use_lifo": True,  # the most recently used first: the others may time out idle
        }
        options = unpooled.url.query.get("options")  # as optimize_for_webserver keeps them
        if options:
            kwargs["connect_args"] = {"options": options}
        self._engine = create_pg_engine(self.postgres_url, self._token_provider, **kwargs)
        unpooled.dispose()
        _forget_connections_in_forked_children(self)

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> PooledPostgresEventLogStorage:
        return cls(
            inst_data=inst_data,
            postgres_url=pg_url_from_config(config_value),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            token_provider=get_token_provider_from_config(config_value),
        )

    def dispose(self) -> None:
        super().dispose()
        self._engine.dispose()


def _forget_connections_in_forked_children(storage: PooledPostgresEventLogStorage) -> None:
    """A child must not use (nor close) the connections it inherited: they are the parent's sessions."""
    ref = weakref.ref(storage)

    def after_fork() -> None:
        alive = ref()
        if alive is not None:
            alive._engine.dispose(close=False)

    os.register_at_fork(after_in_child=after_fork)
