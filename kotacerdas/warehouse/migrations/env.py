"""Alembic environment: runs on the connection `kotacerdas.warehouse.migrate` hands over (DuckDB or PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

import kotacerdas.warehouse.migrate  # noqa: F401 - registers Alembic's DuckDB implementation
from kotacerdas.warehouse.schema import metadata


def run() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    # `alembic -x` / an ini file with sqlalchemy.url: open our own connection.
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection given and no sqlalchemy.url set (alembic -x or the ini file)")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: sa.Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, transactional_ddl=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run `kotacerdas warehouse upgrade`")
run()
