"""Where a score came from: index → dimensions → elements → indicators (value, normalisation, weight) → the
staged rows counted → the raw files (sha256), read from the evaluator views `v_lineage_scores` and
`v_lineage_rows` — the same SQL an evaluator can run."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from kotacerdas.errors import KotacerdasError
from kotacerdas.report.views import by_city, in_clause, query


@dataclass(frozen=True)
class Explanation:
    city_code: str
    period: str
    scores: pd.DataFrame  # v_lineage_scores rows: index, dimension(s), elements, indicators
    files: pd.DataFrame  # per indicator × raw file: rows counted, rows in the numerator, sha256

    def children(self, code: str) -> pd.DataFrame:
        return self.scores[self.scores["parent_code"] == code].sort_values(["level", "code"])


def read_lineage(conn: sa.Connection, cities: list[str], period: str) -> dict[str, Explanation]:
    """Every city's lineage of `period` in two queries (a query costs milliseconds whatever its rows); a city
    without published scores gets empty frames (`require_scores` says so)."""
    params: dict = {"period": period}
    where = "period = :period" + in_clause("city_code", cities, params, "c")
    scores = query(conn, f"SELECT * FROM v_lineage_scores WHERE {where} ORDER BY city_code, level, code", params)
    files = query(
        conn,
        f"""
        SELECT city_code, indicator_code, table_name, raw_file, raw_sha256, COUNT(*) AS rows_counted,
               SUM(CASE WHEN in_numerator THEN 1 WHEN NOT in_numerator THEN 0 END) AS rows_in_numerator
        FROM v_lineage_rows WHERE {where}
        GROUP BY city_code, indicator_code, table_name, raw_file, raw_sha256
        ORDER BY city_code, indicator_code, raw_file""",
        params,
    )
    scores_of, files_of = by_city(scores, cities), by_city(files, cities)
    return {
        city: Explanation(city, period, scores_of[city], files_of[city].drop(columns="city_code")) for city in cities
    }


def require_scores(explanation: Explanation) -> Explanation:
    """The explanation, or the error a user sees when the partition has nothing published."""
    if explanation.scores.empty:
        raise KotacerdasError(
            f"no scores for {explanation.city_code} {explanation.period} in the warehouse",
            hint="run the pipeline for that partition first (kotacerdas run / demo)",
        )
    return explanation


def explain(engine: sa.Engine, city_code: str, period: str, dimension: str | None = None) -> Explanation:
    with engine.connect() as conn:
        explanation = require_scores(read_lineage(conn, [city_code], period)[city_code])
    scores, files = explanation.scores, explanation.files
    if dimension is not None:
        known = sorted(scores.loc[scores["level"] == "dimension", "code"])
        if dimension not in known:
            raise KotacerdasError(
                f"no dimension {dimension!r} for {city_code} {period}", hint=f"one of: {', '.join(known)}"
            )
        keep = (scores["level"] == "index") | (scores["dimension_code"] == dimension)
        scores = scores[keep]
        files = files[files["indicator_code"].isin(scores["code"])]
    return Explanation(city_code, period, scores.reset_index(drop=True), files.reset_index(drop=True))
