"""The masterplan roll-ups (city, dimension, OPD) are computed on arrays (`status._RollupInputs`); here they are
checked against the same roll-ups written plainly with pandas filters and reductions, on random programmes with
the gaps a programme's status can have: no dimension, no OPD, missing progress and budgets, a zero budget, quick wins
with unknown flags."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd

from kotacerdas.masterplan.status import STATUSES, _rollups
from kotacerdas.schemas import MASTERPLAN_ROLLUP_COLUMNS, MASTERPLAN_STATUS_COLUMNS, typed_frame


def _pandas_rollup(group: pd.DataFrame, city: str, month: str, level: str, code: str, completeness) -> dict:
    started = group[group["status"] != "not_started"]
    counts = started["status"].value_counts()
    due = group[group["quick_win_stage"].notna() & group["quick_win_is_due"].fillna(False).astype(bool)]
    budget = started["budget_year"].sum(min_count=1)
    spent = started["budget_realised"].sum(min_count=1)
    return {
        "city_code": city,
        "period": month,
        "level": level,
        "code": code,
        "programmes": len(started),
        **{s: int(counts.get(s, 0)) for s in STATUSES},
        "planned_progress": started["planned_progress"].mean() if len(started) else None,
        "actual_progress": started["actual_progress"].mean() if started["actual_progress"].notna().any() else None,
        "budget_year": budget,
        "budget_realised": spent,
        "budget_absorption": spent / budget if pd.notna(spent) and pd.notna(budget) and budget else None,
        "quick_wins_due": len(due),
        "quick_wins_delivered": int(due["quick_win_delivered"].fillna(False).astype(bool).sum()),
        "rpjmd_linked_share": (group["rpjmd_codes"] != "").mean() if len(group) else None,
        "completeness": completeness,
    }


def _pandas_rollups(programmes: pd.DataFrame, city: str, month: str, completeness: pd.Series) -> pd.DataFrame:
    rows = [_pandas_rollup(programmes, city, month, "city", city, completeness.mean() if len(completeness) else None)]
    for dim, g in programmes.groupby("dimension", sort=False):
        rows.append(_pandas_rollup(g, city, month, "dimension", dim, completeness.get(dim, float("nan"))))
    for opd, g in programmes.groupby(programmes["opd_code"].fillna("(none)"), sort=True):
        rows.append(_pandas_rollup(g, city, month, "opd", opd, None))
    return typed_frame(rows, MASTERPLAN_ROLLUP_COLUMNS)


def _programmes(rng: random.Random) -> pd.DataFrame:
    def maybe(value, gap=0.15):
        return None if rng.random() < gap else value

    rows = [
        {
            "status": rng.choice([*STATUSES, "not_started"]),  # always set by masterplan_status
            "dimension": maybe(rng.choice(["governance", "branding", "economy", "living", "society", "environment"])),
            "opd_code": maybe(rng.choice(["DINKES", "DISHUB", "DPMPTSP", "BAPPEDA"])),
            "planned_progress": maybe(rng.uniform(0, 100)),
            "actual_progress": maybe(rng.uniform(0, 100), 0.4),
            "budget_year": maybe(rng.choice([0.0, rng.uniform(1e6, 1e10)]), 0.2),
            "budget_realised": maybe(rng.uniform(0, 1e10), 0.3),
            "quick_win_stage": maybe(rng.choice(["I", "II"]), 0.6),
            "quick_win_is_due": maybe(rng.random() < 0.5, 0.2),
            "quick_win_delivered": maybe(rng.random() < 0.5, 0.2),
            "rpjmd_codes": rng.choice(["", "R1", "R1,R2"]),  # always set: "" for none
        }
        for _ in range(rng.randint(0, 30))
    ]
    columns = {c: MASTERPLAN_STATUS_COLUMNS[c] for c in _programmes_columns()}
    return pd.DataFrame(rows, columns=list(columns)).astype(columns)


def _programmes_columns() -> list[str]:
    return [
        "status",
        "dimension",
        "opd_code",
        "planned_progress",
        "actual_progress",
        "budget_year",
        "budget_realised",
        "quick_win_stage",
        "quick_win_is_due",
        "quick_win_delivered",
        "rpjmd_codes",
    ]


def test_array_rollups_equal_the_pandas_rollups():
    for seed in range(120):
        rng = random.Random(seed)
        programmes = _programmes(rng)
        completeness = pd.Series(
            {d: rng.uniform(0, 100) for d in ["governance", "economy", "society"] if rng.random() < 0.7},
            dtype="float64",
        )
        got = _rollups(programmes, "19.71", "2025-01", completeness)
        want = _pandas_rollups(programmes, "19.71", "2025-01", completeness)
        pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12, obj=f"roll-ups of seed {seed}")


def test_a_city_without_programmes_has_one_empty_rollup():
    empty = pd.DataFrame(columns=_programmes_columns()).astype(
        {c: MASTERPLAN_STATUS_COLUMNS[c] for c in _programmes_columns()}
    )
    got = _rollups(empty, "19.71", "2025-01", pd.Series(dtype="float64"))
    assert got[["level", "code", "programmes"]].values.tolist() == [["city", "19.71", 0]]
    assert np.isnan(got.loc[0, "planned_progress"]) and pd.isna(got.loc[0, "rpjmd_linked_share"])
