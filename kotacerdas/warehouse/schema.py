"""The warehouse schema at the head migration (SQLAlchemy 2 Core): a star of dimensions around partitioned facts.

This is the *contract* with the database. It is created and changed only by the Alembic migrations in
`kotacerdas/warehouse/migrations/` (a test checks that migrating to head gives exactly these tables); the column
lists are written out here rather than imported from the library's frames, so that a change in a DataFrame
cannot change the warehouse without a migration.

Facts in `TABLES` are partitioned by (city_code, period) and replaced one partition at a time by
`publish_partition`; `period` is YYYY-MM, or YYYY in the staged rows of a yearly table. Dimensions (`dim_*`) are
loaded from `config/` by `kotacerdas.warehouse.reference`.
Evaluators read the views in `EVALUATOR_VIEWS` (created by the migrations), never the tables.
"""

from __future__ import annotations

import sqlalchemy as sa

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

# One value per catalog indicator × partition, as computed (kotacerdas.indicators.compute) ...
INDICATOR_VALUE_COLUMNS: dict[str, str] = {
    "city_code": "string",
    "period": "string",
    "indicator_code": "string",
    "dimension": "string",
    "element": "string",
    "unit": "string",
    "value": "float64",  # unrounded
    "numerator": "float64",
    "denominator": "float64",
    "rows_used": "Int64",  # staged rows the value was computed from (listed in indicator_lineage)
    "source_table": "string",
    "status": "string",  # ok | no_data
    "catalog_version": "string",
}
# ... plus what publishing adds (kotacerdas.warehouse.lineage.enrich_indicator_values); optional when publishing.
INDICATOR_VALUE_EXTRA_COLUMNS: dict[str, str] = {
    "normalised_score": "float64",  # 0–100 after the methodology's normalisation (goalposts), unrounded
    "weight": "float64",  # weight within its element, renormalised over the indicators present
    "methodology": "string",
    "methodology_version": "string",
    "quality_flag": "string",  # ok | rows_rejected | incomplete_delivery | no_data
    "rejected_share": "float64",  # share of the source table's rows of the partition set aside by the gate
    "delivery_coverage": "float64",  # share of the OPDs expected to deliver the source table that delivered it
}

INDEX_SCORE_COLUMNS: dict[str, str] = {
    "city_code": "string",
    "period": "string",
    "level": "string",  # indicator | element | dimension | index
    "code": "string",
    "parent_code": "string",
    "score": "float64",  # 0–100, unrounded
    "weight": "float64",  # the node's weight within its parent, renormalised over present siblings
    "coverage": "float64",  # share of the node's children (by weight) that had a score
    "maturity_level": "Int64",
    "methodology": "string",
    "methodology_version": "string",
}

QUARANTINE_COLUMNS: dict[str, str] = {
    "table_name": "string",
    "city_code": "string",
    "period": "string",
    "rule": "string",
    "severity": "string",
    "column_name": "string",
    "value": "string",  # personal data already pseudonymised
    "reason": "string",
    "record_key": "string",
    "_raw_file": "string",
    "_raw_row": "Int64",
}

RAW_FILE_COLUMNS: dict[str, str] = {
    "city_code": "string",
    "period": "string",
    "table_name": "string",
    "source": "string",
    "raw_file": "string",  # path relative to the raw landing zone
    "sha256": "string",
    "origin": "string",  # URL (no secrets) or the landing-folder path it was picked up from
    "row_count": "Int64",
    "fetched_at": "datetime64[us]",
}

INGEST_FAILURE_COLUMNS: dict[str, str] = {
    "city_code": "string",
    "period": "string",
    "table_name": "string",
    "source": "string",
    "opd_code": "string",
    "origin": "string",
    "message": "string",
    "hint": "string",
}

# Lineage carried by every staged row: the raw payload (path in the raw zone and its sha256) and the row in it.
STAGED_LINEAGE_COLUMNS: dict[str, str] = {"_raw_file": "string", "_raw_row": "Int64", "_raw_sha256": "string"}

