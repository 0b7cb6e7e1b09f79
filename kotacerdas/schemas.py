"""Canonical tables: the one place that says which columns each staged table has and of which type.

Every source maps onto these columns through `config/sources.yaml`; everything downstream (quality suites,
indicators, warehouse) relies on these names and dtypes only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

Cadence = Literal["monthly", "yearly"]

# Lineage columns carried by every staged row: which raw payload and which row in it.
LINEAGE_COLUMNS: dict[str, str] = {"_raw_file": "string", "_raw_row": "Int64"}

# Columns that may hold personal data; staging pseudonymises or drops them before anything is published.
PiiKind = Literal["nik", "phone", "email"]
PII_KINDS: tuple[PiiKind, ...] = ("nik", "phone", "email")


@dataclass(frozen=True)
class CanonicalTable:
    name: str
    description: str
    columns: dict[str, str]  # column -> pandas dtype
    key: tuple[str, ...]
    period_column: str  # the timestamp or period that places a row in its partition
    pii_columns: dict[str, str] = field(default_factory=dict)  # column -> PII kind
    cadence: Cadence = "monthly"  # partitions: city × month (YYYY-MM) or city × year (YYYY)

    @property
    def all_columns(self) -> dict[str, str]:
        return {**self.columns, **LINEAGE_COLUMNS}


TIMESTAMP = "datetime64[us]"

SERVICE_REQUESTS = CanonicalTable(
    name="service_requests",
    description="One public-service request handled by an OPD (licence, ID card, permit, ...).",
    columns={
        "request_id": "string",
        "city_code": "string",
        "opd_code": "string",
        "service_code": "string",
        "channel": "string",  # online | offline
        "status": "string",  # submitted | in_process | completed | rejected
        "submitted_at": TIMESTAMP,
        "completed_at": TIMESTAMP,
        "sla_days": "Int64",  # service standard (standar pelayanan), in calendar days
        "applicant_nik": "string",
        "applicant_phone": "string",
    },
    key=("city_code", "opd_code", "request_id"),
    period_column="submitted_at",
    pii_columns={"applicant_nik": "nik", "applicant_phone": "phone"},
)

COMPLAINTS = CanonicalTable(
    name="complaints",
    description="A complaint received through SP4N-LAPOR! or the OPD's own channel.",
    columns={
        "complaint_id": "string",
        "city_code": "string",
        "opd_code": "string",
        "category": "string",
        "status": "string",  # received | in_process | resolved | closed
        "received_at": TIMESTAMP,
        "first_response_at": TIMESTAMP,
        "resolved_at": TIMESTAMP,
        "reporter_email": "string",
    },
    key=("city_code", "opd_code", "complaint_id"),
    period_column="received_at",
    pii_columns={"reporter_email": "email"},
)

IKM_ELEMENTS = tuple(f"u{i}" for i in range(1, 10))

SATISFACTION_RESPONSES = CanonicalTable(
    name="satisfaction_responses",
    description="One IKM survey questionnaire (PermenPANRB 14/2017): answers U1..U9 on a 1-4 scale.",
    columns={
        "response_id": "string",
        "city_code": "string",
        "opd_code": "string",
        "service_code": "string",
        "surveyed_at": TIMESTAMP,
        **{u: "Int64" for u in IKM_ELEMENTS},
    },
    key=("city_code", "opd_code", "response_id"),
    period_column="surveyed_at",
)

INDICATOR_SUBMISSIONS = CanonicalTable(
    name="indicator_submissions",
    description="A value an OPD reports itself for a catalog indicator and month (file drop).",
    columns={
        "city_code": "string",
        "opd_code": "string",
        "indicator_code": "string",
        "period": "string",  # YYYY-MM
        "value": "float64",
        "unit": "string",
        "evidence_ref": "string",
    },
    key=("city_code", "opd_code", "indicator_code", "period"),
    period_column="period",
)

# The catalogue as an OPD's system shows it in a given month: re-read every month, so a service that goes online
# (or changes its standard) is seen from the month it changed.
SERVICE_CATALOGUE = CanonicalTable(
    name="service_catalogue",
    description="A public service an OPD runs, with its service standard and whether it can be requested online "
    "(a monthly snapshot of the OPD's catalogue).",
    columns={
        "city_code": "string",
        "opd_code": "string",
        "service_code": "string",
        "service_name": "string",
        "sla_days": "Int64",  # service standard (standar pelayanan), calendar days; service_requests carry it too
        "online": "boolean",  # can be requested online
        "as_of": "string",  # YYYY-MM: the month the catalogue was read
    },
    key=("city_code", "opd_code", "service_code", "as_of"),
    period_column="as_of",
)

# Per city, not per OPD: the Diskominfo reports the SPBE assessment. Domain and aspect follow from the indicator
# number through the methodology (config/methodologies/spbe-*.yaml), so they are not stored twice.
SPBE_ASSESSMENTS = CanonicalTable(
    name="spbe_assessments",
    description="One indicator of the SPBE (electronic government) self-assessment or evaluation: level 1-5.",
    columns={
        "city_code": "string",
        "period": "string",  # YYYY of the assessment
        "indicator_number": "Int64",  # 1..47 (PermenPANRB 59/2020)
        "level": "Int64",  # 1..5
        "assessor": "string",  # self | external
        "evidence_ref": "string",  # the supporting document (bukti dukung)
    },
    key=("city_code", "period", "indicator_number", "assessor"),
    period_column="period",
    cadence="yearly",
)

# Per city: the Bappeda reports the Kominfo evaluation. The parts and pillars are those of
# config/methodologies/kominfo-evaluation-*.yaml (kotacerdas.regulators.kominfo_index).
EVALUATION_SCORES = CanonicalTable(
    name="evaluation_scores",
    description="A score of the Kominfo smart-city evaluation on the 1-5 scale: one of its five parts, or a pillar.",
    columns={
        "city_code": "string",
        "period": "string",  # YYYY of the evaluation
        "part": "string",  # baseline | output | outcome | impact | quick_win | pillar
        "item": "string",  # the pillar code for part `pillar`; empty for a whole part
        "score": "float64",  # 1..5
        "evaluator": "string",  # who scored it (Kominfo's evaluation team, or the region itself)
    },
    key=("city_code", "period", "part", "item"),
    period_column="period",
    cadence="yearly",
)

# Per OPD: the monthly progress report on the masterplan programmes it is responsible for (kotacerdas.masterplan).
# Progress and spending are cumulative; one row per programme and output indicator (indicator_code empty when the
# programme has none).
MASTERPLAN_PROGRESS = CanonicalTable(
    name="masterplan_progress",
    description="An OPD's monthly progress report on a masterplan programme: physical progress, budget realised, "
    "the value reached on an output indicator and a link to the evidence.",
    columns={
        "city_code": "string",
        "opd_code": "string",
        "programme_code": "string",
        "period": "string",  # YYYY-MM
        "physical_progress": "float64",  # % of the programme's work done, cumulative
        "budget_realised": "float64",  # rupiah spent in the year so far (APBD realisation)
        "indicator_code": "string",  # an output indicator of the programme in the masterplan
        "indicator_value": "float64",
        "evidence_url": "string",
    },
    key=("city_code", "opd_code", "programme_code", "indicator_code", "period"),
    period_column="period",
)

CANONICAL_TABLES: dict[str, CanonicalTable] = {
    t.name: t
    for t in (
        SERVICE_REQUESTS,
        COMPLAINTS,
        SATISFACTION_RESPONSES,
        INDICATOR_SUBMISSIONS,
        SERVICE_CATALOGUE,
        SPBE_ASSESSMENTS,
        EVALUATION_SCORES,
        MASTERPLAN_PROGRESS,
    )
}
# The monthly tables feed the city × month pipeline (assets, indicators, timeliness); the yearly ones are
# partitioned by city × year.
MONTHLY_TABLES: dict[str, CanonicalTable] = {n: t for n, t in CANONICAL_TABLES.items() if t.cadence == "monthly"}
YEARLY_TABLES: dict[str, CanonicalTable] = {n: t for n, t in CANONICAL_TABLES.items() if t.cadence == "yearly"}


def get_table(name: str) -> CanonicalTable:
    try:
        return CANONICAL_TABLES[name]
    except KeyError:
        known = ", ".join(sorted(CANONICAL_TABLES))
        raise KeyError(f"unknown canonical table {name!r}; known tables: {known}") from None


def typed_frame(
    rows: Sequence[Mapping[str, Any]] | Sequence[Sequence[Any]], columns: Mapping[str, Any]
) -> pd.DataFrame:
    """`pd.DataFrame(rows, columns=list(columns)).astype(columns)`, built column by column (`columns`: name -> dtype or
    its name).

    Rows are mappings (a missing key is a missing value) or sequences in the columns' order. The frame-wide way
    first makes one block of Python objects and then converts it column by column; pipelines build thousands of
    small frames this way per run (masterplan, timeliness, quality and ingest logs), and it cost about three times
    what converting each column's values once does (#15). Each column goes through the conversion `astype` uses:
    an extension dtype's `_from_sequence`, numpy's for floats, pandas' `astype` for the rest (integers refuse
    missing values there, datetimes parse). Unlike the frame-wide way, no dtype is inferred first: a number in a
    text column is written as given (an integer beside a missing value was inferred a float, then "1971.0")."""
    names = list(columns)
    if rows and isinstance(rows[0], Mapping):
        values = {c: [r.get(c, np.nan) for r in rows] for c in names}  # type: ignore[union-attr]
    else:
        values = {c: [r[i] for r in rows] for i, c in enumerate(names)}  # type: ignore[index]
    return typed_columns(values, columns, len(rows))


def typed_columns(values: Mapping[str, Sequence[Any]], columns: Mapping[str, Any], n: int) -> pd.DataFrame:
    """`typed_frame` from its columns' values (each a sequence of `n` values), converted as `typed_frame` says."""
    names = list(columns)
    out: dict[str, Any] = {}
    for name, spec in columns.items():
        dtype = pd.api.types.pandas_dtype(spec)
        objects = np.empty(n, dtype=object)
        objects[:] = values[name]  # element by element: a value that is itself a list stays one value
        if isinstance(dtype, pd.api.extensions.ExtensionDtype):
            out[name] = pd.array(objects, dtype=dtype)
        elif dtype.kind == "f":
            out[name] = objects.astype(dtype)
        else:
            out[name] = pd.Series(objects, copy=False).astype(dtype).array
    return pd.DataFrame(out, columns=names, copy=False)


