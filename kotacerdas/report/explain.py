"""Where a score came from: index → dimensions → elements → indicators (value, normalisation, weight) → the
staged rows counted → the raw files (sha256), read from the evaluator views `v_lineage_scores` and
`v_lineage_rows` — the same SQL an evaluator can run."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from kotacerdas.errors import KotacerdasError
from kotacerdas.report.views import query


@dataclass(frozen=True)
class Explanation:
    city_code: str
    period: str
    scores: pd.DataFrame  # v_lineage_scores rows: index, dimension(s), elements, indicators
    files: pd.DataFrame  # per indicator × raw file: rows counted, rows in the numerator, sha256

    def children(self, code: str) -> pd.DataFrame:
        return self.scores[self.scores["parent_code"] == code].sort_values(["level", "code"])


def _frame(conn: sa.Connection, sql: str, params: dict) -> pd.DataFrame:
    return query(conn, sql, params)


def explain(engine: sa.Engine, city_code: str, period: str, dimension: str | None = None) -> Explanation:
    params = {"city": city_code, "period": period}
    with engine.connect() as conn:
        scores = _frame(conn, "SELECT * FROM v_lineage_scores WHERE city_code = :city AND period = :period", params)
        files = _frame(
            conn,
            """
            SELECT indicator_code, table_name, raw_file, raw_sha256, COUNT(*) AS rows_counted,
                   SUM(CASE WHEN in_numerator THEN 1 WHEN NOT in_numerator THEN 0 END) AS rows_in_numerator
            FROM v_lineage_rows WHERE city_code = :city AND period = :period
            GROUP BY indicator_code, table_name, raw_file, raw_sha256
            ORDER BY indicator_code, raw_file""",
            params,
        )
    if scores.empty:
        raise KotacerdasError(
            f"no scores for {city_code} {period} in the warehouse",
            hint="run the pipeline for that partition first (kotacerdas run / demo)",
        )
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
