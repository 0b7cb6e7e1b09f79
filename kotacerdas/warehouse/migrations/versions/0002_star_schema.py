"""Star schema: dimensions, staged rows and lineage, quality and OPD timeliness, regulator indices, evaluator views.

Revision ID: 0002
Revises: 0001
Create Date: 2025-06-15
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

T, F, I, TS, B, D = sa.Text, sa.Double, sa.BigInteger, sa.DateTime, sa.Boolean, sa.Date  # noqa: E741
RUN = [("run_id", T), ("published_at", TS)]
LINEAGE = [("_raw_file", T), ("_raw_row", I), ("_raw_sha256", T)]

INDICATOR_VALUE_EXTRA = [
    ("normalised_score", F),
    ("weight", F),
    ("methodology", T),
    ("methodology_version", T),
    ("quality_flag", T),
    ("rejected_share", F),
    ("delivery_coverage", F),
]

FACTS: dict[str, list[tuple[str, type]]] = {
    "staged_service_requests": [
        ("city_code", T),
        ("period", T),
        ("request_id", T),
        ("opd_code", T),
        ("service_code", T),
        ("channel", T),
        ("status", T),
        ("submitted_at", TS),
        ("completed_at", TS),
        ("sla_days", I),
        ("applicant_nik", T),
        ("applicant_phone", T),
        *LINEAGE,
    ],
    "staged_complaints": [
        ("city_code", T),
        ("period", T),
        ("complaint_id", T),
        ("opd_code", T),
        ("category", T),
        ("status", T),
        ("received_at", TS),
        ("first_response_at", TS),
        ("resolved_at", TS),
        ("reporter_email", T),
        *LINEAGE,
    ],
    "staged_satisfaction_responses": [
        ("city_code", T),
        ("period", T),
        ("response_id", T),
        ("opd_code", T),
        ("service_code", T),
        ("surveyed_at", TS),
        *((f"u{i}", I) for i in range(1, 10)),
        *LINEAGE,
    ],
    "staged_indicator_submissions": [
        ("city_code", T),
        ("period", T),
        ("opd_code", T),
        ("indicator_code", T),
        ("value", F),
        ("unit", T),
        ("evidence_ref", T),
        *LINEAGE,
    ],
    "indicator_lineage": [
        ("city_code", T),
        ("period", T),
        ("indicator_code", T),
        ("table_name", T),
        ("_raw_file", T),
        ("_raw_row", I),
        ("in_numerator", B),
    ],
    "quality_results": [
        ("city_code", T),
        ("period", T),
        ("table_name", T),
        ("rule", T),
        ("severity", T),
        ("success", B),
        ("element_count", I),
        ("unexpected_count", I),
        ("unexpected_percent", F),
    ],
    "quality_gates": [
        ("city_code", T),
        ("period", T),
        ("table_name", T),
        ("input_rows", I),
        ("valid_rows", I),
        ("rejected_rows", I),
        ("rejected_share", F),
        ("threshold", F),
        ("passed", B),
        ("failed_table_rules", T),
    ],
    "opd_timeliness": [
        ("city_code", T),
        ("period", T),
        ("opd_code", T),
        ("table_name", T),
        ("expected", B),
        ("delivered", B),
        ("raw_files", I),
        ("rows_delivered", I),
        ("rows_valid", I),
        ("rows_rejected", I),
        ("first_fetched_at", TS),
        ("days_after_period_end", F),
        ("failure_message", T),
    ],
}

# name -> (columns, primary key); a column spec is (name, type) or (name, type, nullable)
DIMENSIONS: dict[str, tuple[list[tuple], list[str]]] = {
    "dim_region": (
        [
            ("region_code", T),
            ("bps_code", T),
            ("name", T, False),
            ("level", T, False),
            ("kind", T),
            ("parent_code", T),
            ("province_code", T),
            ("population", I),
            ("population_male", I),
            ("population_female", I),
            ("area_km2", F),
            ("population_band", T),
            ("loaded_at", TS),
        ],
        ["region_code"],
    ),
    "dim_opd": (
        [
            ("opd_code", T),
            ("name", T, False),
            ("datasets", T),
            ("services", I),
            ("online_services", I),
            ("loaded_at", TS),
        ],
        ["opd_code"],
    ),
    "dim_service": (
        [
            ("service_code", T),
            ("opd_code", T, False),
            ("name", T, False),
            ("sla_days", I),
            ("online", B),
            ("loaded_at", TS),
        ],
        ["service_code"],
    ),
    "dim_indicator": (
        [
            ("indicator_code", T),
            ("catalog_version", T),
            ("name_id", T),
            ("name_en", T),
            ("dimension", T),
            ("element", T),
            ("unit", T),
            ("direction", I),
            ("producer_opd", T),
            ("method_type", T),
            ("source_table", T),
            ("method", T),
            ("goalpost_worst", F),
            ("goalpost_best", F),
            ("weight", F),
            ("loaded_at", TS),
        ],
        ["indicator_code", "catalog_version"],
    ),
    "dim_period": (
        [
            ("period", T),
            ("year", I, False),
            ("month", I, False),
            ("quarter", I, False),
            ("start_date", D, False),
            ("end_date", D, False),
            ("previous_period", T, False),
            ("same_month_last_year", T, False),
        ],
        ["period"],
    ),
    "dim_methodology": (
        [
            ("methodology", T),
            ("version", T),
            ("description", T),
            ("normalisation", T),
            ("aggregation", T),
            ("min_coverage", F),
            ("definition", T),
            ("sha256", T),
            ("loaded_at", TS),
        ],
        ["methodology", "version"],
    ),
    "dim_methodology_node": (
        [
            ("methodology", T),
            ("version", T),
            ("code", T),
            ("level", T, False),
            ("parent_code", T),
            ("name", T),
            ("weight", F),
        ],
        ["methodology", "version", "code"],
    ),
    "dim_maturity_level": (
        [
            ("methodology", T),
            ("version", T),
            ("level", I),
            ("min_score", F, False),
            ("max_score", F),
        ],
        ["methodology", "version", "level"],
    ),
    "reference_loads": (
        [
            ("name", T),
            ("sha256", T, False),
            ("rows", I),
            ("loaded_at", TS),
        ],
        ["name"],
    ),
}

REGULATOR: dict[str, tuple[list[tuple], list[str]]] = {
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
        ],
        ["region_code", "period"],
    ),
}

PERIODS = range(2000, 2100)  # dim_period: every month of these years

# --- evaluator views (portable SQL: the same text runs on PostgreSQL and DuckDB) -----------------------------

STAGED_UNION = " UNION ALL ".join(
    f"SELECT '{table}' AS table_name, city_code, period, opd_code, {record} AS record_id, "
    f"_raw_file, _raw_row, _raw_sha256 FROM staged_{table}"
    for table, record in (
        ("service_requests", "request_id"),
        ("complaints", "complaint_id"),
        ("satisfaction_responses", "response_id"),
        ("indicator_submissions", "indicator_code"),
    )
)
DIMENSION_CODES = ("governance", "branding", "economy", "living", "society", "environment")

VIEWS: dict[str, str] = {
    "v_region": """
