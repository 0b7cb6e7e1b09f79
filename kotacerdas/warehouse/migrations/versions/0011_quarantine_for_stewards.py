"""`quarantine.opd_code` and the view `v_quarantine`: the rejected rows, for the OPDs' data stewards.

A rejected row now carries the OPD it names, so that a steward can list their own OPD's rows (`kotacerdas
quality --opd`), and the view `v_quarantine` shows every rejected row with its OPD's name, rule, value as rejected
(personal data already pseudonymised by staging), reason, key, raw file and row and the run. It is a steward view
(`schema.STEWARD_VIEWS`), not an evaluator view: a rejected row holds what the OPD sent (free text, names and
addresses that no scrubber recognises), which evaluators do not see. On PostgreSQL the steward group, when it
exists, gets SELECT on it (`kotacerdas warehouse grant-evaluator NAME --steward` makes it). Rows published before
this revision have no OPD (`opd_code` NULL); their key (`record_key`) still names it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

STEWARD_GROUP = "kotacerdas_steward"  # kotacerdas.warehouse.roles; not imported: a revision stays as written
VIEWS: dict[str, str] = {
    "v_quarantine": """
SELECT q.city_code, q.period, q.opd_code, o.name AS opd_name, q.table_name, q.rule, q.severity, q.column_name,
       q.value, q.reason, q.record_key, q._raw_file AS raw_file, q._raw_row AS raw_row, q.run_id, q.published_at
FROM quarantine q LEFT JOIN dim_opd o ON o.opd_code = q.opd_code"""
}


def upgrade() -> None:
    op.add_column("quarantine", sa.Column("opd_code", sa.Text()))
    for name, sql in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {sql}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{STEWARD_GROUP}') THEN
    GRANT SELECT ON {", ".join(VIEWS)} TO {STEWARD_GROUP};
  END IF;
END $$""")


def downgrade() -> None:
    for name in VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {name}")
    # DuckDB cannot drop a column of a table that has an index: drop the index around it (as 0007 does).
    op.drop_index("ix_quarantine_partition", table_name="quarantine")
    op.drop_column("quarantine", "opd_code")
    op.create_index("ix_quarantine_partition", "quarantine", ["city_code", "period"])
