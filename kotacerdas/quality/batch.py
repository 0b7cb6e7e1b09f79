"""Validate several partitions of one table as one GX batch, and split GX's results by partition.

Validating a partition costs GX a fixed amount per expectation (its metric graph, its result), whatever the rows;
a month of 514 cities paid it 514 times per table. Here the partitions of a run are concatenated (a 0..N-1 index,
so that GX's failing-row labels say which partition a row is in) and each rule goes one of three ways:

- a **row rule** (a column map or column pair map expectation: each row passes or fails on its own values) whose
  bound kwargs are the same for every partition is ONE expectation over all rows; its failing rows are split by
  partition, and each partition's counts, percentage and success are recomputed as GX computes them (`_split`),
  checked against GX's totals;
- a **schema rule** (the column set) with the same kwargs everywhere is one expectation on the concatenation, whose
  columns are every partition's (frames that differ in columns or dtypes are not batched at all);
- **every other rule** (aggregates such as freshness, rules across rows such as uniqueness, rules whose kwargs name
  the partition such as `${city}`, rules with a row condition of their own) is validated on each partition's own
  frame, as before. (GX row conditions on a partition column would keep them in one validation too, but GX filters
  with `DataFrame.query` once per metric: slower than a validation per partition.)

Each partition then gets the `QualityResult` it would get alone (`validate.assemble_result`), which
tests/test_quality_batch.py checks against `validate_table` partition by partition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kotacerdas.errors import QualityGateError
from kotacerdas.quality import gx_runtime
from kotacerdas.quality.suite import Rule, Suite, local_now
from kotacerdas.quality.validate import (
    RESULT_FORMAT,
    QualityResult,
    RuleOutcome,
    assemble_result,
    check_frame,
    results_by_rule,
    rule_outcome,
    validate_table,
)
from kotacerdas.schemas import CanonicalTable

# Table-level rules that look at the column names only: the same result on every frame with the same columns.
SCHEMA_RULES = frozenset(
    {
        "expect_column_to_exist",
        "expect_table_columns_to_match_set",
        "expect_table_columns_to_match_ordered_list",
        "expect_table_column_count_to_equal",
        "expect_table_column_count_to_be_between",
    }
)
_ROWS, _SCHEMA, _EACH = "rows", "schema", "each"


@dataclass(frozen=True)
class PartitionFrame:
    """One partition's staged rows and what its volume rule needs (see `validate_table`)."""

    frame: pd.DataFrame
    city: str
    month: str
    delivered_rows: int | None = None
    volume_history: Mapping[str, int] | None = None


def validate_partitions(
    parts: Sequence[PartitionFrame], table: CanonicalTable, suite: Suite, *, now: pd.Timestamp | None = None
) -> list[QualityResult]:
    """Each partition's QualityResult, in order, from one GX validation of all of them (see the module doc).

    Partitions whose frames differ in columns or dtypes (a concatenation would change what GX sees) are validated
    one by one with `validate_table`, as is a single partition.
    """
    for p in parts:
        check_frame(p.frame, table, suite, city=p.city, month=p.month)
    now = local_now() if now is None else pd.Timestamp(now)
    if len(parts) < 2 or not _same_shape([p.frame for p in parts]):
        return [
            validate_table(
                p.frame,
                table,
                suite,
                city=p.city,
                month=p.month,
                now=now,
                delivered_rows=p.delivered_rows,
                volume_history=p.volume_history,
            )
            for p in parts
        ]

    gx = gx_runtime.import_gx()
    bound = [{rule.id: suite.bound_kwargs(rule, p.city, p.month, now) for rule in suite.rules} for p in parts]
    kinds = {rule.id: _kind(rule, [b[rule.id] for b in bound]) for rule in suite.rules}
    shared = [r for r in suite.rules if kinds[r.id] != _EACH]
    own = [r for r in suite.rules if kinds[r.id] == _EACH]
    sizes = np.array([len(p.frame) for p in parts], dtype="int64")
    starts = np.concatenate([[0], np.cumsum(sizes)])
    # a 0..N-1 index: GX's failing row labels are positions in the concatenation, split by `starts`
    frame = pd.concat([p.frame for p in parts], ignore_index=True)
    where = f"{table.name} {len(parts)} partitions of {parts[0].month}"

    def validate(df: pd.DataFrame, rules: list[Rule], kwargs: Mapping[str, Mapping[str, Any]], name: str) -> Any:
        expectations = [_expectation(rule, kwargs[rule.id]) for rule in rules]
        batch = gx_runtime.batch_definition(table.name).get_batch(batch_parameters={"dataframe": df})
        return batch.validate(gx.ExpectationSuite(name=name, expectations=expectations), result_format=RESULT_FORMAT)

    per_part: list[dict[str, RuleOutcome]] = [{} for _ in parts]
    with gx_runtime.lock(), gx_runtime.memoized_configurations():
        outcome = validate(frame, shared, bound[0], f"{table.name}:batch") if shared else None
        own_results = [
            validate(p.frame.reset_index(drop=True), own, bound[i], f"{table.name}:{p.city}:{p.month}")
            for i, p in enumerate(parts)
            if own
        ]
    if outcome is not None:
        by_rule = results_by_rule(outcome, suite, {r.id: r for r in shared}, where=where)
        for rule in shared:
            if kinds[rule.id] == _SCHEMA:
                for i in range(len(parts)):
                    per_part[i][rule.id] = rule_outcome(by_rule[rule.id])
            else:
                for i, split in enumerate(_split(by_rule[rule.id], rule, frame, starts, where=where)):
                    per_part[i][rule.id] = split
    for i, result in enumerate(own_results):
        mine = results_by_rule(result, suite, {r.id: r for r in own}, where=f"{table.name} {parts[i].city}")
        per_part[i] |= {rule_id: rule_outcome(r) for rule_id, r in mine.items()}
    return [
        assemble_result(
            p.frame,
            table,
            suite,
            per_part[i],
            city=p.city,
            month=p.month,
            now=now,
            delivered_rows=p.delivered_rows,
            volume_history=p.volume_history,
            gx_result=outcome if outcome is not None else own_results[i],
        )
        for i, p in enumerate(parts)
    ]


