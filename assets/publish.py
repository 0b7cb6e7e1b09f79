"""Publish stage: each partition replaced in the warehouse atomically (delete, then bulk insert).

Over a range of partitions (a single-run backfill) up to `publish_partitions_per_transaction` partitions
(config/pipeline.yaml) are published in one transaction, with one statement per table for all of them; a
partition that fails its quality gate is left out, the others are published.
"""

from collections.abc import Mapping

import dagster as dg

from assets.failures import scrubbed_failures
from assets.io_manager import light_input
from assets.partitioned import partitioned_check, partitions_failure, report_checks, report_metadata
from assets.partitions import in_groups, partitions_of
from assets.quality import check_result, error_check_spec
from assets.resources import ProjectResource, WarehouseResource
from assets.ui_metadata import published_scores_metadata, row_count
from kotacerdas.ingest.table import IngestResult
from kotacerdas.quality.gate import GateResult
from kotacerdas.report.labels import load_labels
from kotacerdas.schemas import MONTHLY_TABLES
from kotacerdas.warehouse.partition import partition_status, quarantine_frames, score_frames
from kotacerdas.warehouse.publish import publish_partitions
from kotacerdas.warehouse.reference import load_reference_data

# DuckDB allows one writer at a time: every asset that writes the warehouse runs in this pool (limit 1).
WRITER_POOL = "warehouse_writer"


def build_quarantine_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    ins = {f"{t}_gate": dg.AssetIn(t) for t in MONTHLY_TABLES}
    ins |= {f"{t}_raw": light_input(f"{t}_raw") for t in MONTHLY_TABLES}
    gate_check = partitioned_check(
        "partition_within_error_threshold",
        asset="quarantine",
        blocking=True,
        partitions_def=partitions_def,
        description="Blocks indicators and indices when a table's share of rejected rows passes the threshold "
        "(config/pipeline.yaml: max_rejected_share).",
    )
    # Each table's blocking check is evaluated here, once its rejected rows are in the warehouse.
    table_checks = [error_check_spec(t, partitions_def) for t in MONTHLY_TABLES.values()]

    # A multi-asset, so that it may carry checks of the tables it gates (what Dagster's dbt integration does for
    # source tests): the tables' blocking checks run after their rejected rows are published.
    @dg.multi_asset(
        name="quarantine",
        specs=[
            dg.AssetSpec(
                "quarantine",
                group_name="quality",
                kinds={"sql"},
                partitions_def=partitions_def,
                description="Rejected rows with their rule and reason, the raw files ingested, the sources that "
                "failed, rule results and what each OPD delivered when (DHIS2-style timeliness: due, received, "
                "on time, late, missing), published for OPD data stewards and evaluators (with the "
                "dimensions from config/); gates the partition.",
                deps=[*MONTHLY_TABLES, *(f"{t}_raw" for t in MONTHLY_TABLES)],
            )
        ],
        partitions_def=partitions_def,
        ins=ins,
        pool=WRITER_POOL,
        check_specs=[gate_check, *table_checks],
        allow_arbitrary_check_specs=True,
    )
    @scrubbed_failures
    def quarantine(context: dg.AssetExecutionContext, warehouse: WarehouseResource, project: ProjectResource, **inputs):
        engine = warehouse.engine()
        metadata, checks = {}, {}
        try:
            reference = load_reference_data(engine, project.project)
            per_transaction = project.project.pipeline.publish_partitions_per_transaction
            for group in in_groups(partitions_of(context), per_transaction):
                frames = {}
                for part in group:
                    gates: list[GateResult] = [inputs[f"{t}_gate"][part.key] for t in MONTHLY_TABLES]
                    ingests: list[IngestResult] = [inputs[f"{t}_raw"][part.key] for t in MONTHLY_TABLES]
                    frames[part] = quarantine_frames(
                        project.project, project.raw_dir(), gates, ingests, part.city, part.period, project.pii_key()
                    )
                    checks[part] = [*(check_result(g, "error") for g in gates), _partition_gate_check(gates)]
                written = publish_partitions(
                    engine, {(p.city, p.period): f for p, f in frames.items()}, run_id=context.run.run_id
                )
                for part in group:
                    rows = written[(part.city, part.period)]
                    metadata[part] = {f"{k}_rows": v for k, v in rows.items()} | row_count(rows.get("quarantine", 0))
        finally:
            engine.dispose()
        yield dg.MaterializeResult(
            asset_key="quarantine",
            metadata=report_metadata(context, metadata)
            | {"warehouse": warehouse.display(), "reference_rows_loaded": sum(reference.values())},
        )
        yield from report_checks(context, checks)

    return quarantine


def _partition_gate_check(gates: list[GateResult]) -> dg.AssetCheckResult:
    blocked = [g for g in gates if not g.passed]
    return dg.AssetCheckResult(
        asset_key="quarantine",
        check_name="partition_within_error_threshold",
        passed=not blocked,
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(g.verdict() for g in blocked) or "every table within the threshold",
        metadata={g.table: g.verdict() for g in gates},
    )


def build_scores_publish_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    ins = {"indicator_values": dg.AssetIn("indicator_values"), "maturity_scores": dg.AssetIn("maturity_scores")}
    ins |= {f"{t}_gate": dg.AssetIn(t) for t in MONTHLY_TABLES}
    ins |= {f"{t}_raw": light_input(f"{t}_raw") for t in MONTHLY_TABLES}

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
    @scrubbed_failures
    def published_scores(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        project: ProjectResource,
        indicator_values: Mapping,  # partition key → frame, None if blocked
        maturity_scores: Mapping,  # the same
        **inputs,
    ):
        engine = warehouse.engine()
        metadata, incomplete = {}, []
        labels = load_labels(project.project, "id")
        try:
            per_transaction = project.project.pipeline.publish_partitions_per_transaction
            for group in in_groups(partitions_of(context), per_transaction):
                frames, statuses = {}, {}
                for part in group:
                    gates: list[GateResult] = [inputs[f"{t}_gate"][part.key] for t in MONTHLY_TABLES]
                    if indicator_values[part.key] is None:  # blocked by its quality gate (range runs only)
                        context.log.warning(f"{part}: not published, the partition failed its quality gate")
                        metadata[part] = {"published": 0}
                        missing = [g.verdict() for g in gates if not g.complete]
                        incomplete += [(part, f"{part}: {'; '.join(missing)}")] if missing else []
                        continue
                    ingests: list[IngestResult] = [inputs[f"{t}_raw"][part.key] for t in MONTHLY_TABLES]
                    frames[part] = score_frames(
                        project.project,
                        gates,
                        ingests,
                        indicator_values[part.key],
                        maturity_scores[part.key],
                        part.city,
                        part.period,
                    )
                    statuses[part] = partition_status(gates)
                written = publish_partitions(
                    engine, {(p.city, p.period): f for p, f in frames.items()}, run_id=context.run.run_id
                )
                for part, status in statuses.items():
                    rows = written[(part.city, part.period)]
                    metadata[part] = {"published": 1, "status": status} | {f"{k}_rows": v for k, v in rows.items()}
                    metadata[part] |= published_scores_metadata(rows, maturity_scores[part.key], labels)
        finally:
            engine.dispose()
        yield dg.MaterializeResult(metadata=report_metadata(context, metadata) | {"warehouse": warehouse.display()})
        if incomplete:
            # the others of the range are published; the run still fails, so the run-failure sensor tells someone
            raise partitions_failure(
                "incomplete partition(s) not published, the previous version stays: "
                + " | ".join(text for _, text in incomplete),
                [part for part, _ in incomplete],
            )

    return published_scores
