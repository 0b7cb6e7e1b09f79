"""The smart-city maturity index: indicator → element → dimension → index, with a maturity level 1–5.

The method (goalposts, weights, coverage rule, level bands) is read from a versioned methodology file in
`config/methodologies/`; every score row carries that version. The maths (goalposts normalisation, weighted
means with renormalised weights) is the composite engine's in `kotacerdas/index/`, not a copy of it.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from kotacerdas.config.files import load_yaml_model
from kotacerdas.errors import ConfigError
from kotacerdas.index.aggregate import aggregate
from kotacerdas.index.errors import IndexMethodError
from kotacerdas.index.normalise import normalise, normalise_column
from kotacerdas.index.weights import renormalise
from kotacerdas.indicators.catalog import IndicatorCatalog
from kotacerdas.schemas import INDEX_SCORE_COLUMNS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Label(_Strict):
    """A name for people: Bahasa Indonesia first, English second (scorecards, exports)."""

    name_id: str = Field(min_length=1)
    name_en: str = Field(min_length=1)


class Dimension(_Strict):
    name: str
    name_id: str | None = Field(default=None, min_length=1)
    name_en: str | None = Field(default=None, min_length=1)
    weight: float = Field(gt=0)
    elements: dict[str, float] = Field(min_length=1)
    element_names: dict[str, Label] = {}

    @model_validator(mode="after")
    def _positive(self) -> Dimension:
        bad = {k: w for k, w in self.elements.items() if not w > 0}
        if bad:
            raise ValueError(f"element weights must be > 0: {bad}")
        return self

    @model_validator(mode="after")
    def _names_of_known_elements(self) -> Dimension:
        unknown = sorted(set(self.element_names) - set(self.elements))
        if unknown:
            raise ValueError(f"element_names names element(s) {unknown} that are not in `elements`")
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
    # COINr's dat_thresh: a dimension or the index whose present indicators carry less than this share of the
    # indicator weight under it is not scored at all (0: no such rule, as before it existed)
    min_data_coverage: float = Field(default=0.0, ge=0, le=1)
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
            f"{i.code} ({i.dimension}/{i.element})" for i in catalog.indicators if parents.get(i.element) != i.dimension
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


INDEX_CODE = "INDEX"
_UNIT = ["city_code", "period"]


def _engine_goalposts(worst: float, best: float) -> tuple[float, tuple[float, float]]:
    """Our (worst, best) as the engine's direction and (lower, upper) goalposts."""
    return (1.0 if best > worst else -1.0), (min(worst, best), max(worst, best))


def goalpost_score(value: pd.Series, worst: float, best: float) -> pd.Series:
    """0 at `worst`, 100 at `best`, linear between and clipped; works for either direction.

    The maths is the engine's goalposts normalisation (`kotacerdas.index.normalise_column`).
    """
    direction, posts = _engine_goalposts(worst, best)
    return normalise_column(
        value.astype("float64") * direction, "goalposts", goalposts=posts, direction=direction, scale=100.0
    )


@dataclass(frozen=True)
class _Node:
    """One node of the tree as the engine sees it: its column in the wide table and its parent's."""

    level: str
    code: str
    parent_level: str | None
    parent_code: str | None
    weight: float

    @property
    def column(self) -> str:
        return f"{self.level}:{self.code}"

    @property
    def parent_column(self) -> str | None:
        return None if self.parent_level is None else f"{self.parent_level}:{self.parent_code}"


def _tree(catalog: IndicatorCatalog, methodology: MaturityMethodology) -> list[_Node]:
    """Every node, in output order: indicators (catalog order), elements, dimensions, the index."""
    nodes = [_Node("indicator", i.code, "element", i.element, i.weight) for i in catalog.indicators]
    for dim_code, dim in methodology.dimensions.items():
        nodes += [_Node("element", e, "dimension", dim_code, w) for e, w in dim.elements.items()]
    nodes += [_Node("dimension", d, "index", INDEX_CODE, dim.weight) for d, dim in methodology.dimensions.items()]
    nodes.append(_Node("index", INDEX_CODE, None, None, 1.0))
    return nodes


