"""The quality gate of one table × partition: staging rejects plus expectation failures, and the verdict.

`run_quality_gate` validates the staged rows with the table's suite (GX), adds the volume rule (rows delivered vs
the earlier months in the raw zone), writes the Data Docs page when asked, and returns a `GateResult` that says
per severity what failed, how often, and shows a few failing rows — what the Dagster checks display.
`run_quality_gates` does the same for every partition of a run with one GX validation of the table.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from kotacerdas.config import ProjectConfig
from kotacerdas.ingest.table import IngestResult
from kotacerdas.quality.completeness import COMPLETE, INCOMPLETE, Completeness, assess_completeness
from kotacerdas.quality.quarantine import failing_rows, first_per_rule
from kotacerdas.rounding import decimal_of, format_half_up, round_for_display
from kotacerdas.schemas import QUARANTINE_COLUMNS, CanonicalTable, empty_quarantine
from kotacerdas.stage.staging import StagingResult

if TYPE_CHECKING:
    from kotacerdas.quality.suite import Suite
    from kotacerdas.quality.validate import QualityResult

# Text cells longer than this are cut in check metadata (pseudonyms are 64 hex characters).
_CELL_CHARS = 24


def within_threshold(rejected_share: float, failed_table_rules: tuple[str, ...], threshold: float) -> bool:
    """The verdict: at most `threshold` (0..1) of the rows rejected, and no table-level error rule failed."""
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
    return rejected_share <= threshold and not failed_table_rules


@dataclass(frozen=True)
class CheckReport:
    """What one severity of a table's rules says about a partition (for an asset check)."""

    severity: str  # error | warn
    passed: bool
    description: str
    failing_rows_by_rule: dict[str, int]  # rule -> rows failing it (row-level rules and staging rules)
    failed_table_rules: dict[str, str]  # table-level rule -> what it observed and expected
    rules_markdown: str
    sample_markdown: str
    warns_only: bool = False  # failed as the early warning only: the partition flows on (severity WARN)


def _percent(share: Decimal, places: int) -> str:
    """A share (0..1) as a percentage, half up as every published figure."""
    return f"{format_half_up(100 * share, places)}%"


