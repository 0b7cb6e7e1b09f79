"""Report stage: after each publish, the scorecards of the partitions (Bahasa Indonesia and English) with the national
page of their months (`scorecards`), and the months' exports (`exports`), written under `reports_dir`
(config/pipeline.yaml) from the evaluator views. One step makes both, so a run starts one more process, not two."""

import dagster as dg

from assets.failures import scrubbed_failures
from assets.partitioned import report_metadata
from assets.partitions import Partition, partitions_of
from assets.publish import WRITER_POOL
from assets.resources import ProjectResource, WarehouseResource
from kotacerdas.errors import KotacerdasError
from kotacerdas.report.build import pages_to_refresh, write_exports, write_scorecards
from kotacerdas.report.reader import published_partitions


def _published(context: dg.AssetExecutionContext, engine) -> tuple[dict[str, list[Partition]], dict]:
    """The run's partitions that have published scores, by month; the others (held back by their quality gate)
    get a reason in their metadata."""
    parts = partitions_of(context)
    present = published_partitions(engine, sorted({p.period for p in parts}))
    by_period: dict[str, list[Partition]] = {}
    skipped = {}
    for part in parts:
        if (part.city, part.period) in present:
            by_period.setdefault(part.period, []).append(part)
        else:
            context.log.warning(f"{part}: nothing published, so no scorecard or export")
            skipped[part] = {"written": 0, "reason": "no published scores (quality gate)"}
    return by_period, skipped


def build_report_assets(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    specs = [
        dg.AssetSpec(
            "scorecards",
            group_name="publish",
            kinds={"html"},
            partitions_def=partitions_def,
            deps=["published_scores"],
            description="Self-contained HTML scorecards per city × month (Bahasa Indonesia and English) and the "
            "national ranking page of the month, from the evaluator views, in reports_dir/<month>/ "
            "(config/pipeline.yaml).",
        ),
        dg.AssetSpec(
            "exports",
            group_name="publish",
            kinds={"csv"},
            partitions_def=partitions_def,
            deps=["published_scores"],
            description="The month's indicator values, dimension scores, indices and regulators' indices as CSV, "
            "JSON, an Excel workbook, SDMX-CSV and FIWARE KeyPerformanceIndicator entities, in "
            "reports_dir/<month>/exports/.",
        ),
    ]

    # it opens the warehouse file, which an embedded DuckDB allows one process at a time
    @dg.multi_asset(name="reports", specs=specs, partitions_def=partitions_def, pool=WRITER_POOL)
    @scrubbed_failures
    def reports(context: dg.AssetExecutionContext, warehouse: WarehouseResource, project: ProjectResource):
        cfg, engine = project.project, warehouse.engine()
        try:
            by_period, skipped = _published(context, engine)
            pages, files = dict(skipped), dict(skipped)
            for period, parts in by_period.items():
                out = cfg.reports_dir() / period
                written = write_scorecards(engine, cfg, [p.city for p in parts], period, out)
                exported = write_exports(engine, cfg, out / "exports", periods=[period])
                for part in parts:
                    mine = [p for p in written if f"_{part.city}_" in p.name or p.name.startswith("national_")]
                    pages[part] = {"written": len(mine), "folder": dg.MetadataValue.path(str(out))}
                    files[part] = {"written": len(exported), "folder": dg.MetadataValue.path(str(out / "exports"))}
            # pages of other partitions that show figures these publications changed (rank, change, trend)
            stale = pages_to_refresh(engine, cfg, {p: [x.city for x in parts] for p, parts in by_period.items()})
            for period, cities in stale.items():
                rewritten = write_scorecards(engine, cfg, cities, period, cfg.reports_dir() / period)
                context.log.info(f"{period}: rewrote {len(rewritten)} pages this run made stale: {', '.join(cities)}")
        except KotacerdasError as exc:
            raise dg.Failure(description=f"{exc.message} — what to do: {exc.hint}") from exc
        finally:
            engine.dispose()
        yield dg.MaterializeResult(
            asset_key="scorecards", metadata=report_metadata(context, pages, asset_key="scorecards")
        )
        yield dg.MaterializeResult(asset_key="exports", metadata=report_metadata(context, files, asset_key="exports"))

    return reports
