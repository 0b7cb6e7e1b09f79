"""Indicators stage: every catalog indicator for each city × month of the run from the validated tables."""

import dagster as dg
import pandas as pd

from assets.failures import scrubbed_failures
from assets.partitioned import report_metadata
from assets.partitions import partitions_of
from assets.resources import ProjectResource
from assets.ui_metadata import row_count
from kotacerdas.indicators.compute import compute_indicators
from kotacerdas.quality.gate import GateResult
from kotacerdas.schemas import MONTHLY_TABLES


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
    @scrubbed_failures
    def indicator_values(context: dg.AssetExecutionContext, project: ProjectResource, **tables: dict[str, GateResult]):
        cfg = project.project
        catalog = cfg.catalog
        values_by_key: dict[str, pd.DataFrame | None] = {}
        metadata = {}
        for part in partitions_of(context):
            gates = {name: by_key[part.key] for name, by_key in tables.items()}
            blocked = [g.verdict() for g in gates.values() if not g.passed]
            if blocked:  # only in a range run: a single-partition run is stopped by the blocking check
                context.log.warning(f"{part}: not computed, quality gate failed: {'; '.join(blocked)}")
                values_by_key[part.key], metadata[part] = None, {"blocked": 1}
                continue
            values = compute_indicators(
                catalog,
                {name: gate.valid for name, gate in gates.items()},
                city_code=part.city,
                period=part.period,
                population=cfg.cities.city(part.city).population,
            )
            missing = values.loc[values["status"] == "no_data", "indicator_code"].tolist()
            if missing:
                context.log.warning(f"{part}: no data for {len(missing)} indicator(s): {', '.join(missing)}")
            values_by_key[part.key] = values
            metadata[part] = {
                "indicators": len(values),
                "without_data": len(missing),
                "blocked": 0,
                "preview": dg.MetadataValue.md(_preview(values)),
            } | row_count(len(values))
        return dg.Output(values_by_key, metadata=report_metadata(context, metadata))

    return indicator_values


def _preview(values: pd.DataFrame) -> str:
    lines = ["| indicator | value | unit | rows |", "|---|---|---|---|"]
    lines += [f"| {r.indicator_code} | {r.value:.4g} | {r.unit} | {r.rows_used} |" for r in values.itertuples()]
    return "\n".join(lines)