def empty_frame(table: CanonicalTable) -> pd.DataFrame:
    """An empty DataFrame with the table's columns and dtypes (lineage included)."""
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in table.all_columns.items()})


# A rejected row, kept with why it was rejected (one row per failed rule); published to `quarantine`.
QUARANTINE_COLUMNS: dict[str, str] = {
    "table_name": "string",
    "city_code": "string",
    "period": "string",  # partition the row arrived in: YYYY-MM, or YYYY for a yearly table
    "opd_code": "string",  # the OPD the row names (missing for a table without OPDs), for its data steward
    "rule": "string",  # e.g. "type:submitted_at" or a GX expectation id
    "severity": "string",  # error | warn
    "column_name": "string",
    "value": "string",  # the offending value as text (personal data already pseudonymised)
    "reason": "string",
    "record_key": "string",  # the row's key columns joined with "|"
    "_raw_file": "string",
    "_raw_row": "Int64",
}


def empty_quarantine() -> pd.DataFrame:
    # a copy of one typed empty frame: most partitions have no quarantine row, and building the frame with its
    # eleven typed columns costs about ten times the copy
    return _EMPTY_QUARANTINE.copy()


_EMPTY_QUARANTINE = pd.DataFrame({c: pd.Series(dtype=d) for c, d in QUARANTINE_COLUMNS.items()})