SELECT region_code, bps_code, name, level, kind, parent_code, province_code, population, area_km2,
       population_band
FROM dim_region""",
    "v_indicator": """
SELECT indicator_code, catalog_version, name_id, name_en, dimension, element, unit, direction, producer_opd,
       method_type, source_table, method, goalpost_worst, goalpost_best, weight
FROM dim_indicator""",
    "v_methodology": """
SELECT n.methodology, n.version, n.level, n.code, n.parent_code, n.name, n.weight AS configured_weight,
       m.normalisation, m.aggregation, m.min_coverage, m.description
FROM dim_methodology_node n
JOIN dim_methodology m ON m.methodology = n.methodology AND m.version = n.version""",
    # Change since the previous month and the same month a year earlier: only against a score made by the
    # same methodology version (NULL otherwise), since scores of different versions are not comparable.
    "v_scorecard": """
SELECT s.city_code, r.name AS city_name, r.kind, r.province_code, s.period, s.level, s.code, n.name,
       s.score, s.maturity_level, s.coverage, s.weight, s.methodology, s.methodology_version,
       p.score AS previous_score, s.score - p.score AS change_previous,
       y.score AS last_year_score, s.score - y.score AS change_last_year, s.run_id, s.published_at
FROM index_scores s
JOIN dim_period d ON d.period = s.period
LEFT JOIN dim_region r ON r.region_code = s.city_code
LEFT JOIN dim_methodology_node n
       ON n.methodology = s.methodology AND n.version = s.methodology_version AND n.code = s.code
