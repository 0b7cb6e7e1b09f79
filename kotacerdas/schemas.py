"""Canonical tables: the one place that says which columns each staged table has and of which type.

Every source maps onto these columns through `config/sources.yaml`; everything downstream (quality suites,
indicators, warehouse) relies on these names and dtypes only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

# Lineage columns carried by every staged row: which raw payload and which row in it.
LINEAGE_COLUMNS: dict[str, str] = {"_raw_file": "string", "_raw_row": "Int64"}

# Columns that may hold personal data; staging pseudonymises or drops them before anything is published.
PII_KINDS = ("nik", "phone", "email")


@dataclass(frozen=True)
class CanonicalTable:
    name: str
    description: str
    columns: dict[str, str]  # column -> pandas dtype
    key: tuple[str, ...]
    period_column: str  # the timestamp or period that places a row in a month partition
    pii_columns: dict[str, str] = field(default_factory=dict)  # column -> PII kind

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

CANONICAL_TABLES: dict[str, CanonicalTable] = {
    t.name: t for t in (SERVICE_REQUESTS, COMPLAINTS, SATISFACTION_RESPONSES, INDICATOR_SUBMISSIONS)
}


# Tables the ingestion issue asks for whose consumers (quality suites, indicators) do not exist yet. They are kept
# out of CANONICAL_TABLES on purpose: every table there gets Dagster assets and needs a GX suite. Move one over
# when its suite in config/expectations/ exists.
SERVICE_CATALOGUE = CanonicalTable(
    name="service_catalogue",
    description="A public service an OPD runs, with its service standard and whether it can be requested online.",
    columns={
        "city_code": "string",
        "opd_code": "string",
        "service_code": "string",
        "service_name": "string",
        "sla_days": "Int64",
        "online": "boolean",
        "valid_from": "string",  # YYYY-MM the entry applies from
    },
    key=("city_code", "opd_code", "service_code", "valid_from"),
    period_column="valid_from",
)

SPBE_ASSESSMENTS = CanonicalTable(
    name="spbe_assessments",
    description="One indicator of the SPBE (electronic government) self-assessment or evaluation: level 1-5.",
    columns={
        "city_code": "string",
        "period": "string",  # YYYY of the assessment
        "indicator_number": "Int64",  # 1..47 (PermenPANRB 59/2020)
        "domain": "string",
        "aspect": "string",
        "level": "Int64",  # 1..5
        "assessor": "string",  # self | external
    },
    key=("city_code", "period", "indicator_number", "assessor"),
    period_column="period",
)

EVALUATION_SCORES = CanonicalTable(
    name="evaluation_scores",
    description="A score of one part of the Kominfo smart-city evaluation (masterplan, quick wins, dimensions).",
    columns={
        "city_code": "string",
        "period": "string",  # YYYY or YYYY-MM of the evaluation
        "part": "string",  # e.g. masterplan | quick_win | dimension
        "item": "string",  # the dimension or element scored ("" for the whole part)
        "score": "float64",
        "max_score": "float64",
        "evaluator": "string",
    },
    key=("city_code", "period", "part", "item"),
    period_column="period",
)

PLANNED_TABLES: dict[str, CanonicalTable] = {
    t.name: t for t in (SERVICE_CATALOGUE, SPBE_ASSESSMENTS, EVALUATION_SCORES)
}


def get_table(name: str) -> CanonicalTable:
    try:
        return CANONICAL_TABLES[name]
    except KeyError:
        known = ", ".join(sorted(CANONICAL_TABLES))
        raise KeyError(f"unknown canonical table {name!r}; known tables: {known}") from None


def empty_frame(table: CanonicalTable) -> pd.DataFrame:
    """An empty DataFrame with the table's columns and dtypes (lineage included)."""
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in table.all_columns.items()})


# A rejected row, kept with why it was rejected (one row per failed rule); published to `quarantine`.
QUARANTINE_COLUMNS: dict[str, str] = {
    "table_name": "string",
    "city_code": "string",
    "period": "string",  # YYYY-MM partition the row arrived in
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
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in QUARANTINE_COLUMNS.items()})
