"""SDMX-CSV (version 1.0, one observation per row) of the indicator values, dimension scores, indices and the
regulators' indices: REF_AREA is the Kemendagri code, TIME_PERIOD ISO 8601 (2025-03, or 2025 for a year).

OBS_STATUS uses the SDMX cross-domain code list CL_OBS_STATUS: `A` normal value, `P` provisional value (a period
published with missing inputs, status `incomplete`: it will be revised when they arrive), `O` missing value (an
indicator without data: OBS_VALUE is empty).
"""

from __future__ import annotations

import re
from typing import SupportsFloat

import pandas as pd

from kotacerdas.report.export_frames import INCOMPLETE, ExportTables

COLUMNS = ["DATAFLOW", "REF_AREA", "INDICATOR", "TIME_PERIOD", "OBS_VALUE", "UNIT_MEASURE", "OBS_STATUS"]
OBS_STATUS = {"normal": "A", "provisional": "P", "missing": "O"}
AGENCY = "KOTACERDAS"
# Units as SDMX codes (CL_UNIT_MEASURE style) where one exists; a score 0–100 and the regulators' scales are indices.
UNITS = {"%": "PT", "days": "DAYS", "hari": "DAYS"}


def _unit(unit: object) -> str:
    if unit is None or (isinstance(unit, float) and pd.isna(unit)) or unit is pd.NA:
        return "NA"
    return UNITS.get(str(unit), "".join(ch if ch.isalnum() else "_" for ch in str(unit).upper()).strip("_"))


def _status(status: object, value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return OBS_STATUS["missing"]
    return OBS_STATUS["provisional"] if status == INCOMPLETE else OBS_STATUS["normal"]


def _value(value: SupportsFloat | None) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return ""
    return repr(float(value))


def sdmx_rows(tables: ExportTables) -> pd.DataFrame:
    rows = []

    def flow(name: str, version: object) -> str:
        # SDMX versions are dotted (a regulation's "14/2017" becomes 14.2017)
        return f"{AGENCY}:{name}({re.sub(r'[^0-9A-Za-z_.]', '.', str(version))})"

    for r in tables.indicator_values.itertuples(index=False):
        rows.append(
            (
                flow("SMART_CITY_INDICATORS", r.catalog_version),
                r.city_code,
                r.indicator_code,
                r.period,
                _value(r.value),
                _unit(r.unit),
                _status(r.status, r.value),
            )
        )
    for level, frame in (("DIM", tables.dimension_scores), ("", tables.indices)):
        for r in frame.itertuples(index=False):
            code = f"{level}_{r.code}".upper() if level else "INDEX"
            rows.append(
                (
                    flow("SMART_CITY_MATURITY", r.methodology_version),
                    r.city_code,
                    code,
                    r.period,
                    _value(r.score),
                    "IX",
                    _status(r.status, r.score),
                )
            )
    for r in tables.regulators.itertuples(index=False):
        code = f"{r.regulator}_{r.assessor}".upper() if isinstance(r.assessor, str) else str(r.regulator).upper()
        rows.append(
            (
                flow(f"REGULATOR_{str(r.regulator).upper()}", r.methodology_version),
                r.city_code,
                code,
                r.period,
                _value(r.score),
                "IX",
                _status(r.status, r.score),
            )
        )
    return pd.DataFrame(rows, columns=COLUMNS)
