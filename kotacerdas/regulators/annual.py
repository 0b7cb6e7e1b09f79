"""The regulators' indices of one city and year as warehouse rows, from the validated canonical tables.

- Kominfo evaluation (`evaluation_scores`): the five weighted parts → the final index; pillar rows as assessed.
- SPBE (`spbe_assessments`): every indicator's level → aspect, domain and SPBE index with its predicate, once per
  assessor (self-assessment, external evaluation) that gave a level for every indicator.
- IKM (`satisfaction_responses` of the year's months): per service, per OPD and for the whole city.

Each row names the methodology file and version it was computed with, keeps the exact value (`score`) beside the
figure as the regulator publishes it (`published_value`, half up), and what it was computed from. A year whose
inputs are incomplete gets no row for that index, and the reason is returned instead (never a made-up figure).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd

from kotacerdas.regulators.common import RegulatorError
from kotacerdas.regulators.ikm import IkmMethodology, ikm
from kotacerdas.regulators.kominfo import KominfoMethodology, kominfo_index
from kotacerdas.regulators.spbe import SpbeMethodology, spbe_index

PILLAR_PART = "pillar"  # evaluation_scores rows whose `item` is a pillar (dimension) code


@dataclass
class AnnualIndices:
    """Warehouse frames (table → rows) and, per index, why it could not be computed."""

    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    not_computed: dict[str, str] = field(default_factory=dict)


def _text(value: Decimal) -> str:
    return format(value, "f")


def kominfo_rows(evaluation: pd.DataFrame, m: KominfoMethodology, city: str, year: str) -> pd.DataFrame:
    parts = evaluation[evaluation["part"] != PILLAR_PART]
    pillars = evaluation[evaluation["part"] == PILLAR_PART]
    result = kominfo_index(
        dict(zip(parts["part"], parts["score"], strict=True)),
        m,
        pillars=dict(zip(pillars["item"], pillars["score"], strict=True)),
        year=int(year),
    )
    rows = [
        {
            "component_type": "part",
            "component": k,
            "weight": float(m.parts[k].weight),
            "score": float(v),
            "contribution": float(result.contributions[k]),
            "published_value": None,
        }
        for k, v in result.scores.items()
    ]
    rows += [
        {
            "component_type": "pillar",
            "component": k,
            "weight": None,
            "score": float(v),
            "contribution": None,
            "published_value": _text(result.pillars_published[k]),
        }
        for k, v in result.pillars.items()
    ]
    rows.append(
        {
            "component_type": "index",
            "component": "index",
            "weight": 100.0,
            "score": float(result.index),
            "contribution": float(result.index),
            "published_value": _text(result.published),
        }
    )
    evaluators = sorted(set(evaluation["evaluator"].dropna().astype(str)))
    return _stamp(pd.DataFrame(rows), m, city, year, source=f"evaluation_scores ({', '.join(evaluators) or '-'})")


def spbe_rows(assessments: pd.DataFrame, m: SpbeMethodology, city: str, year: str) -> tuple[pd.DataFrame, dict]:
    frames, problems = [], {}
    for assessor, rows in assessments.groupby("assessor", sort=True):
        try:
            result = spbe_index(dict(zip(rows["indicator_number"].astype(int), rows["level"], strict=True)), m)
        except RegulatorError as exc:
            problems[str(assessor)] = str(exc)
            continue
        out = [
            {
                "component_type": "aspect",
                "component": k,
                "domain": a.domain,
                "weight": float(a.weight),
                "score": a.index,
                "published_value": _text(a.published),
                "predicate": None,
            }
            for k, a in result.aspects.items()
        ]
        out += [
            {
                "component_type": "domain",
                "component": k,
                "domain": k,
                "weight": float(d.weight),
                "score": d.index,
                "published_value": _text(d.published),
                "predicate": None,
            }
            for k, d in result.domains.items()
        ]
        out.append(
            {
                "component_type": "index",
                "component": "index",
                "domain": None,
                "weight": 100.0,
                "score": result.index,
                "published_value": _text(result.published),
                "predicate": result.predicate,
            }
        )
        frame = pd.DataFrame(out)
        frame["assessor"] = str(assessor)
        frames.append(_stamp(frame, m, city, year, source=f"spbe_assessments ({assessor})"))
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()), problems


def ikm_rows(responses: pd.DataFrame, m: IkmMethodology, city: str, year: str) -> pd.DataFrame:
    """One row per OPD × service, per OPD (service NULL) and for the city (both NULL): each is a service unit
    in the regulation's sense at its own level; the city figure pools every questionnaire of the year."""
    groups: list[tuple[str | None, str | None, pd.DataFrame]] = [(None, None, responses)]
    groups += [(opd, None, g) for opd, g in responses.groupby("opd_code", sort=True)]
    groups += [(opd, svc, g) for (opd, svc), g in responses.groupby(["opd_code", "service_code"], sort=True)]
    rows = []
    for opd, service, answers in groups:
        result = ikm(answers, m)
        months = answers["surveyed_at"].dt.strftime("%Y-%m").nunique() if "surveyed_at" in answers else None
        rows.append(
            {
                "opd_code": opd,
                "service_code": service,
                "respondents": result.respondents,
                "months_covered": months,
                "score": result.ikm_unit,
                "published_value": _text(result.published),
                "grade": result.grade,
                "performance": result.grade_name,
            }
        )
    frame = pd.DataFrame(rows)
    # the share of the year's months whose answers are in (each month weighs the same)
    frame["coverage"] = frame["months_covered"].astype("float64") / 12
    return _stamp(frame, m, city, year, source="satisfaction_responses")


