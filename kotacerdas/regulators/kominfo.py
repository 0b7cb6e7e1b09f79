"""Kominfo's annual smart-city evaluation index: five parts scored 1–5, weighted sum, published half up to 2 dp."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from pydantic import Field, field_validator

from kotacerdas.regulators.common import (
    RegulatorError,
    RegulatorMethodology,
    Rounding,
    Scale,
    _Strict,
    as_decimal,
    check_sum,
    exact,
    published,
    register,
)

HUNDRED = Decimal(100)


class Part(_Strict):
    name: str
    weight: Decimal = Field(ge=0, le=100, description="percent of the final index")


@register("kominfo-evaluation")
class KominfoMethodology(RegulatorMethodology):
    kind: Literal["kominfo-evaluation"]
    year: int = Field(ge=2017)
    scale: Scale
    parts: dict[str, Part] = Field(min_length=1)
    pillars: dict[str, str] = Field(default_factory=dict, description="pillar code -> name, as results letters")
    rounding: Rounding = Rounding()
    level_names: None = Field(default=None, description="not public; never invented")

    @field_validator("parts")
    @classmethod
    def _weights_sum_to_100(cls, parts: dict[str, Part]) -> dict[str, Part]:
        check_sum({k: p.weight for k, p in parts.items()}, HUNDRED, "part weights")
        return parts


class KominfoResult(_Strict):
    """One region's evaluation in one year: the exact index, the published 2-dp index and each part's share."""

    methodology: str
    methodology_version: str
    year: int
    scores: dict[str, Decimal]
    contributions: dict[str, Decimal] = Field(description="score × weight / 100 per part; they sum to `index`")
    index: Decimal = Field(description="unrounded (exact) weighted sum on the 1–5 scale")
    published: Decimal = Field(description="`index` rounded half up as published")
    pillars: dict[str, Decimal] = Field(default_factory=dict, description="pillar indices as assessed")
    pillars_published: dict[str, Decimal] = Field(default_factory=dict)


class KominfoImprovement(_Strict):
    """This year minus last year, on the published values (as results letters print it) and unrounded."""

    this_year: int
    last_year: int
    methodologies: tuple[str, str]
    index: Decimal
    index_unrounded: Decimal
    pillars: dict[str, Decimal] = Field(default_factory=dict)
    pillars_unrounded: dict[str, Decimal] = Field(default_factory=dict)


def _on_scale(
    values: Mapping[str, object],
    known: Mapping[str, object],
    scale: Scale,
    what: str,
    methodology: KominfoMethodology,
    *,
    all_required: bool,
) -> dict[str, Fraction]:
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise RegulatorError(
            f"{methodology.name} {methodology.version}: unknown {what} {unknown}", hint=f"use {sorted(known)}"
        )
    missing = [k for k in known if k not in values]
    if all_required and missing:
        raise RegulatorError(
            f"{methodology.name} {methodology.version}: no score for {what} {missing}",
            hint="every part needs an assessed score; the index is not defined without it",
        )
    out = {}
    for key, value in values.items():
        number = exact(value, f"{what} {key!r}")
        if not scale.holds(number):
            raise RegulatorError(
                f"{what} {key!r} is {value}, outside the scale {scale.min}–{scale.max}",
                hint="give the assessors' score on the methodology's scale",
            )
        out[key] = number
    return out


def kominfo_index(
    scores_by_part: Mapping[str, object],
    methodology: KominfoMethodology,
    *,
    pillars: Mapping[str, object] | None = None,
    year: int | None = None,
) -> KominfoResult:
    """Final index = Σ score × weight / 100 over the parts, computed exactly, published half up.

    `pillars` (optional) are the per-pillar indices the assessors give (how Kominfo derives them is not
    public); they are checked against the scale and published the same way.
    """
    scores = _on_scale(scores_by_part, methodology.parts, methodology.scale, "part", methodology, all_required=True)
    contributions = {k: s * Fraction(methodology.parts[k].weight) / 100 for k, s in scores.items()}
    index = sum(contributions.values(), Fraction(0))
    pillar_values = _on_scale(
        pillars or {}, methodology.pillars, methodology.scale, "pillar", methodology, all_required=False
    )
    return KominfoResult(
        methodology=methodology.name,
        methodology_version=methodology.version,
        year=methodology.year if year is None else year,
        scores={k: as_decimal(v) for k, v in scores.items()},
        contributions={k: as_decimal(v) for k, v in contributions.items()},
        index=as_decimal(index),
        published=published(index, methodology.rounding),
        pillars={k: as_decimal(v) for k, v in pillar_values.items()},
        pillars_published={k: published(v, methodology.rounding) for k, v in pillar_values.items()},
    )


def kominfo_improvement(this: KominfoResult, last: KominfoResult) -> KominfoImprovement:
    """'Improvement' as results letters give it: this year's value minus last year's, per index and pillar."""
    if this.year <= last.year:
        raise RegulatorError(
            f"improvement of {this.year} over {last.year}: `this` must be the later year",
            hint="call kominfo_improvement(this_year_result, last_year_result)",
        )
    both = [p for p in this.pillars if p in last.pillars]
    return KominfoImprovement(
        this_year=this.year,
        last_year=last.year,
        methodologies=(
            f"{this.methodology} {this.methodology_version}",
            f"{last.methodology} {last.methodology_version}",
        ),
        index=this.published - last.published,
        index_unrounded=this.index - last.index,
        pillars={p: this.pillars_published[p] - last.pillars_published[p] for p in both},
        pillars_unrounded={p: this.pillars[p] - last.pillars[p] for p in both},
    )
