"""The quarantine's counts per rule and samples, in plain Python (kotacerdas/quality/quarantine.py), agree with what
pandas says of the same frame: rows set aside per rule (a row once per rule however many of its values failed,
missing lineage included) and the first entries of each rule in the frame's order."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from kotacerdas.quality.quarantine import failing_rows, first_per_rule
from kotacerdas.schemas import QUARANTINE_COLUMNS, empty_quarantine, typed_frame


def _quarantine(seed: int, n: int) -> pd.DataFrame:
    rng = random.Random(seed)
    rules = [("range:sla_days", "error"), ("channel_in_set", "warn"), ("type:submitted_at", "error"), ("z", "warn")]
    rows = []
    for _ in range(n):
        rule, severity = rng.choice(rules)
        raw_row = rng.choice([1, 2, 3, 4, None])  # a few rows, so that rules repeat on one row
        rows.append(
            {
                "table_name": "service_requests",
                "city_code": "19.71",
                "period": "2025-01",
                "rule": rule,
                "severity": severity,
                "column_name": "sla_days",
                "value": rng.choice(["12", None, "x"]),
                "reason": "r",
                "record_key": rng.choice(["19.71|A|1", "19.71|A|2", None]),
                "_raw_file": rng.choice(["a/page-0001.json", None]),
                "_raw_row": raw_row,
            }
        )
    return typed_frame(rows, QUARANTINE_COLUMNS)


def _pandas_failing(q: pd.DataFrame, severity: str | None) -> dict[str, int]:
    q = q if severity is None else q[q["severity"] == severity]
    counts = q.drop_duplicates(["rule", "_raw_file", "_raw_row", "record_key"]).groupby("rule").size()
    return {str(r): int(n) for r, n in counts.items()}


@pytest.mark.parametrize("seed", range(8))
def test_rows_set_aside_per_rule_as_pandas_counts_them(seed):
    q = _quarantine(seed, random.Random(seed).randint(1, 60))
    for severity in (None, "error", "warn"):
        got = failing_rows(q, severity)
        assert got == _pandas_failing(q, severity)
        assert list(got.values()) == sorted(got.values(), reverse=True)  # most first
    assert failing_rows(empty_quarantine()) == {}


@pytest.mark.parametrize("seed", range(8))
def test_the_first_entries_of_each_rule_as_pandas_picks_them(seed):
    q = _quarantine(seed, random.Random(seed).randint(1, 60))
    for per_rule in (0, 1, 3, 100):
        expected = q.groupby("rule", sort=False).head(per_rule)
        assert q.iloc[first_per_rule(q, per_rule)].equals(expected)
