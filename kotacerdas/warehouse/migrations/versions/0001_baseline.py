"""Baseline: the five partitioned fact tables of the walking skeleton (as `metadata.create_all` made them).

A warehouse created before migrations existed has exactly these tables and no `alembic_version`;
`kotacerdas.warehouse.migrate` stamps it at this revision and upgrades from here.

Revision ID: 0001
Revises:
Create Date: 2025-06-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

T, F, I, TS = sa.Text, sa.Double, sa.BigInteger, sa.DateTime  # noqa: E741 - column type shorthands

TABLES: dict[str, list[tuple[str, type]]] = {
    "indicator_values": [
        ("city_code", T),
        ("period", T),
        ("indicator_code", T),
        ("dimension", T),
        ("element", T),
        ("unit", T),
        ("value", F),
        ("numerator", F),
        ("denominator", F),
        ("rows_used", I),
        ("source_table", T),
        ("status", T),
        ("catalog_version", T),
    ],
    "index_scores": [
        ("city_code", T),
        ("period", T),
        ("level", T),
        ("code", T),
        ("parent_code", T),
        ("score", F),
        ("weight", F),
        ("coverage", F),
        ("maturity_level", I),
        ("methodology", T),
        ("methodology_version", T),
    ],
    "quarantine": [
        ("table_name", T),
        ("city_code", T),
        ("period", T),
        ("rule", T),
        ("severity", T),
        ("column_name", T),
        ("value", T),
        ("reason", T),
        ("record_key", T),
        ("_raw_file", T),
        ("_raw_row", I),
    ],
    "raw_files": [
        ("city_code", T),
        ("period", T),
        ("table_name", T),
        ("source", T),
        ("raw_file", T),
        ("sha256", T),
        ("origin", T),
        ("row_count", I),
        ("fetched_at", TS),
    ],
    "ingest_failures": [
        ("city_code", T),
        ("period", T),
        ("table_name", T),
        ("source", T),
        ("opd_code", T),
        ("origin", T),
        ("message", T),
        ("hint", T),
    ],
}
RUN = [("run_id", T), ("published_at", TS)]


def upgrade() -> None:
    for name, cols in TABLES.items():
        op.create_table(name, *(sa.Column(c, t(), nullable=c not in ("city_code", "period")) for c, t in cols + RUN))
        op.create_index(f"ix_{name}_partition", name, ["city_code", "period"])


def downgrade() -> None:
    for name in reversed(list(TABLES)):
        op.drop_index(f"ix_{name}_partition", table_name=name)
        op.drop_table(name)
