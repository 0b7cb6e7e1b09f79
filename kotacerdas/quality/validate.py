"""The quality gate: run a table's suite on one (city, month) partition, split rows valid/quarantined.

Row-level rules (column map, column pair, multicolumn) name the exact failing rows; table-level rules (columns,
freshness, volume) have no rows and are reported in `QualityResult.rules` only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kotacerdas.errors import QualityGateError
from kotacerdas.quality import gx_runtime
from kotacerdas.quality.suite import Rule, Suite, local_now
from kotacerdas.quality.volume import VolumeOutcome, check_volume
from kotacerdas.schemas import (
    QUARANTINE_COLUMNS,
    RULES_COLUMNS,
    CanonicalTable,
    empty_quarantine,
    typed_columns,
    typed_frame,
)

_OBSERVED_MAX_CHARS = 300
# Every failing row's index, no query text, no sample of values (the quarantine rows are built from the index).
RESULT_FORMAT = {"result_format": "COMPLETE", "return_unexpected_index_query": False, "partial_unexpected_count": 0}


@dataclass(frozen=True)
class QualityResult:
    """Outcome of one partition's validation.

    valid: input rows that passed every `error` rule (same columns and index as the input).
    rejected: `schemas.QUARANTINE_COLUMNS`, one row per (row, failed rule), `error` and `warn` alike.
    rules: one row per rule (`RULES_COLUMNS`).
    rejected_share: share of input rows rejected by at least one `error` rule (0 for an empty input).
    failed_table_rules: ids of table-level `error` rules that failed (they block the partition, not rows).
    """

    table: str
    city: str
    month: str
    row_count: int
    valid: pd.DataFrame
    rejected: pd.DataFrame
    rules: pd.DataFrame
    rejected_share: float
    failed_table_rules: tuple[str, ...] = ()
    gx_result: Any = None  # GX's ExpectationSuiteValidationResult, as GX returned it
    volume: VolumeOutcome | None = None
    validated_at: pd.Timestamp | None = None  # `now` of the validation (Asia/Jakarta wall clock)

    def summary(self) -> str:
        failed = self.rules[~self.rules["success"].astype(bool)]
        parts = [
            f"{r.rule} ({r.severity}): {r.unexpected_count if pd.notna(r.unexpected_count) else '-'}"
            for r in failed.itertuples()
        ]
        return (
            f"{self.table} {self.city} {self.month}: {self.row_count} rows, "
            f"{self.row_count - len(self.valid)} rejected ({self.rejected_share:.2%}); "
            f"failed rules: {', '.join(parts) or 'none'}"
        )


def check_frame(df: pd.DataFrame, table: CanonicalTable, suite: Suite, *, city: str, month: str) -> None:
    """The suite is `table`'s and the frame has every column its rules look at (QualityGateError otherwise)."""
    if suite.table.name != table.name:
        raise ValueError(f"suite {suite.path} is for table {suite.table.name!r}, not {table.name!r}")
    needed = sorted({c for r in suite.rules for c in r.columns} - set(df.columns))
    if needed:
        raise QualityGateError(
            f"{table.name} {city} {month}: staged frame lacks column(s) {needed} that the suite checks",
            hint="staging must produce every canonical column (see kotacerdas/schemas.py)",
        )