# --- every frame the pipeline publishes ------------------------------------------------------------------------
# The warehouse schema (kotacerdas.warehouse.schema) builds its fact tables from these declarations, and the
# library builds its frames from them: one declaration per column contract. A change here needs a migration
# (tests/test_warehouse_migrations.py compares the migrated database with the schema).


# Staged (validated) rows of a canonical table as the warehouse keeps them: in their partition, with lineage;
# personal data pseudonymised (HMAC) or NULL.
def staged_columns(table: CanonicalTable) -> dict[str, str]:
    return {"city_code": "string", "period": "string", **table.columns}


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
    "data_coverage": "float64",  # share of the indicator weight under the node that had a value
}
# What every published score carries about its partition's inputs: complete, or incomplete (published on purpose
# with `kotacerdas run --allow-incomplete`; views neither rank it nor compute a change against it).
PUBLISH_STATUS_COLUMNS: dict[str, str] = {"status": "string"}
# A regulator figure: the share of its methodology's weight whose inputs were present, and the status.
REGULATOR_COVERAGE_COLUMNS: dict[str, str] = {"coverage": "float64", **PUBLISH_STATUS_COLUMNS}

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
STAGED_LINEAGE_COLUMNS: dict[str, str] = {**LINEAGE_COLUMNS, "_raw_sha256": "string"}

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

