"""Indicators stage: every catalog indicator for one city × month from the validated tables."""

import dagster as dg
import pandas as pd

from kotacerdas.gate import GateResult
from kotacerdas.indicators.catalog import load_catalog
from kotacerdas.indicators.compute import compute_indicators
from kotacerdas.schemas import MONTHLY_TABLES
from pipelines.partitions import partition_of
from pipelines.resources import ProjectResource


def build_indicator_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        name="indicator_values",
        group_name="indicators",
        partitions_def=partitions_def,
        ins={t: dg.AssetIn(t) for t in MONTHLY_TABLES},
        deps=["quarantine"],  # runs only after the partition passed its quality gate (blocking check)
        kinds={"python", "pandas"},
        description="One value per catalog indicator (config/indicators.yaml), unrounded, with the rows used.",
    )
    def indicator_values(context: dg.AssetExecutionContext, project: ProjectResource, **tables: GateResult):
        city, month = partition_of(context)
        cfg = project.project
        catalog = load_catalog(cfg.dir / "indicators.yaml")
        values = compute_indicators(
            catalog, {name: gate.valid for name, gate in tables.items()},
            city_code=city, period=month, population=cfg.cities.city(city).population,
        )
        missing = values.loc[values["status"] == "no_data", "indicator_code"].tolist()
        if missing:
            context.log.warning(f"{city} {month}: no data for {len(missing)} indicator(s): {', '.join(missing)}")
        return dg.Output(values, metadata={
            "indicators": len(values),
            "without_data": len(missing),
            "preview": dg.MetadataValue.md(_preview(values)),
        })

    return indicator_values


def _preview(values: pd.DataFrame) -> str:
    lines = ["| indicator | value | unit | rows |", "|---|---|---|---|"]
    lines += [f"| {r.indicator_code} | {r.value:.4g} | {r.unit} | {r.rows_used} |" for r in values.itertuples()]
    return "\n".join(lines)