@dataclass(frozen=True)
class GateResult:
    table: str
    city_code: str
    period: str
    valid: pd.DataFrame  # rows that passed every `error` rule
    quarantine: pd.DataFrame  # one row per rejected row × rule (staging and expectations), QUARANTINE_COLUMNS
    rules: pd.DataFrame  # one row per expectation (and the volume rule): rule, severity, success, counts, observed
    input_rows: int  # rows that reached staging
    rejected_rows: int  # distinct rows kept out by an `error` rule or by staging
    threshold: float
    failed_table_rules: tuple[str, ...] = ()  # table-level `error` rules (columns, volume) that failed
    samples: pd.DataFrame = field(default_factory=pd.DataFrame)  # a few failing rows per rule (scrubbed)
    data_docs: str | None = None  # the Data Docs page of this validation (kotacerdas.quality.docs)
    warn_share: float | None = None  # rejected share above which the early warning fails (None: threshold / 2)
    completeness: Completeness | None = None  # what was expected vs delivered (None: not assessed)
    allow_incomplete: bool = False  # the run publishes an incomplete partition on purpose

    @property
    def rejected_share(self) -> float:
        return self.rejected_rows / self.input_rows if self.input_rows else 0.0

    @property
    def _exact_share(self) -> Decimal:
        """The rejected share as the counts give it, for the texts: 23 of 80 is 28.75 %, not 28.749… %."""
        return Decimal(self.rejected_rows) / self.input_rows if self.input_rows else Decimal(0)

    @cached_property
    def rule_records(self) -> list[dict]:
        """`rules` as records, made once: both check reports and the Data Docs page read every rule."""
        return self.rules.to_dict("records")

    @property
    def complete(self) -> bool:
        return self.completeness is None or self.completeness.complete

    @property
    def coverage(self) -> float:
        return 1.0 if self.completeness is None else self.completeness.coverage

    @property
    def status(self) -> str:
        """`complete` or `incomplete` (what its published rows say)."""
        return COMPLETE if self.complete else INCOMPLETE

    @property
    def within_threshold(self) -> bool:
        return within_threshold(self.rejected_share, self.failed_table_rules, self.threshold)

    @property
    def passed(self) -> bool:
        """Whether the partition may flow on: within the threshold, and complete unless the run allows it."""
        return self.within_threshold and (self.complete or self.allow_incomplete)

    @property
    def warn_threshold(self) -> float:
        return self.threshold / 2 if self.warn_share is None else self.warn_share

    def verdict(self) -> str:
        """The partition's verdict in words: BLOCKED (or incomplete) with why and what to do, a WARNING when it
        flows on past the early warning (`warns`), or passed. What the table's error check, its materialization and
        its Data Docs page say."""
        return self.warning() if self.warns else self._verdict()

    def _verdict(self) -> str:
        threshold = _percent(decimal_of(self.threshold), 1).replace(".0%", "%")
        share = f"{_percent(self._exact_share, 1)} of {self.input_rows} rows rejected (threshold {threshold})"
        if self.completeness is not None and not self.completeness.complete:
            fix = f"fix the source (see ingest_failures for {self.city_code} {self.period}) and re-run the partition"
            if self.passed:
                return f"{self.completeness.describe()}; published anyway with status incomplete: {fix}."
            return (
                f"{self.completeness.describe()}; not published, the previous version stays: {fix}, or publish it "
                "on purpose with `kotacerdas run --allow-incomplete`."
            )
        if self.passed:
            return f"{self.table}: passed — {share}"
        table_rules = f"; failed table rules: {', '.join(self.failed_table_rules)}" if self.failed_table_rules else ""
        return (
            f"{self.table}: BLOCKED — {share}; most frequent rules: {self._top_rules()}{table_rules}. See the "
            f"`quarantine` table for {self.city_code} {self.period}, fix the data at the OPD, then re-run "
            "the partition."
        )

    @property
    def warns(self) -> bool:
        """The partition flows on, but not cleanly: its share of rejected rows passed `warn_threshold` (a few
        rejected rows are normal; a share near the threshold is not), or it is incomplete and published on purpose
        (`--allow-incomplete`)."""
        return self.passed and (self.rejected_share > self.warn_threshold or not self.complete)

    def warning(self) -> str:
        parts = []
        if self.rejected_share > self.warn_threshold:
            share = f"{_percent(self._exact_share, 2)} of {self.input_rows} rows rejected"
            warns, blocks = _percent(decimal_of(self.warn_threshold), 2), _percent(decimal_of(self.threshold), 2)
            limits = f"warns above {warns}, blocks above {blocks}"
            parts.append(
                f"{share} ({limits}); most frequent rules: {self._top_rules()}. The partition flows on; see the "
                f"`quarantine` table for {self.city_code} {self.period} and fix the data at the OPD before it blocks."
            )
        if not self.complete:
            parts.append(self._verdict())  # "…; published anyway with status incomplete: fix the source …"
        return f"{self.table}: WARNING — " + " ".join(parts)

    def _top_rules(self) -> str:
        top = self.quarantine[self.quarantine["severity"] == "error"]["rule"].value_counts().head(3)
        return ", ".join(f"{r} ({n})" for r, n in top.items()) or "none"

    def summary_metadata(self) -> dict:
        return {
            "status": self.status,
            "coverage": round_for_display(self.coverage, 4),
            "input_rows": self.input_rows,
            "valid_rows": len(self.valid),
            "rejected_rows": self.rejected_rows,
            "rejected_share": round_for_display(self.rejected_share, 4),
            "verdict": self.verdict(),
        }

    def check_report(self, severity: str) -> CheckReport:
        """The `error` report passes when the share of rejected rows is at most `warn_threshold`; fails as a warning
        (`warns_only`) above it, or when an incomplete partition is published on purpose; and blocks above the
        threshold, when a table-level `error` rule fails or when the partition is incomplete (and not allowed). The
        `warn` report passes when no `warn` rule failed."""
        if severity not in ("error", "warn"):
            raise ValueError(f"severity must be error or warn, got {severity!r}")
        # Most partitions have no failing row and a score of rules: plain Python on the rules' records costs a
        # fraction of the boolean indexing of small frames (two reports per table and partition).
        failing = failing_rows(self.quarantine, severity)
        rules = [r for r in self.rule_records if r["severity"] == severity]
        failed_table = {
            r["rule"]: "; ".join(
                str(x) for x in (f"observed {r['observed_value']}", r["details"]) if x is not None and not pd.isna(x)
            )
            for r in rules
            if pd.isna(r["unexpected_count"]) and not bool(r["success"])
        }
        warns_only = False
        if severity == "error":  # one check per table: fails as a warning above warn_threshold, blocks above threshold
            warns_only = self.warns
            passed = self.passed and not warns_only
            description = self.verdict()
        else:
            passed = not failing and not failed_table
            names = list(failing) + list(failed_table)
            description = (
                f"{self.table}: no warn rule failed"
                if passed
                else f"{self.table}: warn rule(s) failed: {', '.join(names)} (rows are kept)"
            )
        return CheckReport(
            severity,
            passed,
            description,
            failing,
            failed_table,
            _rules_md(rules, failing),
            self.samples_markdown(severity),
            warns_only,
        )

    def samples_markdown(self, severity: str) -> str:
        s = self.samples[self.samples["severity"] == severity] if len(self.samples) else self.samples
        if s.empty:
            return "no failing rows"
        lines = ["| rule | raw file : row | value | row (personal data pseudonymised) |", "|---|---|---|---|"]
        for r in s.to_dict("records"):
            lines.append(
                f"| {r['rule']} | {_cell(r['_raw_file'], 60)} : {_cell(r['_raw_row'])} | {_cell(r['value'])} "
                f"| {_cell(r['row'], 400)} |"
            )
        return "\n".join(lines)


