"""Staging stage: typed canonical rows, personal data pseudonymised, unparseable rows set aside."""

import dagster as dg

from kotacerdas.schemas import CanonicalTable
from kotacerdas.sources.ingest import IngestResult
from kotacerdas.staging import StagingResult, stage_table
from pipelines.partitions import partition_of
from pipelines.resources import ProjectResource


def build_staging_asset(table: CanonicalTable, partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"{table.name}_staged",
        group_name="staging",
        partitions_def=partitions_def,
        ins={"raw": dg.AssetIn(f"{table.name}_raw")},
        kinds={"python", "pandas"},
        description=f"{table.description} Canonical, typed; personal data pseudonymised.",
    )
    def _stage(context: dg.AssetExecutionContext, project: ProjectResource, raw: IngestResult):
        city, month = partition_of(context)
        result: StagingResult = stage_table(table, raw.frame, city=city, month=month, pii_key=project.pii_key())
        if project.pii_key() is None and table.pii_columns:
            context.log.warning(
                f"KOTACERDAS_PII_KEY is not set: personal-data columns {sorted(table.pii_columns)} were dropped "
                "instead of pseudonymised"
            )
        return dg.Output(result, metadata={"rows": len(result.frame), "unparseable_rows": len(result.rejected)})

    return _stage
