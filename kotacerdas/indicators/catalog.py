"""The indicator catalog (`config/indicators.yaml`): what each indicator means and how it is computed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kotacerdas.config.files import check_unique, load_yaml_model
from kotacerdas.schemas import MONTHLY_TABLES


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ShareMethod(_Strict):
    type: Literal["share"]
    table: str
    where: str | None = Field(default=None, description="pandas query selecting the denominator rows")
    numerator: str = Field(description="pandas query selecting, among those, the numerator rows")


class MedianMethod(_Strict):
    type: Literal["median"]
    table: str
    where: str | None = None
    column: str


class IkmMethod(_Strict):
    type: Literal["ikm"]
    table: Literal["satisfaction_responses"] = "satisfaction_responses"
    where: str | None = None


class SubmittedMethod(_Strict):
    type: Literal["submitted"]
    table: Literal["indicator_submissions"] = "indicator_submissions"
    per_population: int | None = Field(default=None, gt=0, description="divide by population / N")


Method = Annotated[ShareMethod | MedianMethod | IkmMethod | SubmittedMethod, Field(discriminator="type")]


class Goalposts(_Strict):
    worst: float
    best: float

    @model_validator(mode="after")
    def _distinct(self) -> Goalposts:
        if self.worst == self.best:
            raise ValueError("goalposts worst and best must differ")
        return self


class Indicator(_Strict):
    code: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")]
    name_id: str
    name_en: str
    dimension: str
    element: str
    unit: str
    direction: Literal[1, -1]
    producer: str
    method: Method
    goalposts: Goalposts
    weight: float = Field(default=1.0, gt=0)
    frequency: Literal["monthly"] = "monthly"
    allows_over_100: bool = Field(
        default=False,
        description="unit %: submitted values above 100 are valid "
        "(e.g. achievement of a target); else 0–100 is checked",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Indicator:
        if self.method.table not in MONTHLY_TABLES:  # indicators are computed per city × month
            raise ValueError(
                f"method.table {self.method.table!r} is not a monthly canonical table; expected one "
                f"of {sorted(MONTHLY_TABLES)}"
            )
        if (self.goalposts.best > self.goalposts.worst) != (self.direction == 1):
            raise ValueError(
                "goalposts contradict direction: with direction 1 best must exceed worst, "
                "with -1 worst must exceed best"
            )
        return self


class IndicatorCatalog(_Strict):
    version: str
    indicators: list[Indicator] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> IndicatorCatalog:
        codes = [i.code for i in self.indicators]
        check_unique(codes, "indicator code(s)")
        return self

    def get(self, code: str) -> Indicator:
        for ind in self.indicators:
            if ind.code == code:
                return ind
        raise KeyError(f"indicator {code!r} is not in the catalog")


def load_catalog(path: Path) -> IndicatorCatalog:
    return load_yaml_model(path, IndicatorCatalog)