def validate_table(
    df: pd.DataFrame,
    table: CanonicalTable,
    suite: Suite,
    *,
    city: str,
    month: str,
    now: pd.Timestamp | None = None,
    delivered_rows: int | None = None,
    volume_history: Mapping[str, int] | None = None,
) -> QualityResult:
    """Validate one staged partition of `table` against `suite` with GX (one ephemeral context a process).

    `now` (default: the Asia/Jakarta clock) places the freshness bound of a month still running.
    `delivered_rows` (default: the rows of `df`) and `volume_history` (earlier month -> rows delivered, see
    `kotacerdas.quality.volume.delivered_rows_history`; default none) feed the suite's volume rule.
    """
    check_frame(df, table, suite, city=city, month=month)

    now = local_now() if now is None else pd.Timestamp(now)
    bound = suite.expectations(city, month, now)
    rules_by_id = {rule.id: rule for rule, _ in bound}
    # GX reports failing rows by index label; a 0..n-1 index makes them positions whatever the input's index.
    # (An extra row-number column would do too, but table-level rules such as the column set would see it.)
    frame = df.reset_index(drop=True)

    gx = gx_runtime.import_gx()  # already imported by suite.expectations(); cheap here
    with gx_runtime.lock():
        batch = gx_runtime.batch_definition(table.name).get_batch(batch_parameters={"dataframe": frame})
        gx_suite = gx.ExpectationSuite(name=f"{table.name}:{city}:{month}", expectations=[e for _, e in bound])
        with gx_runtime.memoized_configurations():
            outcome = batch.validate(gx_suite, result_format=RESULT_FORMAT)

    by_rule = results_by_rule(outcome, suite, rules_by_id, where=f"{table.name} {city} {month}")
    outcomes = {rule_id: rule_outcome(r) for rule_id, r in by_rule.items()}
    return assemble_result(
        df,
        table,
        suite,
        outcomes,
        city=city,
        month=month,
        now=now,
        delivered_rows=delivered_rows,
        volume_history=volume_history,
        gx_result=outcome,
    )


@dataclass(frozen=True)
class RuleOutcome:
    """What GX said about one rule on one partition (`positions`: failing rows as positions in the partition's
    frame; None for a table-level rule, which points at no rows)."""

    success: bool
    element_count: int | None
    unexpected_count: int | None
    unexpected_percent: float | None
    observed_value: Any
    positions: np.ndarray | None
    kwargs: Mapping[str, Any]


def rule_outcome(r: Any, offset: int = 0) -> RuleOutcome:
    """A GX ExpectationValidationResult as a RuleOutcome; `offset` is subtracted from the failing rows' index
    (the partition's first position in a batch of several partitions)."""
    res = r.result or {}
    index_list = res.get("unexpected_index_list")
    return RuleOutcome(
        success=bool(r.success),
        element_count=res.get("element_count"),
        unexpected_count=res.get("unexpected_count"),
        unexpected_percent=res.get("unexpected_percent"),
        observed_value=res.get("observed_value"),
        positions=None if index_list is None else np.asarray(index_list, dtype="int64") - offset,
        kwargs=r.expectation_config.kwargs,
    )


def results_by_rule(outcome: Any, suite: Suite, rules_by_id: Mapping[str, Rule], *, where: str) -> dict[str, Any]:
    """GX's results keyed by rule id; raises QualityGateError for an expectation that raised, an unknown one, or a
    rule without a result."""
    by_rule: dict[str, Any] = {}
    for r in outcome.results:
        meta = r.expectation_config.meta or {}
        rule_id = str(meta.get("kotacerdas_rule"))
        if rule_id not in rules_by_id:
            raise QualityGateError(f"GX returned a result for an unknown expectation {r.expectation_config.type}")
        info = r.exception_info or {}
        if info.get("raised_exception"):
            rule = rules_by_id[rule_id]
            raise QualityGateError(
                f"{suite.path}: rule {rule_id} ({rule.type}) raised in GX on {where}: {info.get('exception_message')}",
                hint="fix the rule's kwargs or the staged column types",
            )
        by_rule[rule_id] = r
    missing = [rid for rid in rules_by_id if rid not in by_rule]
    if missing:
        raise QualityGateError(
            f"GX returned no result for rule(s) {missing} of {suite.path}",
            hint="two rules may be identical; GX keeps one of them — make each rule distinct",
        )
    return by_rule


