"""IKM, the community satisfaction index (PermenPANRB 14/2017): NRR per element, IKM 1–4, IKM unit 25–100, grade.

This is the one implementation of the IKM arithmetic; the indicator `GOV_IKM` (kotacerdas.indicators) calls it.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, ValidationInfo, field_validator, model_validator

from kotacerdas.regulators.common import (
    Band,
    RegulatorError,
    RegulatorMethodology,
    Rounding,
    Scale,
    _Strict,
    band_of,
    check_bands,
    published,
    register,
)
from kotacerdas.rounding import round_half_up
from kotacerdas.schemas import IKM_ELEMENTS

# The regulation's defaults (the pipeline's GOV_IKM uses them); a methodology file states them again for ikm().
ELEMENTS = IKM_ELEMENTS
ANSWER_MIN, ANSWER_MAX, UNIT_FACTOR = 1, 4, 25


class Element(_Strict):
    name_id: str
    name_en: str


class Convention(_Strict):
    """The worked example's rounded weight (1/9 → 0.11): reported beside the exact figure, labelled."""

    weight_places: int = Field(ge=1, le=4)
    label: str


@register("ikm")
class IkmMethodology(RegulatorMethodology):
    kind: Literal["ikm"]
    elements: dict[str, Element] = Field(min_length=1)
    answers: Scale
    weighting: Literal["exact_1_over_k"] = "exact_1_over_k"
    unit_factor: Decimal = Field(gt=0)
    unit_scale: Scale
    convention: Convention | None = None
    grades: list[Band]
    grade_basis: Literal["unrounded"] = "unrounded"
    rounding: Rounding = Rounding()

    @field_validator("grades")
    @classmethod
    def _bands(cls, bands: list[Band], info: ValidationInfo) -> list[Band]:
        scale = info.data.get("unit_scale")
        return check_bands(bands, scale) if scale is not None else bands

    @model_validator(mode="after")
    def _consistent(self) -> IkmMethodology:
        if self.answers.min != int(self.answers.min) or self.answers.max != int(self.answers.max):
            raise ValueError(f"answers: the scale must run between whole numbers, got {self.answers}")
        lo, hi = self.answers.min * self.unit_factor, self.answers.max * self.unit_factor
        if (lo, hi) != (self.unit_scale.min, self.unit_scale.max):
            raise ValueError(
                f"unit_scale: answers {self.answers.min}–{self.answers.max} × {self.unit_factor} "
                f"give {lo}–{hi}, not {self.unit_scale.min}–{self.unit_scale.max}"
            )
        return self


class ConventionFigure(_Strict):
    label: str
    weight: Decimal = Field(description="1/k rounded half up, e.g. 0.11 for nine elements")
    ikm: float
    ikm_unit: float
    published: Decimal


class IkmResult(_Strict):
    methodology: str
    methodology_version: str
    respondents: int
    answers: dict[str, int] = Field(description="answers counted per element")
    nrr: dict[str, float] = Field(description="mean answer per element answered (1–4), unrounded")
    k: int = Field(description="elements answered")
    ikm: float = Field(description="Σ NRR / k, 1–4, unrounded")
    ikm_unit: float = Field(description="IKM × 25, 25–100, unrounded")
    published: Decimal
    grade: str
    grade_name: str
    convention: ConventionFigure | None = None


def element_nrr(
    answers: pd.DataFrame,
    elements: Sequence[str] = ELEMENTS,
    *,
    lowest: int = ANSWER_MIN,
    highest: int = ANSWER_MAX,
) -> dict[str, Fraction]:
    """NRR per element = sum of its answers / number of its answers, exactly; unanswered elements are left out.

    Blank answers are skipped; any other answer must be a whole number from `lowest` to `highest`.
    """
    missing = [u for u in elements if u not in answers.columns]
    if missing:
        raise RegulatorError(
            f"IKM answers have no column(s) {missing}", hint=f"give one column per element: {list(elements)}"
        )
    out = {}
    for u in elements:
        col = answers[u].dropna()
        try:
            x = col.to_numpy(dtype="float64")
        except (TypeError, ValueError):
            raise RegulatorError(
                f"IKM element {u} has answers that are not numbers, e.g. {col.iloc[0]!r}",
                hint=f"answers are whole numbers {lowest}–{highest}",
            ) from None
        bad = (x != np.floor(x)) | (x < lowest) | (x > highest)
        if bad.any():
            raise RegulatorError(
                f"IKM element {u}: {int(bad.sum())} answer(s) off the scale, e.g. {col[bad].iloc[0]!r} "
                f"(row {col.index[bad][0]!r})",
                hint=f"answers are whole numbers {lowest}–{highest}; leave an unanswered element blank",
            )
        if len(x):
            out[u] = Fraction(int(x.sum()), len(x))
    return out


def ikm_from_nrr(nrr: dict[str, Fraction]) -> Fraction:
    """IKM (1–4) = Σ NRR / k over the k elements answered: the exact weight 1/k, not the rounded 0.11."""
    if not nrr:
        raise RegulatorError("IKM: no element has an answer", hint="give at least one answered questionnaire")
    return sum(nrr.values(), Fraction(0)) / len(nrr)


def ikm_unit_score(answers: pd.DataFrame) -> float:
    """IKM unit (25–100) from answers U1..U9 with the regulation's defaults; NaN when nothing is answered."""
    nrr = element_nrr(answers)
    return float(ikm_from_nrr(nrr) * UNIT_FACTOR) if nrr else float("nan")


def ikm_grade(ikm_unit: Fraction | Decimal | float, methodology: IkmMethodology) -> Band:
    """The grade band holding the unrounded IKM unit: ≥ 88.31 A, ≥ 76.61 B, ≥ 65.00 C, else D (half-open)."""
    return band_of(ikm_unit, methodology.grades)


def ikm(answers: pd.DataFrame, methodology: IkmMethodology) -> IkmResult:
    """NRR per element, IKM 1–4, IKM unit 25–100, grade, and the 0.11-convention figure beside it, labelled."""
    m = methodology
    nrr = element_nrr(answers, list(m.elements), lowest=int(m.answers.min), highest=int(m.answers.max))
    value = ikm_from_nrr(nrr)
    unit = value * Fraction(m.unit_factor)
    grade = ikm_grade(unit, m)
    convention = None
    if m.convention is not None:
        w = round_half_up(1 / len(nrr), m.convention.weight_places)
        conv = sum(nrr.values(), Fraction(0)) * Fraction(w or 0)  # 1/n is never missing
        conv_unit = conv * Fraction(m.unit_factor)
        convention = ConventionFigure(
            label=m.convention.label,
            weight=w,
            ikm=float(conv),
            ikm_unit=float(conv_unit),
            published=published(conv_unit, m.rounding),
        )
    return IkmResult(
        methodology=m.name,
        methodology_version=m.version,
        respondents=len(answers),
        answers={u: int(answers[u].notna().sum()) for u in m.elements},
        nrr={u: float(v) for u, v in nrr.items()},
        k=len(nrr),
        ikm=float(value),
        ikm_unit=float(unit),
        published=published(unit, m.rounding),
        grade=grade.code or grade.name,
        grade_name=grade.name,
        convention=convention,
    )
