"""Publish stage: each partition replaced in the warehouse in one transaction (delete, then bulk insert)."""

import dagster as dg
import pandas as pd

from kotacerdas.gate import GateResult
from kotacerdas.schemas import CANONICAL_TABLES
from kotacerdas.sources.ingest import IngestResult
from kotacerdas.warehouse.frames import ingest_log_frames
from kotacerdas.warehouse.publish import publish_partition
from pipelines.partitions import partition_of
from pipelines.resources import WarehouseResource

# DuckDB allows one writer at a time: every asset that writes the warehouse runs in this pool (limit 1).
WRITER_POOL = "warehouse_writer"


def build_quarantine_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    ins = {f"{t}_gate": dg.AssetIn(t) for t in CANONICAL_TABLES}
    ins |= {f"{t}_raw": dg.AssetIn(f"{t}_raw") for t in CANONICAL_TABLES}
    gate_check = dg.AssetCheckSpec(
        "partition_within_error_threshold", asset="quarantine", blocking=True,
        description="Blocks indicators and indices when a table's share of rejected rows passes the threshold "
                    "(config/pipeline.yaml: max_rejected_share).",
    )

    @dg.asset(
        name="quarantine",
        group_name="quality",
        partitions_def=partitions_def,
        ins=ins,
        kinds={"sql"},
        pool=WRITER_POOL,
        check_specs=[gate_check],
        description="Rejected rows with their rule and reason, the raw files ingested and the sources that "
                    "failed, published for OPD data stewards; gates the partition.",
    )
    def quarantine(context: dg.AssetExecutionContext, warehouse: WarehouseResource, **inputs):
        city, month = partition_of(context)
        gates: list[GateResult] = [inputs[f"{t}_gate"] for t in CANONICAL_TABLES]
        ingests: list[IngestResult] = [inputs[f"{t}_raw"] for t in CANONICAL_TABLES]
        frames = {"quarantine": pd.concat([g.quarantine for g in gates], ignore_index=True)}
        frames |= ingest_log_frames(ingests, city, month)
        engine = warehouse.engine()
        try:
            written = publish_partition(engine, city, month, frames, run_id=context.run.run_id)
        finally:
            engine.dispose()
        yield dg.Output(None, metadata={f"{k}_rows": v for k, v in written.items()}
                        | {"warehouse": warehouse.display()})
        blocked = [g for g in gates if not g.passed]
        yield dg.AssetCheckResult(
            check_name="partition_within_error_threshold",
            passed=not blocked,
            severity=dg.AssetCheckSeverity.ERROR,
            description="; ".join(g.verdict() for g in blocked) or "every table within the threshold",
            metadata={g.table: g.verdict() for g in gates},
        )

    return quarantine


def build_scores_publish_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        name="published_scores",
        group_name="publish",
        partitions_def=partitions_def,
        kinds={"sql"},
        pool=WRITER_POOL,
        description="Indicator values and maturity scores of the partition in the warehouse tables "
                    "`indicator_values` and `index_scores`, replaced in one transaction.",
    )
    def published_scores(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                         indicator_values: pd.DataFrame, maturity_scores: pd.DataFrame):
        city, month = partition_of(context)
        engine = warehouse.engine()
        try:
            written = publish_partition(
                engine, city, month, {"indicator_values": indicator_values, "index_scores": maturity_scores},
                run_id=context.run.run_id,
            )
        finally:
            engine.dispose()
        return dg.MaterializeResult(metadata={f"{k}_rows": v for k, v in written.items()}
                                    | {"warehouse": warehouse.display()})

    return published_scores
