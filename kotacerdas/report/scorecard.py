"""Read the published maturity scores back as a city × month scorecard (one row each), from the evaluator view
`v_scorecard` (an evaluator's login can run it)."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from kotacerdas.report.views import in_clause, query


def read_scorecard(
    engine: sa.Engine, cities: list[str] | None = None, periods: list[str] | None = None
) -> pd.DataFrame:
    """Columns: city_code, period, one per dimension, index, maturity_level, methodology_version, status, run_id and
    published_at (of the run that published the index)."""
    params: dict = {}
    where = in_clause("city_code", cities, params, "c") + in_clause("period", periods, params, "p")
    with engine.connect() as conn:
        long = query(
            conn,
            "SELECT city_code, period, level, code, score, maturity_level, methodology_version, status, run_id, "
            "published_at "
            "FROM v_scorecard "
            f"WHERE level IN ('dimension', 'index'){where}",
            params,
        )
    if long.empty:
        return long
    wide = long.pivot_table(
        index=["city_code", "period"], columns="code", values="score", aggfunc="first", dropna=False
    )
    meta = long[long["level"] == "index"].set_index(["city_code", "period"])[
        ["maturity_level", "methodology_version", "status", "run_id", "published_at"]
    ]
    wide = wide.rename(columns={"INDEX": "index"}).join(meta)
    return wide.reset_index().sort_values(["city_code", "period"], ignore_index=True)
