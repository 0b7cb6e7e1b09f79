"""Metadata and check results of a step that materializes one partition or a range of them.

With one partition everything is reported as Dagster does by default. Over a range (a single-run backfill) each
partition still gets its own: its metadata goes on its own materialization (`context.add_asset_metadata` with its
partition key) and each check is recorded per partition as an `AssetCheckEvaluation` with that partition, so the
UI, the check history and `kotacerdas run` see every city's own verdict.

Blocking checks do not block inside a range: Dagster can only stop a whole step, which would stop every city of
the month for one bad city. In a range the evaluation is recorded with `blocking=False` and the gate is applied
per partition in the data instead (`indicator_values` skips a blocked partition, `published_scores` does not
publish it); that partition is re-run alone once fixed, where its blocking check blocks as usual.

Every text of the metadata and check results passes the personal-data scrubber here (`kotacerdas.privacy`), the
one door from the assets to Dagster's event log.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping

import dagster as dg

from assets.partitions import Partition
from kotacerdas.privacy import scrub_text, scrub_value

# The metadata key of a step failure that concerns some partitions of its range only (sensors.events reads it).
PARTITIONS_FAILED = "failed_partitions"


def partitioned_check(name: str, *, asset: str, partitions_def: dg.PartitionsDefinition, **kwargs) -> dg.AssetCheckSpec:
    """A check partitioned like its asset, so each result belongs to one city × period and the UI shows every
    partition's own status (an unpartitioned check of a partitioned asset shows only the latest evaluation, of
    whichever city). Dagster 1.13 calls partitioned checks a preview and warns on every definition load; the
    warning is silenced here, once."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.AssetCheckSpec(name, asset=asset, partitions_def=partitions_def, **kwargs)


def partitions_failure(description: str, failed: list[Partition]) -> dg.Failure:
    """The failure of a step over a range for some of its partitions (the others were published): the run fails,
    so the run-failure sensor reports it, and `kotacerdas run` holds it against those partitions only."""
    return dg.Failure(
        description=scrub_text(description),
        metadata={PARTITIONS_FAILED: dg.MetadataValue.json([p.key for p in failed])},
    )


def scrub_metadata(metadata: Mapping[str, object]) -> dict:
    """Metadata whose texts (plain strings, Markdown, text values, nested dicts and lists) are scrubbed."""
    out = {}
    for key, value in metadata.items():
        if isinstance(value, dg.MarkdownMetadataValue):
            value = dg.MetadataValue.md(scrub_text(value.md_str))
        elif isinstance(value, dg.TextMetadataValue):
            value = dg.MetadataValue.text(scrub_text(value.text))
        elif isinstance(value, dg.JsonMetadataValue):
            value = dg.MetadataValue.json(scrub_value(value.data))
        elif not isinstance(value, dg.MetadataValue):  # numbers, paths, tables ... carry no free text
            value = scrub_value(value)
        out[key] = value
    return out


def _scrubbed(result: dg.AssetCheckResult) -> dg.AssetCheckResult:
    return result._replace(
        description=scrub_text(result.description) if result.description else result.description,
        metadata=scrub_metadata(result.metadata or {}),
    )


def report_metadata(
    context: dg.AssetExecutionContext,
    per_partition: Mapping[Partition, Mapping[str, object]],
    asset_key: str | None = None,
) -> dict:
    """The metadata for the step's Output / MaterializeResult: one partition's own; over a range, each partition's
    is attached to that partition's materialization and the Output says only how many partitions the run had."""
    if len(per_partition) == 1:
        return scrub_metadata(next(iter(per_partition.values())))
    for part, metadata in per_partition.items():
        context.add_asset_metadata(scrub_metadata(metadata), asset_key=asset_key, partition_key=part.key)
    return {"partitions_in_run": len(per_partition)}


def report_checks(
    context: dg.AssetExecutionContext, results: Mapping[Partition, list[dg.AssetCheckResult]]
) -> Iterator[object]:
    """The check results to yield: one partition's as they are; over a range, one evaluation per partition."""
    if len(results) == 1:
        yield from (_scrubbed(r) for r in next(iter(results.values())))
        return
    for part, checks in results.items():
        for r in map(_scrubbed, checks):
            yield dg.AssetCheckEvaluation(
                asset_key=dg.AssetKey.from_coercible(r.asset_key) if r.asset_key else context.assets_def.key,
                check_name=r.check_name,
                passed=r.passed,
                metadata=r.metadata,
                severity=r.severity,
                description=r.description,
                blocking=False,
                partition=part.key,
            )
    # Every check is an output of the step that must be emitted; the evaluations above are its results, so the
    # outputs themselves carry nothing (Dagster stores no value for a check output).
    for output_name in context.assets_def.check_specs_by_output_name:
        yield dg.Output(None, output_name=output_name)