def assemble_result(
    df: pd.DataFrame,
    table: CanonicalTable,
    suite: Suite,
    outcomes: Mapping[str, RuleOutcome],
    *,
    city: str,
    month: str,
    now: pd.Timestamp,
    delivered_rows: int | None = None,
    volume_history: Mapping[str, int] | None = None,
    gx_result: Any = None,
) -> QualityResult:
    """One partition's QualityResult from what GX said about each rule: rules, quarantine rows, volume, verdict."""
    n = len(df)
    rule_rows, failed_table = [], []
    set_aside = _SetAside(df, table, city, month)
    blocked = np.zeros(n, dtype=bool)
    for rule in suite.rules:  # file order, not GX's order
        r = outcomes[rule.id]
        observed = r.observed_value
        rule_rows.append(
            {
                "rule": rule.id,
                "severity": rule.severity,
                "success": r.success,
                "element_count": r.element_count,
                "unexpected_count": r.unexpected_count,
                "unexpected_percent": r.unexpected_percent,
                "observed_value": None
                if observed is None or observed is pd.NaT
                else str(observed)[:_OBSERVED_MAX_CHARS],
                "details": _bounds(r.kwargs) if r.positions is None else None,
            }
        )
        if r.positions is None:  # table-level: no rows to point at
            if not r.success and rule.severity == "error":
                failed_table.append(rule.id)
            continue
        positions = r.positions
        if len(positions) == 0:
            continue
        if rule.severity == "error":
            blocked[positions] = True
        set_aside.add(rule, positions, _bound_for_city(rule, r.kwargs, suite.populations.get(city)))

    volume = None
    if suite.volume is not None:
        volume = check_volume(suite.volume, n if delivered_rows is None else delivered_rows, volume_history or {})
        rule_rows.append(
            {
                "rule": suite.volume.id,
                "severity": suite.volume.severity,
                "success": volume.success,
                "element_count": volume.observed,
                "unexpected_count": None,
                "unexpected_percent": None,
                "observed_value": str(volume.observed),
                "details": volume.note,
            }
        )
        if not volume.success and suite.volume.severity == "error":
            failed_table.append(suite.volume.id)
    rules = typed_frame(rule_rows, RULES_COLUMNS)
    rejected = set_aside.frame()
    return QualityResult(
        table=table.name,
        city=city,
        month=month,
        row_count=n,
        valid=df[~blocked],
        rejected=rejected,
        rules=rules,
        rejected_share=float(blocked.sum() / n) if n else 0.0,
        failed_table_rules=tuple(failed_table),
        gx_result=gx_result,
        volume=volume,
        validated_at=now,
    )


def _bound_for_city(rule: Rule, kwargs: Mapping[str, Any], population: int | None) -> str:
    """What a bound per resident comes to for the partition's city, for the reason a steward reads
    (e.g. `at most 4,845,700 for 242,285 residents; `); empty for other rules."""
    if rule.per_residents is None or population is None:
        return ""

    def number(x: float) -> str:  # 4,845,700 or 726.855: the bound itself, not rounded
        return f"{int(x):,}" if float(x).is_integer() else f"{x:,}"

    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    words = ([f"at least {number(low)}"] if low is not None else []) + (
        [f"at most {number(high)}"] if high is not None else []
    )
    return f"{' and '.join(words)} for {population:,} residents; "


def _bounds(kwargs: Mapping[str, Any]) -> str | None:
    """What a table-level rule expected, in words (e.g. `expected >= 2025-03-29 00:00:00`)."""
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    if low is None and high is None:
        return None
    if high is None:
        return f"expected >= {low}"
    if low is None:
        return f"expected <= {high}"
    return f"expected between {low} and {high}"


def _record_key(df: pd.DataFrame, table: CanonicalTable) -> pd.Series:
    """Key columns as text joined with "|"; a missing key part is the empty string."""
    parts = [
        df[c].astype("string").fillna("") if c in df.columns else pd.Series("", index=df.index, dtype="string")
        for c in table.key
    ]
    key = parts[0]
    for p in parts[1:]:
        key = key + "|" + p
    return key.reset_index(drop=True)