def _indicator_table(indicator_values: pd.DataFrame, catalog: IndicatorCatalog) -> pd.DataFrame:
    """Units (city × period) × indicator values, one column per catalog indicator (NaN where absent)."""
    dupes = indicator_values.duplicated(subset=[*_UNIT, "indicator_code"], keep=False)
    if dupes.any():
        first = indicator_values[dupes].iloc[0]
        raise IndexMethodError(
            f"indicator_values has {int(dupes.sum())} rows sharing a city/period/indicator key, e.g. "
            f"{first['city_code']} {first['period']} {first['indicator_code']}",
            hint="give one value per city, period and indicator (compute_indicators does)",
        )
    wide = indicator_values.pivot(index=_UNIT, columns="indicator_code", values="value")
    return wide.reindex(columns=[i.code for i in catalog.indicators]).astype("float64").sort_index()


def score_maturity(
    indicator_values: pd.DataFrame, catalog: IndicatorCatalog, methodology: MaturityMethodology
) -> pd.DataFrame:
    """Scores for every city × period in `indicator_values` at all four levels.

    The maths is the composite engine's: goalposts normalisation, then weighted arithmetic means per level
    with missing children skipped and weights renormalised (`kotacerdas.index.aggregate`). The maturity
    rule on top: a parent is scored only when its present children carry `min_coverage` of its weight.
    """
    methodology.check_catalog(catalog)
    if indicator_values.empty:
        return pd.DataFrame(columns=list(INDEX_SCORE_COLUMNS)).astype(INDEX_SCORE_COLUMNS)
    nodes = _tree(catalog, methodology)
    values = _indicator_table(indicator_values, catalog)
    units = values.index

    engine_posts = {i.code: _engine_goalposts(i.goalposts.worst, i.goalposts.best) for i in catalog.indicators}
    normalised = normalise(
        values,
        {c: d for c, (d, _) in engine_posts.items()},
        "goalposts",
        goalposts={c: posts for c, (_, posts) in engine_posts.items()},
        scale=100.0,
    )

    scores = pd.DataFrame({f"indicator:{c}": normalised[c] for c in values.columns}, index=units)
    coverage = pd.DataFrame(
        {f"indicator:{c}": values[c].notna().astype("float64") for c in values.columns}, index=units
    )
    data_coverage = coverage.copy()
    weights = {n.column: n.weight for n in nodes}
    for parent_level in ("element", "dimension", "index"):
        parents = [n for n in nodes if n.level == parent_level]
        kids = {p.column: [n.column for n in nodes if n.parent_column == p.column] for p in parents}
        childless = [p for p, k in kids.items() if not k]
        kids = {p: k for p, k in kids.items() if k}
        # coverage by weight = the engine's weighted mean of "child present" (1/0), which has no gaps
        present = scores.notna().astype("float64")
        cov = aggregate(present, kids, weights)[list(kids)]
        agg = aggregate(scores, kids, weights)[list(kids)]
        # share of the configured indicator weight present under each parent (missing indicators count as 0; a
        # node the catalog has no indicator for yet is no data gap: NaN, skipped like a missing child)
        data_cov = aggregate(data_coverage, kids, weights)[list(kids)]
        agg = agg.where((cov >= methodology.min_coverage) & (cov > 0))
        if parent_level != "element":  # what is published as a figure: dimensions and the index
            agg = agg.where(data_cov >= methodology.min_data_coverage)
        for p in childless:
            agg[p], cov[p], data_cov[p] = np.nan, 0.0, np.nan
        scores = scores.join(agg)
        coverage = coverage.join(cov)
        data_coverage = data_coverage.join(data_cov)

    out = _long(nodes, scores, coverage, _renormalised_weights(nodes, scores))
    out["data_coverage"] = data_coverage[[n.column for n in nodes]].to_numpy(dtype="float64").ravel()
    out["maturity_level"] = [
        methodology.level_of(s) if lvl in ("dimension", "index") else None
        for lvl, s in zip(out["level"], out["score"], strict=True)
    ]
    out["methodology"] = methodology.name
    out["methodology_version"] = methodology.version
    return out[list(INDEX_SCORE_COLUMNS)].astype(INDEX_SCORE_COLUMNS).reset_index(drop=True)


