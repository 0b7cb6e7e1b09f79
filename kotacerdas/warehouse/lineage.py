"""Lineage rows for the warehouse: the staged rows of a partition, which of them each indicator counted, and the
indicator values enriched with their normalised score, weight and data-quality flag.

`indicator_lineage` re-applies each catalog method's row selection (the same `where`/`numerator` expressions
and derived columns as `kotacerdas.indicators.compute`) and refuses to publish when the number of rows it finds
differs from the value's `rows_used`, so the lineage can never silently disagree with the number.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from kotacerdas.indicators.catalog import IndicatorCatalog
from kotacerdas.indicators.compute import add_derived_columns, columns_selected, rows_counted
from kotacerdas.warehouse.schema import (
    INDICATOR_LINEAGE_COLUMNS,
    STAGED_COLUMNS,
    STAGED_LINEAGE_COLUMNS,
)


def staged_frames(
    valid: Mapping[str, pd.DataFrame], raw_sha256: Mapping[str, str], *, city_code: str, period: str
) -> dict[str, pd.DataFrame]:
    """`staged_<table>` frames from the validated rows (personal data already pseudonymised in staging)."""
    out = {}
    for table, columns in STAGED_COLUMNS.items():
        df = valid.get(table)
        if df is None:
            continue
        frame = df.copy()
        frame["city_code"] = city_code
        frame["period"] = period
        frame["_raw_sha256"] = frame["_raw_file"].map(raw_sha256).astype("string")
        unknown = frame.loc[frame["_raw_sha256"].isna(), "_raw_file"].dropna().unique()
        if len(unknown):
            raise ValueError(
                f"staged {table} rows of {city_code} {period} come from raw file(s) not in this "
                f"ingest: {list(unknown[:3])}"
            )
        for col, dtype in {**columns, **STAGED_LINEAGE_COLUMNS}.items():
            if col not in frame.columns:  # personal-data columns dropped in staging (no key): NULL
                frame[col] = pd.Series(index=frame.index, dtype=dtype)
        out[f"staged_{table}"] = frame[list({**columns, **STAGED_LINEAGE_COLUMNS})]
    return out


def indicator_lineage(
    catalog: IndicatorCatalog, valid: Mapping[str, pd.DataFrame], values: pd.DataFrame, *, city_code: str, period: str
) -> pd.DataFrame:
    """One row per (indicator, staged row counted); checked against `rows_used` of `values`."""
    derived = {name: add_derived_columns(name, _narrowed(df, catalog, name)) for name, df in valid.items()}
    used = dict(zip(values["indicator_code"], values["rows_used"], strict=True))
    codes, tables, files, raw_rows, numerators, mismatched = [], [], [], [], [], []
    for ind in catalog.indicators:
        table = ind.method.table
        if table not in derived:
            raise ValueError(f"indicator {ind.code}: validated table {table!r} was not provided")
        rows, in_numerator = rows_counted(ind, derived[table])
        if ind.code in used and pd.notna(used[ind.code]) and int(used[ind.code]) != len(rows):
            mismatched.append(f"{ind.code} ({used[ind.code]} used, {len(rows)} found)")
        # columns gathered per indicator and framed once: a frame per indicator cost more than its rows
        codes.append(np.full(len(rows), ind.code, dtype=object))
        tables.append(np.full(len(rows), table, dtype=object))
        files.append(rows["_raw_file"].array)
        raw_rows.append(rows["_raw_row"].array)
        numerators.append(
            pd.array(in_numerator, dtype="boolean")
            if in_numerator is not None
            else pd.array([pd.NA] * len(rows), dtype="boolean")
        )
    if mismatched:
        raise ValueError(
            f"lineage of {city_code} {period} disagrees with the indicator values: "
            + ", ".join(mismatched)
            + "; kotacerdas.indicators.compute.rows_counted must select the "
            "rows kotacerdas.indicators.compute counts"
        )
    if not codes:
        return pd.DataFrame(columns=list(INDICATOR_LINEAGE_COLUMNS)).astype(INDICATOR_LINEAGE_COLUMNS)
    out = pd.DataFrame(
        {
            "city_code": city_code,
            "period": period,
            "indicator_code": pd.array(np.concatenate(codes), dtype="string"),
            "table_name": pd.array(np.concatenate(tables), dtype="string"),
            "_raw_file": _joined(files).astype("string").array,
            "_raw_row": _joined(raw_rows).astype("Int64").array,
            "in_numerator": _joined(numerators).array,
        }
    )
    return out[list(INDICATOR_LINEAGE_COLUMNS)].astype(INDICATOR_LINEAGE_COLUMNS)


def _narrowed(df: pd.DataFrame, catalog: IndicatorCatalog, table: str) -> pd.DataFrame:
    """`df` with only the columns the table's indicators select rows by and the lineage keeps: the same rows are
    selected, and the selections copy a few columns instead of every staged one (#15)."""
    read = columns_selected(i for i in catalog.indicators if i.method.table == table)
    if read is None:
        return df
    keep = [c for c in df.columns if c in read or c in LINEAGE_KEYS]
    return df[keep] if len(keep) < len(df.columns) else df


LINEAGE_KEYS = ("_raw_file", "_raw_row")  # what a lineage row names of a staged row


def _joined(arrays: list) -> pd.Series:
    return pd.concat([pd.Series(a, copy=False) for a in arrays], ignore_index=True)


def enrich_indicator_values(
    values: pd.DataFrame, scores: pd.DataFrame, table_quality: Mapping[str, tuple[float, float]]
) -> pd.DataFrame:
    """Add the normalised score and weight (from the indicator-level scores) and the data-quality columns.

    `table_quality`: canonical table -> (share of its rows rejected by the gate, share of the OPDs expected to
    deliver it that did). quality_flag: no_data > incomplete_delivery > rows_rejected > ok.
    """
    ind = scores[scores["level"] == "indicator"].set_index("code")
    out = values.copy()
    out["normalised_score"] = out["indicator_code"].map(ind["score"]).astype("float64")
    out["weight"] = out["indicator_code"].map(ind["weight"]).astype("float64")
    out["methodology"] = out["indicator_code"].map(ind["methodology"]).astype("string")
    out["methodology_version"] = out["indicator_code"].map(ind["methodology_version"]).astype("string")
    rejected = out["source_table"].map(lambda t: table_quality.get(t, (float("nan"), float("nan")))[0])
    delivered = out["source_table"].map(lambda t: table_quality.get(t, (float("nan"), float("nan")))[1])
    out["rejected_share"] = rejected.astype("float64")
    out["delivery_coverage"] = delivered.astype("float64")
    flag = pd.Series("ok", index=out.index, dtype="string")
    flag[out["rejected_share"] > 0] = "rows_rejected"
    flag[out["delivery_coverage"] < 1] = "incomplete_delivery"
    flag[out["value"].isna()] = "no_data"
    out["quality_flag"] = flag
    return out
