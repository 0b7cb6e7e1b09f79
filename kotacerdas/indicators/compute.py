"""Compute every catalog indicator for one city × month from the validated canonical tables."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from kotacerdas.indicators.catalog import (
    IkmMethod,
    Indicator,
    IndicatorCatalog,
    MedianMethod,
    ShareMethod,
    SubmittedMethod,
)
from kotacerdas.regulators.ikm import ikm_unit_score  # the one IKM implementation (PermenPANRB 14/2017)

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
    "rows_used": "Int64",  # staged rows the value was computed from
    "source_table": "string",
    "status": "string",  # ok | no_data
    "catalog_version": "string",
}

_DAY = pd.Timedelta(days=1)


def add_derived_columns(table: str, df: pd.DataFrame) -> pd.DataFrame:
    """Durations that catalog expressions may use; computed here so staged tables stay canonical."""
    df = df.copy()
    if table == "service_requests":
        df["processing_days"] = (df["completed_at"] - df["submitted_at"]) / _DAY
    elif table == "complaints":
        df["first_response_days"] = (df["first_response_at"] - df["received_at"]) / _DAY
        df["resolution_days"] = (df["resolved_at"] - df["received_at"]) / _DAY
    return df


def _select(df: pd.DataFrame, expression: str | None, indicator: Indicator) -> pd.DataFrame:
    if not expression or df.empty:
        return df
    try:
        return df.query(expression, engine="python")
    except Exception as exc:  # pandas raises many types for a bad expression; report them all the same way
        raise ValueError(f"indicator {indicator.code}: cannot evaluate {expression!r} on "
                         f"{indicator.method.table}: {exc}") from exc


def compute_indicator(indicator: Indicator, tables: Mapping[str, pd.DataFrame], population: int) -> dict:
    method = indicator.method
    df = tables.get(method.table)
    if df is None:
        raise ValueError(f"indicator {indicator.code}: table {method.table!r} was not provided")
    num = den = np.nan
    if isinstance(method, ShareMethod):
        base = _select(df, method.where, indicator)
        hits = _select(base, method.numerator, indicator)
        den, num = float(len(base)), float(len(hits))
        value, used = (100.0 * num / den if den else np.nan), len(base)
    elif isinstance(method, MedianMethod):
        base = _select(df, method.where, indicator)[method.column].dropna()
        value, used = (float(base.median()) if len(base) else np.nan), len(base)
    elif isinstance(method, IkmMethod):
        base = _select(df, method.where, indicator)
        value, used = (ikm_unit_score(base) if len(base) else np.nan), len(base)
    elif isinstance(method, SubmittedMethod):
        rows = df[df["indicator_code"] == indicator.code]
        used = len(rows)
        # Several submissions for one indicator-month (several OPDs or re-sends) are summed for counts
        # and averaged for rates: a rate cannot be added up.
        raw = rows["value"].dropna()
        if not len(raw):
            value = np.nan
        elif method.per_population:
            num, den = float(raw.sum()), population / method.per_population
            value = num / den
        else:
            value = float(raw.mean())
    else:  # pragma: no cover - the catalog model admits no other type
        raise TypeError(type(method))
    return {"value": value, "numerator": num, "denominator": den, "rows_used": used}


def compute_indicators(
    catalog: IndicatorCatalog,
    tables: Mapping[str, pd.DataFrame],
    *,
    city_code: str,
    period: str,
    population: int,
) -> pd.DataFrame:
    """One row per catalog indicator; `status` is `no_data` when nothing fed it (value NaN)."""
    derived = {name: add_derived_columns(name, df) for name, df in tables.items()}
    rows = []
    for ind in catalog.indicators:
        result = compute_indicator(ind, derived, population)
        rows.append({
            "city_code": city_code,
            "period": period,
            "indicator_code": ind.code,
            "dimension": ind.dimension,
            "element": ind.element,
            "unit": ind.unit,
            **result,
            "source_table": ind.method.table,
            "status": "ok" if pd.notna(result["value"]) else "no_data",
            "catalog_version": catalog.version,
        })
    out = pd.DataFrame(rows, columns=list(INDICATOR_VALUE_COLUMNS))
    return out.astype(INDICATOR_VALUE_COLUMNS)
