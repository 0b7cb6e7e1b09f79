"""Quality results say what table-level rules observed; OPD timeliness gets due date, received time and status.

`quality_results`: `observed_value` (latest timestamp, rows delivered, …) and `details` (the bounds checked, or the
volume rule's note such as "no history"). `opd_timeliness` (DHIS2-style, kotacerdas.quality.timeliness): `due_at`,
`received_at`, `status` (on_time | late | missing | pending | not_expected), `on_time`, `late`, `missing`,
`days_late`. The view `v_opd_quality` shows the new timeliness columns after its existing ones (so
`CREATE OR REPLACE VIEW` keeps the evaluator role's grants on PostgreSQL).

Revision ID: 0004
Revises: 0003
Create Date: 2025-07-15
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

T, F, TS, B = sa.Text, sa.Double, sa.DateTime, sa.Boolean
COLUMNS: dict[str, list[tuple[str, type[sa.types.TypeEngine]]]] = {
    "quality_results": [("observed_value", T), ("details", T)],
    "opd_timeliness": [
        ("due_at", TS),
        ("received_at", TS),
        ("status", T),
        ("on_time", B),
        ("late", B),
        ("missing", B),
        ("days_late", F),
    ],
}

V_OPD_QUALITY_0002 = """
SELECT t.city_code, t.period, t.opd_code, d.name AS opd_name, t.table_name, t.expected, t.delivered,
       t.raw_files, t.rows_delivered, t.rows_valid, t.rows_rejected,
       CAST(100.0 * t.rows_rejected / NULLIF(t.rows_delivered, 0) AS DOUBLE PRECISION) AS rejected_pct,
       t.first_fetched_at, t.days_after_period_end, t.failure_message
FROM opd_timeliness t LEFT JOIN dim_opd d ON d.opd_code = t.opd_code"""

V_OPD_QUALITY = """
SELECT t.city_code, t.period, t.opd_code, d.name AS opd_name, t.table_name, t.expected, t.delivered,
       t.raw_files, t.rows_delivered, t.rows_valid, t.rows_rejected,
       CAST(100.0 * t.rows_rejected / NULLIF(t.rows_delivered, 0) AS DOUBLE PRECISION) AS rejected_pct,
       t.first_fetched_at, t.days_after_period_end, t.failure_message,
       t.due_at, t.received_at, t.status, t.on_time, t.late, t.missing, t.days_late
FROM opd_timeliness t LEFT JOIN dim_opd d ON d.opd_code = t.opd_code"""


def upgrade() -> None:
    for table, columns in COLUMNS.items():
        for name, typ in columns:
            op.add_column(table, sa.Column(name, typ()))
    op.execute(f"CREATE OR REPLACE VIEW v_opd_quality AS {V_OPD_QUALITY}")


def downgrade() -> None:
    # A view cannot lose columns in place (PostgreSQL), and no column it reads can be dropped: drop it first.
    op.execute("DROP VIEW IF EXISTS v_opd_quality")
    for table, columns in COLUMNS.items():
        # DuckDB cannot drop a column of a table that has an index: drop the index around it.
        op.drop_index(f"ix_{table}_partition", table_name=table)
        for name, _ in reversed(columns):
            op.drop_column(table, name)
        op.create_index(f"ix_{table}_partition", table, ["city_code", "period"])
    op.execute(f"CREATE VIEW v_opd_quality AS {V_OPD_QUALITY_0002}")
