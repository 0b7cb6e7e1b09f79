"""The review of a masterplan file: what the plan lacks for a fact base, and a completeness score per dimension.

Reviews of Indonesian smart-city masterplans found most weak on a fact base: programmes with no indicator to
measure them, targets with no baseline, no budget or no responsible OPD, RPJMD targets nothing serves.
"""

from __future__ import annotations

import pandas as pd

from kotacerdas.masterplan.schema import Masterplan, Programme
from kotacerdas.schemas import typed_frame

FINDING_COLUMNS: dict[str, str] = {
    "dimension": "string",
    "programme_code": "string",  # empty for a finding about an RPJMD target
    "finding": "string",
    "detail": "string",
}
# Each programme is scored on these criteria; a dimension's completeness is the share met over its programmes.
CRITERIA = ("opd", "budget", "output_indicator", "outcome_indicator", "baselines", "targets", "rpjmd_link")


def _years(p: Programme) -> list[int]:
    return list(range(int(p.start[:4]), int(p.end[:4]) + 1))


def programme_findings(p: Programme) -> list[tuple[str, str]]:
    """(criterion, what is wrong) for each criterion the programme misses."""
    out = []
    if not p.opd:
        out.append(("opd", "no responsible OPD"))
    missing_years = [y for y in _years(p) if not p.budget.get(y)]
    if missing_years:
        out.append(("budget", f"no APBD budget for {', '.join(map(str, missing_years))}"))
    for kind in ("output", "outcome"):
        if not any(i.kind == kind for i in p.indicators):
            out.append((f"{kind}_indicator", f"no {kind} indicator"))
    no_base = [i.code for i in p.indicators if i.baseline is None]
    if no_base:
        out.append(("baselines", f"target(s) without a baseline: {', '.join(no_base)}"))
    no_target = [i.code for i in p.indicators if not i.targets]
    if no_target:
        out.append(("targets", f"indicator(s) without a yearly target: {', '.join(no_target)}"))
    if not p.rpjmd:
        out.append(("rpjmd_link", "linked to no RPJMD target"))
    return out


def review(plan: Masterplan) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(findings, completeness per dimension): one finding per missing criterion of a programme, and one per
    RPJMD target no programme serves; completeness 0-100 = share of the criteria met by the dimension's programmes."""
    rows: list[tuple[str, str, str, str]] = []
    scores: list[dict] = []
    for d in plan.dimensions:
        met = total = 0
        for p in d.programmes:
            found = programme_findings(p)
            rows += [(d.code, p.code, criterion, detail) for criterion, detail in found]
            met += len(CRITERIA) - len(found)
            total += len(CRITERIA)
        scores.append(
            {
                "dimension": d.code,
                "programmes": len(d.programmes),
                "criteria_met": met,
                "criteria": total,
                "completeness": 100 * met / total if total else 0.0,
            }
        )
    served = {code for p in plan.programmes for code in p.rpjmd}
    rows += [("", "", "rpjmd_unserved", f"RPJMD target {t.code} ({t.sasaran}) is served by no programme")
             for t in plan.rpjmd if t.code not in served]  # fmt: skip
    findings = typed_frame(rows, FINDING_COLUMNS)
    return findings, pd.DataFrame(scores)