# One row per quality rule of a table × partition, as validation reports it ...
RULES_COLUMNS: dict[str, str] = {
    "rule": "string",
    "severity": "string",
    "success": "boolean",
    "element_count": "Int64",
    "unexpected_count": "Int64",
    "unexpected_percent": "float64",
    "observed_value": "string",  # what a table-level rule measured (latest timestamp, rows delivered, …)
    "details": "string",  # the bounds a table-level rule checked, or the volume rule's note ("no history: …")
}
# ... and as published, placed in its partition and table.
QUALITY_RESULT_COLUMNS: dict[str, str] = {
    "city_code": "string",
    "period": "string",
    "table_name": "string",
    **RULES_COLUMNS,
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
    "passed": "boolean",  # within the threshold and complete (an incomplete table published on purpose: false)
    "failed_table_rules": "string",
    "status": "string",  # complete | incomplete (config/completeness.yaml)
    "coverage": "float64",  # share of the expected source × OPD deliveries that arrived with their rows
    "incomplete_reason": "string",  # what was missing, in words (NULL when complete)
    "warn_threshold": "float64",  # the share above which the table's error check warns (NULL before 2026-12-06)
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
    "received_at": "datetime64[us]",  # UTC: first completed fetch, or earlier a file's upload or a pull's last entry
    "status": "string",  # on_time | late | received_undated | missing | pending | not_expected
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

# --- masterplan: programme status per city × month (kotacerdas.masterplan.status) -------------------------------
# Published by the `masterplan_status` asset; evaluators read them through the v_masterplan_* views.

MASTERPLAN_STATUS_COLUMNS: dict[str, str] = {
    "city_code": "string",
    "period": "string",
    "masterplan_version": "string",  # the version in force in the month
    "dimension": "string",
    "programme_code": "string",
    "programme_name": "string",
    "opd_code": "string",
    "start_period": "string",
    "end_period": "string",
    "planned_progress": "float64",  # %, linear from start to end month
    "actual_progress": "float64",  # % reported by the OPD (cumulative)
    "progress_gap": "float64",  # planned - actual, percentage points
    "budget_year": "float64",  # APBD of the month's year, rupiah
    "budget_realised": "float64",  # cumulative in the year, rupiah
    "budget_absorption": "float64",  # realised / budget of the year
    "target_achievement": "float64",  # mean over the output indicators with a target for the year
    "report_status": "string",  # received | missing | rejected | inconsistent | not_due
    "report_rows": "Int64",  # staged rows of masterplan_progress used (staged_masterplan_progress)
    "status": "string",  # on_track | at_risk | late | done | unknown | not_started
    "status_reason": "string",
    "quick_win_stage": "string",  # I, II, …; NULL: not a quick win
    "quick_win_due": "string",  # YYYY-MM
    "quick_win_is_due": "boolean",
    "quick_win_delivered": "boolean",  # done by this month
    "rpjmd_codes": "string",  # RPJMD targets served, comma-separated
    "rules_version": "string",
}

MASTERPLAN_INDICATOR_COLUMNS: dict[str, str] = {
    "city_code": "string",
    "period": "string",
    "programme_code": "string",
    "indicator_code": "string",
    "kind": "string",  # output | outcome
    "unit": "string",
    "baseline": "float64",
    "target": "float64",  # target of the month's year
    "value": "float64",  # as reported this month (output indicators)
    "achievement": "float64",  # (value - baseline) / (target - baseline); value / target without baseline
}

MASTERPLAN_ROLLUP_COLUMNS: dict[str, str] = {
    "city_code": "string",
    "period": "string",
    "level": "string",  # city | dimension | opd
    "code": "string",  # the dimension or OPD code; the city code for level city
    "programmes": "Int64",  # started programmes (not_started left out)
    "on_track": "Int64",
    "at_risk": "Int64",
    "late": "Int64",
    "done": "Int64",
    "unknown": "Int64",
    "planned_progress": "float64",  # mean over the started programmes
    "actual_progress": "float64",  # mean over those with a report
    "budget_year": "float64",
    "budget_realised": "float64",
    "budget_absorption": "float64",
    "quick_wins_due": "Int64",
    "quick_wins_delivered": "Int64",  # of those due
    "rpjmd_linked_share": "float64",  # share of the programmes linked to an RPJMD target
    "completeness": "float64",  # the plan review's score (kotacerdas.masterplan.check), 0-100
}

MASTERPLAN_ALIGNMENT_COLUMNS: dict[str, str] = {
    "city_code": "string",
    "period": "string",
    "masterplan_version": "string",
    "rpjmd_code": "string",
    "misi": "string",
    "sasaran": "string",
    "iku_codes": "string",
    "programmes": "Int64",  # programmes serving it
    "programme_codes": "string",
    "served": "boolean",
}

# Evaluation readiness: per Kominfo evaluation component, the evidence the masterplan data gives (as of the month)
# and a self-assessed score on the methodology's scale, with the index they make (kotacerdas.masterplan.readiness).
MASTERPLAN_READINESS_COLUMNS: dict[str, str] = {
    "city_code": "string",
    "period": "string",
    "component_type": "string",  # part | index
    "component": "string",  # baseline, output, outcome, impact, quick_win; index
    "evidence": "string",  # what the ratio counts, in words
    "ratio": "float64",  # 0..1
    "score": "float64",  # self-assessed, on the methodology's scale (1-5)
    "weight": "float64",
    "contribution": "float64",
    "methodology": "string",
    "methodology_version": "string",
}
