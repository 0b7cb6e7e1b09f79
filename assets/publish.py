"""Publish stage: each partition replaced in the warehouse in one transaction (delete, then bulk insert)."""

import dagster as dg
import pandas as pd

from kotacerdas.gate import GateResult
from kotacerdas.indicators.catalog import load_catalog
from kotacerdas.schemas import CANONICAL_TABLES
from kotacerdas.sources.ingest import IngestResult
from kotacerdas.warehouse.frames import ingest_log_frames, partition_quality_frames, table_quality
from kotacerdas.warehouse.lineage import enrich_indicator_values, indicator_lineage, staged_frames
from kotacerdas.warehouse.publish import publish_partition
from kotacerdas.warehouse.reference import load_reference_data
from pipelines.partitions import partition_of
from pipelines.resources import ProjectResource, WarehouseResource

# DuckDB allows one writer at a time: every asset that writes the warehouse runs in this pool (limit 1).
WRITER_POOL = "warehouse_writer"


def _expected_opds(project: ProjectResource) -> dict[str, list[str]]:
    return {t: [o.code for o in project.project.cities.opds_for(t)] for t in CANONICAL_TABLES}


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
        description="Rejected rows with their rule and reason, the raw files ingested, the sources that failed, "
                    "rule results and what each OPD delivered when, published for OPD data stewards and "
                    "evaluators (with the dimensions from config/); gates the partition.",
    )
    def quarantine(context: dg.AssetExecutionContext, warehouse: WarehouseResource, project: ProjectResource,
                   **inputs):
        city, month = partition_of(context)
        gates: list[GateResult] = [inputs[f"{t}_gate"] for t in CANONICAL_TABLES]
        ingests: list[IngestResult] = [inputs[f"{t}_raw"] for t in CANONICAL_TABLES]
        frames = {"quarantine": pd.concat([g.quarantine for g in gates], ignore_index=True)}
        frames |= ingest_log_frames(ingests, city, month)
        frames |= partition_quality_frames(gates, ingests, _expected_opds(project), city, month)
        engine = warehouse.engine()
        try:
            reference = load_reference_data(engine, project.project)
            written = publish_partition(engine, city, month, frames, run_id=context.run.run_id)
        finally:
            engine.dispose()
        yield dg.Output(None, metadata={f"{k}_rows": v for k, v in written.items()}
                        | {"warehouse": warehouse.display(),
                           "reference_rows_loaded": sum(reference.values())})
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
    ins = {"indicator_values": dg.AssetIn("indicator_values"), "maturity_scores": dg.AssetIn("maturity_scores")}
    ins |= {f"{t}_gate": dg.AssetIn(t) for t in CANONICAL_TABLES}
    ins |= {f"{t}_raw": dg.AssetIn(f"{t}_raw") for t in CANONICAL_TABLES}

    @dg.asset(
        name="published_scores",
        group_name="publish",
        partitions_def=partitions_def,
        ins=ins,
        kinds={"sql"},
        pool=WRITER_POOL,
        description="Indicator values (with normalised score, weight, quality flag), maturity scores, the staged "
                    "rows they were computed from (personal data pseudonymised) and which rows each indicator "
                    "counted (`indicator_lineage`), replaced together in one transaction.",
    )
    def published_scores(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                         project: ProjectResource, indicator_values: pd.DataFrame, maturity_scores: pd.DataFrame,
                         **inputs):
        city, month = partition_of(context)
        gates: list[GateResult] = [inputs[f"{t}_gate"] for t in CANONICAL_TABLES]
        ingests: list[IngestResult] = [inputs[f"{t}_raw"] for t in CANONICAL_TABLES]
        valid = {g.table: g.valid.reset_index(drop=True) for g in gates}
        sha256 = {f.relpath: f.sha256 for r in ingests for f in r.raw_files}
        catalog = load_catalog(project.project.dir / "indicators.yaml")
        quality = table_quality(gates, ingests, _expected_opds(project))
        frames = {
            "indicator_values": enrich_indicator_values(indicator_values, maturity_scores, quality),
            "index_scores": maturity_scores,
            "indicator_lineage": indicator_lineage(catalog, valid, indicator_values, city_code=city, period=month),
            **staged_frames(valid, sha256, city_code=city, period=month),
        }
        engine = warehouse.engine()
        try:
            written = publish_partition(engine, city, month, frames, run_id=context.run.run_id)
        finally:
            engine.dispose()
        return dg.MaterializeResult(metadata={f"{k}_rows": v for k, v in written.items()}
                                    | {"warehouse": warehouse.display()})

    return published_scores
