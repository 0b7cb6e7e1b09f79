"""What a partition's quarantine says per rule, read by its check reports and its Data Docs page."""

from __future__ import annotations

from collections import Counter

import pandas as pd


def failing_rows(quarantine: pd.DataFrame, severity: str | None = None) -> dict[str, int]:
    """Rows set aside per rule (of `severity`, or of any), most first: a row counts once per rule however many of
    its values failed. In plain Python: a partition sets aside a few rows if any, and pandas' drop_duplicates and
    groupby cost more than the rows themselves (#15)."""
    if quarantine.empty:
        return {}
    columns = ("rule", "severity", "_raw_file", "_raw_row", "record_key")
    rows = {
        (rule, raw_file, raw_row, key)
        for rule, sev, raw_file, raw_row, key in zip(*(quarantine[c].tolist() for c in columns), strict=True)
        if severity is None or sev == severity
    }
    counts = Counter(rule for rule, *_ in rows)
    return {str(rule): n for rule, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))}


def first_per_rule(quarantine: pd.DataFrame, per_rule: int) -> list[int]:
    """Positions of the first `per_rule` entries of each rule, in the frame's order (`groupby("rule").head`)."""
    taken: Counter[str] = Counter()
    positions = []
    for i, rule in enumerate(quarantine["rule"].tolist()):
        if taken[rule] < per_rule:
            taken[rule] += 1
            positions.append(i)
    return positions
