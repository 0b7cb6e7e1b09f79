"""Regulator indices become partition facts: keyed (city_code, period) like every published table, one row per
component (Kominfo part / pillar / index; SPBE aspect / domain / index per assessor; IKM per service / OPD / city),
the exact value beside the figure as published, and what it was computed from.

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

T, F, I, TS = sa.Text, sa.Double, sa.BigInteger, sa.DateTime  # noqa: E741
STAMP = [("methodology", T), ("methodology_version", T), ("source", T), ("run_id", T), ("published_at", TS)]
NEW: dict[str, list[tuple[str, type]]] = {
    "regulator_kominfo_evaluation": [
        ("city_code", T), ("period", T), ("component_type", T), ("component", T), ("weight", F), ("score", F),
        ("contribution", F), ("published_value", T), *STAMP],
    "regulator_spbe": [
        ("city_code", T), ("period", T), ("assessor", T), ("component_type", T), ("component", T), ("domain", T),
        ("weight", F), ("score", F), ("published_value", T), ("predicate", T), *STAMP],
    "regulator_ikm": [
        ("city_code", T), ("period", T), ("opd_code", T), ("service_code", T), ("respondents", I),
        ("months_covered", I), ("score", F), ("published_value", T), ("grade", T), ("performance", T), *STAMP],
}
# As 0002 created them and 0003 extended them (for the downgrade).
OLD: dict[str, tuple[list[tuple], list[str]]] = {
    "regulator_kominfo_evaluation": ([
        ("region_code", T, False), ("year", I, False), ("dimension", T, False), ("score", F),
        ("maturity_level", I), ("source", T), ("run_id", T), ("published_at", TS), ("component_type", T),
        ("methodology", T), ("methodology_version", T), ("published_value", T),
    ], ["region_code", "year"]),
    "regulator_spbe": ([
        ("region_code", T, False), ("year", I, False), ("index_score", F), ("predicate", T), ("source", T),
        ("run_id", T), ("published_at", TS), ("methodology", T), ("methodology_version", T),
        ("published_value", T),
    ], ["region_code", "year"]),
    "regulator_ikm": ([
        ("region_code", T, False), ("period", T, False), ("opd_code", T), ("service_code", T), ("ikm_score", F),
        ("grade", T), ("performance", T), ("respondents", I), ("source", T), ("run_id", T), ("published_at", TS),
        ("methodology", T), ("methodology_version", T), ("published_value", T),
    ], ["region_code", "period"]),
}


def _refuse_if_filled(table: str) -> None:
    rows = op.get_bind().exec_driver_sql(f'SELECT count(*) FROM "{table}"').scalar_one()
    if rows:
        raise RuntimeError(
            f"migration 0006 replaces {table}, which holds {rows} row(s) the pipeline did not write: export them "
            f"(e.g. COPY {table} TO a CSV), empty the table, run `kotacerdas warehouse upgrade` again, then load "
            "them into the new columns")


def upgrade() -> None:
    for table in NEW:
        _refuse_if_filled(table)
    for table, columns in NEW.items():
        op.drop_index(f"ix_{table}_key", table_name=table)
        op.drop_table(table)
        op.create_table(table, *(sa.Column(n, t(), nullable=n not in ("city_code", "period")) for n, t in columns))
        op.create_index(f"ix_{table}_partition", table, ["city_code", "period"])


def downgrade() -> None:
    for table in NEW:
        _refuse_if_filled(table)
    for table, (columns, key) in OLD.items():
        op.drop_index(f"ix_{table}_partition", table_name=table)
        op.drop_table(table)
        op.create_table(table, *(sa.Column(c[0], c[1](), nullable=c[2] if len(c) > 2 else True) for c in columns))
        op.create_index(f"ix_{table}_key", table, key)
