"""Quality stage: each table through its Great Expectations suite; failing rows set aside with the rule.

Two checks on each validated table (partitioned like it): `warn_rules_pass` (WARN) here; the blocking
`error_rules_within_threshold` is evaluated by the `quarantine` asset, after the rejected rows are published, so that
a blocked partition still shows its stewards what was rejected. That one check grades the share of rejected rows:
it fails as a WARN above `warn_rejected_share` (the early warning; the partition flows on) and as an ERROR above
`max_rejected_share` (it blocks). One check where there were two: every evaluation is a record in Dagster's event
log for every city × month (#15).
"""

from collections.abc import Mapping
from pathlib import Path

import dagster as dg

from assets.failures import scrubbed_failures
from assets.io_manager import light_input
from assets.partitioned import partitioned_check, report_checks, report_metadata
from assets.partitions import partitions_of
from assets.resources import ProjectResource
from assets.ui_metadata import row_count, shown
from kotacerdas.quality.completeness import allow_incomplete
from kotacerdas.quality.docs import data_docs_root
from kotacerdas.quality.gate import CheckReport, GateInput, GateResult, run_quality_gates
from kotacerdas.schemas import CanonicalTable

ERROR_CHECK = "error_rules_within_threshold"
WARN_CHECK = "warn_rules_pass"


def error_check_spec(table: CanonicalTable, partitions_def: dg.PartitionsDefinition) -> dg.AssetCheckSpec:
    """The check of a table's `error` rules: blocking for a monthly table (emitted by `quarantine`, before the
    indicators); a yearly table's is emitted by the last yearly step, after `regulator_indices` has left out the
    index the table feeds (a blocking check there would make the graph circular)."""
    monthly = table.cadence == "monthly"
    return partitioned_check(
        ERROR_CHECK,
        asset=table.name,
        blocking=monthly,
        partitions_def=partitions_def,
        description=(
            "Blocks indicators and indices" if monthly else "The regulator index this table feeds is not computed"
        )
        + " when the share of rows failing an `error` rule (or staging) passes max_rejected_share, or a "
        "table-level `error` rule fails; fails as a warning only (the partition flows on) when the share passes "
        "warn_rejected_share (config/quality.yaml; default half of max_rejected_share). Counts per rule, failing "
        "rows.",
    )


def check_metadata(gate: GateResult, severity: str, report: CheckReport) -> dict:
    metadata = {
        "failing_rows_by_rule": dg.MetadataValue.json(report.failing_rows_by_rule),
        "failed_table_rules": dg.MetadataValue.json(report.failed_table_rules),
        "rules": dg.MetadataValue.md(report.rules_markdown),
        "failing_rows_sample": dg.MetadataValue.md(report.sample_markdown),
    }
    if severity == "error":
        metadata |= {
            "rejected_rows": gate.rejected_rows,
            "input_rows": gate.input_rows,
            "rejected_share": shown(gate.rejected_share, 4),
            "threshold": gate.threshold,
            "warn_above_share": shown(gate.warn_threshold, 4),
        }
    if gate.data_docs:
        metadata["data_docs"] = dg.MetadataValue.path(gate.data_docs)
    return metadata


def check_result(gate: GateResult, severity: str) -> dg.AssetCheckResult:
    report = gate.check_report(severity)
    return dg.AssetCheckResult(
        asset_key=gate.table,
        check_name=ERROR_CHECK if severity == "error" else WARN_CHECK,
        passed=report.passed,
        # an `error` report that fails only as the early warning does not block
        severity=dg.AssetCheckSeverity.WARN if severity == "warn" or report.warns_only else dg.AssetCheckSeverity.ERROR,
        description=report.description,
        metadata=check_metadata(gate, severity, report),
    )


def build_quality_asset(table: CanonicalTable, partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    checks = [
        partitioned_check(
            WARN_CHECK,
            asset=table.name,
            partitions_def=partitions_def,
            description="No `warn` rule failed (rows are kept either way): counts per rule, failing rows, "
            "freshness and volume.",
        ),
    ]

    @dg.asset(
        name=table.name,
        group_name="quality",
        partitions_def=partitions_def,
        # the raw result too: what was expected vs delivered (completeness) is part of the gate
        ins={"staged": dg.AssetIn(f"{table.name}_staged"), "raw": light_input(f"{table.name}_raw")},
        kinds={"python", "great_expectations"},
        check_specs=checks,
        description=f"{table.description} Validated: only rows that passed every `error` rule.",
    )
    @scrubbed_failures
    def _validate(
        context: dg.AssetExecutionContext,
        project: ProjectResource,
        staged: Mapping,  # partition key → StagingResult
        raw: Mapping,  # partition key → IngestResult
    ):
        cfg = project.project
        allowed = allow_incomplete(context.run.tags)
        docs = data_docs_root(cfg, Path(context.instance.storage_directory()) / "data_docs")
        parts = partitions_of(context)
        # one GX validation of this table for every partition of the run (kotacerdas.quality.batch)
        gates: dict[str, GateResult] = run_quality_gates(
            cfg,
            table,
            {p.key: GateInput(staged[p.key], p.city, p.period, raw[p.key]) for p in parts},
            raw_dir=project.raw_dir(),
            docs_dir=docs,
            run_name=context.run.run_id,
            allow_incomplete=allowed,
        )
        metadata, checks = {}, {}
        for part in parts:
            gate = gates[part.key]
            if not gate.complete:
                context.log.warning(f"{part}: {gate.verdict()}")
            metadata[part] = gate.summary_metadata() | row_count(len(gate.valid))
            if gate.data_docs:
                metadata[part]["data_docs"] = dg.MetadataValue.path(gate.data_docs)
            checks[part] = [check_result(gate, "warn")]
        yield dg.Output(gates, metadata=report_metadata(context, metadata))
        yield from report_checks(context, checks)

    return _validate
