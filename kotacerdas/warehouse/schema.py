"""The warehouse schema at the head migration (SQLAlchemy 2 Core): a star of dimensions around partitioned facts.

This is the *contract* with the database. It is created and changed only by the Alembic migrations in
`kotacerdas/warehouse/migrations/` (a test checks that migrating to head gives exactly these tables). The columns
of every fact table are declared once, in `kotacerdas.schemas`, where the library builds its frames from them
too; a change there fails that test until a migration follows it.

Facts in `TABLES` are partitioned by (city_code, period) and replaced one partition at a time by
`publish_partition`; `period` is YYYY-MM, or YYYY in the staged rows of a yearly table. Dimensions (`dim_*`) are
loaded from `config/` by `kotacerdas.warehouse.reference`.
Evaluators read the views in `EVALUATOR_VIEWS` (created by the migrations), never the tables.
"""

from __future__ import annotations

import sqlalchemy as sa

from kotacerdas.schemas import (
    CANONICAL_TABLES,
    INDEX_SCORE_COLUMNS,
    INDICATOR_LINEAGE_COLUMNS,
    INDICATOR_VALUE_COLUMNS,
    INDICATOR_VALUE_EXTRA_COLUMNS,
    INGEST_FAILURE_COLUMNS,
    MASTERPLAN_ALIGNMENT_COLUMNS,
    MASTERPLAN_INDICATOR_COLUMNS,
    MASTERPLAN_READINESS_COLUMNS,
    MASTERPLAN_ROLLUP_COLUMNS,
    MASTERPLAN_STATUS_COLUMNS,
    OPD_TIMELINESS_COLUMNS,
    PUBLISH_STATUS_COLUMNS,
    QUALITY_GATE_COLUMNS,
    QUALITY_RESULT_COLUMNS,
    QUARANTINE_COLUMNS,
    RAW_FILE_COLUMNS,
    REGULATOR_COVERAGE_COLUMNS,
    REGULATOR_IKM_COLUMNS,
    REGULATOR_KOMINFO_COLUMNS,
    REGULATOR_SPBE_COLUMNS,
    STAGED_LINEAGE_COLUMNS,
    staged_columns,
)

metadata = sa.MetaData()

_SQL_TYPES = {
    "string": sa.Text,
    "float64": sa.Double,
    "Int64": sa.BigInteger,
    "bool": sa.Boolean,
    "boolean": sa.Boolean,
    "datetime64[us]": sa.DateTime,
}

# Columns every published row gets: which run wrote it and when.
RUN_COLUMNS: dict[str, str] = {"run_id": "string", "published_at": "datetime64[us]"}
PARTITION_COLUMNS = ("city_code", "period")

# --- facts -------------------------------------------------------------------------------------------------

STAGED_COLUMNS: dict[str, dict[str, str]] = {name: staged_columns(t) for name, t in CANONICAL_TABLES.items()}
# The column that identifies a staged row of a monthly table to an evaluator (with opd_code); never personal data.
STAGED_RECORD_ID = {
    "service_requests": "request_id",
    "complaints": "complaint_id",
    "satisfaction_responses": "response_id",
    "indicator_submissions": "indicator_code",
    "service_catalogue": "service_code",
    "masterplan_progress": "programme_code",
}
# Columns holding (pseudonymised) personal data: in no view, unreadable by the evaluator role.
PERSONAL_DATA_COLUMNS = {f"staged_{n}": tuple(t.pii_columns) for n, t in CANONICAL_TABLES.items() if t.pii_columns}

