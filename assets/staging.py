"""Staging stage: typed canonical rows, personal data pseudonymised, unparseable rows set aside."""

from collections.abc import Mapping

import dagster as dg

from assets.failures import scrubbed_failures
from assets.partitioned import report_metadata
from assets.partitions import partitions_of
from assets.resources import ProjectResource
from kotacerdas.schemas import CanonicalTable
from kotacerdas.stage.staging import StagingResult, stage_table


def build_staging_asset(table: CanonicalTable, partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"{table.name}_staged",
        group_name="staging",
        partitions_def=partitions_def,
        ins={"raw": dg.AssetIn(f"{table.name}_raw")},
        kinds={"python", "pandas"},
        description=f"{table.description} Canonical, typed; personal data pseudonymised.",
    )
    @scrubbed_failures
    def _stage(
        context: dg.AssetExecutionContext,
        project: ProjectResource,
        raw: Mapping,  # partition key → IngestResult
    ):
        if project.pii_key() is None and table.pii_columns:
            context.log.warning(
                f"KOTACERDAS_PII_KEY is not set: personal-data columns {sorted(table.pii_columns)} were dropped "
                "instead of pseudonymised; to count the same person across months, set it to a long secret and keep "
                "it (docs/operators/privacy.md)"
            )
        results: dict[str, StagingResult] = {}
        metadata = {}
        for part in partitions_of(context):
            result = stage_table(
                table, raw[part.key].frame, city=part.city, month=part.period, pii_key=project.pii_key()
            )
            results[part.key] = result
            metadata[part] = {"rows": len(result.frame), "unparseable_rows": len(result.rejected)}
        return dg.Output(results, metadata=report_metadata(context, metadata))

    return _stage
