"""Per canonical table: ingest (raw) → staging → quality, built by one factory so every table is alike."""

import dagster as dg

from assets.ingest import build_ingest_asset
from assets.quality import build_quality_asset
from assets.staging import build_staging_asset
from kotacerdas.schemas import CanonicalTable


def build_table_assets(
    tables: dict[str, CanonicalTable], partitions_def: dg.PartitionsDefinition
) -> list[dg.AssetsDefinition]:
    """The three assets of each table, partitioned by city × month or city × year (the tables' cadence)."""
    built: list[dg.AssetsDefinition] = []
    for table in tables.values():
        built += [
            build_ingest_asset(table, partitions_def),
            build_staging_asset(table, partitions_def),
            build_quality_asset(table, partitions_def),
        ]
    return built