LEFT JOIN index_scores p
       ON p.city_code = s.city_code AND p.period = d.previous_period AND p.level = s.level AND p.code = s.code
      AND p.methodology = s.methodology AND p.methodology_version = s.methodology_version
LEFT JOIN index_scores y
       ON y.city_code = s.city_code AND y.period = d.same_month_last_year AND y.level = s.level
      AND y.code = s.code AND y.methodology = s.methodology AND y.methodology_version = s.methodology_version
WHERE s.level IN ('dimension', 'index')""",
    "v_scorecard_wide": """
SELECT city_code, city_name, kind, province_code, period, methodology, methodology_version,
       {dims},
       MAX(CASE WHEN level = 'index' THEN score END) AS index_score,
       MAX(CASE WHEN level = 'index' THEN maturity_level END) AS maturity_level,
       MAX(CASE WHEN level = 'index' THEN change_previous END) AS index_change_previous,
       MAX(CASE WHEN level = 'index' THEN change_last_year END) AS index_change_last_year
FROM v_scorecard
GROUP BY city_code, city_name, kind, province_code, period, methodology, methodology_version""".replace(
        "{dims}",
        ",\n       ".join(
            f"MAX(CASE WHEN level = 'dimension' AND code = '{d}' THEN score END) AS {d}" for d in DIMENSION_CODES
        ),
    ),
    "v_trend": """
