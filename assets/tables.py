"""Per canonical table: ingest (raw) → staging → quality, built by one factory so every table is alike."""

import dagster as dg

from assets.ingest import build_ingest_asset
from assets.quality import build_quality_asset
from assets.staging import build_staging_asset
from kotacerdas.schemas import MONTHLY_TABLES


def build_table_assets(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    built: list[dg.AssetsDefinition] = []
    for table in MONTHLY_TABLES.values():
        built += [
            build_ingest_asset(table, partitions_def),
            build_staging_asset(table, partitions_def),
            build_quality_asset(table, partitions_def),
        ]
    return built
