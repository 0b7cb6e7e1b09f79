"""Quality stage: each table through its Great Expectations suite; failing rows set aside with the rule.

Checks on each validated table (partitioned like it): `rows_pass_error_rules` and `warn_rules_pass` (WARN) here;
the blocking `error_rules_within_threshold` is evaluated by the `quarantine` asset, after the rejected rows are
published, so that a blocked partition still shows its stewards what was rejected.
"""

import warnings
from collections.abc import Mapping
from pathlib import Path

import dagster as dg

from assets.failures import scrubbed_failures
from assets.partitioned import report_checks, report_metadata
from assets.partitions import partitions_of
from assets.resources import ProjectResource
from assets.ui_metadata import row_count, shown
from kotacerdas.quality.completeness import allow_incomplete
from kotacerdas.quality.docs import data_docs_root
from kotacerdas.quality.gate import CheckReport, GateInput, GateResult, run_quality_gates
from kotacerdas.schemas import CanonicalTable

ERROR_CHECK = "error_rules_within_threshold"
WARN_CHECK = "warn_rules_pass"


def partitioned_check(name: str, *, asset: str, partitions_def: dg.PartitionsDefinition, **kwargs) -> dg.AssetCheckSpec:
    """A check partitioned like its asset, so each result belongs to one city × month. Dagster 1.13 calls
    partitioned checks a preview and warns on every definition load; the warning is silenced here, once."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.AssetCheckSpec(name, asset=asset, partitions_def=partitions_def, **kwargs)


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
        + " when the share of rows failing an `error` rule (or staging) passes "
        "max_rejected_share, or a table-level `error` rule fails; counts per rule, failing rows.",
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
        severity=dg.AssetCheckSeverity.ERROR if severity == "error" else dg.AssetCheckSeverity.WARN,
        description=report.description,
        metadata=check_metadata(gate, severity, report),
    )


def build_quality_asset(table: CanonicalTable, partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    checks = [
        partitioned_check(
            "rows_pass_error_rules",
            asset=table.name,
            partitions_def=partitions_def,
            description="Rows failing an `error` expectation are quarantined (a few are normal); this warns when "
            "their share passes `warn_rejected_share` (config/quality.yaml; default half the blocking threshold) "
            "and reports how many and which rules.",
        ),
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
        ins={"staged": dg.AssetIn(f"{table.name}_staged"), "raw": dg.AssetIn(f"{table.name}_raw")},
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
            warned, warning = gate.rows_warning()
            if gate.data_docs:
                metadata[part]["data_docs"] = dg.MetadataValue.path(gate.data_docs)
            checks[part] = [
                dg.AssetCheckResult(
                    check_name="rows_pass_error_rules",
                    passed=warned,
                    severity=dg.AssetCheckSeverity.WARN,
                    description=warning,
                    metadata={
                        "rejected_rows": gate.rejected_rows,
                        "rejected_share": shown(gate.rejected_share, 4),
                        "warn_above_share": shown(gate.warn_threshold, 4),
                        "rules": dg.MetadataValue.md(gate.rules_markdown()),
                    },
                ),
                check_result(gate, "warn"),
            ]
        yield dg.Output(gates, metadata=report_metadata(context, metadata))
        yield from report_checks(context, checks)

    return _validate
