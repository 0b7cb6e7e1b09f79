"""Results: scores and ranks (descending, ties take the minimum rank), overall and within groups."""

from __future__ import annotations

import pandas as pd


def rank_scores(scores: pd.DataFrame, round_to: int | None = None) -> pd.DataFrame:
    """Rank every column, highest score = 1, ties share the minimum rank, missing stays missing.

    COINr 1.x ranks the unrounded scores (`round_to=None`, the default). With `round_to`, scores are rounded
    first, as COINr 0.x's results tables did (2 decimals, so scores equal to 2 dp tie).
    """
    s = scores.round(round_to) if round_to is not None else scores
    return s.rank(ascending=False, method="min", na_option="keep").astype("Int64")


def group_ranks(scores: pd.DataFrame, groups: pd.Series, round_to: int | None = None) -> pd.DataFrame:
    """Ranks within each group (units with no group label get no rank)."""
    s = scores.round(round_to) if round_to is not None else scores
    g = groups.reindex(s.index)
    ranked = s.groupby(g).rank(ascending=False, method="min", na_option="keep")
    return ranked.reindex(s.index).astype("Int64")


def results_table(
    scores: pd.DataFrame, units: pd.DataFrame, order_by: str, round_to: int | None = None
) -> pd.DataFrame:
    """Unit info, rank on `order_by` and all aggregate scores, sorted best first."""
    ranks = rank_scores(scores[[order_by]], round_to)[order_by]
    table = units.join(pd.DataFrame({"Rank": ranks})).join(scores)
    return table.sort_values(["Rank"], kind="stable", na_position="last")
