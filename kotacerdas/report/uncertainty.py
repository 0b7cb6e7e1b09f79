"""The uncertainty band of the index and the rank, by the index engine's Monte Carlo (`kotacerdas.index`) over every
city of a period: each run varies every weight (indicators, elements, dimensions) by ±`noise`, re-aggregates the
published normalised indicator scores and ranks the cities again."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from kotacerdas.index import WeightNoise, build_index, uncertainty_analysis

INDEX = "INDEX"
LEVELS = {"indicator": 1, "element": 2, "dimension": 3, "index": 4}


@dataclass(frozen=True)
class Uncertainty:
    runs: int
    noise: float
    seed: int
    bands: pd.DataFrame  # per city_code: nominal_score, score_q05, score_q95, nominal_rank, rank_q05, rank_q95


def index_uncertainty(
    indicator_scores: pd.DataFrame,
    tree: pd.DataFrame,
    *,
    min_coverage: float | None = None,
    runs: int = 500,
    noise: float = 0.25,
    seed: int = 0,
) -> Uncertainty | None:
    """`indicator_scores`: city_code, code, score (0–100, already normalised and oriented); `tree`: level, code,
    parent_code, weight for every indicator, element, dimension and the index. None when no city has a score."""
    scored = indicator_scores.dropna(subset=["score"])
    if scored.empty:
        return None
    # each run's random draws go to the weights in the tree's row order: a canonical order keeps the band the
    # same however the warehouse returned the rows (DuckDB's DISTINCT and parallel scans return them in any order)
    tree = tree.assign(_level=tree["level"].map(LEVELS)).sort_values(["_level", "code"], kind="stable")
    tree = tree.drop(columns="_level").reset_index(drop=True)
    idata = scored.pivot_table(index="city_code", columns="code", values="score", aggfunc="first")
    idata = idata.rename_axis(columns=None).reset_index().rename(columns={"city_code": "uCode"})
    indicators = [c for c in idata.columns if c != "uCode"]
    nodes = tree[(tree["level"] != "indicator") | tree["code"].isin(indicators)]
    imeta = pd.DataFrame(
        {
            "iCode": nodes["code"].astype(str),
            "Level": nodes["level"].map(LEVELS).astype(int),
            "Parent": nodes["parent_code"].where(nodes["level"] != "index"),
            "Type": ["Indicator" if lv == "indicator" else "Aggregate" for lv in nodes["level"]],
            "Direction": 1,  # the scores are normalised with their direction already
            "Weight": nodes["weight"].astype(float),
        }
    )
    # an element or dimension none of whose children is present has nothing to aggregate
    imeta = _prune(imeta)
    method = {
        "version": "scorecard-uncertainty",
        "denominate": None,
        "impute": None,
        "treat": None,
        "normalise": {"method": "none"},
        "aggregate": {"method": "arith_mean", "dat_thresh": min_coverage},
    }
    build = build_index(idata, imeta, method)
    result = uncertainty_analysis(build, [WeightNoise(noise=noise)], runs=runs, seed=seed, target=INDEX)
    s = result.summary
    bands = pd.DataFrame(
        {
            "city_code": s.index.astype(str),
            "nominal_score": s["nominal_score"].to_numpy(),
            "score_q05": s["score_q05"].to_numpy(),
            "score_q95": s["score_q95"].to_numpy(),
            "nominal_rank": s["nominal_rank"].to_numpy(),
            "rank_q05": s["rank_q05"].to_numpy(),
            "rank_q95": s["rank_q95"].to_numpy(),
        }
    )
    return Uncertainty(runs=runs, noise=noise, seed=seed, bands=bands.reset_index(drop=True))


def _prune(imeta: pd.DataFrame) -> pd.DataFrame:
    while True:
        parents = set(imeta["Parent"].dropna())
        empty = imeta[(imeta["Type"] == "Aggregate") & (imeta["Level"] > 1) & ~imeta["iCode"].isin(parents)]
        if empty.empty:
            return imeta.reset_index(drop=True)
        imeta = imeta[~imeta["iCode"].isin(empty["iCode"])]
