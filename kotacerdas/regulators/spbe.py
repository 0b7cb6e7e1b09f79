"""The SPBE index (KemenPANRB): indicator levels → aspect, domain and SPBE indices (Σ level·w / Σ w), predicate."""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from numbers import Integral
from typing import Literal

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
    check_sum,
    published,
    register,
)

HUNDRED = Decimal(100)


class IndicatorRange(_Strict):
    first: int = Field(ge=1)
    last: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> IndicatorRange:
        if self.last < self.first:
            raise ValueError(f"indicators: last {self.last} is before first {self.first}")
        return self

    @property
    def numbers(self) -> range:
        return range(self.first, self.last + 1)


class Aspect(_Strict):
    name: str
    weight: Decimal = Field(gt=0, description="percent of the SPBE index")
    indicators: IndicatorRange


class Domain(_Strict):
    name: str
    weight: Decimal = Field(gt=0, description="percent of the SPBE index; the sum of its aspects' weights")
    level_names: str | None = Field(default=None, description="key into `level_names` (process / service)")
    aspects: dict[str, Aspect] = Field(min_length=1)

    @model_validator(mode="after")
    def _aspects_sum_to_domain(self) -> Domain:
        check_sum(
            {k: a.weight for k, a in self.aspects.items()}, self.weight, f"aspect weights of domain {self.name!r}"
        )
        return self


class Structure(_Strict):
    """Counts as the source reports them; checked against the hierarchy when one is given."""

    domains: int | None = Field(default=None, ge=1)
    aspects: int = Field(ge=1)
    indicators: int = Field(ge=1)


@register("spbe")
class SpbeMethodology(RegulatorMethodology):
    kind: Literal["spbe"]
    scale: Scale
    structure: Structure
    indicator_weights: Literal["equal_within_aspect"] = "equal_within_aspect"
    domains: dict[str, Domain] = Field(default_factory=dict)
    known_weights: dict[str, Decimal] = Field(
        default_factory=dict, description="weights reported without a hierarchy (provisional files only)"
    )
    level_names: dict[str, dict[int, str]] = Field(default_factory=dict)
    predicates: list[Band]
    predicate_basis: Literal["unrounded"] = "unrounded"
    rounding: Rounding = Rounding()

    @field_validator("domains")
    @classmethod
    def _domains_sum_to_100(cls, domains: dict[str, Domain]) -> dict[str, Domain]:
        if domains:
            check_sum({k: d.weight for k, d in domains.items()}, HUNDRED, "domain weights")
        return domains

    @field_validator("predicates")
    @classmethod
    def _bands(cls, bands: list[Band], info: ValidationInfo) -> list[Band]:
        scale = info.data.get("scale")
        return check_bands(bands, scale) if scale is not None else bands

    @field_validator("known_weights")
    @classmethod
    def _known_weights(cls, weights: dict[str, Decimal]) -> dict[str, Decimal]:
        bad = {k: w for k, w in weights.items() if not 0 < w <= HUNDRED}
        if bad:
            raise ValueError(f"weights must be percent in (0, 100]: {bad}")
        total = sum(weights.values(), Decimal(0))
        if total > HUNDRED:
            raise ValueError(f"weights sum to {total}, more than 100")
        return weights

    @model_validator(mode="after")
    def _consistent(self) -> SpbeMethodology:
        if not self.domains:
            if self.status != "provisional":
                raise ValueError("domains: a methodology in force needs its domains, aspects and indicators")
            return self
        s = self.structure
        aspects = [a for d in self.domains.values() for a in d.aspects.values()]
        if s.domains is not None and len(self.domains) != s.domains:
            raise ValueError(f"domains: {len(self.domains)} given, structure.domains says {s.domains}")
        if len(aspects) != s.aspects:
            raise ValueError(f"domains: {len(aspects)} aspects given, structure.aspects says {s.aspects}")
        numbers = [n for a in aspects for n in a.indicators.numbers]
        if numbers != list(range(1, s.indicators + 1)):
            raise ValueError(
                f"domains: aspect indicator ranges must number the indicators 1..{s.indicators} "
                f"in order, once each; they give {_ranges(numbers)}"
            )
        for code, d in self.domains.items():
            if d.level_names is not None and d.level_names not in self.level_names:
                raise ValueError(
                    f"domains.{code}.level_names: {d.level_names!r} is not a key of level_names "
                    f"{sorted(self.level_names)}"
                )
        for key, names in self.level_names.items():
            levels = range(int(self.scale.min), int(self.scale.max) + 1)
            if sorted(names) != list(levels):
                raise ValueError(f"level_names.{key}: names for levels {sorted(names)}, the scale has {list(levels)}")
        return self

    def indicator_weight(self, number: int) -> Fraction:
        """Equal within the aspect: aspect weight / number of indicators (exact)."""
        _, _, aspect = self.locate(number)
        return Fraction(aspect.weight) / len(aspect.indicators.numbers)

    def locate(self, number: int) -> tuple[str, str, Aspect]:
        for d_code, d in self.domains.items():
            for a_code, a in d.aspects.items():
                if number in a.indicators.numbers:
                    return d_code, a_code, a
        raise RegulatorError(
            f"{self.name} {self.version}: there is no indicator {number}",
            hint=f"indicators are numbered 1..{self.structure.indicators}",
        )

    def level_name(self, number: int, level: int) -> str | None:
        """The regulation's name of `level` for indicator `number` (process or service domain), if it has one."""
        d_code, _, _ = self.locate(number)
        kind = self.domains[d_code].level_names
        return None if kind is None else self.level_names[kind].get(level)


