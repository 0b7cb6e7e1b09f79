"""Read the evaluator views, and nothing else: what the scorecards, exports and the CLI's read commands show is
what an evaluator's login may read (no tables, no migrations table)."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from kotacerdas.errors import KotacerdasError
from kotacerdas.warehouse.engine import display_url

INCOMPLETE_STATUSES = frozenset({"incomplete"})


def is_complete(status: object) -> bool:
    """The one rule for "may this period's score be shown as a baseline of a change?". A published score may carry
    a `status` (partitions published with missing inputs are `incomplete`); without one, it is complete."""
    if status is None or (isinstance(status, float) and pd.isna(status)) or status is pd.NA:
        return True
    return str(status) not in INCOMPLETE_STATUSES


def query(conn: sa.Connection, sql: str, params: dict | None = None) -> pd.DataFrame:
    """Rows of `sql` (over the views) as a DataFrame; the warehouse's own errors become ones a user can act on."""
    try:
        result = conn.execute(sa.text(sql), params or {})
    except sa.exc.DBAPIError as exc:
        raise _view_error(conn, exc) from exc
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _view_error(conn: sa.Connection, exc: sa.exc.DBAPIError) -> KotacerdasError:
    where = display_url(conn.engine.url)
    text = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
    lowered = text.lower()
    if "permission denied" in lowered or "insufficientprivilege" in type(exc.orig).__name__.lower():
        return KotacerdasError(
            f"the warehouse login at {where} may not read a view this command needs: {text}",
            hint="ask the warehouse administrator for `kotacerdas warehouse grant-evaluator NAME` on this login",
        )
    if "does not exist" in lowered or "not found" in lowered or "no such table" in lowered:
        return KotacerdasError(
            f"the warehouse at {where} lacks an evaluator view: {text}",
            hint="run the pipeline once, or `kotacerdas warehouse upgrade` (as the warehouse owner)",
        )
    return KotacerdasError(f"reading the warehouse at {where} failed: {text}", hint="check the warehouse URL")


def has_column(conn: sa.Connection, view: str, column: str) -> bool:
    """Whether a view has a column (e.g. `status`, added by a later migration), without needing table rights."""
    frame = query(conn, f"SELECT * FROM {view} WHERE 1 = 0")
    return column in frame.columns


def latest_period(engine: sa.Engine, view: str, cities: list[str] | None, *, months_only: bool = False) -> str | None:
    """The latest period in `view` for any of `cities` (any city when None), only months (YYYY-MM) with
    `months_only`; None when the view has none."""
    params: dict = {}
    sql = f"SELECT MAX(period) AS period FROM {view} WHERE " + ("period LIKE '____-__'" if months_only else "1 = 1")
    sql += in_clause("city_code", cities, params, "c")
    with engine.connect() as conn:
        latest = query(conn, sql, params)["period"].iloc[0]
    return None if pd.isna(latest) else str(latest)


def in_clause(column: str, values: list[str] | None, params: dict, prefix: str) -> str:
    """` AND column IN (:prefix0, …)` with the values bound into `params`; empty when `values` is empty."""
    if not values:
        return ""
    names = {f"{prefix}{n}": v for n, v in enumerate(values)}
    params.update(names)
    return f" AND {column} IN ({', '.join(':' + n for n in names)})"


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts with every missing value None (never NaN, which a template treats as true): a column's type,
    and so its missing marker, depends on all the rows read with it (`by_city` splits a read of many cities)."""
    # row by row in Python: the frames are small (a city's rows), where pandas' astype/where/to_dict cost 7x as much
    columns = list(frame.columns)
    gaps = frame.isna().to_numpy().tolist()
    return [
        {column: None if gap else value for column, value, gap in zip(columns, row, row_gaps, strict=True)}
        for row, row_gaps in zip(frame.to_numpy(dtype=object).tolist(), gaps, strict=True)
    ]


def by_city(frame: pd.DataFrame, cities: list[str]) -> dict[str, pd.DataFrame]:
    """`frame` (with a city_code column) split by city, each in the frame's order; a city without rows gets an empty
    frame with the same columns. Readers query many cities at once and split (a query costs milliseconds whatever
    its rows)."""
    groups = {city: rows.reset_index(drop=True) for city, rows in frame.groupby("city_code", sort=False)}
    empty = frame.iloc[0:0].reset_index(drop=True)
    return {city: groups.get(city, empty) for city in cities}


def month_offset(period: str, months: int) -> str:
    """'2025-03' moved by `months` (negative: back)."""
    return str(pd.Period(period, "M") + months)
