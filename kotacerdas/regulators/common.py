"""What the regulators' methodology files share: provenance, scales, bands, exact weight sums and loading."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from numbers import Real
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kotacerdas.config import ProjectConfig
from kotacerdas.config.files import CONFIG_DIR_ENV, read_yaml, validate_yaml_model
from kotacerdas.errors import ConfigError, KotacerdasError
from kotacerdas.rounding import round_half_up


class RegulatorError(KotacerdasError, ValueError):
    """Input that a regulator's index cannot be computed from: a missing or unknown item, a value off the scale."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scale(_Strict):
    """A closed range of allowed values, e.g. assessors' scores 1–5."""

    min: Decimal
    max: Decimal

    @model_validator(mode="after")
    def _ordered(self) -> Scale:
        if not self.min < self.max:
            raise ValueError(f"scale: min {self.min} must be below max {self.max}")
        return self

    def holds(self, value: Fraction) -> bool:
        return Fraction(self.min) <= value <= Fraction(self.max)


class Rounding(_Strict):
    """How the regulator publishes a number: half up (never half even) to `places` decimals."""

    places: int = Field(default=2, ge=0, le=6)
    mode: Literal["half_up"] = "half_up"


class Band(_Strict):
    """One predicate or grade: from `min` (inclusive) up to the next band's `min` (exclusive)."""

    name: str  # as the regulation prints it (Bahasa Indonesia)
    name_en: str | None = Field(default=None, min_length=1, description="English label for scorecards and exports")
    min: Decimal
    code: str | None = None
    published_range: str | None = Field(default=None, description="the range as the regulation prints it")


class RegulatorMethodology(_Strict):
    """Provenance every regulator file carries; `name` and `version` go on every result."""

    kind: str
    name: str
    version: str
    status: Literal["in_force", "superseded", "alternative", "provisional"]
    title: str
    sources: list[str] = Field(min_length=1)
    notes: str = ""
    assumptions: list[str] = Field(default_factory=list, description="what the source does not give")
    # COINr's dat_thresh for a figure computed from a period's worth of inputs (the IKM's months): below this share
    # of its inputs present, the figure is not published. Kominfo and SPBE figures need every input (coverage 1).
    min_data_coverage: float = Field(default=0.0, ge=0, le=1)


def check_bands(bands: list[Band], scale: Scale) -> list[Band]:
    """Bands sorted from the top down; their edges must be distinct, on the scale, the lowest at its bottom."""
    if not bands:
        raise ValueError("at least one band is needed")
    ordered = sorted(bands, key=lambda b: b.min, reverse=True)
    mins = [b.min for b in ordered]
    if len(set(mins)) != len(mins):
        raise ValueError(f"two bands start at the same value {sorted(mins)}")
    if ordered[-1].min > scale.min:
        raise ValueError(
            f"the lowest band starts at {ordered[-1].min}, above the scale's "
            f"minimum {scale.min}, so some values would get no band"
        )
    if ordered[0].min > scale.max:
        raise ValueError(f"band {ordered[0].name!r} starts at {ordered[0].min}, above the scale")
    return ordered


def band_of(value: Fraction | Decimal | float, bands: list[Band]) -> Band:
    """The band whose half-open range [min, next min) holds `value`, compared exactly.

    A float is read as the decimal it shows (88.31 is 88.31, not the binary 88.30999…), as everywhere here.
    """
    number = exact(value, "value")
    for band in sorted(bands, key=lambda b: b.min, reverse=True):
        if number >= Fraction(band.min):
            return band
    return min(bands, key=lambda b: b.min)


def check_sum(weights: dict[str, Decimal], expected: Decimal, what: str) -> None:
    """Weights are summed exactly (as decimals): 4.5 + 12 is 16.5, not 16.499999…"""
    total = sum(weights.values(), Decimal(0))
    if total != expected:
        raise ValueError(
            f"{what} sum to {total}, must be {expected} ({', '.join(f'{k} {w}' for k, w in weights.items())})"
        )


def exact(value: object, what: str) -> Fraction:
    """A number given by a person or a file as an exact fraction: 0.1 means one tenth, not the binary float."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, bool) or not isinstance(value, Real | Decimal | str):
        raise RegulatorError(f"{what} is {value!r}, not a number", hint="give a number")
    try:
        # a float is read through its shortest repr, the decimal a person wrote (as kotacerdas.rounding does)
        number = Decimal(repr(float(value))) if isinstance(value, float) else Decimal(str(value).strip())
    except ArithmeticError:
        raise RegulatorError(f"{what} is {value!r}, not a number", hint="give a number") from None
    if not number.is_finite():
        raise RegulatorError(f"{what} is {value!r}", hint="give a finite number; a missing value is an error")
    return Fraction(number)


def published(value: Fraction, rounding: Rounding) -> Decimal:
    """The number as the regulator publishes it: half up to `rounding.places` (kotacerdas.rounding)."""
    out = round_half_up(float(value), rounding.places)
    assert out is not None  # value is a finite Fraction
    return out


def as_decimal(value: Fraction) -> Decimal:
    """An exact fraction as a Decimal when it terminates (3.4, 3.125), else to 28 significant digits."""
    return Decimal(value.numerator) / Decimal(value.denominator)


_KINDS: dict[str, type[RegulatorMethodology]] = {}


def register(kind: str):
    def deco(cls: type[RegulatorMethodology]) -> type[RegulatorMethodology]:
        _KINDS[kind] = cls
        return cls

    return deco


def methodology_path(name: str | Path, config_dir: str | Path | None = None) -> Path:
    """A path (anything with a folder in it) as given; a bare file name under `config/methodologies/`."""
    return ProjectConfig(config_dir).methodology_file(name)


def load_regulator_methodology(name: str | Path, config_dir: str | Path | None = None) -> RegulatorMethodology:
    """Load and validate a regulator's methodology file; its `kind` picks the model (kominfo, spbe, ikm)."""
    path = methodology_path(name, config_dir)
    data = read_yaml(path, missing="config file not found", missing_hint=f"create it or set {CONFIG_DIR_ENV}")
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind not in _KINDS:
        raise ConfigError(
            f"{path}: kind: {kind!r} is not a regulator methodology", hint=f"set `kind` to one of {sorted(_KINDS)}"
        )
    return validate_yaml_model(path, data, _KINDS[kind])  # parsed once: the kind picks the model
