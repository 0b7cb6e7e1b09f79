"""The method of a build: each step's settings, validated (pydantic), versioned, and easy to vary."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kotacerdas.index.errors import IndexMethodError
from kotacerdas.index.normalise import NormaliseMethod


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DenominateStep(_Step):
    """Divide indicators by the denominator named in iMeta (`by="metadata"`) or given here."""

    by: Literal["metadata"] | dict[str, str] = "metadata"


class ScreenStep(_Step):
    dat_thresh: float | None = Field(None, ge=0, le=1)
    nonzero_thresh: float | None = Field(None, ge=0, le=1)
    force_include: list[str] = []
    force_exclude: list[str] = []


class ImputeStep(_Step):
    method: Literal["mean", "median", "locf", "linear"] = "mean"
    group: str | None = None  # a group column of iData, e.g. "Group_EurAsia" (mean/median only)

    @model_validator(mode="after")
    def _group_only_cross_section(self):
        if self.group is not None and self.method in ("locf", "linear"):
            raise ValueError("group applies to mean/median imputation, not to panel methods")
        return self


class TreatStep(_Step):
    winmax: int | None = Field(None, ge=0)  # None: 10 % of units rounded up (COINr default)
    skew_thresh: float = 2.0
    kurt_thresh: float = 3.5
    fallback: Literal["ctlog", "log", "none"] = "ctlog"
    winchange: bool = True
    exclude: list[str] = []


class NormaliseStep(_Step):
    method: NormaliseMethod = "minmax"
    lower: float = 0.0
    upper: float = 100.0
    mean: float = 0.0
    sd: float = Field(1.0, gt=0)
    target_form: Literal["range", "ratio"] = "range"
    ref_unit: str | None = None
    cap_max: bool = False
    goalposts: dict[str, tuple[float, float]] | None = None
    scale: float = 100.0


class WeightsStep(_Step):
    """Weights from iMeta, equal, or PCA-based (see `kotacerdas.index.pca`); `overrides` replace single
    weights (with PCA, the override wins over the PCA weight and the levels above use it)."""

    source: Literal["metadata", "equal", "pca"] = "metadata"
    overrides: dict[str, float] = {}
    pca_levels: list[int] | None = None  # levels whose weights come from PCA (None: all); others from iMeta

    @model_validator(mode="after")
    def _pca_levels_only_with_pca(self):
        if self.pca_levels is not None and self.source != "pca":
            raise ValueError("pca_levels applies only with source 'pca'")
        return self


class AggregateStep(_Step):
    method: Literal["arith_mean", "geom_mean", "harm_mean", "gen_mean", "copeland"] = "arith_mean"
    p: float | None = None
    dat_thresh: float | None = Field(None, ge=0, le=1)


class ResultsStep(_Step):
    round_to: int | None = None  # round scores before ranking (COINr tables: 2)
    group_ranks: list[str] = []  # group columns to rank within


class IndexMethod(_Step):
    """Settings of every step; a step set to None is skipped (its output equals its input)."""

    version: str
    time: int | str | None = None  # which Time of a panel to build (None: the latest)
    denominate: DenominateStep | None = DenominateStep()
    screen: ScreenStep | None = None
    impute: ImputeStep | None = ImputeStep()
    treat: TreatStep | None = TreatStep()
    normalise: NormaliseStep = NormaliseStep()
    weights: WeightsStep = WeightsStep()
    aggregate: AggregateStep = AggregateStep()
    results: ResultsStep = ResultsStep()

    def vary(self, **changes: Any) -> IndexMethod:
        """A copy with some steps changed, e.g. `vary(normalise={"method": "zscore"}, treat=None)`."""
        data = self.model_dump()
        for step, value in changes.items():
            if isinstance(value, dict) and isinstance(data.get(step), dict):
                data[step] = {**data[step], **value}
            else:
                data[step] = value
        return as_method(data)


def as_method(method: IndexMethod | dict[str, Any]) -> IndexMethod:
    """Validate a plain dict into an `IndexMethod`; pydantic errors become one clear IndexMethodError."""
    if isinstance(method, IndexMethod):
        return method
    try:
        return IndexMethod.model_validate(method)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "method"
        raise IndexMethodError(
            f"method setting '{where}': {first['msg']}",
            hint="see kotacerdas.index.method for the allowed settings",
        ) from exc
