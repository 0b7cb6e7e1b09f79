"""Completeness: every published score and regulator figure says whether its partition's inputs were complete.

- `index_scores.status` (complete | incomplete) and `index_scores.data_coverage` (share of the indicator weight
  under the node that had a value); the regulator tables get `status` and `coverage`; `quality_gates` gets
  `status`, `coverage` and `incomplete_reason` (config/completeness.yaml, kotacerdas.quality.completeness).
  Rows published before this revision were complete by the rules of their time: they get `complete`.
- The views never compute a change against an incomplete period (NULL instead), never rank one beside complete
  ones (its ranks are NULL and it is not counted) and show `status` and coverage.
- The views round the same on every backend, half up on the decimal value as the CLI does
  (`kotacerdas.rounding`): new `*_rounded` columns (2 decimals), also for v_opd_league's scores and percentages.
  The float goes through its shortest text form, as Python's repr does, so 67.4647… gives 67.46 on DuckDB and
  PostgreSQL, and 2.675 gives 2.68.

New view columns come after the existing ones, so `CREATE OR REPLACE VIEW` keeps the evaluator role's grants on
PostgreSQL.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import importlib

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

EVALUATOR_GROUP = "kotacerdas_evaluator"  # kotacerdas.warehouse.roles' default, as of this revision
T, F = sa.Text, sa.Double
REGULATOR = ("regulator_kominfo_evaluation", "regulator_spbe", "regulator_ikm")
COLUMNS: dict[str, list[tuple[str, type]]] = {
    "index_scores": [("data_coverage", F), ("status", T)],
    "quality_gates": [("status", T), ("coverage", F), ("incomplete_reason", T)],
    **{t: [("coverage", F), ("status", T)] for t in REGULATOR},
}
DIMENSION_CODES = ("governance", "branding", "economy", "living", "society", "environment")


def half_up(expr: str, places: int = 2) -> str:
    """Portable half-up rounding of a DOUBLE: through its shortest text (as Python's repr), then DECIMAL."""
    return f"CAST(ROUND(CAST(CAST({expr} AS VARCHAR) AS DECIMAL(38,15)), {places}) AS DECIMAL(18,{places}))"


_OK = "'complete'"

VIEWS: dict[str, str] = {
    # A change only between two complete periods of the same methodology version.
    "v_scorecard": f"""
SELECT s.city_code, r.name AS city_name, r.kind, r.province_code, s.period, s.level, s.code, n.name,
       s.score, s.maturity_level, s.coverage, s.weight, s.methodology, s.methodology_version,
       p.score AS previous_score, CASE WHEN s.status = {_OK} THEN s.score - p.score END AS change_previous,
       y.score AS last_year_score, CASE WHEN s.status = {_OK} THEN s.score - y.score END AS change_last_year,
       s.run_id, s.published_at,
       s.status, s.data_coverage, {half_up("s.score")} AS score_rounded,
       {half_up(f"CASE WHEN s.status = {_OK} THEN s.score - p.score END")} AS change_previous_rounded,
       {half_up(f"CASE WHEN s.status = {_OK} THEN s.score - y.score END")} AS change_last_year_rounded
FROM index_scores s
JOIN dim_period d ON d.period = s.period
LEFT JOIN dim_region r ON r.region_code = s.city_code
LEFT JOIN dim_methodology_node n
       ON n.methodology = s.methodology AND n.version = s.methodology_version AND n.code = s.code
LEFT JOIN index_scores p
       ON p.city_code = s.city_code AND p.period = d.previous_period AND p.level = s.level AND p.code = s.code
      AND p.methodology = s.methodology AND p.methodology_version = s.methodology_version AND p.status = {_OK}
LEFT JOIN index_scores y
       ON y.city_code = s.city_code AND y.period = d.same_month_last_year AND y.level = s.level
      AND y.code = s.code AND y.methodology = s.methodology AND y.methodology_version = s.methodology_version
      AND y.status = {_OK}
WHERE s.level IN ('dimension', 'index')""",
    "v_scorecard_wide": """
SELECT city_code, city_name, kind, province_code, period, methodology, methodology_version,
       {dims},
       MAX(CASE WHEN level = 'index' THEN score END) AS index_score,
       MAX(CASE WHEN level = 'index' THEN maturity_level END) AS maturity_level,
       MAX(CASE WHEN level = 'index' THEN change_previous END) AS index_change_previous,
       MAX(CASE WHEN level = 'index' THEN change_last_year END) AS index_change_last_year,
       MAX(CASE WHEN level = 'index' THEN status END) AS status,
       MAX(CASE WHEN level = 'index' THEN data_coverage END) AS index_data_coverage,
       {dims_rounded},
       MAX(CASE WHEN level = 'index' THEN score_rounded END) AS index_score_rounded,
       MAX(CASE WHEN level = 'index' THEN change_previous_rounded END) AS index_change_previous_rounded,
       MAX(CASE WHEN level = 'index' THEN change_last_year_rounded END) AS index_change_last_year_rounded
FROM v_scorecard
GROUP BY city_code, city_name, kind, province_code, period, methodology, methodology_version""".replace(
        "{dims}",
        ",\n       ".join(
            f"MAX(CASE WHEN level = 'dimension' AND code = '{d}' THEN score END) AS {d}" for d in DIMENSION_CODES
        ),
    ).replace(
        "{dims_rounded}",
        ",\n       ".join(
            f"MAX(CASE WHEN level = 'dimension' AND code = '{d}' THEN score_rounded END) AS {d}_rounded"
            for d in DIMENSION_CODES
        ),
    ),
    # Windows run over the complete periods only; an incomplete period shows its score and NULL trend figures.
    "v_trend": f"""
WITH w AS (
  SELECT s.city_code, r.name AS city_name, s.level, s.code, s.period, s.score, s.maturity_level,
         s.methodology_version, s.status,
         AVG(s.score) OVER (PARTITION BY s.city_code, s.level, s.code, s.methodology_version, s.status
                            ORDER BY s.period ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS moving_avg_3,
         s.score - LAG(s.score) OVER (PARTITION BY s.city_code, s.level, s.code, s.methodology_version, s.status
                                      ORDER BY s.period) AS change_since_last_published,
         s.score - FIRST_VALUE(s.score) OVER (PARTITION BY s.city_code, s.level, s.code, s.methodology_version,
                                              s.status ORDER BY s.period
                                              ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS change_since_first,
         COUNT(*) OVER (PARTITION BY s.city_code, s.level, s.code, s.methodology_version, s.status ORDER BY s.period
                        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS periods_so_far
  FROM index_scores s
  LEFT JOIN dim_region r ON r.region_code = s.city_code
  WHERE s.level IN ('dimension', 'index'))
SELECT city_code, city_name, level, code, period, score, maturity_level, methodology_version,
       CASE WHEN status = {_OK} THEN moving_avg_3 END AS moving_avg_3,
       CASE WHEN status = {_OK} THEN change_since_last_published END AS change_since_last_published,
       CASE WHEN status = {_OK} THEN change_since_first END AS change_since_first,
       CASE WHEN status = {_OK} THEN periods_so_far END AS periods_so_far,
       status, {half_up("score")} AS score_rounded,
       {half_up(f"CASE WHEN status = {_OK} THEN moving_avg_3 END")} AS moving_avg_3_rounded
FROM w""",
    # Ranks among the complete cities of the period; an incomplete one is listed with its status and no rank.
    "v_ranking": f"""
WITH s AS (
  SELECT s.city_code, r.name AS city_name, r.kind, r.province_code, r.population_band, s.period, s.level,
         s.code, s.score, s.maturity_level, s.methodology_version, s.status, s.data_coverage
  FROM index_scores s LEFT JOIN dim_region r ON r.region_code = s.city_code
  WHERE s.level IN ('dimension', 'index') AND s.score IS NOT NULL),
k AS (
  SELECT s.*,
         RANK() OVER (PARTITION BY period, level, code, methodology_version, status ORDER BY score DESC) AS r_all,
         COUNT(*) OVER (PARTITION BY period, level, code, methodology_version, status) AS n_all,
         RANK() OVER (PARTITION BY period, level, code, methodology_version, status, kind ORDER BY score DESC)
             AS r_kind,
         COUNT(*) OVER (PARTITION BY period, level, code, methodology_version, status, kind) AS n_kind,
         RANK() OVER (PARTITION BY period, level, code, methodology_version, status, population_band
                      ORDER BY score DESC) AS r_band,
         COUNT(*) OVER (PARTITION BY period, level, code, methodology_version, status, population_band) AS n_band,
         RANK() OVER (PARTITION BY period, level, code, methodology_version, status, province_code
                      ORDER BY score DESC) AS r_prov,
         COUNT(*) OVER (PARTITION BY period, level, code, methodology_version, status, province_code) AS n_prov
  FROM s)
SELECT city_code, city_name, kind, province_code, population_band, period, level, code, score, maturity_level,
       methodology_version,
       CASE WHEN status = {_OK} THEN r_all END AS rank_overall,
       CASE WHEN status = {_OK} THEN n_all END AS cities_overall,
       CASE WHEN status = {_OK} THEN r_kind END AS rank_in_kind,
       CASE WHEN status = {_OK} THEN n_kind END AS cities_in_kind,
       CASE WHEN status = {_OK} THEN r_band END AS rank_in_population_band,
       CASE WHEN status = {_OK} THEN n_band END AS cities_in_population_band,
       CASE WHEN status = {_OK} THEN r_prov END AS rank_in_province,
       CASE WHEN status = {_OK} THEN n_prov END AS cities_in_province,
       status, data_coverage, {half_up("score")} AS score_rounded
FROM k""",
    "v_quality": """
SELECT g.city_code, g.period, g.table_name, g.input_rows, g.valid_rows, g.rejected_rows, g.rejected_share,
       g.threshold, g.passed, g.failed_table_rules,
       COALESCE(r.rules, 0) AS rules, COALESCE(r.error_rules_failed, 0) AS error_rules_failed,
       COALESCE(r.warn_rules_failed, 0) AS warn_rules_failed,
       g.status, g.coverage, g.incomplete_reason
FROM quality_gates g
LEFT JOIN (
  SELECT city_code, period, table_name, COUNT(*) AS rules,
         SUM(CASE WHEN NOT success AND severity = 'error' THEN 1 ELSE 0 END) AS error_rules_failed,
         SUM(CASE WHEN NOT success AND severity = 'warn' THEN 1 ELSE 0 END) AS warn_rules_failed
  FROM quality_results GROUP BY city_code, period, table_name) r
  ON r.city_code = g.city_code AND r.period = g.period AND r.table_name = g.table_name""",
}
_REGION = "r.name AS city_name, r.kind, r.province_code"
VIEWS |= {
    "v_regulator_kominfo": f"""
SELECT k.city_code, {_REGION}, k.period AS year, k.component_type, k.component, k.published_value, k.score,
       k.weight, k.contribution, k.methodology, k.methodology_version, k.source, k.run_id, k.published_at,
       k.status, k.coverage, {half_up("k.score")} AS score_rounded
FROM regulator_kominfo_evaluation k LEFT JOIN dim_region r ON r.region_code = k.city_code""",
    "v_regulator_spbe": f"""
SELECT s.city_code, {_REGION}, s.period AS year, s.assessor, s.component_type, s.component, s.domain,
       s.published_value, s.predicate, s.score, s.weight, s.methodology, s.methodology_version, s.source, s.run_id,
       s.published_at, s.status, s.coverage, {half_up("s.score")} AS score_rounded
FROM regulator_spbe s LEFT JOIN dim_region r ON r.region_code = s.city_code""",
    "v_regulator_ikm": f"""
SELECT i.city_code, {_REGION}, i.period AS year, i.opd_code, o.name AS opd_name, i.service_code,
       i.published_value, i.grade, i.performance, i.score, i.respondents, i.months_covered, i.methodology,
       i.methodology_version, i.source, i.run_id, i.published_at, i.status, i.coverage,
       {half_up("i.score")} AS score_rounded
FROM regulator_ikm i LEFT JOIN dim_region r ON r.region_code = i.city_code
LEFT JOIN dim_opd o ON o.opd_code = i.opd_code""",
}


_STAR = importlib.import_module("kotacerdas.warehouse.migrations.versions.0002_star_schema").VIEWS
# v_opd_league as 0002 made it, with its percentages and mean score rounded after its existing columns
_LEAGUE_ROUNDED = ", ".join(
    f"{half_up(c)} AS {c}_rounded"
    for c in ("mean_indicator_score", "online_pct", "sla_compliance_pct", "complaints_resolved_pct", "rejected_pct")
)
assert _STAR["v_opd_league"].rstrip().endswith("FROM j")
VIEWS["v_opd_league"] = _STAR["v_opd_league"].rstrip()[: -len("FROM j")] + f"       , {_LEAGUE_ROUNDED}\nFROM j"


def _previous_views() -> dict[str, str]:
    """The definitions this revision replaces (0002's and 0006's), for the downgrade."""
    regulators = importlib.import_module("kotacerdas.warehouse.migrations.versions.0006_regulator_facts").VIEWS
    return {name: _STAR.get(name) or regulators[name] for name in VIEWS}


def _grant(views) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{EVALUATOR_GROUP}') THEN
    GRANT SELECT ON {", ".join(views)} TO {EVALUATOR_GROUP};
  END IF;
END $$""")


def upgrade() -> None:
    for table, columns in COLUMNS.items():
        for name, typ in columns:
            op.add_column(table, sa.Column(name, typ()))
    for table in ("index_scores", "quality_gates", *REGULATOR):
        op.execute(f"UPDATE {table} SET status = 'complete'")
    for name, sql in VIEWS.items():
        op.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")


def downgrade() -> None:
    # A view cannot lose columns in place (PostgreSQL), and no column it reads can be dropped: drop them first.
    for name in reversed(list(VIEWS)):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    for table, columns in COLUMNS.items():
        # DuckDB cannot drop a column of a table that has an index: drop the index around it.
        op.drop_index(f"ix_{table}_partition", table_name=table)
        for name, _ in reversed(columns):
            op.drop_column(table, name)
        op.create_index(f"ix_{table}_partition", table, ["city_code", "period"])
    previous = _previous_views()
    for name in VIEWS:
        op.execute(f"CREATE VIEW {name} AS {previous[name]}")
    _grant(VIEWS)