def _cell(value: object, limit: int = _CELL_CHARS) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return "null"
    text = str(value).replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _rules_md(rules: list[dict], failing: dict[str, int]) -> str:
    """`rules` and `failing`: the rules' records and the rows set aside per rule, of one severity."""
    lines = ["| rule | passed | failing rows | observed | expected / note |", "|---|---|---|---|---|"]
    for r in rules:
        n = failing.get(r["rule"], 0)
        lines.append(
            f"| {r['rule']} | {'yes' if r['success'] else 'no'} | {n} | {_cell(r['observed_value'], 40)} | "
            f"{_cell(r['details'], 160)} |"
        )
    staging = sorted(set(failing) - {r["rule"] for r in rules})
    lines += [f"| {rule} (staging) | no | {failing.get(rule, 0)} | | |" for rule in staging]
    return "\n".join(lines)


def _samples(quarantine: pd.DataFrame, staged: pd.DataFrame, per_rule: int) -> pd.DataFrame:
    """Up to `per_rule` quarantine entries per rule, each with its staged row as `col=value; …` (staging rejects
    have no staged row: their `value` is what was delivered, already scrubbed)."""
    columns = ["rule", "severity", "_raw_file", "_raw_row", "value", "row"]
    if quarantine.empty or per_rule <= 0:
        return pd.DataFrame(columns=columns)
    picked = quarantine.iloc[first_per_rule(quarantine, per_rule)]
    wanted = set(zip(picked["_raw_file"], picked["_raw_row"], strict=True))
    rows: dict[tuple, str] = {}
    if len(staged):
        data = [c for c in staged.columns if not c.startswith("_")]
        # only the staged rows of the picked raw rows (a few of hundreds), the first of each (raw file, raw row)
        near = staged[staged["_raw_row"].isin({row for _, row in wanted})]
        for rec in near[["_raw_file", "_raw_row", *data]].to_dict("records"):
            key = (rec["_raw_file"], rec["_raw_row"])
            if key in wanted and key not in rows:
                rows[key] = "; ".join(f"{c}={_cell(rec[c])}" for c in data)
    out = picked[["rule", "severity", "_raw_file", "_raw_row", "value"]].copy()
    out["row"] = [rows.get(k) for k in zip(picked["_raw_file"], picked["_raw_row"], strict=True)]
    return out.reset_index(drop=True)


_suites: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # ProjectConfig -> {table name: Suite}
_suites_lock = threading.Lock()


def project_suite(project: ProjectConfig, table: CanonicalTable):
    """The checked suite of `table` for this project, loaded once per ProjectConfig object: a run's steps validate
    every partition of a month with the same suite, and loading one (YAML, placeholders, GX's check of every
    expectation) costs tens of milliseconds. ProjectConfig keeps the files it read for its life too, so a fresh
    ProjectConfig (a new run in a new process, a test) sees an edited suite."""
    from kotacerdas.quality import load_suite  # GX is slow to import: only when validating

    with _suites_lock:
        loaded = _suites.setdefault(project, {})
        if table.name not in loaded:
            loaded[table.name] = load_suite(table, project)
        return loaded[table.name]


@dataclass(frozen=True)
class GateInput:
    """One partition for `run_quality_gates`: its staged rows, and what ingestion delivered (None: completeness is
    not assessed)."""

    staged: StagingResult
    city: str
    month: str
    ingest: IngestResult | None = None


def run_quality_gate(
    project: ProjectConfig,
    table: CanonicalTable,
    staged: StagingResult,
    *,
    city: str,
    month: str,
    raw_dir: str | Path | None = None,
    docs_dir: str | Path | None = None,
    run_name: str | None = None,
    now: pd.Timestamp | None = None,
    ingest: IngestResult | None = None,
    allow_incomplete: bool = False,
) -> GateResult:
    """Validate a staged partition and decide whether it may flow on.

    `raw_dir`: the raw zone the volume rule reads the earlier months from (none: the rule has no history).
    `docs_dir`: write the Data Docs page to `<docs_dir>/<run_name>/<table>/<city>_<month>.html` and list it in
    `<docs_dir>/index.html` (config/quality.yaml can turn it off).
    `ingest`: what ingestion delivered, to judge completeness (config/completeness.yaml); an incomplete partition
    does not pass unless `allow_incomplete`.
    """
    gates = run_quality_gates(
        project,
        table,
        {"": GateInput(staged, city, month, ingest)},
        raw_dir=raw_dir,
        docs_dir=docs_dir,
        run_name=run_name,
        now=now,
        allow_incomplete=allow_incomplete,
    )
    return gates[""]