# table name -> pandas dtypes of its columns (without the run columns)
FACT_TABLES: dict[str, dict[str, str]] = {
    "indicator_values": {**INDICATOR_VALUE_COLUMNS, **INDICATOR_VALUE_EXTRA_COLUMNS},
    "index_scores": {**INDEX_SCORE_COLUMNS, **PUBLISH_STATUS_COLUMNS},
    "quarantine": QUARANTINE_COLUMNS,
    "raw_files": RAW_FILE_COLUMNS,
    "ingest_failures": INGEST_FAILURE_COLUMNS,
    **{f"staged_{t}": {**cols, **STAGED_LINEAGE_COLUMNS} for t, cols in STAGED_COLUMNS.items()},
    "indicator_lineage": INDICATOR_LINEAGE_COLUMNS,
    "quality_results": QUALITY_RESULT_COLUMNS,
    "quality_gates": QUALITY_GATE_COLUMNS,
    "opd_timeliness": OPD_TIMELINESS_COLUMNS,
    "regulator_kominfo_evaluation": {**REGULATOR_KOMINFO_COLUMNS, **REGULATOR_COVERAGE_COLUMNS},
    "regulator_spbe": {**REGULATOR_SPBE_COLUMNS, **REGULATOR_COVERAGE_COLUMNS},
    "regulator_ikm": {**REGULATOR_IKM_COLUMNS, **REGULATOR_COVERAGE_COLUMNS},
    # the masterplan's status per city × month (kotacerdas.masterplan.status, migration 0008)
    "masterplan_programme_status": MASTERPLAN_STATUS_COLUMNS,
    "masterplan_indicator_achievement": MASTERPLAN_INDICATOR_COLUMNS,
    "masterplan_rollups": MASTERPLAN_ROLLUP_COLUMNS,
    "masterplan_rpjmd_alignment": MASTERPLAN_ALIGNMENT_COLUMNS,
    "masterplan_readiness": MASTERPLAN_READINESS_COLUMNS,
}
# Columns a publisher may leave out (they are written as NULL, or as their default below).
OPTIONAL_COLUMNS: dict[str, frozenset[str]] = {
    "indicator_values": frozenset(INDICATOR_VALUE_EXTRA_COLUMNS),
    "index_scores": frozenset({"status"}),
    **{
        t: frozenset({"coverage", "status"})
        for t in ("regulator_kominfo_evaluation", "regulator_spbe", "regulator_ikm")
    },
}
# The pipeline always says whether a partition is complete (kotacerdas.warehouse.partition); a publisher that does
# not judge completeness (a benchmark, a hand load of checked figures) and leaves the column out publishes complete
# rows.
COLUMN_DEFAULTS: dict[str, dict[str, object]] = {
    t: {"status": "complete"}
    for t in ("index_scores", "regulator_kominfo_evaluation", "regulator_spbe", "regulator_ikm")
}


def _fact_table(name: str, columns: dict[str, str]) -> sa.Table:
    cols = [
        sa.Column(c, _SQL_TYPES[d](), nullable=c not in PARTITION_COLUMNS)
        for c, d in {**columns, **RUN_COLUMNS}.items()
    ]
    return sa.Table(name, metadata, *cols, sa.Index(f"ix_{name}_partition", *PARTITION_COLUMNS))


TABLES: dict[str, sa.Table] = {name: _fact_table(name, cols) for name, cols in FACT_TABLES.items()}

# --- dimensions --------------------------------------------------------------------------------------------

_LOADED_AT = ("loaded_at", sa.DateTime)

dim_region = sa.Table(
    "dim_region",
    metadata,
    sa.Column("region_code", sa.Text, primary_key=True),  # Kemendagri, e.g. 19.71
    sa.Column("bps_code", sa.Text),  # BPS-style, e.g. 1971 (provinces and kabupaten/kota)
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("level", sa.Text, nullable=False),  # provinsi | kabupaten_kota | kecamatan | desa_kelurahan
    sa.Column("kind", sa.Text),  # kota | kabupaten (kabupaten_kota only)
    sa.Column("parent_code", sa.Text),
    sa.Column("province_code", sa.Text),
    sa.Column("population", sa.BigInteger),
    sa.Column("population_male", sa.BigInteger),
    sa.Column("population_female", sa.BigInteger),
    sa.Column("area_km2", sa.Double),
    sa.Column("population_band", sa.Text),  # peer group by population (kabupaten_kota only)
    sa.Column(*_LOADED_AT),
)

