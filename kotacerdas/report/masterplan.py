"""Read the masterplan's published status back from the evaluator views (v_masterplan_*): the short summary per
city × month, a city's programmes, and the OPD reports behind a programme's status (explain)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from kotacerdas.report.views import in_clause, query


def read_masterplan_summary(engine: sa.Engine, cities: list[str] | None, months: list[str] | None) -> pd.DataFrame:
    """One row per city × month (the city roll-up): programmes per status, quick wins delivered of due."""
    params: dict = {}
    sql = "SELECT * FROM v_masterplan_rollups WHERE level = 'city'"
    sql += in_clause("city_code", cities, params, "c") + in_clause("period", months, params, "p")
    with engine.connect() as conn:
        return query(conn, sql + " ORDER BY city_code, period", params)


def read_programmes(engine: sa.Engine, city: str, period: str) -> pd.DataFrame:
    with engine.connect() as conn:
        return query(
            conn,
            "SELECT * FROM v_masterplan_status WHERE city_code = :c AND period = :p ORDER BY dimension, programme_code",
            {"c": city, "p": period},
        )


def read_readiness(engine: sa.Engine, city: str, period: str) -> pd.DataFrame:
    """The evaluation readiness per Kominfo component, the official score beside it when published."""
    with engine.connect() as conn:
        return query(
            conn,
            "SELECT * FROM v_masterplan_readiness WHERE city_code = :c AND period = :p "
            "ORDER BY component_type DESC, component",
            {"c": city, "p": period},
        )


@dataclass
class ProgrammeExplanation:
    status: pd.Series  # the programme's row of v_masterplan_status
    indicators: pd.DataFrame  # v_masterplan_indicators
    reports: pd.DataFrame  # the OPD's staged report rows (v_masterplan_reports), with their raw file
    timeliness: pd.DataFrame  # the OPD's delivery of masterplan_progress that month (v_opd_quality)


def explain_programme(engine: sa.Engine, city: str, period: str, programme: str) -> ProgrammeExplanation:
    """A programme's status down to the OPD report rows and raw files behind it, and when the OPD delivered."""
    from kotacerdas.errors import KotacerdasError

    params = {"c": city, "p": period, "g": programme}
    where = "city_code = :c AND period = :p AND programme_code = :g"
    with engine.connect() as conn:
        status = query(conn, f"SELECT * FROM v_masterplan_status WHERE {where}", params)
        if status.empty:
            raise KotacerdasError(
                f"no published status for programme {programme} of {city} in {period}",
                hint="check the codes (kotacerdas masterplan status) or run the pipeline for that month",
            )
        row = status.iloc[0]
        indicators = query(conn, f"SELECT * FROM v_masterplan_indicators WHERE {where}", params)
        reports = query(conn, f"SELECT * FROM v_masterplan_reports WHERE {where} ORDER BY _raw_file, _raw_row", params)
        timeliness = query(
            conn,
            "SELECT * FROM v_opd_quality WHERE city_code = :c AND period = :p AND opd_code = :o "
            "AND table_name = 'masterplan_progress'",
            {"c": city, "p": period, "o": row["opd_code"]},
        )
    return ProgrammeExplanation(row, indicators, reports, timeliness)