# Staged (validated) rows of each canonical table; personal data pseudonymised (HMAC) or NULL.
STAGED_COLUMNS: dict[str, dict[str, str]] = {
    "service_requests": {
        "city_code": "string",
        "period": "string",
        "request_id": "string",
        "opd_code": "string",
        "service_code": "string",
        "channel": "string",
        "status": "string",
        "submitted_at": "datetime64[us]",
        "completed_at": "datetime64[us]",
        "sla_days": "Int64",
        "applicant_nik": "string",
        "applicant_phone": "string",
    },
    "complaints": {
        "city_code": "string",
        "period": "string",
        "complaint_id": "string",
        "opd_code": "string",
        "category": "string",
        "status": "string",
        "received_at": "datetime64[us]",
        "first_response_at": "datetime64[us]",
        "resolved_at": "datetime64[us]",
        "reporter_email": "string",
    },
    "satisfaction_responses": {
        "city_code": "string",
        "period": "string",
        "response_id": "string",
        "opd_code": "string",
        "service_code": "string",
        "surveyed_at": "datetime64[us]",
        **{f"u{i}": "Int64" for i in range(1, 10)},
    },
    "indicator_submissions": {
        "city_code": "string",
        "period": "string",
        "opd_code": "string",
        "indicator_code": "string",
        "value": "float64",
        "unit": "string",
        "evidence_ref": "string",
    },
    # a monthly snapshot: `as_of` is the month the catalogue was read (= period)
    "service_catalogue": {
        "city_code": "string",
        "period": "string",
        "opd_code": "string",
        "service_code": "string",
        "service_name": "string",
        "sla_days": "Int64",
        "online": "boolean",
        "as_of": "string",
    },
    # Yearly tables: partitioned by city × year, `period` is YYYY (written by the yearly publish step).
    "spbe_assessments": {
        "city_code": "string",
        "period": "string",
        "indicator_number": "Int64",
        "level": "Int64",
        "assessor": "string",
        "evidence_ref": "string",
    },
    "evaluation_scores": {
        "city_code": "string",
        "period": "string",
        "part": "string",
        "item": "string",
        "score": "float64",
        "evaluator": "string",
    },
}
# The column that identifies a staged row of a monthly table to an evaluator (with opd_code); never personal data.
STAGED_RECORD_ID = {
    "service_requests": "request_id",
    "complaints": "complaint_id",
    "satisfaction_responses": "response_id",
    "indicator_submissions": "indicator_code",
    "service_catalogue": "service_code",
}
# Columns holding (pseudonymised) personal data: in no view, unreadable by the evaluator role.
PERSONAL_DATA_COLUMNS = {
    "staged_service_requests": ("applicant_nik", "applicant_phone"),
    "staged_complaints": ("reporter_email",),
}

# Which staged rows each indicator value counted: one row per (indicator, staged row).
INDICATOR_LINEAGE_COLUMNS: dict[str, str] = {
    "city_code": "string",
    "period": "string",
    "indicator_code": "string",
    "table_name": "string",  # canonical table; the row is in staged_<table_name>
    "_raw_file": "string",
    "_raw_row": "Int64",
    "in_numerator": "boolean",  # share indicators: the row also met the numerator condition; else NULL
}

QUALITY_RESULT_COLUMNS: dict[str, str] = {
    "city_code": "string",
    "period": "string",
    "table_name": "string",
    "rule": "string",
    "severity": "string",
    "success": "boolean",
    "element_count": "Int64",
    "unexpected_count": "Int64",
    "unexpected_percent": "float64",
    "observed_value": "string",  # what a table-level rule measured (latest timestamp, rows delivered, …)
    "details": "string",  # the bounds a table-level rule checked, or the volume rule's note ("no history: …")
}

QUALITY_GATE_COLUMNS: dict[str, str] = {
    "city_code": "string",
    "period": "string",
    "table_name": "string",
    "input_rows": "Int64",
    "valid_rows": "Int64",
    "rejected_rows": "Int64",
    "rejected_share": "float64",
    "threshold": "float64",
    "passed": "boolean",
    "failed_table_rules": "string",
}

