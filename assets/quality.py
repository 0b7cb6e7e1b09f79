"""Quality stage: each table through its Great Expectations suite; failing rows set aside with the rule."""

import dagster as dg

from kotacerdas.gate import GateResult, run_quality_gate
from kotacerdas.schemas import CanonicalTable
from kotacerdas.staging import StagingResult
from pipelines.partitions import partition_of
from pipelines.resources import ProjectResource


def build_quality_asset(table: CanonicalTable, partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    check = dg.AssetCheckSpec(
        "rows_pass_error_rules", asset=table.name,
        description="Rows failing an `error` expectation are quarantined; this reports how many and which rules.",
    )

    @dg.asset(
        name=table.name,
        group_name="quality",
        partitions_def=partitions_def,
        ins={"staged": dg.AssetIn(f"{table.name}_staged")},
        kinds={"python", "great_expectations"},
        check_specs=[check],
        description=f"{table.description} Validated: only rows that passed every `error` rule.",
    )
    def _validate(context: dg.AssetExecutionContext, project: ProjectResource, staged: StagingResult):
        city, month = partition_of(context)
        gate: GateResult = run_quality_gate(project.project, table, staged, city=city, month=month)
        yield dg.Output(gate, metadata=gate.summary_metadata())
        yield dg.AssetCheckResult(
            check_name="rows_pass_error_rules",
            passed=gate.rejected_rows == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "rejected_rows": gate.rejected_rows,
                "rejected_share": gate.rejected_share,
                "rules": dg.MetadataValue.md(gate.rules_markdown()),
            },
        )

    return _validate
