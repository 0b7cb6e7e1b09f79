"""Staged rows of the three tables the ingestion issue adds: the monthly service catalogue and the yearly SPBE
assessments and Kominfo evaluation scores.

`staged_service_catalogue` is published with the other staged tables of a city × month partition.
`staged_spbe_assessments` and `staged_evaluation_scores` are partitioned by city × year (`period` = YYYY), like
every fact table by (city_code, period), so that a yearly publish step can replace a city's year in one
transaction with `publish_partition`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

T, F, I, TS, B = sa.Text, sa.Double, sa.BigInteger, sa.DateTime, sa.Boolean  # noqa: E741
RUN = [("run_id", T), ("published_at", TS)]
LINEAGE = [("_raw_file", T), ("_raw_row", I), ("_raw_sha256", T)]

FACTS: dict[str, list[tuple[str, type]]] = {
    "staged_service_catalogue": [
        ("city_code", T),
        ("period", T),
        ("opd_code", T),
        ("service_code", T),
        ("service_name", T),
        ("sla_days", I),
        ("online", B),
        ("as_of", T),
        *LINEAGE,
    ],
    "staged_spbe_assessments": [
        ("city_code", T),
        ("period", T),
        ("indicator_number", I),
        ("level", I),
        ("assessor", T),
        ("evidence_ref", T),
        *LINEAGE,
    ],
    "staged_evaluation_scores": [
        ("city_code", T),
        ("period", T),
        ("part", T),
        ("item", T),
        ("score", F),
        ("evaluator", T),
        *LINEAGE,
    ],
}


def upgrade() -> None:
    for name, spec in FACTS.items():
        op.create_table(name, *(sa.Column(c, t(), nullable=c not in ("city_code", "period")) for c, t in spec + RUN))
        op.create_index(f"ix_{name}_partition", name, ["city_code", "period"])


def downgrade() -> None:
    for name in reversed(list(FACTS)):
        op.drop_index(f"ix_{name}_partition", table_name=name)
        op.drop_table(name)
