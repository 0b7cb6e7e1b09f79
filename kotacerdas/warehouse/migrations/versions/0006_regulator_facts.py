"""Regulator indices become partition facts: keyed (city_code, period) like every published table, one row per
component (Kominfo part / pillar / index; SPBE aspect / domain / index per assessor; IKM per service / OPD / city),
the exact value beside the figure as published, and what it was computed from.

Evaluators read them through three views, `v_regulator_kominfo`, `v_regulator_spbe`, `v_regulator_ikm`, with the
region's name, kind and province beside the code. On PostgreSQL the default evaluator group
(`kotacerdas_evaluator`), if it exists, gets SELECT on them here; a group of another name gets it from
`kotacerdas warehouse grant-evaluator NAME --group GROUP` (which grants every evaluator view, old and new).

The downgrade is refused once the pipeline has published regulator rows (they would not fit the old tables):
export them first if you really need to go back.

The tables of 0002/0003 were created empty for later use and nothing in the pipeline wrote them. They are
replaced; if someone loaded rows into them by hand, the upgrade stops and says so, rather than drop those rows.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

EVALUATOR_GROUP = "kotacerdas_evaluator"  # kotacerdas.warehouse.roles' default, as of this revision
T, F, I, TS = sa.Text, sa.Double, sa.BigInteger, sa.DateTime  # noqa: E741
STAMP = [("methodology", T), ("methodology_version", T), ("source", T), ("run_id", T), ("published_at", TS)]
NEW: dict[str, list[tuple[str, type]]] = {
    "regulator_kominfo_evaluation": [
        ("city_code", T),
        ("period", T),
        ("component_type", T),
        ("component", T),
        ("weight", F),
        ("score", F),
        ("contribution", F),
        ("published_value", T),
        *STAMP,
    ],
    "regulator_spbe": [
        ("city_code", T),
        ("period", T),
        ("assessor", T),
        ("component_type", T),
        ("component", T),
        ("domain", T),
        ("weight", F),
        ("score", F),
        ("published_value", T),
        ("predicate", T),
        *STAMP,
    ],
    "regulator_ikm": [
        ("city_code", T),
        ("period", T),
        ("opd_code", T),
        ("service_code", T),
        ("respondents", I),
        ("months_covered", I),
        ("score", F),
        ("published_value", T),
        ("grade", T),
        ("performance", T),
        *STAMP,
    ],
}
# As 0002 created them and 0003 extended them (for the downgrade).
OLD: dict[str, tuple[list[tuple], list[str]]] = {
    "regulator_kominfo_evaluation": (
        [
            ("region_code", T, False),
            ("year", I, False),
            ("dimension", T, False),
            ("score", F),
            ("maturity_level", I),
            ("source", T),
            ("run_id", T),
            ("published_at", TS),
            ("component_type", T),
            ("methodology", T),
            ("methodology_version", T),
            ("published_value", T),
        ],
        ["region_code", "year"],
    ),
    "regulator_spbe": (
        [
            ("region_code", T, False),
            ("year", I, False),
            ("index_score", F),
            ("predicate", T),
            ("source", T),
            ("run_id", T),
            ("published_at", TS),
            ("methodology", T),
            ("methodology_version", T),
            ("published_value", T),
        ],
        ["region_code", "year"],
    ),
    "regulator_ikm": (
        [
            ("region_code", T, False),
            ("period", T, False),
            ("opd_code", T),
            ("service_code", T),
            ("ikm_score", F),
            ("grade", T),
            ("performance", T),
            ("respondents", I),
            ("source", T),
            ("run_id", T),
            ("published_at", TS),
            ("methodology", T),
            ("methodology_version", T),
            ("published_value", T),
        ],
        ["region_code", "period"],
    ),
}


# Region names beside the codes; the figure as published first, the exact value and its provenance after it.
_REGION = "r.name AS city_name, r.kind, r.province_code"
VIEWS: dict[str, str] = {
    "v_regulator_kominfo": f"""
SELECT k.city_code, {_REGION}, k.period AS year, k.component_type, k.component, k.published_value, k.score,
       k.weight, k.contribution, k.methodology, k.methodology_version, k.source, k.run_id, k.published_at
FROM regulator_kominfo_evaluation k LEFT JOIN dim_region r ON r.region_code = k.city_code""",
    "v_regulator_spbe": f"""
SELECT s.city_code, {_REGION}, s.period AS year, s.assessor, s.component_type, s.component, s.domain,
       s.published_value, s.predicate, s.score, s.weight, s.methodology, s.methodology_version, s.source, s.run_id,
       s.published_at
FROM regulator_spbe s LEFT JOIN dim_region r ON r.region_code = s.city_code""",
    "v_regulator_ikm": f"""
SELECT i.city_code, {_REGION}, i.period AS year, i.opd_code, o.name AS opd_name, i.service_code,
       i.published_value, i.grade, i.performance, i.score, i.respondents, i.months_covered, i.methodology,
       i.methodology_version, i.source, i.run_id, i.published_at
FROM regulator_ikm i LEFT JOIN dim_region r ON r.region_code = i.city_code
LEFT JOIN dim_opd o ON o.opd_code = i.opd_code""",
}


def _refuse_if_filled(table: str) -> None:
    rows = op.get_bind().exec_driver_sql(f'SELECT count(*) FROM "{table}"').scalar_one()
    if rows:
        raise RuntimeError(
            f"migration 0006 replaces {table}, which holds {rows} row(s) the pipeline did not write: export them "
            f"(e.g. COPY {table} TO a CSV), empty the table, run `kotacerdas warehouse upgrade` again, then load "
            "them into the new columns"
        )


def upgrade() -> None:
    for table in NEW:
        _refuse_if_filled(table)
    for table, columns in NEW.items():
        op.drop_index(f"ix_{table}_key", table_name=table)
        op.drop_table(table)
        op.create_table(table, *(sa.Column(n, t(), nullable=n not in ("city_code", "period")) for n, t in columns))
        op.create_index(f"ix_{table}_partition", table, ["city_code", "period"])
    for name, sql in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {sql}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{EVALUATOR_GROUP}') THEN
    GRANT SELECT ON {", ".join(VIEWS)} TO {EVALUATOR_GROUP};
  END IF;
END $$""")


def downgrade() -> None:
    for table in NEW:
        _refuse_if_filled(table)
    for name in reversed(list(VIEWS)):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    for table, (columns, key) in OLD.items():
        op.drop_index(f"ix_{table}_partition", table_name=table)
        op.drop_table(table)
        op.create_table(table, *(sa.Column(c[0], c[1](), nullable=c[2] if len(c) > 2 else True) for c in columns))
        op.create_index(f"ix_{table}_key", table, key)