dim_opd = sa.Table(
    "dim_opd",
    metadata,
    sa.Column("opd_code", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("datasets", sa.Text),  # canonical tables it delivers, comma-separated
    sa.Column("services", sa.BigInteger),
    sa.Column("online_services", sa.BigInteger),
    sa.Column(*_LOADED_AT),
)

dim_service = sa.Table(
    "dim_service",
    metadata,
    sa.Column("service_code", sa.Text, primary_key=True),
    sa.Column("opd_code", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("sla_days", sa.BigInteger),  # service standard (standar pelayanan), calendar days
    sa.Column("online", sa.Boolean),
    sa.Column(*_LOADED_AT),
)

dim_indicator = sa.Table(
    "dim_indicator",
    metadata,
    sa.Column("indicator_code", sa.Text, primary_key=True),
    sa.Column("catalog_version", sa.Text, primary_key=True),
    sa.Column("name_id", sa.Text),
    sa.Column("name_en", sa.Text),
    sa.Column("dimension", sa.Text),
    sa.Column("element", sa.Text),
    sa.Column("unit", sa.Text),
    sa.Column("direction", sa.BigInteger),  # 1: higher is better, -1: lower is better
    sa.Column("producer_opd", sa.Text),
    sa.Column("method_type", sa.Text),  # share | median | ikm | submitted
    sa.Column("source_table", sa.Text),
    sa.Column("method", sa.Text),  # the catalog's method as JSON (expressions included)
    sa.Column("goalpost_worst", sa.Double),
    sa.Column("goalpost_best", sa.Double),
    sa.Column("weight", sa.Double),
    sa.Column(*_LOADED_AT),
)

dim_period = sa.Table(
    "dim_period",
    metadata,
    sa.Column("period", sa.Text, primary_key=True),  # YYYY-MM
    sa.Column("year", sa.BigInteger, nullable=False),
    sa.Column("month", sa.BigInteger, nullable=False),
    sa.Column("quarter", sa.BigInteger, nullable=False),
    sa.Column("start_date", sa.Date, nullable=False),
    sa.Column("end_date", sa.Date, nullable=False),
    sa.Column("previous_period", sa.Text, nullable=False),
    sa.Column("same_month_last_year", sa.Text, nullable=False),
)

dim_methodology = sa.Table(
    "dim_methodology",
    metadata,
    sa.Column("methodology", sa.Text, primary_key=True),
    sa.Column("version", sa.Text, primary_key=True),
    sa.Column("description", sa.Text),
    sa.Column("normalisation", sa.Text),
    sa.Column("aggregation", sa.Text),
    sa.Column("min_coverage", sa.Double),
    sa.Column("definition", sa.Text),  # the methodology file as JSON
    sa.Column("sha256", sa.Text),  # of `definition`
    sa.Column(*_LOADED_AT),
)

dim_methodology_node = sa.Table(
    "dim_methodology_node",
    metadata,
    sa.Column("methodology", sa.Text, primary_key=True),
    sa.Column("version", sa.Text, primary_key=True),
    sa.Column("code", sa.Text, primary_key=True),  # INDEX, a dimension or an element
    sa.Column("level", sa.Text, nullable=False),  # index | dimension | element
    sa.Column("parent_code", sa.Text),
    sa.Column("name", sa.Text),
    sa.Column("weight", sa.Double),  # as configured (before renormalisation over present children)
)

dim_maturity_level = sa.Table(
    "dim_maturity_level",
    metadata,
    sa.Column("methodology", sa.Text, primary_key=True),
    sa.Column("version", sa.Text, primary_key=True),
    sa.Column("level", sa.BigInteger, primary_key=True),
    sa.Column("min_score", sa.Double, nullable=False),
    sa.Column("max_score", sa.Double),  # exclusive; NULL for the top level
)

# What reference data was loaded last (one fingerprint per dimension), so reloading is skipped when unchanged.
reference_loads = sa.Table(
    "reference_loads",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("rows", sa.BigInteger),
    sa.Column(*_LOADED_AT),
)

DIMENSIONS: dict[str, sa.Table] = {
    t.name: t
    for t in (
        dim_region,
        dim_opd,
        dim_service,
        dim_indicator,
        dim_period,
        dim_methodology,
        dim_methodology_node,
        dim_maturity_level,
    )
}

# --- regulator indices: partition facts like the others, period = YYYY (kotacerdas.regulators.annual) ---------

REGULATOR_TABLES: tuple[str, ...] = ("regulator_kominfo_evaluation", "regulator_spbe", "regulator_ikm")

# The views evaluators read (created by the migrations; see README "For evaluators"). The evaluator role on
# PostgreSQL gets SELECT on these and on nothing else.
EVALUATOR_VIEWS: tuple[str, ...] = (
    "v_region",
    "v_indicator",
    "v_methodology",
    "v_scorecard",
    "v_scorecard_wide",
    "v_trend",
    "v_ranking",
    "v_opd_league",
    "v_opd_quality",
    "v_quality",
    "v_lineage_scores",
    "v_lineage_rows",
    "v_raw_files",
    "v_regulator_kominfo",
    "v_regulator_spbe",
    "v_regulator_ikm",
    "v_masterplan_status",
    "v_masterplan_quick_wins",
    "v_masterplan_indicators",
    "v_masterplan_rollups",
    "v_masterplan_reports",
    "v_masterplan_alignment",
    "v_masterplan_readiness",
)
# Views for the OPDs' data stewards besides the evaluator views: the rejected rows as delivered (personal data
# pseudonymised, but free text, names and addresses as sent), which evaluators do not see. A steward login gets
# both (`kotacerdas warehouse grant-evaluator NAME --steward`).
STEWARD_VIEWS: tuple[str, ...] = ("v_quarantine",)