def _same_shape(frames: Sequence[pd.DataFrame]) -> bool:
    """Same columns in the same order with the same dtypes (so the concatenation keeps every dtype)."""
    first = frames[0].dtypes
    return all(list(f.columns) == list(frames[0].columns) and f.dtypes.equals(first) for f in frames[1:])


def _row_rule_classes() -> tuple[type, ...]:
    """Expectation classes whose success and counts per partition `_split` can recompute from the failing rows:
    column map expectations that keep GX's generic `_validate`, and the two null checks (their own `_validate`,
    with the row count as denominator)."""
    gx_runtime.import_gx()
    from great_expectations.expectations.core.expect_column_values_to_be_null import ExpectColumnValuesToBeNull
    from great_expectations.expectations.core.expect_column_values_to_not_be_null import (
        ExpectColumnValuesToNotBeNull,
    )

    return (ExpectColumnValuesToBeNull, ExpectColumnValuesToNotBeNull)


def _kind(rule: Rule, kwargs: Sequence[Mapping[str, Any]]) -> str:
    same = all(k == kwargs[0] for k in kwargs[1:])
    if not same:
        return _EACH
    if rule.type in SCHEMA_RULES:
        return _SCHEMA
    cls: Any = gx_runtime.expectation_class(rule.type, where=rule.id)
    generic = any(issubclass(cls, b) and cls._validate is b._validate for b in _generic_bases())
    if (generic or cls in _row_rule_classes()) and kwargs[0].get("row_condition") is None:
        return _ROWS
    return _EACH


def _generic_bases() -> tuple[Any, ...]:
    """Map expectations whose `_validate` `_split` reproduces when a subclass keeps it."""
    from great_expectations.expectations.expectation import ColumnMapExpectation, ColumnPairMapExpectation

    return (ColumnMapExpectation, ColumnPairMapExpectation)


def _expectation(rule: Rule, kwargs: Mapping[str, Any]) -> Any:
    cls = gx_runtime.expectation_class(rule.type, where=rule.id)
    return cls(**kwargs, meta={"kotacerdas_rule": rule.id}, description=f"[{rule.severity}] {rule.description}")


def _skipped(frame: pd.DataFrame, rule: Rule, kwargs: Mapping[str, Any]) -> np.ndarray:
    """The rows GX leaves out of a row rule's percentage: nulls of its column, or for a column pair what
    `ignore_row_if` says (default both values missing)."""
    missing = [frame[c].isna().to_numpy() for c in rule.columns]
    if len(missing) == 1:
        return missing[0]
    how = kwargs.get("ignore_row_if", "both_values_are_missing")
    if how == "neither":
        return np.zeros(len(frame), dtype=bool)
    if how == "either_value_is_missing":
        return missing[0] | missing[1]
    return missing[0] & missing[1]


def _split(r: Any, rule: Rule, frame: pd.DataFrame, starts: np.ndarray, *, where: str) -> list[RuleOutcome]:
    """One row rule's result over all partitions as each partition's own, the way GX computes it for a column map
    expectation: element_count = the partition's rows; with `missing_count` in the result (nulls are skipped) the
    percentage and `mostly` count non-null rows, else all rows (the null checks)."""
    res = r.result or {}
    if res.get("unexpected_index_list") is None or res.get("observed_value") is not None:
        raise QualityGateError(f"{where}: rule {rule.id} ({rule.type}) is not a row rule GX can split by partition")
    failing = np.sort(np.asarray(res["unexpected_index_list"], dtype="int64"))
    counts = np.diff(np.searchsorted(failing, starts))
    nulls = None
    if "missing_count" in res:  # GX skipped some rows (nulls, `ignore_row_if`): count them per partition
        skipped = np.concatenate([[0], np.cumsum(_skipped(frame, rule, r.expectation_config.kwargs))])
        nulls = skipped[starts[1:]] - skipped[starts[:-1]]
        if int(nulls.sum()) != res["missing_count"]:
            raise QualityGateError(f"{where}: rule {rule.id}: rows skipped per partition do not add up to GX's")
    if int(counts.sum()) != res.get("unexpected_count"):
        raise QualityGateError(f"{where}: rule {rule.id}: failing rows per partition do not add up to GX's count")
    mostly = float(r.expectation_config.kwargs.get("mostly", 1))
    out = []
    for i in range(len(starts) - 1):
        rows, bad = int(starts[i + 1] - starts[i]), int(counts[i])
        considered = rows - int(nulls[i]) if nulls is not None else rows
        if rows == 0 or considered == 0:
            success, percent = True, None
        else:
            success = (considered - bad) / considered >= mostly
            percent = bad / considered * 100
        positions = failing[np.searchsorted(failing, starts[i]) : np.searchsorted(failing, starts[i + 1])]
        out.append(
            RuleOutcome(
                success=success,
                element_count=rows,
                unexpected_count=bad,
                unexpected_percent=percent,
                observed_value=None,
                positions=positions - starts[i],
                kwargs=r.expectation_config.kwargs,
            )
        )
    return out
