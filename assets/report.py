"""Report stage: after each publish, the scorecards of the partitions (Bahasa Indonesia and English), the national
page and the exports of their months, written under `reports_dir` (config/pipeline.yaml) from the evaluator views."""

import dagster as dg

from assets.partitioned import report_metadata
from assets.partitions import partitions_of
from assets.publish import WRITER_POOL
from assets.resources import ProjectResource, WarehouseResource
from kotacerdas.errors import KotacerdasError
from kotacerdas.report.build import write_exports, write_scorecards


def build_report_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        name="scorecards",
        group_name="publish",
        partitions_def=partitions_def,
        deps=["published_scores"],
        kinds={"html"},
        # it opens the warehouse file, which an embedded DuckDB allows one process at a time
        pool=WRITER_POOL,
        description="Self-contained HTML scorecards per city × month (Bahasa Indonesia and English), the national "
        "ranking page of the month, and the month's exports (CSV, JSON, Excel, SDMX-CSV, FIWARE KPIs), written "
        "from the evaluator views to reports_dir (config/pipeline.yaml).",
    )
    def scorecards(context: dg.AssetExecutionContext, warehouse: WarehouseResource, project: ProjectResource):
        cfg = project.project
        engine = warehouse.engine()
        metadata, periods = {}, {}
        try:
            for part in partitions_of(context):
                out = cfg.reports_dir() / part.period
                try:
                    pages = write_scorecards(engine, cfg, [part.city], part.period, out, national=False)
                except KotacerdasError as exc:  # not published (its quality gate held it back): nothing to show
                    context.log.warning(f"{part}: no scorecard, {exc.message}")
                    metadata[part] = {"scorecards": 0, "reason": exc.message}
                    continue
                periods.setdefault(part.period, []).append(part)
                metadata[part] = {"scorecards": len(pages), "folder": dg.MetadataValue.path(str(out))}
            for period, parts in periods.items():
                out = cfg.reports_dir() / period
                national = write_scorecards(engine, cfg, [], period, out, national=True)
                exports = write_exports(engine, cfg, out / "exports", periods=[period])
                for part in parts:
                    metadata[part] |= {"national_pages": len(national), "exports": len(exports)}
        finally:
            engine.dispose()
        return dg.MaterializeResult(metadata=report_metadata(context, metadata))

    return scorecards
