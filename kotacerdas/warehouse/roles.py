"""The read-only evaluator role on PostgreSQL: SELECT on the evaluator views and on nothing else; a steward role
also on the steward views (the rejected rows as delivered, which evaluators do not see).

Views in PostgreSQL run with their owner's rights, so an evaluator reads a view's result without any right on
the tables behind it: not on staging (pseudonymised personal data), quarantine, lineage or the dimensions.

Least privilege also means withdrawing PostgreSQL's PUBLIC defaults on the warehouse database (TEMP, CONNECT) and
on the functions that create large objects: `default_transaction_read_only` is only a default an evaluator may
switch off, so what keeps the role from writing or creating anything is that it has no right to. What only the
server's administrator can do (CONNECT on the other databases) is listed by `server_hardening`.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from kotacerdas.errors import ConfigError
from kotacerdas.warehouse.schema import EVALUATOR_VIEWS, STEWARD_VIEWS

EVALUATOR_GROUP = "kotacerdas_evaluator"
STEWARD_GROUP = "kotacerdas_steward"  # the 0011 migration grants its views to a group of this name
# Functions any role may call by default that write to the database (large objects), even without TEMP or CREATE.
LARGE_OBJECT_WRITERS = (
    "lo_create(oid)",
    "lo_creat(integer)",
    "lo_import(text)",
    "lo_import(text, oid)",
    "lo_from_bytea(oid, bytea)",
)
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _ident(name: str) -> str:
    if not _ROLE_NAME.match(name):
        raise ConfigError(
            f"{name!r} is not a usable role name",
            hint="use lower-case letters, digits and _ (at most 63), starting with a letter or _",
        )
    return f'"{name}"'


def default_group(steward: bool) -> str:
    """The group a login joins when none is named: the stewards' or the evaluators'."""
    return STEWARD_GROUP if steward else EVALUATOR_GROUP


def grant_evaluator(
    engine: sa.Engine,
    name: str,
    *,
    group: str | None = None,
    password: str | None = None,
    steward: bool = False,
) -> list[str]:
    """Create (if needed) the NOLOGIN group `group` with SELECT on every evaluator view (with `steward`, also on the
    steward views; default group `kotacerdas_steward`, else `kotacerdas_evaluator`), and the LOGIN role `name` as
    a member of it (read-only by default). Idempotent; returns the views granted."""
    group = group or default_group(steward)
    if group == default_group(not steward):  # it would give or take the rows to every member
        raise ConfigError(
            f"group {group!r} is the {'evaluators' if steward else 'stewards'}' group",
            hint="leave out --group, or name a group of its own",
        )
    views = [*EVALUATOR_VIEWS, *(STEWARD_VIEWS if steward else ())]
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
        _withdraw_public_defaults(conn, database)
        conn.exec_driver_sql(f'GRANT CONNECT ON DATABASE "{database}" TO {grp}')
        # PostgreSQL 15 already keeps PUBLIC from creating objects in schema public; older clusters do not.
        conn.exec_driver_sql("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {grp}")
        # Start from nothing on every table and view, then grant the views: a re-run also withdraws what an
        # earlier version granted.
        conn.exec_driver_sql(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {grp}, {role}")
        conn.exec_driver_sql(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {grp}, {role}")
        conn.exec_driver_sql(f"GRANT SELECT ON {', '.join(views)} TO {grp}")
        conn.exec_driver_sql(f"GRANT {grp} TO {role}")
        if not steward:  # a steward made an evaluator again leaves the groups that read the rejected rows
            for other in _groups_reading(conn, name, STEWARD_VIEWS, besides=group):
                conn.exec_driver_sql(f"REVOKE {_ident(other)} FROM {role}")
        conn.exec_driver_sql(f"ALTER ROLE {role} SET default_transaction_read_only = on")
    return views


def _groups_reading(conn: sa.Connection, login: str, views: tuple[str, ...], *, besides: str) -> list[str]:
    """The groups `login` is a member of, other than `besides`, that may read any of `views`."""
    return list(
        conn.execute(
            sa.text(
                "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
                "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = :n AND g.rolname <> :b "
                "AND EXISTS (SELECT 1 FROM unnest(CAST(:views AS text[])) v "
                "WHERE has_table_privilege(g.oid, v, 'SELECT'))"
            ),
            {"n": login, "b": besides, "views": list(views)},
        ).scalars()
    )


def _withdraw_public_defaults(conn: sa.Connection, database: str) -> None:
    """PUBLIC may connect to and make temporary tables (and functions, in pg_temp) in every new database, and call
    the large-object writers: withdrawn here; the owner keeps its rights, the evaluators get CONNECT back."""
    db = '"' + database.replace('"', '""') + '"'
    conn.exec_driver_sql(f"REVOKE ALL ON DATABASE {db} FROM PUBLIC")
    conn.exec_driver_sql(f"GRANT CONNECT, TEMPORARY ON DATABASE {db} TO CURRENT_USER")  # the pipeline's own role
    # The large-object functions belong to the bootstrap superuser: only a superuser may revoke them.
    if conn.exec_driver_sql("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").scalar():
        for function in LARGE_OBJECT_WRITERS:
            conn.exec_driver_sql(f"REVOKE EXECUTE ON FUNCTION pg_catalog.{function} FROM PUBLIC")


def server_hardening(engine: sa.Engine) -> list[str]:
    """What a PostgreSQL administrator must still run for the evaluators (empty when nothing is left): CONNECT
    withdrawn from PUBLIC on the server's other databases, and the large-object writers if this role could not."""
    with engine.connect() as conn:
        database = conn.exec_driver_sql("SELECT current_database()").scalar_one()
        others = conn.exec_driver_sql(
            "SELECT datname FROM pg_database WHERE datallowconn AND datname <> current_database() "
            "AND has_database_privilege('public', oid, 'CONNECT') ORDER BY datname"
        ).scalars()
        todo = [f'REVOKE CONNECT ON DATABASE "{name}" FROM PUBLIC;' for name in others]
        lo_open = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_proc p WHERE p.oid = ANY(CAST(%(fs)s AS regprocedure[])) "
            "AND has_function_privilege('public', p.oid, 'EXECUTE')",
            {"fs": [f"pg_catalog.{f}" for f in LARGE_OBJECT_WRITERS]},
        ).scalar_one()
    if lo_open:
        todo += [
            f"-- in database {database}: REVOKE EXECUTE ON FUNCTION pg_catalog.{f} FROM PUBLIC;"
            for f in LARGE_OBJECT_WRITERS
        ]
    return todo