SELECT s.city_code, r.name AS city_name, s.level, s.code, s.period, s.score, s.maturity_level,
       s.methodology_version,
       AVG(s.score) OVER (PARTITION BY s.city_code, s.level, s.code, s.methodology_version ORDER BY s.period
                          ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS moving_avg_3,
       s.score - LAG(s.score) OVER (PARTITION BY s.city_code, s.level, s.code, s.methodology_version
                                    ORDER BY s.period) AS change_since_last_published,
       s.score - FIRST_VALUE(s.score) OVER (PARTITION BY s.city_code, s.level, s.code, s.methodology_version
                                            ORDER BY s.period ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
           AS change_since_first,
       COUNT(*) OVER (PARTITION BY s.city_code, s.level, s.code, s.methodology_version ORDER BY s.period
                      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS periods_so_far
FROM index_scores s
LEFT JOIN dim_region r ON r.region_code = s.city_code
WHERE s.level IN ('dimension', 'index')""",
    # Ranks among the cities scored in the same period by the same methodology version; peer groups from
    # dim_region (kota vs kabupaten, population band, province).
    "v_ranking": """
WITH s AS (
  SELECT s.city_code, r.name AS city_name, r.kind, r.province_code, r.population_band, s.period, s.level,
         s.code, s.score, s.maturity_level, s.methodology_version
  FROM index_scores s LEFT JOIN dim_region r ON r.region_code = s.city_code
  WHERE s.level IN ('dimension', 'index') AND s.score IS NOT NULL)
SELECT s.*,
       RANK() OVER (PARTITION BY period, level, code, methodology_version ORDER BY score DESC) AS rank_overall,
       COUNT(*) OVER (PARTITION BY period, level, code, methodology_version) AS cities_overall,
       RANK() OVER (PARTITION BY period, level, code, methodology_version, kind ORDER BY score DESC)
           AS rank_in_kind,
       COUNT(*) OVER (PARTITION BY period, level, code, methodology_version, kind) AS cities_in_kind,
       RANK() OVER (PARTITION BY period, level, code, methodology_version, population_band ORDER BY score DESC)
           AS rank_in_population_band,
       COUNT(*) OVER (PARTITION BY period, level, code, methodology_version, population_band)
           AS cities_in_population_band,
       RANK() OVER (PARTITION BY period, level, code, methodology_version, province_code ORDER BY score DESC)
           AS rank_in_province,
       COUNT(*) OVER (PARTITION BY period, level, code, methodology_version, province_code) AS cities_in_province
FROM s""",
    # One row per city × period × OPD: the indicators it produces (catalog `producer`), its services (SLA,
    # online share), complaints resolved, and what it delivered; two league ranks within the city and month.
    "v_opd_league": """
WITH ind AS (
  SELECT iv.city_code, iv.period, i.producer_opd AS opd_code, COUNT(*) AS indicators,
         COUNT(iv.normalised_score) AS indicators_scored, AVG(iv.normalised_score) AS mean_indicator_score
  FROM indicator_values iv
  JOIN dim_indicator i ON i.indicator_code = iv.indicator_code AND i.catalog_version = iv.catalog_version
  GROUP BY iv.city_code, iv.period, i.producer_opd),
svc AS (
  SELECT city_code, period, opd_code, COUNT(*) AS requests,
         SUM(CASE WHEN channel = 'online' THEN 1 ELSE 0 END) AS online_requests,
         SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS completed,
         SUM(CASE WHEN status = 'completed'
                   AND EXTRACT(EPOCH FROM (completed_at - submitted_at)) <= sla_days * 86400
                  THEN 1 ELSE 0 END) AS completed_within_sla
  FROM staged_service_requests GROUP BY city_code, period, opd_code),
cmp AS (
  SELECT city_code, period, opd_code, COUNT(*) AS complaints,
         SUM(CASE WHEN status IN ('resolved', 'closed') THEN 1 ELSE 0 END) AS complaints_resolved
  FROM staged_complaints GROUP BY city_code, period, opd_code),
dlv AS (
  SELECT city_code, period, opd_code, SUM(CASE WHEN expected THEN 1 ELSE 0 END) AS datasets_expected,
         SUM(CASE WHEN expected AND delivered THEN 1 ELSE 0 END) AS datasets_delivered,
         SUM(rows_delivered) AS rows_delivered, SUM(rows_rejected) AS rows_rejected
  FROM opd_timeliness GROUP BY city_code, period, opd_code),
opds AS (
  SELECT city_code, period, opd_code FROM ind WHERE opd_code IS NOT NULL
  UNION SELECT city_code, period, opd_code FROM svc
  UNION SELECT city_code, period, opd_code FROM cmp
  UNION SELECT city_code, period, opd_code FROM dlv),
j AS (
  SELECT o.city_code, o.period, o.opd_code, d.name AS opd_name,
         COALESCE(ind.indicators, 0) AS indicators, ind.indicators_scored,
         CAST(ind.mean_indicator_score AS DOUBLE PRECISION) AS mean_indicator_score,
         COALESCE(svc.requests, 0) AS requests,
         CAST(100.0 * svc.online_requests / NULLIF(svc.requests, 0) AS DOUBLE PRECISION) AS online_pct,
         COALESCE(svc.completed, 0) AS completed,
         CAST(100.0 * svc.completed_within_sla / NULLIF(svc.completed, 0) AS DOUBLE PRECISION)
             AS sla_compliance_pct,
         COALESCE(cmp.complaints, 0) AS complaints,
         CAST(100.0 * cmp.complaints_resolved / NULLIF(cmp.complaints, 0) AS DOUBLE PRECISION)
             AS complaints_resolved_pct,
         dlv.datasets_expected, dlv.datasets_delivered,
         CAST(100.0 * dlv.rows_rejected / NULLIF(dlv.rows_delivered, 0) AS DOUBLE PRECISION) AS rejected_pct
  FROM opds o
  LEFT JOIN dim_opd d ON d.opd_code = o.opd_code
  LEFT JOIN ind ON ind.city_code = o.city_code AND ind.period = o.period AND ind.opd_code = o.opd_code
  LEFT JOIN svc ON svc.city_code = o.city_code AND svc.period = o.period AND svc.opd_code = o.opd_code
  LEFT JOIN cmp ON cmp.city_code = o.city_code AND cmp.period = o.period AND cmp.opd_code = o.opd_code
  LEFT JOIN dlv ON dlv.city_code = o.city_code AND dlv.period = o.period AND dlv.opd_code = o.opd_code)
SELECT j.*,
       CASE WHEN mean_indicator_score IS NOT NULL THEN RANK() OVER (
           PARTITION BY city_code, period ORDER BY mean_indicator_score DESC NULLS LAST) END
           AS rank_indicator_score,
       CASE WHEN sla_compliance_pct IS NOT NULL THEN RANK() OVER (
           PARTITION BY city_code, period ORDER BY sla_compliance_pct DESC NULLS LAST) END
           AS rank_sla_compliance
FROM j""",
    "v_opd_quality": """
SELECT t.city_code, t.period, t.opd_code, d.name AS opd_name, t.table_name, t.expected, t.delivered,
       t.raw_files, t.rows_delivered, t.rows_valid, t.rows_rejected,
       CAST(100.0 * t.rows_rejected / NULLIF(t.rows_delivered, 0) AS DOUBLE PRECISION) AS rejected_pct,
       t.first_fetched_at, t.days_after_period_end, t.failure_message
FROM opd_timeliness t LEFT JOIN dim_opd d ON d.opd_code = t.opd_code""",
    "v_quality": """
SELECT g.city_code, g.period, g.table_name, g.input_rows, g.valid_rows, g.rejected_rows, g.rejected_share,
       g.threshold, g.passed, g.failed_table_rules,
       COALESCE(r.rules, 0) AS rules, COALESCE(r.error_rules_failed, 0) AS error_rules_failed,
       COALESCE(r.warn_rules_failed, 0) AS warn_rules_failed
FROM quality_gates g
LEFT JOIN (
  SELECT city_code, period, table_name, COUNT(*) AS rules,
         SUM(CASE WHEN NOT success AND severity = 'error' THEN 1 ELSE 0 END) AS error_rules_failed,
         SUM(CASE WHEN NOT success AND severity = 'warn' THEN 1 ELSE 0 END) AS warn_rules_failed
  FROM quality_results GROUP BY city_code, period, table_name) r
  ON r.city_code = g.city_code AND r.period = g.period AND r.table_name = g.table_name""",
    # Every score with what it is made of: parent, weight, coverage; for indicators also the value, the
    # normalisation (goalposts, direction) and the staged rows counted (rows_used → v_lineage_rows).
    "v_lineage_scores": """
SELECT s.city_code, s.period, s.methodology, s.methodology_version, s.level, s.code, s.parent_code,
       CASE s.level WHEN 'dimension' THEN s.code WHEN 'element' THEN s.parent_code
                    WHEN 'indicator' THEN e.parent_code END AS dimension_code,
       CASE s.level WHEN 'element' THEN s.code WHEN 'indicator' THEN s.parent_code END AS element_code,
       s.score, s.weight, s.coverage, s.maturity_level,
       iv.value, iv.unit, iv.numerator, iv.denominator, iv.rows_used, iv.source_table, iv.status,
       iv.quality_flag, iv.rejected_share, iv.delivery_coverage, iv.catalog_version,
       i.goalpost_worst, i.goalpost_best, i.direction, i.method_type, i.method, s.run_id
FROM index_scores s
LEFT JOIN index_scores e
       ON s.level = 'indicator' AND e.city_code = s.city_code AND e.period = s.period AND e.level = 'element'
      AND e.code = s.parent_code
LEFT JOIN indicator_values iv
       ON s.level = 'indicator' AND iv.city_code = s.city_code AND iv.period = s.period
      AND iv.indicator_code = s.code
LEFT JOIN dim_indicator i ON i.indicator_code = iv.indicator_code AND i.catalog_version = iv.catalog_version""",
    # The staged rows each indicator counted, by identity only (no personal data), and their raw file.
    "v_lineage_rows": f"""
SELECT l.city_code, l.period, l.indicator_code, l.table_name, l.in_numerator, st.opd_code, st.record_id,
       l._raw_file AS raw_file, l._raw_row AS raw_row, st._raw_sha256 AS raw_sha256, rf.source, rf.origin,
       rf.fetched_at
FROM indicator_lineage l
LEFT JOIN ({STAGED_UNION}) st
       ON st.table_name = l.table_name AND st.city_code = l.city_code AND st.period = l.period
      AND st._raw_file = l._raw_file AND st._raw_row = l._raw_row
LEFT JOIN raw_files rf ON rf.city_code = l.city_code AND rf.period = l.period AND rf.raw_file = l._raw_file""",
    "v_raw_files": """
SELECT city_code, period, table_name, source, raw_file, sha256, origin, row_count, fetched_at, run_id
FROM raw_files""",
}


def _columns(spec: list[tuple]) -> list[sa.Column]:
    return [sa.Column(s[0], s[1](), nullable=s[2] if len(s) > 2 else True) for s in spec]


def _periods() -> list[dict]:
    import datetime as dt

    rows = []
    for year in PERIODS:
        for month in range(1, 13):
            prev_y, prev_m = (year, month - 1) if month > 1 else (year - 1, 12)
            next_start = dt.date(year + month // 12, month % 12 + 1, 1)
            rows.append(
                {
                    "period": f"{year}-{month:02d}",
                    "year": year,
                    "month": month,
                    "quarter": (month - 1) // 3 + 1,
                    "start_date": dt.date(year, month, 1),
                    "end_date": next_start - dt.timedelta(days=1),
                    "previous_period": f"{prev_y}-{prev_m:02d}",
                    "same_month_last_year": f"{year - 1}-{month:02d}",
                }
            )
    return rows


def upgrade() -> None:
    for col, typ in INDICATOR_VALUE_EXTRA:
        op.add_column("indicator_values", sa.Column(col, typ()))
    for name, spec in FACTS.items():
        cols = _columns([(c, t, c not in ("city_code", "period")) for c, t in spec + RUN])
        op.create_table(name, *cols)
        op.create_index(f"ix_{name}_partition", name, ["city_code", "period"])
    for name, (spec, key) in DIMENSIONS.items():
        op.create_table(name, *_columns(spec), sa.PrimaryKeyConstraint(*key, name=f"pk_{name}"))
    for name, (spec, index) in REGULATOR.items():
        op.create_table(name, *_columns(spec))
        op.create_index(f"ix_{name}_key", name, index)
    dim_period = sa.table("dim_period", *(sa.column(c) for c, *_ in DIMENSIONS["dim_period"][0]))
    op.get_bind().execute(dim_period.insert(), _periods())
    for name, sql in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {sql}")


def downgrade() -> None:
    for name in reversed(list(VIEWS)):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    for name in reversed(list(REGULATOR)):
        op.drop_index(f"ix_{name}_key", table_name=name)
        op.drop_table(name)
    for name in reversed(list(DIMENSIONS)):
        op.drop_table(name)
    for name in reversed(list(FACTS)):
        op.drop_index(f"ix_{name}_partition", table_name=name)
        op.drop_table(name)
    # DuckDB cannot drop a column of a table that has an index: drop the index around it.
    op.drop_index("ix_indicator_values_partition", table_name="indicator_values")
    for col, _ in reversed(INDICATOR_VALUE_EXTRA):
        op.drop_column("indicator_values", col)
    op.create_index("ix_indicator_values_partition", "indicator_values", ["city_code", "period"])
