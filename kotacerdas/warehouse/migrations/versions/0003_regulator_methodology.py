"""Regulator indices carry the methodology file that produced them and the figure as published.

`kotacerdas.regulators` tags every result with the methodology file's `name` and `version` and rounds only where
the regulator publishes a rounded figure; the tables keep both the exact value and the published text.

Revision ID: 0003
Revises: 0002
Create Date: 2025-07-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = {
    "regulator_kominfo_evaluation": [("component_type", sa.Text)],  # part | pillar | index
    "regulator_spbe": [],
    "regulator_ikm": [],
}
COMMON = [("methodology", sa.Text), ("methodology_version", sa.Text), ("published_value", sa.Text)]


def upgrade() -> None:
    for table, extra in COLUMNS.items():
        for name, typ in extra + COMMON:
            op.add_column(table, sa.Column(name, typ()))


def downgrade() -> None:
    for table, extra in COLUMNS.items():
        # DuckDB cannot drop a column of a table that has an index: drop the index around it.
        key = ["region_code", "year"] if table != "regulator_ikm" else ["region_code", "period"]
        op.drop_index(f"ix_{table}_key", table_name=table)
        for name, _ in reversed(extra + COMMON):
            op.drop_column(table, name)
        op.create_index(f"ix_{table}_key", table, key)
