"""Yearly stage: the regulators' annual indices per city × year (Kominfo evaluation, SPBE, IKM), published.

Inputs: the validated yearly tables (`evaluation_scores`, `spbe_assessments`) and the year's satisfaction survey
answers as published by the monthly partitions (read from the warehouse: one city-year of answers, not twelve
months of pickled tables). A yearly table that failed its quality gate yields no index, with the reason.
"""

from collections.abc import Mapping

import dagster as dg

from assets.failures import scrubbed_failures
from assets.io_manager import light_input
from assets.partitioned import partitions_failure, report_checks, report_metadata
from assets.partitions import months_of_year, partitions_of
from assets.publish import WRITER_POOL
from assets.quality import check_result, error_check_spec
from assets.resources import ProjectResource, WarehouseResource
from kotacerdas.ingest.table import IngestResult
from kotacerdas.quality.gate import GateResult
from kotacerdas.regulators import load_regulator_methodology
from kotacerdas.regulators.annual import AnnualIndices, annual_indices
from kotacerdas.schemas import YEARLY_TABLES
from kotacerdas.warehouse.partition import annual_frames, published_survey_responses, usable_rows
from kotacerdas.warehouse.publish import publish_partition

# which regulator table each yearly canonical table feeds
FEEDS = {"evaluation_scores": "regulator_kominfo_evaluation", "spbe_assessments": "regulator_spbe"}


def build_regulator_assets(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    @dg.asset(
        name="regulator_indices",
        group_name="indices",
        partitions_def=partitions_def,
        ins={t: dg.AssetIn(t) for t in YEARLY_TABLES},
        deps=[dg.AssetDep("published_scores", partition_mapping=months_of_year())],
        pool=WRITER_POOL,  # reads the warehouse: DuckDB lets no reader in while another process writes
        kinds={"python", "pandas"},
        description="The regulators' annual indices of one city and year, each from its methodology file "
        "(config/pipeline.yaml: *_methodology): Kominfo's evaluation index from "
        "evaluation_scores, the SPBE index per assessor from spbe_assessments, the IKM per service, "
        "OPD and city from the year's published satisfaction_responses.",
    )
    @scrubbed_failures
    def regulator_indices(
        context: dg.AssetExecutionContext,
        project: ProjectResource,
        warehouse: WarehouseResource,
        **tables: dict[str, GateResult],
    ):
        cfg = project.project
        methods = {
            k: load_regulator_methodology(getattr(cfg.pipeline, f"{k}_methodology"), cfg.dir)
            for k in ("kominfo", "spbe", "ikm")
        }
        results: dict[str, AnnualIndices] = {}
        metadata = {}
        engine = warehouse.engine()
        try:
            for part in partitions_of(context):
                gates = {name: by_key[part.key] for name, by_key in tables.items()}
                result = annual_indices(
                    part.city,
                    part.period,
                    evaluation=usable_rows(gates["evaluation_scores"]),
                    assessments=usable_rows(gates["spbe_assessments"]),
                    responses=published_survey_responses(engine, part.city, part.period),
                    kominfo=methods["kominfo"],
                    spbe=methods["spbe"],
                    ikm_methodology=methods["ikm"],
                )
                for name, gate in gates.items():
                    if not gate.passed:
                        result.not_computed[FEEDS[name]] = f"{name} failed its quality gate: {gate.verdict()}"
                for table, reason in result.not_computed.items():
                    context.log.warning(f"{part}: {table} not computed: {reason}")
                results[part.key] = result
                metadata[part] = {f"{t}_rows": len(f) for t, f in result.frames.items()} | {
                    "not_computed": dg.MetadataValue.json(result.not_computed)
                }
        finally:
            engine.dispose()
        return dg.Output(results, metadata=report_metadata(context, metadata))

    gate_checks = [error_check_spec(t, partitions_def) for t in YEARLY_TABLES.values()]

    @dg.multi_asset(
        name="published_regulator_indices",
        specs=[
            dg.AssetSpec(
                "published_regulator_indices",
                group_name="publish",
                kinds={"sql"},
                partitions_def=partitions_def,
                deps=["regulator_indices", *YEARLY_TABLES, *(f"{t}_raw" for t in YEARLY_TABLES)],
                description="The regulator tables (regulator_kominfo_evaluation, regulator_spbe, regulator_ikm) of "
                "one city and year, with the yearly tables' staged rows, rejected rows, raw files and "
                "quality results, replaced together in one transaction.",
            )
        ],
        partitions_def=partitions_def,
        ins={"regulator_indices": dg.AssetIn("regulator_indices")}
        | {f"{t}_gate": dg.AssetIn(t) for t in YEARLY_TABLES}
        | {f"{t}_raw": light_input(f"{t}_raw") for t in YEARLY_TABLES},
        pool=WRITER_POOL,
        check_specs=gate_checks,
        allow_arbitrary_check_specs=True,
    )
    @scrubbed_failures
    def published_regulator_indices(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        project: ProjectResource,
        regulator_indices: Mapping,  # partition key → AnnualIndices
        **inputs,
    ):
        engine = warehouse.engine()
        metadata, checks, incomplete = {}, {}, []
        try:
            for part in partitions_of(context):
                gates: list[GateResult] = [inputs[f"{t}_gate"][part.key] for t in YEARLY_TABLES]
                ingests: list[IngestResult] = [inputs[f"{t}_raw"][part.key] for t in YEARLY_TABLES]
                checks[part] = [check_result(g, "error") for g in gates]
                missing = [g.verdict() for g in gates if not g.complete and not g.passed]
                if missing:  # the regulators' indices would change for want of an input: keep the published ones
                    context.log.warning(f"{part}: not published: {'; '.join(missing)}")
                    metadata[part] = {"published": 0}
                    incomplete.append((part, f"{part}: {'; '.join(missing)}"))
                    continue
                frames = annual_frames(
                    regulator_indices[part.key], gates, ingests, part.city, part.period, project.pii_key()
                )
                written = publish_partition(engine, part.city, part.period, frames, run_id=context.run.run_id)
                metadata[part] = {"published": 1} | {f"{k}_rows": v for k, v in written.items()}
        finally:
            engine.dispose()
        yield dg.MaterializeResult(
            asset_key="published_regulator_indices",
            metadata=report_metadata(context, metadata) | {"warehouse": warehouse.display()},
        )
        yield from report_checks(context, checks)
        if incomplete:  # the run fails, so the run-failure sensor tells someone; the others are published
            raise partitions_failure(
                "incomplete yearly partition(s) not published, the previous regulators' indices stay: "
                + " | ".join(text for _, text in incomplete),
                [part for part, _ in incomplete],
            )

    return [regulator_indices, published_regulator_indices]
