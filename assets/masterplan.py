"""Masterplan stage: the status of the city's Masterplan Smart City in each city × month, from the OPDs' validated
progress reports (`masterplan_progress`), published to the warehouse (kotacerdas.masterplan)."""

from collections.abc import Mapping

import dagster as dg

from assets.failures import scrubbed_failures
from assets.partitioned import report_metadata
from assets.partitions import in_groups, partitions_of
from assets.publish import WRITER_POOL
from assets.resources import ProjectResource, WarehouseResource
from kotacerdas.masterplan.partition import group_status
from kotacerdas.masterplan.status import empty_frames
from kotacerdas.warehouse.publish import publish_partitions


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
        "alignment, evaluation readiness; replaced in the warehouse atomically (pipeline.yaml: "
        "publish_partitions_per_transaction).",
    )
    @scrubbed_failures
    def masterplan_status(
        context: dg.AssetExecutionContext,
        project: ProjectResource,
        warehouse: WarehouseResource,
        masterplan_progress: Mapping,  # partition key → GateResult
    ) -> dg.MaterializeResult:
        engine = warehouse.engine()
        metadata = {}
        try:
            per_transaction = project.project.pipeline.publish_partitions_per_transaction
            for group in in_groups(partitions_of(context), per_transaction):
                parts = [(p.city, p.period, masterplan_progress[p.key]) for p in group]
                statuses = group_status(project.project, engine, parts)
                results = {p: statuses[(p.city, p.period)] for p in group}
                frames = {(p.city, p.period): r.frames() if r else empty_frames() for p, r in results.items()}
                written = publish_partitions(engine, frames, run_id=context.run.run_id)
                for part, result in results.items():
                    if result is None:
                        context.log.info(f"{part}: no masterplan version in force; its masterplan rows are cleared")
                        metadata[part] = {"masterplan_version": "none"}
                        continue
                    counts = result.programmes["status"].value_counts().to_dict()
                    if result.unknown_programmes:
                        context.log.warning(f"{part}: reports name programmes not in the masterplan: "
                                            f"{result.unknown_programmes}")  # fmt: skip
                    metadata[part] = {
                        "masterplan_version": str(result.programmes["masterplan_version"].iloc[0]),
                        "status": dg.MetadataValue.json({k: int(v) for k, v in counts.items()}),
                        "unknown_programmes": dg.MetadataValue.json(result.unknown_programmes),
                    } | {f"{k}_rows": v for k, v in written[(part.city, part.period)].items()}
        finally:
            engine.dispose()
        return dg.MaterializeResult(metadata=report_metadata(context, metadata) | {"warehouse": warehouse.display()})

    return masterplan_status
