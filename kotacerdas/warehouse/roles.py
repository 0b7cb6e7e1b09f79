"""The read-only evaluator role on PostgreSQL: SELECT on the evaluator views and on nothing else.

Views in PostgreSQL run with their owner's rights, so an evaluator reads a view's result without any right on
the tables behind it: not on staging (pseudonymised personal data), quarantine, lineage or the dimensions.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from kotacerdas.errors import ConfigError
from kotacerdas.warehouse.schema import EVALUATOR_VIEWS

EVALUATOR_GROUP = "kotacerdas_evaluator"
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _ident(name: str) -> str:
    if not _ROLE_NAME.match(name):
        raise ConfigError(
            f"{name!r} is not a usable role name",
            hint="use lower-case letters, digits and _ (at most 63), starting with a letter or _",
        )
    return f'"{name}"'


def grant_evaluator(
    engine: sa.Engine, name: str, *, group: str = EVALUATOR_GROUP, password: str | None = None
) -> list[str]:
    """Create (if needed) the NOLOGIN group `group` with SELECT on every evaluator view, and the LOGIN role
    `name` as a member of it (read-only by default). Idempotent; returns the views granted."""
    if engine.dialect.name != "postgresql":
        raise ConfigError(
            f"evaluator roles exist only on PostgreSQL, not on {engine.dialect.name}",
            hint="give evaluators a copy of the DuckDB file, or point KOTACERDAS_WAREHOUSE_URL at "
            "the PostgreSQL warehouse",
        )
    role, grp = _ident(name), _ident(group)
    with engine.begin() as conn:
        existing = conn.execute(
            sa.text("SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls FROM pg_roles WHERE rolname = :n"),
            {"n": name},
        ).scalar()
        if existing:
            raise ConfigError(
                f"role {name!r} already exists with administrative rights", hint="choose a new name for the evaluator"
            )
        for r, login in ((group, False), (name, True)):
            if conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": r}).scalar() is None:
                conn.exec_driver_sql(f"CREATE ROLE {_ident(r)} {'LOGIN' if login else 'NOLOGIN'}")
        if password is not None:
            from psycopg import sql

            stmt = sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(name), sql.Literal(password))
            conn.exec_driver_sql(stmt.as_string(conn.connection.driver_connection))
        database = conn.exec_driver_sql("SELECT current_database()").scalar_one()
        conn.exec_driver_sql(f'GRANT CONNECT ON DATABASE "{database}" TO {grp}')
        # PostgreSQL 15 already keeps PUBLIC from creating objects in schema public; older clusters do not.
        conn.exec_driver_sql("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {grp}")
        # Start from nothing on every table and view, then grant the views: a re-run also withdraws what an
        # earlier version granted.
        conn.exec_driver_sql(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {grp}, {role}")
        conn.exec_driver_sql(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {grp}, {role}")
        conn.exec_driver_sql(f"GRANT SELECT ON {', '.join(EVALUATOR_VIEWS)} TO {grp}")
        conn.exec_driver_sql(f"GRANT {grp} TO {role}")
        conn.exec_driver_sql(f"ALTER ROLE {role} SET default_transaction_read_only = on")
    return list(EVALUATOR_VIEWS)