def _ranges(numbers: list[int]) -> str:
    return ", ".join(str(n) for n in numbers[:60]) + (" …" if len(numbers) > 60 else "")


class AspectResult(_Strict):
    name: str
    domain: str
    weight: Decimal
    indicators: tuple[int, int]
    index: float = Field(description="Σ level·w / Σ w over its indicators, unrounded")
    published: Decimal


class DomainResult(_Strict):
    name: str
    weight: Decimal
    index: float
    published: Decimal


class SpbeResult(_Strict):
    methodology: str
    methodology_version: str
    status: str
    aspects: dict[str, AspectResult]
    domains: dict[str, DomainResult]
    index: float = Field(description="SPBE index = Σ level·w / 100, unrounded")
    published: Decimal
    predicate: str = Field(description="from the unrounded index, half-open bands")


def spbe_predicate(index: Fraction | Decimal | float, methodology: SpbeMethodology) -> str:
    """The predicate band holding `index`: [min, next min), compared exactly (4.2 is Memuaskan)."""
    return band_of(index, methodology.predicates).name


def _levels(levels: Mapping[int, object], m: SpbeMethodology) -> dict[int, int]:
    numbers = set(range(1, m.structure.indicators + 1))
    keys: set[int] = set()
    for k in levels:
        if isinstance(k, bool) or not isinstance(k, Integral):
            raise RegulatorError(f"indicator number {k!r} is not an integer", hint="key levels by indicator number")
        keys.add(int(k))
    unknown = sorted(keys - numbers)
    if unknown:
        raise RegulatorError(
            f"{m.name} {m.version}: unknown indicator number(s) {unknown}",
            hint=f"indicators are numbered 1..{m.structure.indicators}",
        )
    missing = sorted(numbers - keys)
    if missing:
        raise RegulatorError(
            f"{m.name} {m.version}: no level for indicator(s) {_ranges(missing)}",
            hint="every indicator needs a level; the SPBE index is not defined without it",
        )
    out = {}
    lo, hi = int(m.scale.min), int(m.scale.max)
    for k, v in levels.items():
        level = None if isinstance(v, bool) or not isinstance(v, Integral | float) else v
        if level is None or not math.isfinite(level) or float(level) != int(level) or not lo <= int(level) <= hi:
            raise RegulatorError(
                f"{m.name} {m.version}: indicator {k} has level {v!r}, not an integer {lo}–{hi}",
                hint=f"give each indicator's level as a whole number from {lo} to {hi}",
            )
        out[int(k)] = int(level)
    return out


def spbe_index(levels: Mapping[int, object], methodology: SpbeMethodology) -> SpbeResult:
    """Aspect and domain indices (Σ level·w / Σ w), the SPBE index (Σ level·w / 100) and its predicate.

    Computed exactly (fractions); published half up; the predicate comes from the unrounded index.
    """
    m = methodology
    if not m.domains:
        raise RegulatorError(
            f"{m.name} {m.version} is {m.status}: its aspects, indicators and weights are not published, so "
            "no index can be computed from it",
            hint="use a methodology in force, e.g. spbe-permenpanrb-59-2020",
        )
    lv = _levels(levels, m)
    aspects, domains = {}, {}
    total = Fraction(0)
    for d_code, d in m.domains.items():
        d_sum, d_weight = Fraction(0), Fraction(0)
        for a_code, a in d.aspects.items():
            nums = a.indicators.numbers
            w = Fraction(a.weight) / len(nums)
            a_sum = sum((lv[n] * w for n in nums), Fraction(0))
            a_index = a_sum / (w * len(nums))
            aspects[a_code] = AspectResult(
                name=a.name,
                domain=d_code,
                weight=a.weight,
                indicators=(a.indicators.first, a.indicators.last),
                index=float(a_index),
                published=published(a_index, m.rounding),
            )
            d_sum += a_sum
            d_weight += w * len(nums)
        d_index = d_sum / d_weight
        domains[d_code] = DomainResult(
            name=d.name, weight=d.weight, index=float(d_index), published=published(d_index, m.rounding)
        )
        total += d_sum
    index = total / 100
    return SpbeResult(
        methodology=m.name,
        methodology_version=m.version,
        status=m.status,
        aspects=aspects,
        domains=domains,
        index=float(index),
        published=published(index, m.rounding),
        predicate=spbe_predicate(index, m),
    )


