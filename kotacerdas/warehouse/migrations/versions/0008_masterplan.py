"""The masterplan (issue #16): the OPDs' monthly progress reports as a staged table like the others
(`staged_masterplan_progress`), and the masterplan's status per city × month: programmes (planned vs actual
progress, budget absorption, target achievement, status), their indicators, roll-ups per city, dimension and OPD,
RPJMD alignment, and the evaluation readiness per Kominfo component. Evaluators and Bappeda read seven views:
v_masterplan_status, v_masterplan_quick_wins, v_masterplan_indicators, v_masterplan_rollups,
v_masterplan_alignment, v_masterplan_readiness (the self-assessed score beside the official one), and the OPD
reports behind a status in v_masterplan_reports. On PostgreSQL the default evaluator group
(`kotacerdas_evaluator`), if it exists, gets SELECT on them here.

New tables only: the downgrade drops them (and what the pipeline published in them).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

EVALUATOR_GROUP = "kotacerdas_evaluator"
T, F, I, B, TS = sa.Text, sa.Double, sa.BigInteger, sa.Boolean, sa.DateTime  # noqa: E741
NEW: dict[str, list[tuple[str, type]]] = {
    "staged_masterplan_progress": [
        ("city_code", T),
        ("period", T),
        ("opd_code", T),
        ("programme_code", T),
        ("physical_progress", F),
        ("budget_realised", F),
        ("indicator_code", T),
        ("indicator_value", F),
        ("evidence_url", T),
        ("_raw_file", T),
        ("_raw_row", I),
        ("_raw_sha256", T),
        ("run_id", T),
        ("published_at", TS),
    ],
    "masterplan_programme_status": [
        ("city_code", T),
        ("period", T),
        ("masterplan_version", T),
        ("dimension", T),
        ("programme_code", T),
        ("programme_name", T),
        ("opd_code", T),
        ("start_period", T),
        ("end_period", T),
        ("planned_progress", F),
        ("actual_progress", F),
        ("progress_gap", F),
        ("budget_year", F),
        ("budget_realised", F),
        ("budget_absorption", F),
        ("target_achievement", F),
        ("report_status", T),
        ("report_rows", I),
        ("status", T),
        ("status_reason", T),
        ("quick_win_stage", T),
        ("quick_win_due", T),
        ("quick_win_is_due", B),
        ("quick_win_delivered", B),
        ("rpjmd_codes", T),
        ("rules_version", T),
        ("run_id", T),
        ("published_at", TS),
    ],
    "masterplan_indicator_achievement": [
        ("city_code", T),
        ("period", T),
        ("programme_code", T),
        ("indicator_code", T),
        ("kind", T),
        ("unit", T),
        ("baseline", F),
        ("target", F),
        ("value", F),
        ("achievement", F),
        ("run_id", T),
        ("published_at", TS),
    ],
    "masterplan_rollups": [
        ("city_code", T),
        ("period", T),
        ("level", T),
        ("code", T),
        ("programmes", I),
        ("on_track", I),
        ("at_risk", I),
        ("late", I),
        ("done", I),
        ("unknown", I),
        ("planned_progress", F),
        ("actual_progress", F),
        ("budget_year", F),
        ("budget_realised", F),
        ("budget_absorption", F),
        ("quick_wins_due", I),
        ("quick_wins_delivered", I),
        ("rpjmd_linked_share", F),
        ("completeness", F),
        ("run_id", T),
        ("published_at", TS),
    ],
    "masterplan_rpjmd_alignment": [
        ("city_code", T),
        ("period", T),
        ("masterplan_version", T),
        ("rpjmd_code", T),
        ("misi", T),
        ("sasaran", T),
        ("iku_codes", T),
        ("programmes", I),
        ("programme_codes", T),
        ("served", B),
        ("run_id", T),
        ("published_at", TS),
    ],
    "masterplan_readiness": [
        ("city_code", T),
        ("period", T),
        ("component_type", T),
        ("component", T),
        ("evidence", T),
        ("ratio", F),
        ("score", F),
        ("weight", F),
        ("contribution", F),
        ("methodology", T),
        ("methodology_version", T),
        ("run_id", T),
        ("published_at", TS),
    ],
}

_REGION = "r.name AS city_name"
VIEWS: dict[str, str] = {
    "v_masterplan_status": f"""
