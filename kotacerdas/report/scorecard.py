"""Read the published maturity scores back as a city × month scorecard (one row each)."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from kotacerdas.warehouse.schema import TABLES


def read_scorecard(
    engine: sa.Engine, cities: list[str] | None = None, periods: list[str] | None = None
) -> pd.DataFrame:
    """Columns: city_code, period, one per dimension, index, maturity_level, methodology_version."""
    t = TABLES["index_scores"]
    query = sa.select(
        t.c.city_code, t.c.period, t.c.level, t.c.code, t.c.score, t.c.maturity_level, t.c.methodology_version
    ).where(t.c.level.in_(["dimension", "index"]))
    if cities:
        query = query.where(t.c.city_code.in_(cities))
    if periods:
        query = query.where(t.c.period.in_(periods))
    with engine.connect() as conn:
        long = pd.DataFrame(conn.execute(query).mappings().all())
    if long.empty:
        return long
    wide = long.pivot_table(
        index=["city_code", "period"], columns="code", values="score", aggfunc="first", dropna=False
    )
    meta = long[long["level"] == "index"].set_index(["city_code", "period"])[["maturity_level", "methodology_version"]]
    wide = wide.rename(columns={"INDEX": "index"}).join(meta)
    return wide.reset_index().sort_values(["city_code", "period"], ignore_index=True)
