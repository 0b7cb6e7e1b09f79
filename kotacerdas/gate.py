"""The quality gate of one table × partition: staging rejects plus expectation failures, and the verdict."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from kotacerdas.config import ProjectConfig
from kotacerdas.schemas import QUARANTINE_COLUMNS, CanonicalTable
from kotacerdas.staging import StagingResult


@dataclass(frozen=True)
class GateResult:
    table: str
    city_code: str
    period: str
    valid: pd.DataFrame  # rows that passed every `error` rule
    quarantine: pd.DataFrame  # one row per rejected row × rule (staging and expectations), QUARANTINE_COLUMNS
    rules: pd.DataFrame  # one row per expectation: rule, severity, success, counts
    input_rows: int  # rows that reached staging
    rejected_rows: int  # distinct rows kept out by an `error` rule or by staging
    threshold: float
    failed_table_rules: tuple[str, ...] = ()  # table-level `error` rules (columns, volume) that failed

    @property
    def rejected_share(self) -> float:
        return self.rejected_rows / self.input_rows if self.input_rows else 0.0

    @property
    def passed(self) -> bool:
        return self.rejected_share <= self.threshold and not self.failed_table_rules

    def verdict(self) -> str:
        share = f"{self.rejected_share:.1%} of {self.input_rows} rows rejected (threshold {self.threshold:.0%})"
        if self.passed:
            return f"{self.table}: passed — {share}"
        top = (self.quarantine[self.quarantine["severity"] == "error"]["rule"].value_counts().head(3))
        rules = ", ".join(f"{r} ({n})" for r, n in top.items()) or "none"
        table_rules = f"; failed table rules: {', '.join(self.failed_table_rules)}" if self.failed_table_rules else ""
        return (f"{self.table}: BLOCKED — {share}; most frequent rules: {rules}{table_rules}. See the "
                f"`quarantine` table for {self.city_code} {self.period}, fix the data at the OPD, then re-run "
                "the partition.")

    def summary_metadata(self) -> dict:
        return {
            "input_rows": self.input_rows,
            "valid_rows": len(self.valid),
            "rejected_rows": self.rejected_rows,
            "rejected_share": round(self.rejected_share, 6),
            "verdict": self.verdict(),
        }

    def rules_markdown(self) -> str:
        lines = ["| rule | severity | failing rows |", "|---|---|---|"]
        counts = self.quarantine.groupby(["rule", "severity"]).size()
        lines += [f"| {rule} | {sev} | {n} |" for (rule, sev), n in counts.items()]
        return "\n".join(lines) if len(lines) > 2 else "no failing rows"


def run_quality_gate(project: ProjectConfig, table: CanonicalTable, staged: StagingResult, *, city: str,
                     month: str) -> GateResult:
    from kotacerdas.quality import load_suite, validate_table  # GX is slow to import: only when validating

    suite = load_suite(table, project)
    checked = validate_table(staged.frame, table, suite, city=city, month=month)
    quarantine = pd.concat([staged.rejected, checked.rejected], ignore_index=True)
    quarantine = quarantine.astype(QUARANTINE_COLUMNS)
    quarantine["city_code"] = city
    quarantine["period"] = month
    quarantine["table_name"] = table.name
    # A row can fail several rules: count rows by their lineage, not quarantine entries.
    staging_rejected = len(staged.rejected[["_raw_file", "_raw_row"]].drop_duplicates())
    input_rows = len(staged.frame) + staging_rejected
    return GateResult(
        table=table.name,
        city_code=city,
        period=month,
        valid=checked.valid,
        quarantine=quarantine,
        rules=checked.rules,
        input_rows=input_rows,
        rejected_rows=staging_rejected + (len(staged.frame) - len(checked.valid)),
        threshold=project.pipeline.max_rejected_share,
        failed_table_rules=tuple(checked.failed_table_rules),
    )
