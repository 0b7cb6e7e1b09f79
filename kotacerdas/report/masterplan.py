"""Read the masterplan's published status back from the evaluator views (v_masterplan_*): the short summary per
city × month, a city's programmes, what a scorecard's masterplan section shows, and the OPD reports behind a
programme's status (explain)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from kotacerdas.report.views import by_city, in_clause, latest_period, query


def read_masterplan_summary(engine: sa.Engine, cities: list[str] | None, months: list[str] | None) -> pd.DataFrame:
    """One row per city × month (the city roll-up): programmes per status, quick wins delivered of due."""
    params: dict = {}
    sql = "SELECT * FROM v_masterplan_rollups WHERE level = 'city'"
    sql += in_clause("city_code", cities, params, "c") + in_clause("period", months, params, "p")
    with engine.connect() as conn:
        return query(conn, sql + " ORDER BY city_code, period", params)


def latest_masterplan_period(engine: sa.Engine, cities: list[str] | None) -> str | None:
    """The latest month with a published masterplan status for any of `cities` (any city when None); None if none."""
    return latest_period(engine, "v_masterplan_status", cities)


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


@dataclass(frozen=True)
class MasterplanSection:
    """What the scorecard of a city × month shows of its masterplan."""

    version: str  # the masterplan version in force that month
    city: pd.Series  # the city roll-up (v_masterplan_rollups, level city)
    dimensions: pd.DataFrame  # the roll-up per dimension
    unserved: list[str]  # RPJMD targets no programme serves
    readiness: pd.DataFrame  # v_masterplan_readiness: parts, then the index


def read_masterplan_sections(
    conn: sa.Connection, cities: list[str], period: str
) -> dict[str, MasterplanSection | None]:
    """The masterplan section of each city's scorecard (four queries for all of them); None for a city with no
    masterplan version in force that month (nothing published)."""
    params: dict = {"p": period}
    where = "period = :p" + in_clause("city_code", cities, params, "c")
    rollups = query(
        conn, f"SELECT * FROM v_masterplan_rollups WHERE {where} AND level IN ('city', 'dimension')", params
    )
    versions = query(
        conn, f"SELECT DISTINCT city_code, masterplan_version FROM v_masterplan_status WHERE {where}", params
    )
    unserved = query(
        conn,
        f"SELECT city_code, rpjmd_code FROM v_masterplan_alignment WHERE {where} AND NOT served ORDER BY rpjmd_code",
        params,
    )
    readiness = query(
        conn,
        f"SELECT * FROM v_masterplan_readiness WHERE {where} ORDER BY city_code, component_type DESC, component",
        params,
    )
    rollups_of, versions_of = by_city(rollups, cities), by_city(versions, cities)
    unserved_of, readiness_of = by_city(unserved, cities), by_city(readiness, cities)
    sections: dict[str, MasterplanSection | None] = {}
    for city in cities:
        mine = rollups_of[city]
        whole = mine[mine["level"] == "city"]
        sections[city] = (
            None
            if whole.empty
            else MasterplanSection(
                version=", ".join(sorted(str(v) for v in versions_of[city]["masterplan_version"].dropna())) or "—",
                city=whole.iloc[0],
                dimensions=mine[mine["level"] == "dimension"].reset_index(drop=True),
                unserved=[str(c) for c in unserved_of[city]["rpjmd_code"]],
                readiness=readiness_of[city],
            )
        )
    return sections


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
