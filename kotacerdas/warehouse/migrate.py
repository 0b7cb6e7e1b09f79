"""Apply the warehouse migrations (Alembic, run programmatically) on DuckDB or PostgreSQL.

`upgrade` runs every pending migration in one transaction (DDL is transactional on both backends), so a failed
upgrade leaves the warehouse as it was. On PostgreSQL an advisory lock serialises concurrent upgrades.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.ddl.impl import DefaultImpl
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BASELINE_REVISION = "0001"
# The tables the walking skeleton created with metadata.create_all, before migrations existed.
_BASELINE_TABLES = {"indicator_values", "index_scores", "quarantine", "raw_files", "ingest_failures"}
_PG_LOCK_KEY = 7_415_230_001  # pg_advisory_xact_lock key: "kotacerdas warehouse schema"


class AlembicDuckDBImpl(DefaultImpl):
    """Alembic has no DuckDB implementation of its own: duckdb_engine's documented recipe (defining the class
    registers it), plus DuckDB's transactional DDL so that a failed upgrade leaves nothing half-made."""

    __dialect__ = "duckdb"
    transactional_ddl = True


def alembic_config(connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@cache
def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("the warehouse migrations have no head revision")
    return head


def current_revision(conn: sa.Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def _lock(conn: sa.Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")


def upgrade(engine: sa.Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate to `revision`; returns (revision before, revision after)."""
    with engine.begin() as conn:
        _lock(conn)
        before = current_revision(conn)
        if before is None and set(sa.inspect(conn).get_table_names()) >= _BASELINE_TABLES:
            # Made by create_all before migrations existed: it is the baseline, mark it so.
            command.stamp(alembic_config(conn), BASELINE_REVISION)
        command.upgrade(alembic_config(conn), revision)
        after = current_revision(conn)
    return before, after


def downgrade(engine: sa.Engine, revision: str) -> str | None:
    with engine.begin() as conn:
        _lock(conn)
        command.downgrade(alembic_config(conn), revision)
        return current_revision(conn)


def ensure_schema(engine: sa.Engine) -> bool:
    """Upgrade to head when the warehouse is behind (first use of a new warehouse); True if it migrated."""
    with engine.connect() as conn:
        current = current_revision(conn)
    if current == head_revision():
        return False
    upgrade(engine)
    return True