def _score(value: object, what: str, m: SpbeMethodology) -> Fraction:
    from kotacerdas.regulators.common import exact

    number = exact(value, what)
    if not m.scale.holds(number):
        raise RegulatorError(
            f"{m.name} {m.version}: {what} is {value!r}, outside the scale {m.scale.min}–{m.scale.max}",
            hint="give the index as the evaluation letter reports it",
        )
    return number


def spbe_index_from_aspects(aspects: Mapping[str, object], methodology: SpbeMethodology) -> SpbeResult:
    """The SPBE index from aspect indices, as evaluation letters report them: domain index = Σ aspect·w / Σ w
    over its aspects, SPBE index = Σ aspect·w / 100 (aspect weights in percent). Needs no indicator weights."""
    m = methodology
    if not m.domains:
        raise RegulatorError(f"{m.name} {m.version} has no aspects to compute from", hint="use a methodology in force")
    known = {a for d in m.domains.values() for a in d.aspects}
    unknown, missing = sorted(set(aspects) - known), sorted(known - set(aspects))
    if unknown or missing:
        raise RegulatorError(
            f"{m.name} {m.version}: aspect scores {'unknown ' + str(unknown) if unknown else ''}"
            f"{' and ' if unknown and missing else ''}{'missing ' + str(missing) if missing else ''}",
            hint=f"give one index per aspect: {sorted(known)}",
        )
    out_aspects, out_domains, total = {}, {}, Fraction(0)
    for d_code, d in m.domains.items():
        d_sum = Fraction(0)
        for a_code, a in d.aspects.items():
            value = _score(aspects[a_code], f"aspect {a_code!r}", m)
            out_aspects[a_code] = AspectResult(
                name=a.name,
                domain=d_code,
                weight=a.weight,
                indicators=(a.indicators.first, a.indicators.last),
                index=float(value),
                published=published(value, m.rounding),
            )
            d_sum += value * Fraction(a.weight)
        d_index = d_sum / Fraction(d.weight)
        out_domains[d_code] = DomainResult(
            name=d.name, weight=d.weight, index=float(d_index), published=published(d_index, m.rounding)
        )
        total += d_sum
    return _result(m, out_aspects, out_domains, total / 100)


def spbe_index_from_domains(domains: Mapping[str, object], methodology: SpbeMethodology) -> SpbeResult:
    """The SPBE index from domain indices: Σ domain·w / 100 (domain weights in percent); no aspect detail."""
    m = methodology
    unknown, missing = sorted(set(domains) - set(m.domains)), sorted(set(m.domains) - set(domains))
    if unknown or missing:
        raise RegulatorError(
            f"{m.name} {m.version}: domain scores unknown {unknown}, missing {missing}",
            hint=f"give one index per domain: {sorted(m.domains)}",
        )
    out_domains, total = {}, Fraction(0)
    for d_code, d in m.domains.items():
        value = _score(domains[d_code], f"domain {d_code!r}", m)
        out_domains[d_code] = DomainResult(
            name=d.name, weight=d.weight, index=float(value), published=published(value, m.rounding)
        )
        total += value * Fraction(d.weight)
    return _result(m, {}, out_domains, total / 100)


def _result(m: SpbeMethodology, aspects: dict, domains: dict, index: Fraction) -> SpbeResult:
    return SpbeResult(
        methodology=m.name,
        methodology_version=m.version,
        status=m.status,
        aspects=aspects,
        domains=domains,
        index=float(index),
        published=published(index, m.rounding),
        predicate=spbe_predicate(index, m),
    )


def spbe_from_table(table, methodology: SpbeMethodology) -> SpbeResult:
    """The SPBE index from a table (a pandas DataFrame or rows of dicts) with columns `level` ("indicator",
    "aspect" or "domain"), `code` (indicator number, aspect or domain key) and `score`; one level per table."""
    import pandas as pd

    frame = table if isinstance(table, pd.DataFrame) else pd.DataFrame(list(table))
    need = {"level", "code", "score"}
    if not need <= set(frame.columns):
        raise RegulatorError(
            f"SPBE table has columns {sorted(frame.columns)}", hint="give columns level, code and score"
        )
    levels = set(frame["level"])
    if len(levels) != 1 or not levels <= {"indicator", "aspect", "domain"}:
        raise RegulatorError(
            f"SPBE table mixes or misnames levels {sorted(map(str, levels))}",
            hint="one level per table: indicator, aspect or domain",
        )
    dup = frame["code"][frame["code"].duplicated()]
    if len(dup):
        raise RegulatorError(f"SPBE table lists {dup.iloc[0]!r} twice", hint="one row per code")
    (level,) = levels
    if level == "indicator":
        return spbe_index({int(c): s for c, s in zip(frame["code"], frame["score"], strict=True)}, methodology)
    scores = {str(c): s for c, s in zip(frame["code"], frame["score"], strict=True)}
    return (spbe_index_from_aspects if level == "aspect" else spbe_index_from_domains)(scores, methodology)
