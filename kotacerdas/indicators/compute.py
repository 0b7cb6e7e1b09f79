"""Compute every catalog indicator for one city × month from the validated canonical tables."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping

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
from kotacerdas.indicators.row_filter import select_rows
from kotacerdas.regulators.ikm import ikm_unit_score  # the one IKM implementation (PermenPANRB 14/2017)
from kotacerdas.schemas import INDICATOR_VALUE_COLUMNS

_DAY = pd.Timedelta(days=1)


# The columns `add_derived_columns` derives from, per table: a frame narrowed to what the catalog reads keeps them.
DERIVED_FROM = {
    "service_requests": ("completed_at", "submitted_at"),
    "complaints": ("first_response_at", "received_at", "resolved_at"),
}


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
        return select_rows(df, expression)
    except Exception as exc:  # pandas raises many types for a bad expression; report them all the same way
        raise ValueError(
            f"indicator {indicator.code}: cannot evaluate {expression!r} on {indicator.method.table}: {exc}"
        ) from exc


def rows_counted(indicator: Indicator, df: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray | None]:
    """The staged rows an indicator's value is computed from and, for shares, which of them met the numerator.

    The one place a catalog method selects rows: the value (below) and its lineage in the warehouse both use it.
    """
    method = indicator.method
    if isinstance(method, ShareMethod):
        base = _select(df, method.where, indicator)
        hits = _select(base, method.numerator, indicator)
        return base, base.index.isin(hits.index)
    if isinstance(method, MedianMethod):
        base = _select(df, method.where, indicator)
        return base[base[method.column].notna()], None
    if isinstance(method, IkmMethod):
        return _select(df, method.where, indicator), None
    if isinstance(method, SubmittedMethod):
        return df[df["indicator_code"] == indicator.code], None
    raise TypeError(type(method))  # pragma: no cover - the catalog model admits no other type


def columns_selected(indicators: Iterable[Indicator]) -> set[str] | None:
    """The columns `rows_counted` reads for these indicators (their expressions' names, a median's column, a
    submission's code, and the columns their durations derive from); None when an expression names a column in a
    way not read here (backticks, `@` variables, text that is no Python expression): then it may read any."""
    names: set[str] = {"indicator_code"}
    for indicator in indicators:
        method = indicator.method
        names.update(DERIVED_FROM.get(method.table, ()))
        if isinstance(method, MedianMethod):
            names.add(method.column)
        for expression in (getattr(method, "where", None), getattr(method, "numerator", None)):
            if not expression:
                continue
            if "`" in expression or "@" in expression:
                return None
            try:
                tree = ast.parse(expression.strip(), mode="eval")
            except SyntaxError:
                return None
            names.update(node.id for node in ast.walk(tree) if isinstance(node, ast.Name))
    return names


def compute_indicator(indicator: Indicator, tables: Mapping[str, pd.DataFrame], population: int) -> dict:
    method = indicator.method
    df = tables.get(method.table)
    if df is None:
        raise ValueError(f"indicator {indicator.code}: table {method.table!r} was not provided")
    rows, in_numerator = rows_counted(indicator, df)
    num = den = np.nan
    value = np.nan
    if isinstance(method, ShareMethod) and in_numerator is not None:  # a share always says which rows count
        den, num = float(len(rows)), float(in_numerator.sum())
        value = 100.0 * num / den if den else np.nan
    elif isinstance(method, MedianMethod):
        value = float(rows[method.column].median()) if len(rows) else np.nan
    elif isinstance(method, IkmMethod):
        value = ikm_unit_score(rows) if len(rows) else np.nan
    elif isinstance(method, SubmittedMethod):
        # Several submissions for one indicator-month (several OPDs or re-sends) are summed for counts
        # and averaged for rates: a rate cannot be added up.
        raw = rows["value"].dropna()
        if len(raw) and method.per_population:
            num, den = float(raw.sum()), population / method.per_population
            value = num / den
        elif len(raw):
            value = float(raw.mean())
    return {"value": value, "numerator": num, "denominator": den, "rows_used": len(rows)}


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
        rows.append(
            {
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
            }
        )
    out = pd.DataFrame(rows, columns=list(INDICATOR_VALUE_COLUMNS))
    return out.astype(INDICATOR_VALUE_COLUMNS)
