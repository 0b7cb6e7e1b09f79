"""What the Dagster UI shows beside the data, in Dagster's standard metadata: owners (config/pipeline.yaml), the
column schema of each table an asset holds or publishes (from the one declaration, kotacerdas/schemas.py), row
counts, the published scores in Markdown, and numbers rounded for display (the warehouse keeps them unrounded)."""

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
    QUARANTINE_COLUMNS,
)

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
    "published_scores": INDEX_SCORE_COLUMNS,
}


def table_schema(columns: Mapping[str, str]) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(name, _TYPES.get(dtype, dtype)) for name, dtype in columns.items()])


def with_owners_and_schema(spec: dg.AssetSpec, project: ProjectConfig) -> dg.AssetSpec:
    """The spec with its group's owners and, for a table, its column schema (for `dg.map_asset_specs`)."""
    owners = project.pipeline.asset_owners
    attrs: dict = {"owners": owners.get(spec.group_name or "", owners.get("default", []))}
    columns = _ASSET_COLUMNS.get(spec.key.to_user_string())
    if columns is not None:
        attrs["metadata"] = {COLUMN_SCHEMA: table_schema(columns)}
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
