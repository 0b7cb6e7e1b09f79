"""What the Dagster UI shows beside the data, in Dagster's standard metadata: owners (config/pipeline.yaml), the
column schema of each table an asset holds or publishes (from the one declaration, kotacerdas/schemas.py, as the
warehouse's tables compose it in kotacerdas/warehouse/schema.py), row counts, the published scores in Markdown, and
numbers rounded for display (the warehouse keeps them unrounded)."""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg
import pandas as pd

from kotacerdas.config import ProjectConfig
from kotacerdas.report.labels import Labels
from kotacerdas.report.summary import scores_markdown
from kotacerdas.rounding import round_for_display
from kotacerdas.schemas import (
    CANONICAL_TABLES,
    INDEX_SCORE_COLUMNS,
    INDICATOR_VALUE_COLUMNS,
    PUBLISH_STATUS_COLUMNS,
    QUARANTINE_COLUMNS,
)
from kotacerdas.warehouse.schema import FACT_TABLES, REGULATOR_TABLES

ROW_COUNT = "dagster/row_count"
COLUMN_SCHEMA = "dagster/column_schema"

# pandas dtypes of kotacerdas/schemas.py as the UI names column types
_TYPES = {"string": "string", "Int64": "int", "float64": "float", "boolean": "bool", "datetime64[us]": "timestamp"}

# The columns of what each asset holds: the validated canonical tables, and the warehouse tables published
# (`published_scores` replaces `index_scores` and, with it, `indicator_values` in the same transaction).
_ASSET_COLUMNS: dict[str, Mapping[str, str]] = {
    **{name: table.all_columns for name, table in CANONICAL_TABLES.items()},
    "quarantine": QUARANTINE_COLUMNS,
    "indicator_values": INDICATOR_VALUE_COLUMNS,
    "maturity_scores": INDEX_SCORE_COLUMNS,
    "published_scores": FACT_TABLES["index_scores"],  # with the partition's status, which publishing adds
}

MASTERPLAN_TABLES = tuple(t for t in FACT_TABLES if t.startswith("masterplan_"))
# Assets that hold or publish several warehouse tables: (tables, columns left out). The regulators' indices are
# computed as those tables' rows; publishing adds the partition's status.
_ASSET_TABLES: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "regulator_indices": (REGULATOR_TABLES, frozenset(PUBLISH_STATUS_COLUMNS)),
    "published_regulator_indices": (REGULATOR_TABLES, frozenset()),
    "masterplan_status": (MASTERPLAN_TABLES, frozenset()),
}


def table_schema(columns: Mapping[str, str]) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(name, _TYPES.get(dtype, dtype)) for name, dtype in columns.items()])


def tables_schema(tables: tuple[str, ...], without: frozenset[str] = frozenset()) -> dg.TableSchema:
    """One schema for an asset of several tables (Dagster shows one per asset): every column once, in the order of
    the tables, described by the tables that have it."""
    columns: dict[str, tuple[str, list[str]]] = {}
    for table in tables:
        for name, dtype in FACT_TABLES[table].items():
            if name in without:
                continue
            known = columns.setdefault(name, (dtype, []))
            if known[0] != dtype:
                raise ValueError(f"column {name} is {known[0]} in {known[1]} but {dtype} in {table}")
            known[1].append(table)
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, _TYPES.get(dtype, dtype), description="in " + ", ".join(where))
            for name, (dtype, where) in columns.items()
        ]
    )


def with_owners_and_schema(spec: dg.AssetSpec, project: ProjectConfig) -> dg.AssetSpec:
    """The spec with its group's owners and, for a table, its column schema (for `dg.map_asset_specs`)."""
    owners = project.pipeline.asset_owners
    attrs: dict = {"owners": owners.get(spec.group_name or "", owners.get("default", []))}
    key = spec.key.to_user_string()
    columns = _ASSET_COLUMNS.get(key)
    if columns is not None:
        attrs["metadata"] = {COLUMN_SCHEMA: table_schema(columns)}
    elif key in _ASSET_TABLES:
        attrs["metadata"] = {COLUMN_SCHEMA: tables_schema(*_ASSET_TABLES[key])}
    return spec.merge_attributes(**attrs)


def row_count(rows: int) -> dict:
    return {ROW_COUNT: dg.MetadataValue.int(int(rows))}


def shown(value: float | None, places: int = 2) -> float | None:
    """A number as the UI should show it (half up)."""
    return round_for_display(value, places)


def published_scores_metadata(written: Mapping[str, int], scores: pd.DataFrame, labels: Labels) -> dict:
    """One published partition: the index rows written (the asset's table) and the scores in Markdown."""
    return row_count(written.get("index_scores", len(scores))) | {
        "scores": dg.MetadataValue.md(scores_markdown(scores, labels))
    }
