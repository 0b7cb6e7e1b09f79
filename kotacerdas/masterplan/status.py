"""The monthly status of a city's masterplan: per programme planned vs actual progress, budget absorption, target
achievement and a status by the rules of `config/masterplan/status_rules.yaml`; quick wins delivered vs due;
roll-ups per dimension, OPD and city; RPJMD alignment.

A programme with no usable report for the month is `unknown`, never `late`: a report that is missing, not in yet,
rejected by the quality gate or contradicting itself says nothing about the programme (its lateness shows in
`opd_timeliness`, and the OPD is the one to chase).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from kotacerdas.config.files import Strict, load_yaml_model
from kotacerdas.masterplan.check import review
from kotacerdas.masterplan.schema import Masterplan, Programme
from kotacerdas.rounding import decimal_of, format_half_up
from kotacerdas.schemas import (
    MASTERPLAN_ALIGNMENT_COLUMNS,
    MASTERPLAN_INDICATOR_COLUMNS,
    MASTERPLAN_READINESS_COLUMNS,
    MASTERPLAN_ROLLUP_COLUMNS,
    MASTERPLAN_STATUS_COLUMNS,
    typed_frame,
)

STATUSES = ("on_track", "at_risk", "late", "done", "unknown")  # not_started programmes are not counted


class StatusLabel(Strict):
    name_id: str
    name_en: str


class StatusRules(Strict):
    version: str
    done_at: float = Field(default=100, gt=0, le=100)
    at_risk_gap: float = Field(gt=0)
    late_gap: float = Field(gt=0)
    labels: dict[str, StatusLabel] = Field(default_factory=dict)  # status -> what scorecards call it

    @model_validator(mode="after")
    def _ordered(self) -> StatusRules:
        if self.late_gap < self.at_risk_gap:
            raise ValueError(f"late_gap ({self.late_gap}) must be at least at_risk_gap ({self.at_risk_gap})")
        unknown = set(self.labels) - {*STATUSES, "not_started"}
        if unknown:
            raise ValueError(f"labels for unknown statuses: {sorted(unknown)} (statuses: {', '.join(STATUSES)})")
        return self


def load_rules(path: str | Path) -> StatusRules:
    return load_yaml_model(Path(path), StatusRules)


def _months(a: str, b: str) -> int:
    """Months from a to b (YYYY-MM)."""
    return (int(b[:4]) - int(a[:4])) * 12 + int(b[5:7]) - int(a[5:7])


def planned_progress(p: Programme, month: str) -> float:
    """% of the work planned by the end of `month`: linear over the months from start to end, both included."""
    if month < p.start:
        return 0.0
    span = _months(p.start, p.end) + 1
    return 100.0 * min(span, _months(p.start, month) + 1) / span


def classify(
    p: Programme, month: str, planned: float, actual: float | None, report_status: str, rules: StatusRules
) -> tuple[str, str]:
    """(status, why), the first rule that applies (status_rules.yaml lists them in this order)."""
    if month < p.start:
        return "not_started", f"starts {p.start}"
    if report_status != "received" or actual is None:
        return "unknown", {
            "missing": f"no report from {p.opd or 'its OPD'} for {month} (missing or not in yet)",
            "rejected": "the report's rows were rejected by the quality gate (rules and counts: v_quality; "
            "the rows: the quarantine table, for data stewards)",
            "inconsistent": "the report's rows give different physical progress for the programme",
        }.get(report_status, f"report {report_status}")
    # on the decimals the plan and the report state, so that 50 - 47.85 is 2.15 as shown, not 2.1499…
    gap = decimal_of(planned) - decimal_of(actual)
    behind = f"{format_half_up(gap, 1)} points behind the plan"
    if actual >= rules.done_at:
        return "done", f"progress {actual:g}% ≥ {rules.done_at:g}%"
    if month > p.end:
        return "late", f"past its end ({p.end}) at {actual:g}%"
    if gap >= decimal_of(rules.late_gap):
        return "late", f"{behind} (≥ {rules.late_gap:g})"
    if gap >= decimal_of(rules.at_risk_gap):
        return "at_risk", f"{behind} (≥ {rules.at_risk_gap:g})"
    if gap > 0:
        return "on_track", f"{behind} (< {rules.at_risk_gap:g})"
    return "on_track", "on or ahead of the plan"


@dataclass
class MasterplanStatus:
    programmes: pd.DataFrame
    indicators: pd.DataFrame
    rollups: pd.DataFrame
    alignment: pd.DataFrame
    unknown_programmes: list[str] = field(default_factory=list)  # reported codes the plan does not have
    readiness: pd.DataFrame | None = None  # kotacerdas.masterplan.readiness, when a Kominfo methodology is given

    def frames(self) -> dict[str, pd.DataFrame]:
        """Warehouse table → frame (kotacerdas.warehouse.schema)."""
        frames = {
            "masterplan_programme_status": self.programmes,
            "masterplan_indicator_achievement": self.indicators,
            "masterplan_rollups": self.rollups,
            "masterplan_rpjmd_alignment": self.alignment,
        }
        if self.readiness is not None:
            frames["masterplan_readiness"] = self.readiness
        return frames


def empty_frames() -> dict[str, pd.DataFrame]:
    """Every masterplan table with no rows: what a partition publishes when no version is in force (so rows of an
    earlier run, under a plan since re-dated, do not linger)."""
    columns = {
        "masterplan_programme_status": MASTERPLAN_STATUS_COLUMNS,
        "masterplan_indicator_achievement": MASTERPLAN_INDICATOR_COLUMNS,
        "masterplan_rollups": MASTERPLAN_ROLLUP_COLUMNS,
        "masterplan_rpjmd_alignment": MASTERPLAN_ALIGNMENT_COLUMNS,
        "masterplan_readiness": MASTERPLAN_READINESS_COLUMNS,
    }
    return {name: typed_frame([], cols) for name, cols in columns.items()}


def _report(rows: pd.DataFrame, p: Programme, month: str, rejected: set[str]) -> tuple[str, float | None, float | None]:
    """(report status, actual progress, budget realised) of a programme from its rows of the month."""
    if month < p.start:
        return "not_due", None, None
    if rows.empty:
        return ("rejected" if p.code in rejected else "missing"), None, None
    progress = rows["physical_progress"].dropna().unique()
    if len(progress) != 1:
        return "inconsistent", None, None
    spent = rows["budget_realised"].dropna()
    return "received", float(progress[0]), float(spent.max()) if len(spent) else None


def masterplan_status(
    plan: Masterplan,
    month: str,
    progress: pd.DataFrame,
    rules: StatusRules,
    *,
    rejected_programmes: set[str] | frozenset[str] = frozenset(),
    delivered_before: set[str] | frozenset[str] = frozenset(),
) -> MasterplanStatus:
    """The masterplan's status in `month` from the month's validated progress rows (masterplan_progress);
    `rejected_programmes`: programmes whose rows the quality gate set aside (their status is unknown);
    `delivered_before`: quick wins delivered in an earlier month (they stay delivered when a report goes missing)."""
    city, year = plan.city_code, int(month[:4])
    by_programme = {code: g for code, g in progress.groupby("programme_code")} if len(progress) else {}
    dimension_of = plan.dimension_of()
    status_rows, indicator_rows = [], []
    for p in plan.programmes:
        rows = by_programme.get(p.code, progress.iloc[0:0])
        report_status, actual, spent = _report(rows, p, month, set(rejected_programmes))
        planned = planned_progress(p, month)
        status, reason = classify(p, month, planned, actual, report_status, rules)
        budget = p.budget.get(year)
        achievements = []
        for ind in p.indicators:
            target = ind.targets.get(year)
            value = None
            if ind.kind == "output" and len(rows):
                values = rows.loc[rows["indicator_code"] == ind.code, "indicator_value"].dropna()
                value = float(values.iloc[0]) if len(values) else None
            achievement = None
            if value is not None and target is not None:
                base = ind.baseline
                if base is not None and target != base:
                    achievement = (value - base) / (target - base)
                elif base is None and target:
                    achievement = value / target
            if achievement is not None and ind.kind == "output":
                achievements.append(achievement)
            if month >= p.start:
                indicator_rows.append(
                    {
                        "city_code": city,
                        "period": month,
                        "programme_code": p.code,
                        "indicator_code": ind.code,
                        "kind": ind.kind,
                        "unit": ind.unit,
                        "baseline": ind.baseline,
                        "target": target,
                        "value": value,
                        "achievement": achievement,
                    }
                )
        qw = p.quick_win
        status_rows.append(
            {
                "city_code": city,
                "period": month,
                "masterplan_version": plan.version,
                "dimension": dimension_of[p.code],
                "programme_code": p.code,
                "programme_name": p.name,
                "opd_code": p.opd,
                "start_period": p.start,
                "end_period": p.end,
                "planned_progress": planned,
                "actual_progress": actual,
                "progress_gap": None if actual is None else planned - actual,
                "budget_year": budget,
                "budget_realised": spent,
                "budget_absorption": spent / budget if spent is not None and budget else None,
                "target_achievement": sum(achievements) / len(achievements) if achievements else None,
                "report_status": report_status,
                "report_rows": len(rows),
                "status": status,
                "status_reason": reason,
                "quick_win_stage": qw.stage if qw else None,
                "quick_win_due": p.quick_win_due,
                "quick_win_is_due": (p.quick_win_due is not None and p.quick_win_due <= month) if qw else None,
                "quick_win_delivered": (status == "done" or p.code in delivered_before) if qw else None,
                "rpjmd_codes": ",".join(p.rpjmd),
                "rules_version": rules.version,
            }
        )
    programmes = typed_frame(status_rows, MASTERPLAN_STATUS_COLUMNS)
    _, completeness = review(plan)
    rollups = _rollups(programmes, city, month, completeness.set_index("dimension")["completeness"])
    known = {p.code for p in plan.programmes}
    unknown = sorted(set(progress["programme_code"].dropna()) - known) if len(progress) else []
    return MasterplanStatus(
        programmes=programmes,
        indicators=typed_frame(indicator_rows, MASTERPLAN_INDICATOR_COLUMNS),
        rollups=rollups,
        alignment=_alignment(plan, month),
        unknown_programmes=unknown,
    )


class _RollupInputs:
    """The columns a roll-up reads, as arrays read once per city. A city's 15-20 roll-ups (the city, its dimensions,
    its OPDs) each cost a few array operations on the rows of their group, where a dozen pandas filters and
    reductions per roll-up took about 0.06 s a city (#15). `tests/test_masterplan_rollups.py` checks the figures
    against the same roll-ups written with pandas."""

    def __init__(self, programmes: pd.DataFrame):
        self.status = programmes["status"].to_numpy(dtype=object, na_value=None)
        # a programme without a status is not counted, as a pandas filter on `status != not_started` leaves it out
        self.started = np.array([s is not None and s != "not_started" for s in self.status], dtype=bool)
        self.planned, self.actual, self.budget, self.spent = (
            programmes[c].to_numpy(dtype="float64", na_value=np.nan)
            for c in ("planned_progress", "actual_progress", "budget_year", "budget_realised")
        )
        self.due = programmes["quick_win_stage"].notna().to_numpy(dtype=bool) & _flags(programmes["quick_win_is_due"])
        self.delivered = _flags(programmes["quick_win_delivered"])
        linked = programmes["rpjmd_codes"] != ""  # a missing code list is left out of the share, not counted unlinked
        self.linked_known = linked.notna().to_numpy(dtype=bool)
        self.linked = _flags(linked)

    def rollup(
        self, rows: np.ndarray, city: str, month: str, level: str, code: str, completeness: float | None
    ) -> dict:
        """The roll-up of the programmes at positions `rows`."""
        started = rows[self.started[rows]]
        statuses = Counter(self.status[started])
        due = rows[self.due[rows]]
        budget, spent = _total(self.budget[started]), _total(self.spent[started])
        known = rows[self.linked_known[rows]]
        return {
            "city_code": city,
            "period": month,
            "level": level,
            "code": code,
            "programmes": len(started),
            **{s: statuses.get(s, 0) for s in STATUSES},
            "planned_progress": _average(self.planned[started]),  # NaN: no started programme (or none planned)
            "actual_progress": _average(self.actual[started]),  # NaN: none with a report
            "budget_year": budget,
            "budget_realised": spent,
            "budget_absorption": spent / budget if not (np.isnan(spent) or np.isnan(budget)) and budget else None,
            "quick_wins_due": len(due),
            "quick_wins_delivered": int(self.delivered[due].sum()),
            "rpjmd_linked_share": float(self.linked[known].mean()) if len(known) else None,
            "completeness": completeness,
        }


def _flags(values: pd.Series) -> np.ndarray:
    return values.fillna(False).astype(bool).to_numpy()


def _total(values: np.ndarray) -> float:
    """The sum of the known values; NaN when none is known (pandas' `sum(min_count=1)`)."""
    known = values[~np.isnan(values)]
    return float(known.sum()) if len(known) else float("nan")


def _average(values: np.ndarray) -> float:
    known = values[~np.isnan(values)]
    return float(known.mean()) if len(known) else float("nan")


def _rollups(programmes: pd.DataFrame, city: str, month: str, completeness: pd.Series) -> pd.DataFrame:
    inputs = _RollupInputs(programmes)
    everyone = np.arange(len(programmes))
    rows = [
        inputs.rollup(everyone, city, month, "city", city, float(completeness.mean()) if len(completeness) else None)
    ]
    dimensions = programmes["dimension"].to_numpy(dtype=object, na_value=None)
    for dim in dict.fromkeys(d for d in dimensions if d is not None):  # in order of appearance; no dimension: none
        at = np.flatnonzero(dimensions == dim)
        rows.append(inputs.rollup(at, city, month, "dimension", dim, float(completeness.get(dim, float("nan")))))
    opds = programmes["opd_code"].fillna("(none)").to_numpy(dtype=object)
    for opd in sorted(set(opds)):
        rows.append(inputs.rollup(np.flatnonzero(opds == opd), city, month, "opd", opd, None))
    return typed_frame(rows, MASTERPLAN_ROLLUP_COLUMNS)


def _alignment(plan: Masterplan, month: str) -> pd.DataFrame:
    rows = []
    for t in plan.rpjmd:
        serving = [p.code for p in plan.programmes if t.code in p.rpjmd]
        rows.append(
            {
                "city_code": plan.city_code,
                "period": month,
                "masterplan_version": plan.version,
                "rpjmd_code": t.code,
                "misi": t.misi,
                "sasaran": t.sasaran,
                "iku_codes": ",".join(t.iku),
                "programmes": len(serving),
                "programme_codes": ",".join(serving),
                "served": bool(serving),
            }
        )
    return typed_frame(rows, MASTERPLAN_ALIGNMENT_COLUMNS)


def rejected_programmes(quarantine: pd.DataFrame) -> set[str]:
    """Programmes with a row in the partition's quarantine (record_key: city|opd|programme|indicator|period)."""
    if quarantine is None or quarantine.empty:
        return set()
    keys = quarantine["record_key"].dropna().astype(str).str.split("|")
    return {k[2] for k in keys if len(k) > 2 and k[2]}
