"""Read the published maturity scores back as a city × month scorecard (one row each), from the evaluator view
`v_scorecard` (an evaluator's login can run it)."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from kotacerdas.report.views import query


def _in(column: str, values: list[str] | None, params: dict, prefix: str) -> str:
    if not values:
        return ""
    names = {f"{prefix}{n}": v for n, v in enumerate(values)}
    params.update(names)
    return f" AND {column} IN ({', '.join(':' + n for n in names)})"


def read_scorecard(
    engine: sa.Engine, cities: list[str] | None = None, periods: list[str] | None = None
) -> pd.DataFrame:
    """Columns: city_code, period, one per dimension, index, maturity_level, methodology_version."""
    params: dict = {}
    where = _in("city_code", cities, params, "c") + _in("period", periods, params, "p")
    with engine.connect() as conn:
        long = query(
            conn,
            "SELECT city_code, period, level, code, score, maturity_level, methodology_version FROM v_scorecard "
            f"WHERE level IN ('dimension', 'index'){where}",
            params,
        )
    if long.empty:
        return long
    wide = long.pivot_table(
        index=["city_code", "period"], columns="code", values="score", aggfunc="first", dropna=False
    )
    meta = long[long["level"] == "index"].set_index(["city_code", "period"])[["maturity_level", "methodology_version"]]
    wide = wide.rename(columns={"INDEX": "index"}).join(meta)
    return wide.reset_index().sort_values(["city_code", "period"], ignore_index=True)