def _text(values: pd.Series) -> pd.Series:
    """Values as text, a whole number in a float column as the OPD typed it (31490000, not 31490000.0)."""
    if pd.api.types.is_float_dtype(values.dtype):
        return pd.Series([_number_text(v) for v in values], dtype="string")
    return values.astype("string").reset_index(drop=True)


def _number_text(value: float) -> str | None:
    if pd.isna(value):
        return None
    whole = float(value).is_integer() and abs(value) < 1e15  # past 1e15 a float's digits are not what was typed
    return str(int(value)) if whole else str(value)


class _SetAside:
    """The rows a partition's rules set aside, gathered rule by rule and made into one quarantine frame at the end:
    in input row order, then the suite's rule order. (A frame per failing rule, concatenated, sorted and typed, cost
    several times as much for the few rows a rule usually fails: #15.)"""

    def __init__(self, df: pd.DataFrame, table: CanonicalTable, city: str, month: str):
        self.df, self.table, self.city, self.month = df, table, city, month
        self.positions: list[np.ndarray] = []
        self.rules: list[Rule] = []
        self.values: list[np.ndarray] = []
        self.reasons: list[np.ndarray] = []

    def add(self, rule: Rule, positions: np.ndarray, note: str = "") -> None:
        """Set aside the rows at `positions` for `rule`; `note` goes before the value in the reason."""
        cols = list(rule.columns)
        m = len(positions)
        if len(cols) == 1:
            value = _text(self.df[cols[0]].iloc[positions])
        elif cols:
            # e.g. "completed_at=2024-01-01 08:00:00; submitted_at=2024-01-02 09:00:00"
            value = None
            for c in cols:
                part = c + "=" + _text(self.df[c].iloc[positions]).fillna("null")
                value = part if value is None else value + "; " + part
        else:
            value = pd.Series(pd.NA, index=range(m), dtype="string")
        shown = value.fillna("null") if len(cols) == 1 else value
        reason = rule.description + " (" + note + "got " + shown + ")"
        self.positions.append(positions)
        self.rules.append(rule)
        self.values.append(value.to_numpy(dtype=object, na_value=pd.NA))
        self.reasons.append(reason.to_numpy(dtype=object, na_value=pd.NA))

    def frame(self) -> pd.DataFrame:
        if not self.positions:
            return empty_quarantine()
        positions = np.concatenate(self.positions)
        order = np.argsort(positions, kind="stable")
        at, n = positions[order], len(positions)
        counts = [len(p) for p in self.positions]
        keys = self.df[[c for c in self.table.key if c in self.df.columns]].iloc[at]  # a key: a few columns of many

        def per_rule(values: list) -> np.ndarray:
            return np.repeat(np.array(values, dtype=object), counts)[order]

        def joined(parts: list[np.ndarray]) -> np.ndarray:
            return np.concatenate(parts)[order]

        def of_rows(column: str) -> np.ndarray:
            if column not in self.df.columns:
                return np.full(n, pd.NA, dtype=object)
            return self.df[column].iloc[at].to_numpy(dtype=object)

        columns = {
            "table_name": [self.table.name] * n,
            "city_code": [self.city] * n,
            "period": [self.month] * n,
            "opd_code": of_rows("opd_code"),
            "rule": per_rule([r.id for r in self.rules]),
            "severity": per_rule([r.severity for r in self.rules]),
            "column_name": per_rule([",".join(r.columns) if r.columns else pd.NA for r in self.rules]),
            "value": joined(self.values),
            "reason": joined(self.reasons),
            "record_key": _record_key(keys, self.table).to_numpy(dtype=object, na_value=pd.NA),
            "_raw_file": of_rows("_raw_file"),
            "_raw_row": of_rows("_raw_row"),
        }
        return typed_columns(columns, QUARANTINE_COLUMNS, n)
