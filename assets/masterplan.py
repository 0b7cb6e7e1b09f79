"""Masterplan stage: the status of the city's Masterplan Smart City in each city × month, from the OPDs' validated
progress reports (`masterplan_progress`), published to the warehouse (kotacerdas.masterplan)."""

import dagster as dg

from assets.failures import scrubbed_failures
from assets.partitioned import report_metadata
from assets.partitions import partitions_of
from assets.publish import WRITER_POOL
from assets.resources import ProjectResource, WarehouseResource
from kotacerdas.masterplan.partition import delivered_quick_wins, partition_status, previous_evaluation
from kotacerdas.masterplan.status import empty_frames
from kotacerdas.quality.gate import GateResult
from kotacerdas.warehouse.publish import publish_partition


def build_masterplan_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        name="masterplan_status",
        group_name="masterplan",
        partitions_def=partitions_def,
        ins={"masterplan_progress": dg.AssetIn("masterplan_progress")},
        pool=WRITER_POOL,
        kinds={"python", "sql"},
        description="Per masterplan programme (config/masterplan/, the version in force that month): planned vs "
        "actual progress, budget absorption, target achievement and a status (config/masterplan/status_rules.yaml); "
        "quick wins (delivered stays delivered from the month published), roll-ups per dimension and OPD, RPJMD "
        "alignment, evaluation readiness; replaced in the warehouse in one transaction.",
    )
    @scrubbed_failures
    def masterplan_status(
        context: dg.AssetExecutionContext,
        project: ProjectResource,
        warehouse: WarehouseResource,
        masterplan_progress: dict[str, GateResult],
    ) -> dg.MaterializeResult:
        engine = warehouse.engine()
        metadata = {}
        try:
            for part in partitions_of(context):
                delivered = delivered_quick_wins(engine, part.city, part.period)
                result = partition_status(
                    project.project,
                    part.city,
                    part.period,
                    masterplan_progress[part.key],
                    delivered,
                    previous=previous_evaluation(engine, part.city, part.period),
                )
                if result is None:
                    context.log.info(f"{part}: no masterplan version in force; its masterplan rows are cleared")
                    publish_partition(engine, part.city, part.period, empty_frames(), run_id=context.run.run_id)
                    metadata[part] = {"masterplan_version": "none"}
                    continue
                written = publish_partition(engine, part.city, part.period, result.frames(), run_id=context.run.run_id)
                counts = result.programmes["status"].value_counts().to_dict()
                if result.unknown_programmes:
                    context.log.warning(f"{part}: reports name programmes not in the masterplan: "
                                        f"{result.unknown_programmes}")  # fmt: skip
                metadata[part] = {
                    "masterplan_version": str(result.programmes["masterplan_version"].iloc[0]),
                    "status": dg.MetadataValue.json({k: int(v) for k, v in counts.items()}),
                    "unknown_programmes": dg.MetadataValue.json(result.unknown_programmes),
                } | {f"{k}_rows": v for k, v in written.items()}
        finally:
            engine.dispose()
        return dg.MaterializeResult(metadata=report_metadata(context, metadata) | {"warehouse": warehouse.display()})

    return masterplan_status