def _stamp(frame: pd.DataFrame, m, city: str, year: str, *, source: str) -> pd.DataFrame:
    return frame.assign(city_code=city, period=year, methodology=m.name, methodology_version=m.version, source=source)


def annual_indices(
    city: str,
    year: str,
    *,
    evaluation: pd.DataFrame,
    assessments: pd.DataFrame,
    responses: pd.DataFrame,
    kominfo: KominfoMethodology,
    spbe: SpbeMethodology,
    ikm_methodology: IkmMethodology,
) -> AnnualIndices:
    """Every regulator index of one city and year that its inputs allow; the others with the reason."""
    out = AnnualIndices()
    if evaluation.empty:
        out.not_computed["regulator_kominfo_evaluation"] = "no evaluation_scores rows for this year"
    else:
        try:
            out.frames["regulator_kominfo_evaluation"] = kominfo_rows(evaluation, kominfo, city, year)
        except RegulatorError as exc:
            out.not_computed["regulator_kominfo_evaluation"] = str(exc)
    if assessments.empty:
        out.not_computed["regulator_spbe"] = "no spbe_assessments rows for this year"
    else:
        frame, problems = spbe_rows(assessments, spbe, city, year)
        if not frame.empty:
            out.frames["regulator_spbe"] = frame
        if problems:
            out.not_computed["regulator_spbe"] = "; ".join(f"{a}: {p}" for a, p in problems.items())
    if responses.empty:
        out.not_computed["regulator_ikm"] = "no satisfaction_responses rows published for this year"
    else:
        frame = ikm_rows(responses, ikm_methodology, city, year)
        low = frame["coverage"] < ikm_methodology.min_data_coverage
        if low.any():
            out.not_computed["regulator_ikm"] = (
                f"{int(low.sum())} IKM figure(s) from less than {ikm_methodology.min_data_coverage:.0%} of the year's "
                "months (min_data_coverage) not published"
            )
        out.frames["regulator_ikm"] = frame[~low].reset_index(drop=True)
    # Kominfo and SPBE figures are computed only from every input their methodology weighs
    for table in ("regulator_kominfo_evaluation", "regulator_spbe"):
        if table in out.frames:
            out.frames[table] = out.frames[table].assign(coverage=1.0)
    return out