def run_quality_gates(
    project: ProjectConfig,
    table: CanonicalTable,
    partitions: Mapping[str, GateInput],
    *,
    raw_dir: str | Path | None = None,
    docs_dir: str | Path | None = None,
    run_name: str | None = None,
    now: pd.Timestamp | None = None,
    allow_incomplete: bool = False,
) -> dict[str, GateResult]:
    """`run_quality_gate` for every partition of a run (key -> GateInput), with ONE GX validation of the table for
    all of them (`kotacerdas.quality.batch`): the same GateResult per partition as one by one, without GX's fixed
    cost per partition. Arguments as for `run_quality_gate`."""
    # GX is slow to import: only when validating
    from kotacerdas.quality.batch import PartitionFrame, validate_partitions
    from kotacerdas.quality.volume import delivered_rows_history

    suite = project_suite(project, table)
    frames = []
    for part in partitions.values():
        history = {}
        if suite.volume is not None and raw_dir is not None:
            history = delivered_rows_history(
                project, raw_dir, table.name, part.city, part.month, suite.volume.history_months
            )
        frames.append(
            PartitionFrame(
                part.staged.frame,
                part.city,
                part.month,
                delivered_rows=part.staged.input_rows,
                volume_history=history,
            )
        )
    results = validate_partitions(frames, table, suite, now=now)
    gates, records = {}, {}
    for (key, part), checked in zip(partitions.items(), results, strict=True):
        gates[key], record = _gate(
            project,
            table,
            suite,
            part,
            checked,
            docs_dir=docs_dir,
            run_name=run_name,
            allow_incomplete=allow_incomplete,
        )
        if record is not None:
            records[key] = record
    if records and docs_dir is not None:
        from kotacerdas.quality.docs import write_data_docs_pages

        pages = write_data_docs_pages(list(records.values()), docs_dir)
        for key, page in zip(records, pages, strict=True):
            gates[key] = replace(gates[key], data_docs=str(page))
    return gates


def _gate(
    project: ProjectConfig,
    table: CanonicalTable,
    suite: Suite,
    part: GateInput,
    checked: QualityResult,
    *,
    docs_dir: str | Path | None,
    run_name: str | None,
    allow_incomplete: bool,
) -> tuple[GateResult, dict | None]:
    """One partition's verdict from its validation (quarantine rows, samples, completeness) and what its Data Docs
    page shows (None: no page)."""
    settings = project.quality
    staged, city, month = part.staged, part.city, part.month
    # A row can fail several rules, and the rows of an unpivoted wide row share their lineage: staging counts.
    staging_rejected = staged.rejected_rows
    input_rows = staged.input_rows
    rejected = [f for f in (staged.rejected, checked.rejected) if len(f)]
    # most partitions have none: no concat and cast of two empty frames. By name: a staging result stored by an
    # earlier version (a re-execution after an upgrade) lacks the columns added since (opd_code, migration 0011).
    quarantine = (
        pd.concat(rejected, ignore_index=True).reindex(columns=list(QUARANTINE_COLUMNS)).astype(QUARANTINE_COLUMNS)
        if rejected
        else empty_quarantine()
    )
    quarantine["city_code"] = city
    quarantine["period"] = month
    quarantine["table_name"] = table.name
    gate = GateResult(
        table=table.name,
        city_code=city,
        period=month,
        valid=checked.valid,
        quarantine=quarantine,
        rules=checked.rules,
        input_rows=input_rows,
        rejected_rows=staging_rejected + (len(staged.frame) - len(checked.valid)),
        threshold=(
            project.pipeline.max_rejected_share if suite.max_rejected_share is None else suite.max_rejected_share
        ),
        failed_table_rules=tuple(checked.failed_table_rules),
        samples=_samples(quarantine, staged.frame, settings.failing_rows_sample),
        warn_share=settings.warn_rejected_share,
        completeness=None if part.ingest is None else assess_completeness(project, part.ingest, city, month),
        allow_incomplete=allow_incomplete,
    )
    if docs_dir is None or not settings.data_docs.enabled:
        return gate, None
    from kotacerdas.quality.docs import validation_record

    descriptions = {r.id: r.description for r in suite.rules}
    if suite.volume is not None:
        descriptions[suite.volume.id] = suite.volume.description
    city_name = next((c.name for c in project.cities.cities if c.code == city), None)
    record = validation_record(
        gate,
        run_name=run_name or pd.Timestamp(checked.validated_at).strftime("%Y%m%dT%H%M%S"),
        validated_at=checked.validated_at,
        descriptions=descriptions,
        city_name=city_name,
        values_shown=settings.data_docs.values_shown,
    )
    return gate, record
