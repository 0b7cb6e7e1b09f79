"""v_lineage_rows joins each staged table on its own instead of their UNION ALL: same rows, same columns.

0002's view joined `indicator_lineage` with a UNION ALL of the staged tables whose `table_name` is a constant per
branch. On PostgreSQL that join cannot use the constant, so the planner matched lineage rows with every staged row
of the same raw file and filtered afterwards: reading the lineage of 64 cities × one month (the scorecards' read,
`kotacerdas.report.explain.read_lineage`) took 8.3 s on a 100-city warehouse, 22 million rows removed by the join
filter, and 53 s a read during the run that had just published them (issue #15). Here each staged table is a LEFT
JOIN of its own, on the lineage rows of its table only; the staged columns are taken from the one that matched.
At most one table matches a lineage row, so every row of 0002's view is here once, with the same values: 2.1 s
for the same read, and `tests/test_lineage.py` reads it on DuckDB and PostgreSQL.

Views only: the downgrade puts 0002's definition back.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import importlib

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

EVALUATOR_GROUP = "kotacerdas_evaluator"
# (staged table, its record id column, alias): the tables 0002's UNION ALL held, in its order
STAGED = (
    ("service_requests", "request_id", "sr"),
    ("complaints", "complaint_id", "cp"),
    ("satisfaction_responses", "response_id", "sv"),
    ("indicator_submissions", "indicator_code", "sb"),
)


def _coalesce(column: str | None = None) -> str:
    return "COALESCE(" + ", ".join(f"{alias}.{column or record}" for _, record, alias in STAGED) + ")"


_JOINS = "\n".join(
    f"LEFT JOIN staged_{table} {a} ON l.table_name = '{table}' AND {a}.city_code = l.city_code"
    f" AND {a}.period = l.period AND {a}._raw_file = l._raw_file AND {a}._raw_row = l._raw_row"
    for table, _, a in STAGED
)
VIEWS: dict[str, str] = {
    "v_lineage_rows": f"""
SELECT l.city_code, l.period, l.indicator_code, l.table_name, l.in_numerator, {_coalesce("opd_code")} AS opd_code,
       {_coalesce()} AS record_id, l._raw_file AS raw_file, l._raw_row AS raw_row,
       {_coalesce("_raw_sha256")} AS raw_sha256, rf.source, rf.origin, rf.fetched_at
FROM indicator_lineage l
{_JOINS}
LEFT JOIN raw_files rf ON rf.city_code = l.city_code AND rf.period = l.period AND rf.raw_file = l._raw_file""",
}


def _grant() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{EVALUATOR_GROUP}') THEN
    GRANT SELECT ON {", ".join(VIEWS)} TO {EVALUATOR_GROUP};
  END IF;
END $$""")


def _replace(views: dict[str, str]) -> None:
    # in place: the same columns with the same types, so PostgreSQL keeps every grant on the view (an evaluator
    # group of another name included)
    for name, sql in views.items():
        op.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")
    _grant()


def upgrade() -> None:
    _replace(VIEWS)


def downgrade() -> None:
    star = importlib.import_module("kotacerdas.warehouse.migrations.versions.0002_star_schema").VIEWS
    _replace({name: star[name] for name in VIEWS})
