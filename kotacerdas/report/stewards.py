"""What an OPD's data steward asks of a month: was my data accepted, which rows were rejected and why, and was it
late? Read from the views: the gates and deliveries from evaluator views (`v_quality`, `v_opd_quality`), the
rejected rows from the steward view `v_quarantine`, which an evaluator's login may not read (they are then left
out, and said so); `kotacerdas quality` prints it."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from kotacerdas.errors import KotacerdasError
from kotacerdas.periods import cadence_of
from kotacerdas.quality.timeliness import reporting_rates, statuses_now
from kotacerdas.report.views import in_clause, latest_period, query


@dataclass(frozen=True)
class StewardView:
    """One period's quality for some cities (and OPDs): each table's gate, each OPD's delivery, the rejected rows."""

    gates: pd.DataFrame  # v_quality: a row per city × table
    deliveries: pd.DataFrame  # v_opd_quality: a row per city × OPD × table
    rejected: pd.DataFrame | None  # v_quarantine: a row per rejected row × rule; None: this login may not read it
    without_opd: int = 0  # with an OPD filter: the period's rejected rows that name no OPD (published before 0011)

    def rules(self) -> pd.DataFrame:
        """Rejected rows counted per city, table, rule and severity, with the OPDs concerned and the first row's
        value, reason and place in its raw file (the example a steward opens first); most rows first."""
        columns = [
            "city_code",
            "table_name",
            "rule",
            "severity",
            "rows",
            "opds",
            "value",
            "reason",
            "raw_file",
            "raw_row",
        ]
        if self.rejected is None or self.rejected.empty:
            return pd.DataFrame(columns=columns)
        key = ["city_code", "table_name", "rule", "severity"]
        ordered = self.rejected.sort_values([*key, "raw_file", "raw_row"], kind="stable")
        grouped = ordered.groupby(key, sort=False, dropna=False)
        # the first row whole (`first()` takes each column's first value present: a value from one row, a place
        # from another)
        out = grouped.head(1).set_index(key)[["value", "reason", "raw_file", "raw_row"]]
        out["rows"] = grouped.size()
        out["opds"] = grouped["opd_code"].agg(lambda s: ", ".join(sorted(set(s.dropna()))))
        out = out.reset_index()[columns]
        return out.sort_values(["city_code", "rows", "table_name", "rule"], ascending=[True, False, True, True])


def read_reporting_rates(
    engine: sa.Engine, cities: list[str] | None, months: list[str], opds: list[str] | None = None
) -> pd.DataFrame:
    """DHIS2's reporting rates per city × OPD over `months` (`kotacerdas.quality.timeliness.reporting_rates`: the
    datasets expected, received, on time, late, missing, and the rates in %), with the rows each OPD delivered and
    had rejected; worst on-time rate first. Empty when nothing was validated in those months."""
    params: dict = {}
    sql = "SELECT * FROM v_opd_quality WHERE 1 = 1" + in_clause("period", months, params, "m")
    sql += in_clause("city_code", cities, params, "c") + in_clause("opd_code", opds, params, "o")
    with engine.connect() as conn:
        deliveries = query(conn, sql, params)
    if deliveries.empty:
        return pd.DataFrame()
    by = ["city_code", "opd_code"]
    rates = reporting_rates(deliveries, by=by)
    rows = deliveries.groupby(by, dropna=False)[["rows_delivered", "rows_rejected"]].sum(min_count=1).reset_index()
    months_seen = deliveries.groupby(by, dropna=False)["period"].nunique().rename("months").reset_index()
    out = rates.merge(rows, on=by, how="left").merge(months_seen, on=by, how="left")
    return out.sort_values(["city_code", "reporting_rate_on_time", "opd_code"], kind="stable").reset_index(drop=True)


def check_period(period: str) -> str:
    if cadence_of(period) is None:
        raise KotacerdasError(
            f"bad period {period!r}: expected YYYY-MM, or YYYY for the yearly tables", hint="e.g. 2025-03 or 2025"
        )
    return period


def latest_quality_period(engine: sa.Engine, cities: list[str] | None) -> str | None:
    """The latest month validated for any of `cities` (any city when None); None when nothing was."""
    return latest_period(engine, "v_quality", cities, months_only=True)


def read_steward_view(
    engine: sa.Engine, cities: list[str] | None, period: str, opds: list[str] | None = None
) -> StewardView:
    """The quality of `period` (a month, or a year for the yearly tables) for `cities` (all when None); with
    `opds`, the deliveries and rejected rows of those OPDs only (the tables' gates are the city's, whole)."""
    check_period(period)
    params: dict = {"p": period}
    where = " WHERE period = :p" + in_clause("city_code", cities, params, "c")
    own = in_clause("opd_code", opds, params, "o")
    with engine.connect() as conn:
        gates = query(conn, f"SELECT * FROM v_quality{where} ORDER BY city_code, table_name", params)
        deliveries = query(
            conn, f"SELECT * FROM v_opd_quality{where}{own} ORDER BY city_code, opd_code, table_name", params
        )
        rejected, without_opd = None, 0
        if may_read(conn, "v_quarantine"):
            rejected = query(
                conn,
                f"SELECT * FROM v_quarantine{where}{own} ORDER BY city_code, table_name, rule, raw_file, raw_row",
                params,
            )
            if opds:  # rows published before migration 0011 name no OPD: an OPD's filter cannot find them
                sql = f"SELECT count(*) AS n FROM v_quarantine{where} AND opd_code IS NULL"
                without_opd = int(query(conn, sql, params)["n"].iloc[0])
    return StewardView(gates, deliveries, rejected, without_opd)


def may_read(conn: sa.Connection, view: str) -> bool:
    """Whether this login may read `view` (PostgreSQL's privileges; DuckDB has none to check). A view that does not
    exist yet is the usual error (`query`: run the pipeline or `warehouse upgrade`)."""
    if conn.dialect.name != "postgresql":
        return True
    return bool(query(conn, "SELECT has_table_privilege(:v, 'SELECT') AS ok", {"v": view})["ok"].iloc[0])


def verdict(gate: pd.Series) -> str:
    """A table's gate in a word or two: passed, passed with a warning, blocked, or incomplete (not published)."""
    if gate.get("status") == "incomplete":
        return "incomplete"
    if not bool(gate.get("passed")):
        return "BLOCKED"
    return "passed, warning" if gate.get("warns") is True else "passed"


def delivery_status(row: pd.Series) -> str:
    """on time, late (N days), received, date unknown (a pull after the due date with no entry times), missing,
    pending, or not expected (an OPD the table does not count on)."""
    status = row.get("status")
    if not isinstance(status, str) or not status:
        return "—"
    if status == "late" and pd.notna(row.get("days_late")):
        return f"late ({float(row['days_late']):.1f} days)"
    if status == "received_undated":  # pulled after its due date; when the OPD entered it is not known
        return "received, date unknown"
    if status == "pending" and statuses_now(pd.DataFrame([row])).iloc[0] == "missing":
        return "missing (due date passed, month not run since)"  # the stored status is the run's
    return status.replace("_", " ")
