"""Validate several partitions of one table as one GX batch, and split GX's results by partition.

Validating a partition costs GX a fixed amount per expectation (its metric graph, its result), whatever the rows;
a month of 514 cities paid it 514 times per table. Here the partitions of a run are concatenated (a 0..N-1 index,
so that GX's failing-row labels say which partition a row is in) and each rule goes one of these ways:

- a **row rule** (a map expectation of `ROW_RULES`: each row passes or fails on its own values) whose bound kwargs
  are the same for every partition is ONE expectation over all rows; its failing rows are split by partition, and
  each partition's counts, percentage and success are recomputed as GX computes them (`_split`), checked against
  GX's totals;
- a **schema rule** (the column set) with the same kwargs everywhere is one expectation on the concatenation, whose
  columns are every partition's (frames that differ in columns or dtypes are not batched at all);
- a **partition-scoped rule** is one expectation too, on the concatenation with a helper column that says which
  partition (or which expected value) each row has, so that it means for each row what it means alone: uniqueness of
  a compound key (`expect_compound_columns_to_be_unique`, the partition number added to its columns, a helper column
  per rule: rows of two partitions never collide) and a set of one text value that names the partition on a text
  column (`value_set: ["${city}"]`, validated as the column being equal to the row's own partition's value,
  `expect_column_pair_values_to_be_equal`); rows are skipped as the rule alone skips them;
- a **row rule with a row condition** (the same everywhere, e.g. percentages in 0..100 for the percent indicators
  only) is one expectation over all rows, with its condition, beside a helper expectation under the same condition
  that fails on every row it keeps: GX's own answer to which rows each partition's counts are over;
- a **range whose bound differs by partition** (`expect_column_values_to_be_between` with one bound, a number, on
  a float column, everything else the same: a bound per resident, `per_residents`) is one expectation too, on a
  helper column holding each row's value minus its own partition's bound, checked against 0 (a float subtraction
  keeps the sign of the difference and is 0 only for equal values, so every row passes or fails as alone), with
  the helper of a row condition when it has one;
- a **column maximum or minimum** (`COLUMN_AGGREGATES`, the freshness rules; no row condition, a column whose dtype
  holds missing values as they are) is one validation for all partitions: a frame with each partition's column side
  by side (shorter ones padded with missing values, which the aggregate skips) and one expectation per partition,
  with the partition's own kwargs; the outcome carries the real column name again;
- **every other rule** (other aggregates, map rules that compare rows with one another such as
  `expect_column_values_to_be_unique` or `…_to_not_be_outliers`, expectations not in `ROW_RULES`, custom ones
  included, other rules whose kwargs name the partition, rules whose row condition differs by partition) is
  validated on each partition's own frame, as before. (GX row conditions on a partition column would keep them in
  one validation too, but GX filters with `DataFrame.query` once per metric: slower than a validation per
  partition.)

Each partition then gets the `QualityResult` it would get alone (`validate.assemble_result`), which
tests/test_quality_batch.py checks against `validate_table` partition by partition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
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
# Map expectations that judge each row on its own values (and GX's generic map `_validate`, or the null checks'
# equivalent, which `_split` reproduces): the only ones batched as row rules. Map expectations that look at other
# rows (unique, increasing, z-scores, outliers: over a concatenation they would compare rows of different
# partitions) and any expectation not named here, a custom one included, are validated per partition.
ROW_RULES = frozenset(
    {
        "expect_column_values_to_be_null",
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_be_between",
        "expect_column_value_lengths_to_be_between",
        "expect_column_value_lengths_to_equal",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_values_to_match_regex_list",
        "expect_column_values_to_not_match_regex_list",
        "expect_column_values_to_match_like_pattern",
        "expect_column_values_to_not_match_like_pattern",
        "expect_column_values_to_match_like_pattern_list",
        "expect_column_values_to_not_match_like_pattern_list",
        "expect_column_values_to_match_strftime_format",
        "expect_column_values_to_be_dateutil_parseable",
        "expect_column_values_to_be_json_parseable",
        "expect_column_values_to_match_json_schema",
        "expect_column_pair_values_a_to_be_greater_than_b",
        "expect_column_pair_values_to_be_equal",
        "expect_column_pair_values_to_be_in_set",
        "expect_multicolumn_sum_to_equal",
        "expect_multicolumn_values_to_be_equal",
        "expect_select_column_values_to_be_unique_within_record",
    }
)
# Column aggregates that skip missing values: validated on a frame with a column per partition (padded with missing
# values), one expectation per partition, in ONE validation instead of one per partition.
COLUMN_AGGREGATES = frozenset({"expect_column_max_to_be_between", "expect_column_min_to_be_between"})
_ROWS, _SCHEMA, _EACH, _COLUMNS = "rows", "schema", "each", "a column per partition"
_UNIQUE_WITHIN, _OWN_VALUE = "unique within the partition", "the partition's own value"
_WHERE = "a row rule with a row condition"
_BOUND = "a range whose bound differs by partition"
# Helper columns of the concatenation that partition-scoped rules see (never a canonical column: "__" prefix).
_PARTITION_COLUMN = "__kotacerdas_partition:"
_OWN_VALUE_COLUMN = "__kotacerdas_own_value:"
_PARTITION_OWN_COLUMN = "__kotacerdas_partition_{}:{}"  # partition number, column
_BEYOND_COLUMN = "__kotacerdas_beyond_bound:"  # + rule id: the value minus its partition's bound
_CONSIDERED_COLUMN = "__kotacerdas_considered:"  # + rule id: never missing, so its null rule fails every row considered
_CONSIDERED = "kotacerdas_rows_considered"  # the meta key of the expectation that finds a rule's rows considered


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
    kinds = {rule.id: _kind(rule, [b[rule.id] for b in bound], parts[0].frame) for rule in suite.rules}
    if any(p.frame.empty for p in parts):  # an empty partition alone: GX's own case, not a column of missing values
        kinds = {rid: _EACH if k == _COLUMNS else k for rid, k in kinds.items()}
    shared = [r for r in suite.rules if kinds[r.id] in (_ROWS, _SCHEMA)]
    scoped = [r for r in suite.rules if kinds[r.id] in (_UNIQUE_WITHIN, _OWN_VALUE, _WHERE, _BOUND)]
    own = [r for r in suite.rules if kinds[r.id] == _EACH]
    by_column = [r for r in suite.rules if kinds[r.id] == _COLUMNS]
    sizes = np.array([len(p.frame) for p in parts], dtype="int64")
    starts = np.concatenate([[0], np.cumsum(sizes)])
    # a 0..N-1 index: GX's failing row labels are positions in the concatenation, split by `starts`
    frame = pd.concat([p.frame for p in parts], ignore_index=True)
    where = f"{table.name} {len(parts)} partitions of {parts[0].month}"

    def validate(df: pd.DataFrame, expectations: list[Any], name: str) -> Any:
        batch = gx_runtime.batch_definition(table.name).get_batch(batch_parameters={"dataframe": df})
        return batch.validate(gx.ExpectationSuite(name=name, expectations=expectations), result_format=RESULT_FORMAT)

    per_part: list[dict[str, RuleOutcome]] = [{} for _ in parts]
    with gx_runtime.lock(), gx_runtime.memoized_configurations():
        outcome = None
        if shared:
            expectations = [_expectation(rule, bound[0][rule.id]) for rule in shared]
            outcome = validate(frame, expectations, f"{table.name}:batch")
        scoped_outcome = None
        if scoped:
            # the helper columns go on a copy (its columns are the frame's, not copied): schema rules never see them
            helpers: dict[str, Any] = {}
            expectations = [
                e
                for rule in scoped
                for e in _scoped_expectations(rule, kinds[rule.id], [b[rule.id] for b in bound], frame, sizes, helpers)
            ]
            scoped_outcome = validate(frame.assign(**helpers), expectations, f"{table.name}:batch:scoped")
        columns_outcome = None
        if by_column:
            wide, expectations = _one_column_per_partition(by_column, bound, parts)
            columns_outcome = validate(wide, expectations, f"{table.name}:batch:columns")
        looked_at = _columns_looked_at(own, bound)
        own_results = [
            validate(
                (p.frame if looked_at is None else p.frame[looked_at]).reset_index(drop=True),
                [_expectation(rule, bound[i][rule.id]) for rule in own],
                f"{table.name}:{p.city}:{p.month}",
            )
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
    if scoped_outcome is not None:
        considered = {
            r.expectation_config.meta[_CONSIDERED]: r
            for r in scoped_outcome.results
            if _CONSIDERED in (r.expectation_config.meta or {})
        }
        ruled = _Results([r for r in scoped_outcome.results if _CONSIDERED not in (r.expectation_config.meta or {})])
        by_rule = results_by_rule(ruled, suite, {r.id: r for r in scoped}, where=where)
        for rule in scoped:
            # each partition's outcome carries the rule's own kwargs (its set, its columns), not the helper's
            kwargs = [b[rule.id] for b in bound]
            domain = None
            if kinds[rule.id] in (_WHERE, _BOUND) and kwargs[0].get("row_condition") is not None:
                # the rows GX considered under the row condition, by GX
                domain = _rows_considered(considered.get(rule.id), rule, len(frame), where=where)
            splits = _split(by_rule[rule.id], rule, frame, starts, where=where, kwargs=kwargs, domain=domain)
            for i, split in enumerate(splits):
                per_part[i][rule.id] = split
    if columns_outcome is not None:
        results_of: list[list[Any]] = [[] for _ in parts]  # each partition's results, found by their meta
        for r in columns_outcome.results:
            at = (r.expectation_config.meta or {}).get("kotacerdas_partition")
            if not isinstance(at, int) or not 0 <= at < len(parts):
                raise QualityGateError(f"{where}: GX returned a result for an unknown expectation")
            results_of[at].append(r)
        for i, results in enumerate(results_of):
            mine = results_by_rule(
                _Results(results), suite, {r.id: r for r in by_column}, where=f"{table.name} {parts[i].city}"
            )
            # each outcome with the partition's own kwargs (its column's real name), as alone
            per_part[i] |= {rule_id: replace(rule_outcome(r), kwargs=bound[i][rule_id]) for rule_id, r in mine.items()}
    for i, result in enumerate(own_results):
        mine = results_by_rule(result, suite, {r.id: r for r in own}, where=f"{table.name} {parts[i].city}")
        per_part[i] |= {rule_id: rule_outcome(r) for rule_id, r in mine.items()}
    first = next((o for o in (outcome, scoped_outcome) if o is not None), None)
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
            gx_result=first if first is not None else own_results[i],
        )
        for i, p in enumerate(parts)
    ]


def _same_shape(frames: Sequence[pd.DataFrame]) -> bool:
    """Same columns in the same order with the same dtypes (so the concatenation keeps every dtype)."""
    first = frames[0].dtypes
    return all(list(f.columns) == list(frames[0].columns) and f.dtypes.equals(first) for f in frames[1:])


def _kind(rule: Rule, kwargs: Sequence[Mapping[str, Any]], frame: pd.DataFrame) -> str:
    if _bound_differs_only(rule, kwargs, frame) is not None:
        return _BOUND
    if kwargs[0].get("row_condition") is not None:
        same = all(k == kwargs[0] for k in kwargs[1:])
        return _WHERE if same and rule.type in ROW_RULES else _EACH
    if rule.type in COLUMN_AGGREGATES and all(set(k) <= _AGGREGATE_KWARGS and "row_condition" not in k for k in kwargs):
        column = kwargs[0].get("column")
        if all(k.get("column") == column for k in kwargs) and _pads_as_missing(frame, column):
            return _COLUMNS
    same = all(k == kwargs[0] for k in kwargs[1:])
    if not same:
        return _OWN_VALUE if _names_its_partition(rule, kwargs, frame) else _EACH
    if rule.type in SCHEMA_RULES:
        return _SCHEMA
    if rule.type == "expect_compound_columns_to_be_unique":
        return _UNIQUE_WITHIN
    return _ROWS if rule.type in ROW_RULES else _EACH


_AGGREGATE_KWARGS = frozenset({"column", "min_value", "max_value", "strict_min", "strict_max"})


def _bound_differs_only(rule: Rule, kwargs: Sequence[Mapping[str, Any]], frame: pd.DataFrame) -> str | None:
    """The bound (`min_value` or `max_value`) of a range rule that differs by partition, nothing else differing, when
    the rule has that one bound, a finite number, on a float column; else None."""
    if rule.type != "expect_column_values_to_be_between" or all(k == kwargs[0] for k in kwargs[1:]):
        return None
    present = [b for b in ("min_value", "max_value") if kwargs[0].get(b) is not None]
    if len(present) != 1:
        return None
    bound = present[0]
    if (
        any(k.get(bound) is None or isinstance(k[bound], bool) or not isinstance(k[bound], int | float) for k in kwargs)
        or not np.isfinite([float(k[bound]) for k in kwargs]).all()
    ):
        return None
    rest = [{n: v for n, v in k.items() if n != bound} for k in kwargs]
    column = kwargs[0].get("column")
    floats = isinstance(column, str) and column in frame.columns and pd.api.types.is_float_dtype(frame[column].dtype)
    return bound if floats and all(r == rest[0] for r in rest[1:]) else None


def _pads_as_missing(frame: pd.DataFrame, column: Any) -> bool:
    """The column keeps its dtype when padded with missing values (datetimes, floats, text, nullable types; not
    plain integers or booleans, which would become floats or objects)."""
    if not isinstance(column, str) or column not in frame.columns:
        return False
    values = frame[column]
    return values.iloc[:1].reindex(range(2)).dtype == values.dtype


@dataclass(frozen=True)
class _Results:
    """The results of one partition's expectations, as `results_by_rule` reads a validation's."""

    results: list[Any]


def _one_column_per_partition(
    rules: Sequence[Rule], bound: Sequence[Mapping[str, Mapping[str, Any]]], parts: Sequence[PartitionFrame]
) -> tuple[pd.DataFrame, list[Any]]:
    """A frame with each partition's values of each rule's column side by side (shorter partitions padded with
    missing values, which a column aggregate skips) and one expectation per rule and partition on its column: GX's
    fixed cost per validation once, not once per partition (#15)."""
    columns: dict[str, pd.Series] = {}
    expectations = []
    for rule in rules:
        for i, p in enumerate(parts):
            kwargs = bound[i][rule.id]
            name = _PARTITION_OWN_COLUMN.format(i, kwargs["column"])
            if name not in columns:
                columns[name] = p.frame[kwargs["column"]].reset_index(drop=True)
            cls = gx_runtime.expectation_class(rule.type, where=rule.id)
            expectations.append(
                cls(
                    **{**kwargs, "column": name},
                    meta={"kotacerdas_rule": rule.id, "kotacerdas_partition": i},
                    description=f"[{rule.severity}] {rule.description}",
                )
            )
    return pd.DataFrame(columns), expectations


def _columns_looked_at(rules: Sequence[Rule], bound: Sequence[Mapping[str, Mapping[str, Any]]]) -> list[str] | None:
    """The columns that `rules` can look at, when GX's own column expectations that name their columns and have no
    row condition are all they are; else None (the whole frame). GX fingerprints every batch it is given by hashing
    all of its columns, twice per validation: a partition's own rules (a freshness maximum, a range per city)
    were validated with every column of the table, 514 times per table in a national month (#15)."""
    from great_expectations.expectations.expectation import (
        ColumnAggregateExpectation,
        ColumnMapExpectation,
        ColumnPairMapExpectation,
        MulticolumnMapExpectation,
    )

    kinds = (ColumnAggregateExpectation, ColumnMapExpectation, ColumnPairMapExpectation, MulticolumnMapExpectation)
    columns: list[str] = []
    for rule in rules:
        cls = gx_runtime.expectation_class(rule.type, where=rule.id)
        own_kind = issubclass(cls, kinds) and cls.__module__.startswith("great_expectations.expectations.core.")
        if not own_kind or not rule.columns or any(b[rule.id].get("row_condition") is not None for b in bound):
            return None
        for column in rule.columns:  # a pair rule may name one column twice
            if column not in columns:
                columns.append(column)
    return columns


def _names_its_partition(rule: Rule, kwargs: Sequence[Mapping[str, Any]], frame: pd.DataFrame) -> bool:
    """A set of one text value that differs by partition (`value_set: ["${city}"]`) on a text column, nothing else
    differing. Text only: `==` (the pair rule) and `isin` (the set rule) agree on text, not on every dtype (a
    datetime column compared with `==` parses a string, `isin` does not)."""
    if rule.type != "expect_column_values_to_be_in_set":
        return False
    if any(set(k) - {"column", "value_set", "mostly"} for k in kwargs):
        return False
    rest = [{n: v for n, v in k.items() if n != "value_set"} for k in kwargs]
    single = all(
        isinstance(k.get("value_set"), list | tuple) and len(k["value_set"]) == 1 and isinstance(k["value_set"][0], str)
        for k in kwargs
    )
    column = kwargs[0].get("column")
    text = column in frame.columns and pd.api.types.is_string_dtype(frame[column].dtype)
    return single and text and all(r == rest[0] for r in rest[1:])


def _scoped_expectations(
    rule: Rule,
    kind: str,
    kwargs: Sequence[Mapping[str, Any]],
    frame: pd.DataFrame,
    sizes: np.ndarray,
    helpers: dict[str, Any],
) -> list[Any]:
    """The expectations over the concatenation that say for each row what `rule` says on its partition alone;
    their helper columns are added to `helpers`. A rule with a row condition is itself (the condition keeps rows
    by their own values) plus an expectation that fails on every row the condition keeps, with the same condition:
    GX's own answer to which rows, per partition, the rule's counts and percentage are over."""
    if kind == _BOUND:
        bound = _bound_differs_only(rule, kwargs, frame)
        assert bound is not None  # its kind says so
        beyond = _BEYOND_COLUMN + rule.id
        values = frame[kwargs[0]["column"]].to_numpy(dtype="float64", na_value=np.nan)
        helpers[beyond] = values - np.repeat(np.array([float(k[bound]) for k in kwargs]), sizes)
        checked = _expectation(rule, {**kwargs[0], "column": beyond, bound: 0.0})
        if kwargs[0].get("row_condition") is None:
            return [checked]
        return [checked, _considered_rows(rule, kwargs[0], frame, helpers)]
    if kind == _WHERE:
        return [_expectation(rule, kwargs[0]), _considered_rows(rule, kwargs[0], frame, helpers)]
    return [_scoped_expectation(rule, kind, kwargs, frame, sizes, helpers)]


def _considered_rows(rule: Rule, kwargs: Mapping[str, Any], frame: pd.DataFrame, helpers: dict[str, Any]) -> Any:
    """An expectation under the rule's row condition that fails on every row the condition keeps (its helper column
    is never missing): GX's own answer to which rows, per partition, the rule's counts are over."""
    column = _CONSIDERED_COLUMN + rule.id
    helpers[column] = np.zeros(len(frame), dtype="int64")
    cls = gx_runtime.expectation_class("expect_column_values_to_be_null", where=rule.id)
    condition = {k: v for k, v in kwargs.items() if k in ("row_condition", "condition_parser")}
    return cls(column=column, **condition, meta={"kotacerdas_rule": rule.id, _CONSIDERED: rule.id})


def _scoped_expectation(
    rule: Rule,
    kind: str,
    kwargs: Sequence[Mapping[str, Any]],
    frame: pd.DataFrame,
    sizes: np.ndarray,
    helpers: dict[str, Any],
) -> Any:
    if kind == _UNIQUE_WITHIN:
        # the partition number joins the key; it is missing where the rule alone skips the row, so that GX skips
        # the same rows whatever `ignore_row_if` says
        partition = pd.array(np.repeat(np.arange(len(sizes)), sizes), dtype="Int64")
        partition[_skipped(frame, rule, kwargs[0])] = pd.NA
        column = _PARTITION_COLUMN + rule.id  # the rule's own: its missing rows are its own
        helpers[column] = partition
        scoped = {**kwargs[0], "column_list": [*kwargs[0]["column_list"], column]}
        return _expectation(rule, scoped)
    column = _OWN_VALUE_COLUMN + rule.id
    values = np.empty(len(frame), dtype=object)
    values[:] = np.repeat(np.array([k["value_set"][0] for k in kwargs], dtype=object), sizes)
    helpers[column] = values
    pair = {"column_A": kwargs[0]["column"], "column_B": column, "ignore_row_if": "either_value_is_missing"}
    if "mostly" in kwargs[0]:
        pair["mostly"] = kwargs[0]["mostly"]
    return _expectation(rule, pair, "expect_column_pair_values_to_be_equal")


def _rows_considered(r: Any, rule: Rule, n_rows: int, *, where: str) -> np.ndarray:
    """The rows (a mask of the concatenation) that GX considered for `rule` under its row condition: the failing
    rows of the helper expectation, which fails on every row it considers."""
    res = (r.result or {}) if r is not None else {}
    if res.get("unexpected_index_list") is None or res.get("unexpected_count") != res.get("element_count"):
        raise QualityGateError(f"{where}: rule {rule.id}: GX did not say which rows its row condition keeps")
    mask = np.zeros(n_rows, dtype=bool)
    mask[np.asarray(res["unexpected_index_list"], dtype="int64")] = True
    return mask


def _expectation(rule: Rule, kwargs: Mapping[str, Any], type_name: str | None = None) -> Any:
    """`rule` as a GX expectation with these kwargs (as another expectation type: `type_name`), labelled as the
    rule so that its result is found again (`results_by_rule`)."""
    cls = gx_runtime.expectation_class(type_name or rule.type, where=rule.id)
    return cls(**kwargs, meta={"kotacerdas_rule": rule.id}, description=f"[{rule.severity}] {rule.description}")


def _skipped(frame: pd.DataFrame, rule: Rule, kwargs: Mapping[str, Any]) -> np.ndarray:
    """The rows GX leaves out of a row rule's percentage: nulls of its column; for a column pair or a column list
    what `ignore_row_if` says (defaults: both values missing, all values missing)."""
    missing = [frame[c].isna().to_numpy() for c in rule.columns]
    if len(missing) == 1:
        return missing[0]
    pair = "column_A" in rule.kwargs
    how = kwargs.get("ignore_row_if", "both_values_are_missing" if pair else "all_values_are_missing")
    if how == "neither" or how == "never":
        return np.zeros(len(frame), dtype=bool)
    if how in ("either_value_is_missing", "any_value_is_missing"):
        return np.logical_or.reduce(missing)
    return np.logical_and.reduce(missing)


def _split(
    r: Any,
    rule: Rule,
    frame: pd.DataFrame,
    starts: np.ndarray,
    *,
    where: str,
    kwargs: Sequence[Mapping[str, Any]] | None = None,
    domain: np.ndarray | None = None,
) -> list[RuleOutcome]:
    """One row rule's result over all partitions as each partition's own, the way GX computes it for a map
    expectation: element_count = the partition's rows; with `missing_count` in the result (skipped rows) the
    percentage and `mostly` count the rows not skipped, else all rows (the null checks). `kwargs`: each
    partition's own kwargs of the rule (a partition-scoped rule; by default GX's). `domain`: the rows its row
    condition keeps (a mask of the concatenation), which alone make a partition's count."""
    res = r.result or {}
    if res.get("unexpected_index_list") is None or res.get("observed_value") is not None:
        raise QualityGateError(f"{where}: rule {rule.id} ({rule.type}) is not a row rule GX can split by partition")
    failing = np.sort(np.asarray(res["unexpected_index_list"], dtype="int64"))
    counts = np.diff(np.searchsorted(failing, starts))
    nulls = None
    if "missing_count" in res:  # GX skipped some rows (nulls, `ignore_row_if`): count them per partition
        rule_kwargs = r.expectation_config.kwargs if kwargs is None else kwargs[0]
        missing = _skipped(frame, rule, rule_kwargs)
        skipped = np.concatenate([[0], np.cumsum(missing if domain is None else missing & domain)])
        nulls = skipped[starts[1:]] - skipped[starts[:-1]]
        if int(nulls.sum()) != res["missing_count"]:
            raise QualityGateError(f"{where}: rule {rule.id}: rows skipped per partition do not add up to GX's")
    if int(counts.sum()) != res.get("unexpected_count"):
        raise QualityGateError(f"{where}: rule {rule.id}: failing rows per partition do not add up to GX's count")
    mostly = float(r.expectation_config.kwargs.get("mostly", 1))
    kept = None if domain is None else np.concatenate([[0], np.cumsum(domain)])
    out = []
    for i in range(len(starts) - 1):
        rows = int(starts[i + 1] - starts[i]) if kept is None else int(kept[starts[i + 1]] - kept[starts[i]])
        bad = int(counts[i])
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
                kwargs=r.expectation_config.kwargs if kwargs is None else kwargs[i],
            )
        )
    return out
