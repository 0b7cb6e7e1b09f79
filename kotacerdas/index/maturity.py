"""The smart-city maturity index: indicator → element → dimension → index, with a maturity level 1–5.

The method (goalposts, weights, coverage rule, level bands) is read from a versioned methodology file in
`config/methodologies/`; every score row carries that version.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from kotacerdas.config import load_yaml_model
from kotacerdas.errors import ConfigError
from kotacerdas.indicators.catalog import IndicatorCatalog


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Dimension(_Strict):
    name: str
    weight: float = Field(gt=0)
    elements: dict[str, float] = Field(min_length=1)

    @model_validator(mode="after")
    def _positive(self) -> Dimension:
        bad = {k: w for k, w in self.elements.items() if not w > 0}
        if bad:
            raise ValueError(f"element weights must be > 0: {bad}")
        return self


class MaturityLevel(_Strict):
    level: int = Field(ge=1, le=5)
    min: float


class MaturityMethodology(_Strict):
    name: str
    version: str
    description: str = ""
    normalisation: Literal["goalposts"]
    aggregation: Literal["arithmetic"]
    min_coverage: float = Field(ge=0, le=1)
    dimensions: dict[str, Dimension] = Field(min_length=1)
    maturity_levels: list[MaturityLevel] = Field(min_length=1)

    @model_validator(mode="after")
    def _levels(self) -> MaturityMethodology:
        mins = [lv.min for lv in self.maturity_levels]
        levels = [lv.level for lv in self.maturity_levels]
        if mins != sorted(mins) or len(set(mins)) != len(mins):
            raise ValueError("maturity_levels: `min` must be strictly increasing")
        if levels != sorted(levels):
            raise ValueError("maturity_levels: levels must be listed in increasing order")
        if mins[0] > 0:
            raise ValueError("maturity_levels: the first level must start at 0 so every score gets a level")
        return self

    def element_parent(self) -> dict[str, str]:
        return {e: d for d, dim in self.dimensions.items() for e in dim.elements}

    def check_catalog(self, catalog: IndicatorCatalog) -> None:
        """Every indicator must sit under an element of this methodology."""
        parents = self.element_parent()
        wrong = [
            f"{i.code} ({i.dimension}/{i.element})"
            for i in catalog.indicators
            if parents.get(i.element) != i.dimension
        ]
        if wrong:
            raise ConfigError(
                f"methodology {self.name} {self.version}: indicator(s) under an unknown dimension/element: "
                + ", ".join(wrong),
                hint="fix `dimension`/`element` in config/indicators.yaml or add the element to the methodology",
            )

    def level_of(self, score: float) -> int | None:
        if score is None or np.isnan(score):
            return None
        level = None
        for band in self.maturity_levels:
            if score >= band.min:
                level = band.level
        return level


def load_methodology(path: Path) -> MaturityMethodology:
    return load_yaml_model(path, MaturityMethodology)


SCORE_COLUMNS: dict[str, str] = {
    "city_code": "string",
    "period": "string",
    "level": "string",  # indicator | element | dimension | index
    "code": "string",
    "parent_code": "string",
    "score": "float64",  # 0–100, unrounded
    "weight": "float64",  # the node's weight within its parent, renormalised over present siblings
    "coverage": "float64",  # share of the node's children (by weight) that had a score
    "maturity_level": "Int64",
    "methodology": "string",
    "methodology_version": "string",
}
INDEX_CODE = "INDEX"


def goalpost_score(value: pd.Series, worst: float, best: float) -> pd.Series:
    """0 at `worst`, 100 at `best`, linear between and clipped; works for either direction."""
    return ((value - worst) / (best - worst) * 100.0).clip(lower=0.0, upper=100.0)


def _aggregate(
    children: pd.DataFrame, weights: dict[str, float], min_coverage: float
) -> tuple[float, float, dict[str, float]]:
    """Weighted arithmetic mean of the children present; weights renormalised over them."""
    present = children.dropna(subset=["score"])
    total = sum(weights.values())
    present_weight = sum(weights[c] for c in present["code"])
    coverage = present_weight / total if total else 0.0
    if present.empty or coverage < min_coverage:
        return np.nan, coverage, {}
    renorm = {c: weights[c] / present_weight for c in present["code"]}
    score = float(sum(renorm[c] * s for c, s in zip(present["code"], present["score"], strict=True)))
    return score, coverage, renorm


def score_maturity(
    indicator_values: pd.DataFrame, catalog: IndicatorCatalog, methodology: MaturityMethodology
) -> pd.DataFrame:
    """Scores for every city × period in `indicator_values` at all four levels."""
    methodology.check_catalog(catalog)
    out: list[dict] = []
    by_code = {i.code: i for i in catalog.indicators}
    for (city, period), values in indicator_values.groupby(["city_code", "period"], sort=True):
        rows: list[dict] = []
        ind = values.set_index("indicator_code")
        for code, spec in by_code.items():
            value = ind["value"].get(code, np.nan)
            score = float(
                goalpost_score(
                    pd.Series([value], dtype="float64"), spec.goalposts.worst, spec.goalposts.best
                ).iloc[0]
            )
            rows.append(
                {
                    "level": "indicator",
                    "code": code,
                    "parent_code": spec.element,
                    "score": score,
                    "coverage": 1.0 if pd.notna(value) else 0.0,
                }
            )
        level_rows = pd.DataFrame(rows)
        # indicators -> elements
        for dim_code, dim in methodology.dimensions.items():
            for element in dim.elements:
                kids = level_rows[
                    (level_rows["level"] == "indicator") & (level_rows["parent_code"] == element)
                ]
                weights = {c: by_code[c].weight for c in kids["code"]}
                score, coverage, renorm = _aggregate(kids, weights, methodology.min_coverage)
                _set_weights(rows, "indicator", renorm)
                rows.append(
                    {
                        "level": "element",
                        "code": element,
                        "parent_code": dim_code,
                        "score": score,
                        "coverage": coverage,
                    }
                )
        level_rows = pd.DataFrame(rows)
        # elements -> dimensions
        for dim_code, dim in methodology.dimensions.items():
            kids = level_rows[(level_rows["level"] == "element") & (level_rows["parent_code"] == dim_code)]
            score, coverage, renorm = _aggregate(kids, dict(dim.elements), methodology.min_coverage)
            _set_weights(rows, "element", renorm)
            rows.append(
                {
                    "level": "dimension",
                    "code": dim_code,
                    "parent_code": INDEX_CODE,
                    "score": score,
                    "coverage": coverage,
                }
            )
        level_rows = pd.DataFrame(rows)
        kids = level_rows[level_rows["level"] == "dimension"]
        dim_weights = {d: dim.weight for d, dim in methodology.dimensions.items()}
        score, coverage, renorm = _aggregate(kids, dim_weights, methodology.min_coverage)
        _set_weights(rows, "dimension", renorm)
        rows.append(
            {
                "level": "index",
                "code": INDEX_CODE,
                "parent_code": None,
                "score": score,
                "coverage": coverage,
                "weight": 1.0,
            }
        )
        for r in rows:
            r.update(
                city_code=city,
                period=period,
                methodology=methodology.name,
                methodology_version=methodology.version,
            )
            r["maturity_level"] = (
                methodology.level_of(r["score"]) if r["level"] in ("dimension", "index") else None
            )
        out.extend(rows)
    frame = pd.DataFrame(out, columns=list(SCORE_COLUMNS))
    return frame.astype(SCORE_COLUMNS)


def _set_weights(rows: list[dict], level: str, renorm: dict[str, float]) -> None:
    for r in rows:
        if r["level"] == level and r["code"] in renorm:
            r["weight"] = renorm[r["code"]]