OPD_TIMELINESS_COLUMNS: dict[str, str] = {
    "city_code": "string",
    "period": "string",
    "opd_code": "string",
    "table_name": "string",
    "expected": "boolean",  # config/cities.yaml says this OPD delivers this table
    "delivered": "boolean",
    "raw_files": "Int64",
    "rows_delivered": "Int64",
    "rows_valid": "Int64",
    "rows_rejected": "Int64",
    "first_fetched_at": "datetime64[us]",  # UTC
    "days_after_period_end": "float64",  # received_at after the month closed (Asia/Jakarta), in days
    "failure_message": "string",
    # DHIS2-style timeliness (kotacerdas.quality.timeliness, due dates in config/timeliness.yaml)
    "due_at": "datetime64[us]",  # UTC
    "received_at": "datetime64[us]",  # UTC: first completed fetch, or the upload time of the landing file
    "status": "string",  # on_time | late | missing | pending | not_expected
    "on_time": "boolean",
    "late": "boolean",
    "missing": "boolean",  # expected, not received, due date passed
    "days_late": "float64",  # received_at - due_at when late (0 when on time)
}

# The regulators' annual indices: one row per component, the exact value (`score`) beside the figure as the
# regulator publishes it (`published_value`, text, half up), the methodology file and the rows it came from.
_REGULATOR_STAMP = {"methodology": "string", "methodology_version": "string", "source": "string"}
REGULATOR_KOMINFO_COLUMNS: dict[str, str] = {
    "city_code": "string",
    "period": "string",
    "component_type": "string",  # part | pillar | index
    "component": "string",  # baseline, output, outcome, impact, quick_win; a pillar code; index
    "weight": "float64",
    "score": "float64",
    "contribution": "float64",
    "published_value": "string",
    **_REGULATOR_STAMP,
}
REGULATOR_SPBE_COLUMNS: dict[str, str] = {
    "city_code": "string",
    "period": "string",
    "assessor": "string",  # self | external: each complete set of levels gets its own index
    "component_type": "string",  # aspect | domain | index
    "component": "string",
    "domain": "string",
    "weight": "float64",
    "score": "float64",
    "published_value": "string",
    "predicate": "string",
    **_REGULATOR_STAMP,
}
REGULATOR_IKM_COLUMNS: dict[str, str] = {
    "city_code": "string",
    "period": "string",
    "opd_code": "string",
    "service_code": "string",  # NULL: the OPD as a whole / the whole city
    "respondents": "Int64",
    "months_covered": "Int64",
    "score": "float64",
    "published_value": "string",
    "grade": "string",
    "performance": "string",
    **_REGULATOR_STAMP,
}

# table name -> pandas dtypes of its columns (without the run columns)
FACT_TABLES: dict[str, dict[str, str]] = {
    "indicator_values": {**INDICATOR_VALUE_COLUMNS, **INDICATOR_VALUE_EXTRA_COLUMNS},
    "index_scores": INDEX_SCORE_COLUMNS,
    "quarantine": QUARANTINE_COLUMNS,
    "raw_files": RAW_FILE_COLUMNS,
    "ingest_failures": INGEST_FAILURE_COLUMNS,
    **{f"staged_{t}": {**cols, **STAGED_LINEAGE_COLUMNS} for t, cols in STAGED_COLUMNS.items()},
    "indicator_lineage": INDICATOR_LINEAGE_COLUMNS,
    "quality_results": QUALITY_RESULT_COLUMNS,
    "quality_gates": QUALITY_GATE_COLUMNS,
    "opd_timeliness": OPD_TIMELINESS_COLUMNS,
    "regulator_kominfo_evaluation": REGULATOR_KOMINFO_COLUMNS,
    "regulator_spbe": REGULATOR_SPBE_COLUMNS,
    "regulator_ikm": REGULATOR_IKM_COLUMNS,
}
# Columns a publisher may leave out (they are written as NULL).
OPTIONAL_COLUMNS: dict[str, frozenset[str]] = {"indicator_values": frozenset(INDICATOR_VALUE_EXTRA_COLUMNS)}


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
)