K = TypeVar("K", bound=Hashable)


def score_maturity_each(
    values_by_key: Mapping[K, pd.DataFrame], catalog: IndicatorCatalog, methodology: MaturityMethodology
) -> dict[K, pd.DataFrame]:
    """`score_maturity` of each frame (one partition's indicator values each), from ONE call over all of them.

    A unit's scores depend on its own values only, and `score_maturity` costs ~0.2 s whatever the number of units
    (a pivot, a normalisation per indicator, three aggregations): once per city it was 100 s of a national month
    (#15). Each key gets exactly the frame that `score_maturity` gives its frame alone (tests/test_maturity.py).
    """
    frames = {k: v for k, v in values_by_key.items() if not v.empty}
    scores = score_maturity(
        pd.concat(list(frames.values()), ignore_index=True) if frames else pd.DataFrame(), catalog, methodology
    )
    rows_of = scores.groupby(_UNIT, sort=False).indices  # unit -> its rows, in the tree's order
    out = {}
    for key, values in values_by_key.items():
        units = sorted(set(zip(values["city_code"], values["period"], strict=True))) if len(values) else []
        rows = [rows_of[u] for u in units if u in rows_of]
        out[key] = scores.iloc[np.concatenate(rows) if rows else []].reset_index(drop=True)
    return out


def _renormalised_weights(nodes: list[_Node], scores: pd.DataFrame) -> pd.DataFrame:
    """Each node's weight within its parent over the siblings present (the engine's `renormalise`).

    Missing where the node has no score or its parent has none, as only scored parents use their children.
    """
    child_nodes = [n for n in nodes if n.parent_column is not None]
    columns = [n.column for n in child_nodes]
    parent_of = {n.column: n.parent_column for n in child_nodes}
    parent_scored = pd.DataFrame({c: scores[parent_of[c]].notna() for c in columns}, index=scores.index)
    used = scores[columns].notna() & parent_scored
    positions = pd.RangeIndex(len(scores), name="unit")
    raw = (
        pd.DataFrame({n.column: n.weight for n in child_nodes}, index=positions)
        .where(used.set_axis(positions))
        .stack()
        .dropna()
    )
    # siblings are the children of one parent in one unit, so the parent is keyed by unit too
    parent_id = {p: i for i, p in enumerate(dict.fromkeys(parent_of.values()))}
    child_parent = {c: parent_id[p] for c, p in parent_of.items()}
    unit = raw.index.get_level_values(0).to_numpy()
    kid = raw.index.get_level_values(1).map(child_parent).to_numpy()
    parent = pd.Series(unit * len(parent_id) + kid, index=raw.index)
    out = pd.DataFrame(np.nan, index=positions, columns=columns)
    if len(raw):
        out = renormalise(raw, parent).unstack().reindex(index=positions, columns=columns)
    out = out.set_axis(scores.index)
    out["index:" + INDEX_CODE] = 1.0
    return out


def _long(nodes: list[_Node], scores: pd.DataFrame, coverage: pd.DataFrame, weights: pd.DataFrame) -> pd.DataFrame:
    """One row per unit × node, units in sorted order and nodes in tree order."""
    columns = [n.column for n in nodes]
    n_units, n_nodes = len(scores), len(nodes)
    return pd.DataFrame(
        {
            "city_code": np.repeat(scores.index.get_level_values("city_code").to_numpy(), n_nodes),
            "period": np.repeat(scores.index.get_level_values("period").to_numpy(), n_nodes),
            "level": np.tile(np.array([n.level for n in nodes], dtype=object), n_units),
            "code": np.tile(np.array([n.code for n in nodes], dtype=object), n_units),
            "parent_code": np.tile(np.array([n.parent_code for n in nodes], dtype=object), n_units),
            "score": scores[columns].to_numpy(dtype="float64").ravel(),
            "weight": weights[columns].to_numpy(dtype="float64").ravel(),
            "coverage": coverage[columns].to_numpy(dtype="float64").ravel(),
        }
    )
