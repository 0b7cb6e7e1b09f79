"""`quality_gates.warn_threshold` and `v_quality.warns`: the early warning of a table's error check, in SQL too.

Since 2026-12-06 a table's `error_rules_within_threshold` check fails as a WARN (the partition flows on) when its
share of rejected rows passes the warning level (`warn_rejected_share` of config/quality.yaml; default half the
table's threshold). `quality_gates.warn_threshold` keeps that level per partition, and `v_quality` shows it and
`warns`: passed, with a share of rejected rows above the level. Both come after the view's existing columns, so
`CREATE OR REPLACE VIEW` keeps the evaluator role's grants on PostgreSQL. Rows published before this revision have
no level: `warn_threshold` is NULL, and `warns` is NULL for those that passed (false for those that did not).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import importlib

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# 0007 made the v_quality this revision extends, and grants views to the evaluator group as this one does
_0007 = importlib.import_module("kotacerdas.warehouse.migrations.versions.0007_completeness")
_PREVIOUS = _0007.VIEWS["v_quality"]
_LAST = "g.incomplete_reason\nFROM quality_gates g"
if _LAST not in _PREVIOUS:  # 0007's definition is what this revision extends
    raise RuntimeError("v_quality of revision 0007 is not the one 0010 was written against")
VIEWS: dict[str, str] = {
    "v_quality": _PREVIOUS.replace(
        _LAST,
        "g.incomplete_reason, g.warn_threshold,\n"
        "       (g.passed AND g.rejected_share > g.warn_threshold) AS warns\nFROM quality_gates g",
    )
}


def upgrade() -> None:
    op.add_column("quality_gates", sa.Column("warn_threshold", sa.Double()))
    for name, sql in VIEWS.items():
        op.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")
    _0007._grant(VIEWS)


def downgrade() -> None:
    # A view cannot lose columns in place (PostgreSQL), nor can a column it reads be dropped: the view goes first.
    op.execute("DROP VIEW IF EXISTS v_quality")
    # DuckDB cannot drop a column of a table that has an index: drop the index around it (as 0007 does).
    op.drop_index("ix_quality_gates_partition", table_name="quality_gates")
    op.drop_column("quality_gates", "warn_threshold")
    op.create_index("ix_quality_gates_partition", "quality_gates", ["city_code", "period"])
    op.execute(f"CREATE VIEW v_quality AS {_PREVIOUS}")
    _0007._grant(VIEWS)
