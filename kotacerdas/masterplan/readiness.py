"""Evaluation readiness: for each component of Kominfo's annual evaluation, the evidence the masterplan data gives
as of a month, and a self-assessed score computed with the Kominfo methodology file (kotacerdas.regulators).

Each component gets an evidence ratio 0..1, mapped linearly onto the methodology's scale (1 + 4 × ratio on 1–5);
the index is the methodology's weighted sum. These are the project's reading of Kominfo's guide, not Kominfo's
scoring: `v_masterplan_readiness` puts the official score beside it once the evaluation arrives.

Baseline is "improvement since the previous stage's evaluation": with an official evaluation of an earlier year in
the warehouse, its ratio is the share of the other parts whose self-assessed score this month is above that
evaluation's official score (and the evidence gives each change, and the official index's change since the
evaluation before it). Without one ("no previous evaluation", a first stage), it is the plan's fact base: the share
of its indicators with a baseline and its year.

A part with nothing to count yet (no quick win due by the month, no programme started) has no evidence: it is
"not applicable" (ratio and score empty), never a 0 that would read as a failure. The index is then the weighted
mean of the parts that have evidence (weights renormalised over them) and its evidence says which part is left out;
with every part applicable it is exactly the methodology's Σ score × weight / 100.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from kotacerdas.masterplan.schema import Masterplan
from kotacerdas.masterplan.status import MasterplanStatus
from kotacerdas.regulators.kominfo import KominfoMethodology, kominfo_index
from kotacerdas.rounding import decimal_of, format_half_up, format_signed
from kotacerdas.schemas import MASTERPLAN_READINESS_COLUMNS, typed_frame


@dataclass(frozen=True)
class PreviousEvaluation:
    """The latest official Kominfo evaluation of a year before the month's (regulator_kominfo_evaluation)."""

    year: str
    scores: dict[str, float]  # part -> official score; "index" -> the official index
    earlier_year: str | None = None  # the official evaluation before it, if any
    earlier_scores: dict[str, float] = field(default_factory=dict)


def baseline_evidence(
    previous: PreviousEvaluation | None,
    self_scores: dict[str, float | None],
    fact_base: tuple[float | None, str],
) -> tuple[float | None, str]:
    """(ratio, evidence) of the Baseline part: improvement of this month's self-assessed parts over the previous
    evaluation's official ones; the plan's fact base when there is no previous evaluation."""
    if previous is None:
        return fact_base[0], f"no previous evaluation; {fact_base[1]}"
    # on the decimals shown, so that a change is exactly what the two figures beside it give
    compared = {
        p: decimal_of(s) - decimal_of(previous.scores[p])
        for p, s in self_scores.items()
        if p in previous.scores and s is not None
    }
    improved = sum(change > 0 for change in compared.values())
    changes = ", ".join(f"{p} {format_signed(c)}" for p, c in compared.items())
    text = (
        f"previous evaluation {previous.year} (official index {format_half_up(previous.scores.get('index'))}): "
        f"{improved} of {len(compared)} components self-assessed above it ({changes})"
    )
    if previous.earlier_year is not None and "index" in previous.earlier_scores and "index" in previous.scores:
        change = decimal_of(previous.scores["index"]) - decimal_of(previous.earlier_scores["index"])
        text += f"; official index {previous.earlier_year}→{previous.year} {format_signed(change)}"
    return _share(improved, len(compared)), text


def _share(hits: float, total: int) -> float | None:
    """hits / total; None when there is nothing to count (the part is not applicable yet)."""
    return hits / total if total else None


def _evidence(hits: float, total: int, counted: str, why_none: str) -> tuple[float | None, str]:
    """(ratio, what it counts); with nothing to count, (None, why the part is not applicable)."""
    return (hits / total, counted) if total else (None, f"not applicable: {why_none}")


