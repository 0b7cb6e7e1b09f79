"""Report stage: after each publish, the scorecards of the partitions (Bahasa Indonesia and English) with the national
page of their months (`scorecards`), and the months' exports (`exports`), written under `reports_dir`
(config/pipeline.yaml) from the evaluator views."""

import dagster as dg

from assets.partitioned import report_metadata
from assets.partitions import Partition, partitions_of
from assets.publish import WRITER_POOL
from assets.resources import ProjectResource, WarehouseResource
from kotacerdas.errors import KotacerdasError
from kotacerdas.report.build import write_exports, write_scorecards
from kotacerdas.report.reader import published_partitions


def _published(context: dg.AssetExecutionContext, engine) -> tuple[dict[str, list[Partition]], dict]:
    """The run's partitions that have published scores, by month; the others (held back by their quality gate)
    get a reason in their metadata."""
    parts = partitions_of(context)
    present = published_partitions(engine, sorted({p.period for p in parts}))
    by_period: dict[str, list[Partition]] = {}
    metadata = {}
    for part in parts:
        if (part.city, part.period) in present:
            by_period.setdefault(part.period, []).append(part)
        else:
            context.log.warning(f"{part}: nothing published, so no scorecard or export")
            metadata[part] = {"written": 0, "reason": "no published scores (quality gate)"}
    return by_period, metadata


def build_report_assets(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    common = dict(
        group_name="publish",
        partitions_def=partitions_def,
        deps=["published_scores"],
        # they open the warehouse file, which an embedded DuckDB allows one process at a time
        pool=WRITER_POOL,
    )

    @dg.asset(
        name="scorecards",
        kinds={"html"},
        description="Self-contained HTML scorecards per city × month (Bahasa Indonesia and English) and the national "
        "ranking page of the month, from the evaluator views, in reports_dir/<month>/ (config/pipeline.yaml).",
        **common,
    )
    def scorecards(context: dg.AssetExecutionContext, warehouse: WarehouseResource, project: ProjectResource):
        cfg, engine = project.project, warehouse.engine()
        try:
            by_period, metadata = _published(context, engine)
            for period, parts in by_period.items():
                out = cfg.reports_dir() / period
                pages = write_scorecards(engine, cfg, [p.city for p in parts], period, out)
                for part in parts:
                    mine = [p for p in pages if f"_{part.city}_" in p.name or p.name.startswith("national_")]
                    metadata[part] = {"written": len(mine), "folder": dg.MetadataValue.path(str(out))}
        except KotacerdasError as exc:
            raise dg.Failure(description=f"{exc.message} — what to do: {exc.hint}") from exc
        finally:
            engine.dispose()
        return dg.MaterializeResult(metadata=report_metadata(context, metadata))

    @dg.asset(
        name="exports",
        kinds={"csv"},
        description="The month's indicator values, dimension scores, indices and regulators' indices as CSV, JSON, an "
        "Excel workbook, SDMX-CSV and FIWARE KeyPerformanceIndicator entities, in reports_dir/<month>/exports/.",
        **common,
    )
    def exports(context: dg.AssetExecutionContext, warehouse: WarehouseResource, project: ProjectResource):
        cfg, engine = project.project, warehouse.engine()
        try:
            by_period, metadata = _published(context, engine)
            for period, parts in by_period.items():
                out = cfg.reports_dir() / period / "exports"
                files = write_exports(engine, cfg, out, periods=[period])
                for part in parts:
                    metadata[part] = {"written": len(files), "folder": dg.MetadataValue.path(str(out))}
        except KotacerdasError as exc:
            raise dg.Failure(description=f"{exc.message} — what to do: {exc.hint}") from exc
        finally:
            engine.dispose()
        return dg.MaterializeResult(metadata=report_metadata(context, metadata))

    return [scorecards, exports]
