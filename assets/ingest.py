"""Ingest stage: pull one table for each city × month of the run from every configured source into the raw zone."""

import dagster as dg

from assets.failures import scrubbed_failures
from assets.partitioned import partitioned_check, report_checks, report_metadata
from assets.partitions import partitions_of
from assets.resources import ProjectResource
from kotacerdas.ingest import IngestResult, ingest_partitions
from kotacerdas.schemas import CanonicalTable

# Transient faults are retried inside the HTTP client (urllib3 Retry); this retries the whole step
# once more, later, for outages that outlast those retries.
# A run tagged `kotacerdas/replay=true` (UI launchpad or backfill dialog, `kotacerdas run --replay`) rebuilds its
# partitions from the raw zone without calling any source: for a fixed mapping or rule after the fact.
REPLAY_TAG = "kotacerdas/replay"

INGEST_RETRY = dg.RetryPolicy(max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


def build_ingest_asset(table: CanonicalTable, partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    check = partitioned_check(
        "all_sources_delivered",
        asset=f"{table.name}_raw",
        partitions_def=partitions_def,
        description="Every source and OPD delivered this partition (failures are listed for the OPD steward).",
    )

    @dg.asset(
        name=f"{table.name}_raw",
        group_name="ingest",
        partitions_def=partitions_def,
        kinds={"python", "rest", "csv"},
        retry_policy=INGEST_RETRY,
        check_specs=[check],
        description=f"{table.description} As delivered by the OPD systems; payloads kept in the raw zone.",
    )
    @scrubbed_failures
    def _ingest(context: dg.AssetExecutionContext, project: ProjectResource):
        replay = context.run.tags.get(REPLAY_TAG, "").lower() in ("true", "1", "yes")
        if replay:
            context.log.info(f"{REPLAY_TAG}: replaying the raw zone, no source is called")
        results: dict[str, IngestResult] = {}
        metadata, checks = {}, {}
        parts = {(p.city, p.period): p for p in partitions_of(context)}
        fetched = ingest_partitions(
            project.project,
            table.name,
            list(parts),
            raw_dir=project.raw_dir(),
            landing_dir=project.landing_dir(),
            replay=replay,
        )
        for city_period, result in fetched:
            part = parts[city_period]
            if result.failures:  # one event per partition, not per source × OPD (the check lists them all)
                context.log.warning(f"{part}: {_failures_summary(result)}")
            if result.notices:  # newer landing files a replay left unread, rows not dated: once per partition
                context.log.warning(f"{part}: " + "; ".join(result.notices))
            results[part.key] = result
            metadata[part] = {
                "rows": len(result.frame),
                "raw_files": len(result.raw_files),
                "failed_sources": len(result.failures),
                "replayed": int(replay),
            } | ({"notices": len(result.notices)} if result.notices else {})
            if result.landing_files_not_replayed:
                metadata[part]["landing_files_not_replayed"] = result.landing_files_not_replayed
            checks[part] = [
                dg.AssetCheckResult(
                    check_name="all_sources_delivered",
                    passed=not result.failures,
                    severity=dg.AssetCheckSeverity.WARN,
                    description=f"{len(result.failures)} source × OPD fetches failed" if result.failures else None,
                    metadata={"failures": dg.MetadataValue.md(_failures_md(result))} if result.failures else {},
                )
            ]
        yield dg.Output(results, metadata=report_metadata(context, metadata))
        yield from report_checks(context, checks)

    return _ingest


def _failures_md(result: IngestResult) -> str:
    lines = ["| source | OPD | where | problem | what to do |", "|---|---|---|---|---|"]
    lines += [f"| {f.source} | {f.opd} | {f.url} | {f.message} | {f.hint} |" for f in result.failures]
    return "\n".join(lines)


def _failures_summary(result: IngestResult, shown: int = 3) -> str:
    """How many source × OPD fetches failed, the first few in full; `all_sources_delivered` has every one."""
    first = "; ".join(f"{f.source} {f.opd}: {f.message}" for f in result.failures[:shown])
    more = len(result.failures) - shown
    rest = f"; and {more} more (see the all_sources_delivered check)" if more > 0 else ""
    return f"{len(result.failures)} source × OPD fetch(es) failed: {first}{rest}"
