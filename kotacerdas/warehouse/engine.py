"""Open the warehouse: embedded DuckDB by default, any SQLAlchemy URL through KOTACERDAS_WAREHOUSE_URL."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa

from kotacerdas.errors import ConfigError
from kotacerdas.storage_errors import storage_failure
from kotacerdas.warehouse.migrate import ensure_schema

WAREHOUSE_URL_ENV = "KOTACERDAS_WAREHOUSE_URL"
_AT_HEAD: set[str] = set()  # warehouses this process has already seen at the head migration


def resolve_warehouse_url(raw: str, project_root: Path, *, create: bool = True) -> sa.URL:
    """`raw` as a SQLAlchemy URL; a relative DuckDB path is taken from the project root, and its folder is made
    unless `create` is false (a reader makes nothing)."""
    try:
        url = sa.make_url(raw)
    except sa.exc.ArgumentError as exc:
        raise ConfigError(
            f"warehouse URL {raw!r} is not a SQLAlchemy URL",
            hint=f"set {WAREHOUSE_URL_ENV} to e.g. postgresql+psycopg://user@host:5432/db",
        ) from exc
    try:  # the database kind and driver named: an unknown one is the settings' mistake, found before any run
        url.get_dialect()
    except (sa.exc.NoSuchModuleError, ImportError) as exc:
        raise ConfigError(
            f"warehouse URL {display_url(url)!r} names no database kotacerdas can open: {exc}",
            hint=f"set {WAREHOUSE_URL_ENV} (or warehouse_url in pipeline.yaml) to duckdb:///PATH or "
            "postgresql+psycopg://user@host:5432/db",
        ) from exc
    if url.get_backend_name() == "duckdb" and url.database and url.database != ":memory:":
        path = Path(url.database)
        if not path.is_absolute():
            path = project_root / path
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        url = url.set(database=str(path))
    return url


def display_url(url: sa.URL) -> str:
    """For logs and metadata: never print a password."""
    return url.render_as_string(hide_password=True)


def duckdb_path(url: sa.URL) -> Path | None:
    """The file of a DuckDB warehouse (None for other backends and in-memory DuckDB)."""
    if url.get_backend_name() == "duckdb" and url.database and url.database != ":memory:":
        return Path(url.database)
    return None


def require_existing_warehouse(url: sa.URL) -> sa.URL:
    """`url` when its warehouse can exist without being made: a server database, or a DuckDB file that is there.
    Read-only commands check this first, as opening a missing DuckDB file would create an empty warehouse."""
    path = duckdb_path(url)
    if path is not None and not path.is_file():
        raise ConfigError(
            f"no warehouse file at {path}",
            hint=f"run `make demo` or `kotacerdas run` first, or set {WAREHOUSE_URL_ENV} to the warehouse",
        )
    return url


def warehouse_identity(url: sa.URL) -> str:
    """Names one warehouse for per-process caches; a DuckDB file deleted and made anew is another warehouse."""
    key = url.render_as_string(hide_password=False)
    if url.get_backend_name() == "duckdb" and url.database and url.database != ":memory:":
        try:
            stat = os.stat(url.database)
        except OSError:
            return key + "#new"
        key += f"#{stat.st_dev}:{stat.st_ino}"
    return key


def create_warehouse_engine(url: sa.URL | str, *, migrate: bool = True) -> sa.Engine:
    """An engine on the warehouse; on first use (or after an upgrade of kotacerdas) the pending migrations
    are applied, so the schema is always the head of `kotacerdas/warehouse/migrations/`."""
    engine = sa.create_engine(url)
    if not migrate:
        return engine
    key = warehouse_identity(engine.url)
    if key in _AT_HEAD:
        return engine
    try:
        ensure_schema(engine)
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        shown = display_url(engine.url)
        failure = storage_failure(exc, f"the warehouse at {shown}", duckdb_path(engine.url))
        if failure is not None:
            raise failure from exc
        if not isinstance(exc, sa.exc.OperationalError):
            raise
        raise ConfigError(
            f"cannot open the warehouse at {shown}: {exc.orig}",
            hint=f"check that the database is running and {WAREHOUSE_URL_ENV} is right",
        ) from exc
    _AT_HEAD.add(warehouse_identity(engine.url))  # a new DuckDB file exists now
    return engine
