"""Outputs, metadata and check results of a step that materializes one partition or a range of them.

With one partition everything is reported as before. Over a range (a single-run backfill) Dagster records one
materialization per partition but only one result per check, so the results of all partitions are folded into
one: passed only if every partition passed, the failing partitions named, each partition's verdict in a table.
A folded blocking check is reported as WARN, not ERROR: one city failing its quality gate must not stop the
other cities of the range; the gate is applied per partition in the data instead (indicator_values skips a
blocked partition, published_scores does not publish it) and that partition is re-run alone once fixed.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import dagster as dg

from pipelines.partitions import Partition


def fold_metadata(per_partition: Mapping[Partition, Mapping[str, object]]) -> dict:
    """A partition's own metadata; over a range, counts summed (shares and scores are not summable: they are
    in the table only) and a table of every partition's figures."""
    if len(per_partition) == 1:
        return dict(next(iter(per_partition.values())))
    numeric = sorted({k for m in per_partition.values() for k, v in m.items() if _is_number(v)})
    counts = [k for k in numeric if all(isinstance(m.get(k, 0), numbers.Integral) for m in per_partition.values())]
    totals = {k: sum(m.get(k) or 0 for m in per_partition.values()) for k in counts}
    lines = ["| partition | " + " | ".join(numeric) + " |", "|---" * (len(numeric) + 1) + "|"]
    lines += [f"| {p} | " + " | ".join(_cell(m.get(k)) for k in numeric) + " |" for p, m in per_partition.items()]
    return {**totals, "partitions": len(per_partition), "by_partition": dg.MetadataValue.md("\n".join(lines))}


def fold_checks(results: Mapping[Partition, list[dg.AssetCheckResult]]) -> list[dg.AssetCheckResult]:
    """One result per check: the partition's own, or over a range the fold described above."""
    if len(results) == 1:
        return list(next(iter(results.values())))
    by_check: dict[tuple, dict[Partition, dg.AssetCheckResult]] = {}
    for partition, checks in results.items():
        for result in checks:
            by_check.setdefault((result.asset_key, result.check_name), {})[partition] = result
    return [_fold_one(asset_key, name, per_partition) for (asset_key, name), per_partition in by_check.items()]


def _fold_one(asset_key, check_name: str, per_partition: dict[Partition, dg.AssetCheckResult]) -> dg.AssetCheckResult:
    failed = [p for p, r in per_partition.items() if not r.passed]
    lines = ["| partition | passed | severity | verdict |", "|---|---|---|---|"]
    lines += [f"| {p} | {r.passed} | {r.severity.value} | {(r.description or '').replace('|', '/')} |"
              for p, r in per_partition.items()]
    description = (f"{len(failed)} of {len(per_partition)} partitions failed: " + ", ".join(map(str, failed))
                   if failed else f"all {len(per_partition)} partitions passed")
    return dg.AssetCheckResult(
        asset_key=asset_key, check_name=check_name, passed=not failed,
        severity=dg.AssetCheckSeverity.WARN, description=description,
        metadata={"failed_partitions": dg.MetadataValue.json([p.key for p in failed]),
                  "by_partition": dg.MetadataValue.md("\n".join(lines))})


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _cell(value: object) -> str:
    return "" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)