SELECT s.city_code, {_REGION}, s.period, s.masterplan_version, s.dimension, s.programme_code, s.programme_name,
       s.opd_code, o.name AS opd_name, s.status, s.status_reason, s.report_status, s.planned_progress,
       s.actual_progress, s.progress_gap, s.budget_year, s.budget_realised, s.budget_absorption,
       s.target_achievement, s.start_period, s.end_period, s.quick_win_stage, s.quick_win_due, s.rpjmd_codes,
       s.report_rows, s.rules_version, s.run_id, s.published_at
FROM masterplan_programme_status s LEFT JOIN dim_region r ON r.region_code = s.city_code
LEFT JOIN dim_opd o ON o.opd_code = s.opd_code""",
    "v_masterplan_quick_wins": f"""
SELECT s.city_code, {_REGION}, s.period, s.quick_win_stage AS stage, s.quick_win_due AS due,
       s.quick_win_is_due AS is_due, s.quick_win_delivered AS delivered, s.programme_code, s.programme_name,
       s.dimension, s.opd_code, s.status,
       s.actual_progress, s.masterplan_version, s.run_id, s.published_at
FROM masterplan_programme_status s LEFT JOIN dim_region r ON r.region_code = s.city_code
WHERE s.quick_win_stage IS NOT NULL""",
    "v_masterplan_indicators": f"""
SELECT i.city_code, {_REGION}, i.period, i.programme_code, i.indicator_code, i.kind, i.unit, i.baseline, i.target,
       i.value, i.achievement, i.run_id, i.published_at
FROM masterplan_indicator_achievement i LEFT JOIN dim_region r ON r.region_code = i.city_code""",
    "v_masterplan_rollups": f"""
SELECT u.city_code, {_REGION}, u.period, u.level, u.code, u.programmes, u.on_track, u.at_risk, u.late, u.done,
       u.unknown, u.planned_progress, u.actual_progress, u.budget_year, u.budget_realised, u.budget_absorption,
       u.quick_wins_due, u.quick_wins_delivered, u.rpjmd_linked_share, u.completeness, u.run_id, u.published_at
FROM masterplan_rollups u LEFT JOIN dim_region r ON r.region_code = u.city_code""",
    # the OPD reports behind a status (kotacerdas masterplan explain): staged rows with their raw file
    "v_masterplan_reports": """
SELECT p.city_code, p.period, p.opd_code, p.programme_code, p.physical_progress, p.budget_realised,
       p.indicator_code, p.indicator_value, p.evidence_url, p._raw_file, p._raw_row, p._raw_sha256, p.run_id,
       p.published_at
FROM staged_masterplan_progress p""",
    "v_masterplan_alignment": f"""
SELECT a.city_code, {_REGION}, a.period, a.masterplan_version, a.rpjmd_code, a.misi, a.sasaran, a.iku_codes,
       a.programmes, a.programme_codes, a.served, a.run_id, a.published_at
FROM masterplan_rpjmd_alignment a LEFT JOIN dim_region r ON r.region_code = a.city_code""",
    # the self-assessed readiness per Kominfo component beside the official score of the year, once published
    "v_masterplan_readiness": f"""
SELECT m.city_code, {_REGION}, m.period, m.component_type, m.component, m.evidence, m.ratio, m.score AS self_score,
       k.score AS official_score, k.published_value AS official_published, m.score - k.score AS self_minus_official,
       m.weight, m.contribution, m.methodology, m.methodology_version, m.run_id, m.published_at
FROM masterplan_readiness m LEFT JOIN dim_region r ON r.region_code = m.city_code
LEFT JOIN regulator_kominfo_evaluation k ON k.city_code = m.city_code AND k.period = SUBSTR(m.period, 1, 4)
     AND k.component_type = m.component_type AND k.component = m.component""",
}


def upgrade() -> None:
    for table, columns in NEW.items():
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
    for name in reversed(list(VIEWS)):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    for table in reversed(list(NEW)):
        op.drop_index(f"ix_{table}_partition", table_name=table)
        op.drop_table(table)