def evidence_ratios(plan: Masterplan, status: MasterplanStatus, month: str) -> dict[str, tuple[float | None, str]]:
    """component -> (ratio 0..1, or None when not applicable yet; what it counts)."""
    year = int(month[:4])
    progs = status.programmes
    started = progs[progs["status"] != "not_started"]
    started_codes = set(started["programme_code"])
    plan_started = [p for p in plan.programmes if p.code in started_codes]
    indicators = [i for p in plan.programmes for i in p.indicators]
    with_base = sum(i.baseline is not None and i.baseline_year is not None for i in indicators)
    ready = sum(bool(p.opd) and bool(p.budget.get(year)) for p in plan_started)
    carried = 0.0
    for r in started.itertuples():
        if pd.notna(r.actual_progress) and r.planned_progress > 0:
            carried += min(1.0, r.actual_progress / r.planned_progress)
    impact = sum(
        any(i.kind == "outcome" and year in i.targets for i in p.indicators) and bool(p.maturity_indicators)
        for p in plan_started
    )
    quick = progs[progs["quick_win_stage"].notna()]
    due = quick[quick["quick_win_is_due"].fillna(False).astype(bool)]
    delivered = int(due["quick_win_delivered"].fillna(False).astype(bool).sum())
    none_started = f"no programme started by {month}"
    return {
        "baseline": _evidence(
            with_base,
            len(indicators),
            f"{with_base} of {len(indicators)} indicators have a baseline and its year",
            "the plan has no indicator",
        ),
        "output": _evidence(
            ready,
            len(plan_started),
            f"{ready} of {len(plan_started)} started programmes have a responsible OPD and an APBD budget for {year}",
            none_started,
        ),
        "outcome": _evidence(
            carried,
            len(started),
            f"reported progress against plan over {len(started)} started programmes (no report counts as none)",
            none_started,
        ),
        "impact": _evidence(
            impact,
            len(plan_started),
            f"{impact} of {len(plan_started)} started programmes have an outcome target for {year} and a linked "
            "maturity indicator",
            none_started,
        ),
        "quick_win": _evidence(
            delivered,
            len(due),
            f"{delivered} of {len(due)} quick wins due by {month} delivered",
            f"no quick win due by {month}",
        ),
    }


def evaluation_readiness(
    plan: Masterplan,
    status: MasterplanStatus,
    month: str,
    methodology: KominfoMethodology,
    previous: PreviousEvaluation | None = None,
) -> pd.DataFrame:
    """One row per evaluation part (evidence, ratio, self-assessed score, weight, contribution) and the index.
    `previous`: the official evaluation of an earlier year, what Baseline measures improvement against."""
    ratios = evidence_ratios(plan, status, month)
    low, high = float(methodology.scale.min), float(methodology.scale.max)

    def on_scale(ratio: float | None) -> float | None:
        return None if ratio is None else low + (high - low) * ratio

    scores = {part: on_scale(ratios[part][0]) for part in methodology.parts if part != "baseline"}
    if "baseline" in methodology.parts:
        ratios["baseline"] = baseline_evidence(previous, scores, ratios["baseline"])
        scores["baseline"] = on_scale(ratios["baseline"][0])
    applicable = {part: s for part, s in scores.items() if s is not None}
    if len(applicable) == len(methodology.parts):
        result = kominfo_index(applicable, methodology, year=int(month[:4]))
        stamp = {"methodology": result.methodology, "methodology_version": result.methodology_version}
        contributions = {part: float(result.contributions[part]) for part in methodology.parts}
        index, index_evidence = float(result.index), "Σ score × weight / 100"
    else:
        stamp = {"methodology": methodology.name, "methodology_version": methodology.version}
        weights = {part: float(methodology.parts[part].weight) for part in applicable}
        total = sum(weights.values())
        contributions = {part: applicable[part] * weights[part] / total for part in applicable} if total else {}
        index = sum(applicable[p] * weights[p] for p in applicable) / total if total else float("nan")
        left_out = ", ".join(p for p in methodology.parts if p not in applicable)
        index_evidence = f"Σ score × weight / Σ weight over the parts with evidence; not applicable yet: {left_out}"
    base: dict[str, Any] = {"city_code": plan.city_code, "period": month}
    rows = [
        base
        | {
            "component_type": "part",
            "component": part,
            "evidence": ratios[part][1],
            "ratio": ratios[part][0],
            "score": scores[part],
            "weight": float(methodology.parts[part].weight),
            "contribution": contributions.get(part),
        }
        | stamp
        for part in methodology.parts
    ]
    rows.append(
        base
        | {"component_type": "index", "component": "index", "evidence": index_evidence, "ratio": None}
        | {"score": index, "weight": 100.0, "contribution": index}
        | stamp
    )
    return typed_frame(rows, MASTERPLAN_READINESS_COLUMNS)
