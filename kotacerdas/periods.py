"""Partition periods: a month (`YYYY-MM`) for monthly tables, a year (`YYYY`) for yearly ones.

Sources name the period in their path templates, file patterns and constants as `{month}` (monthly tables only)
and `{year}` (both: the year of a month, or the year itself); SQL queries as `:month`, `:month_start`,
`:month_end` or `:year`, `:year_start`, `:year_end`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from datetime import date

from kotacerdas.errors import ConfigError
from kotacerdas.schemas import Cadence, CanonicalTable

# Data timestamps are local (WIB) wall-clock times, and a month closes on Jakarta time, not UTC.
TIMEZONE = "Asia/Jakarta"
MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
YEAR_RE = re.compile(r"^\d{4}$")
PERIOD_FORMAT: dict[str, str] = {"monthly": "YYYY-MM", "yearly": "YYYY"}
EXAMPLE: dict[str, str] = {"monthly": "2025-03", "yearly": "2025"}
# The placeholders a path template, file pattern or constant of a table of each cadence may use.
TEMPLATE_FIELDS: dict[str, tuple[str, ...]] = {
    "monthly": ("city", "opd", "month", "year"),
    "yearly": ("city", "opd", "year"),
}


def cadence_of(period: str) -> Cadence | None:
    """`monthly` for YYYY-MM, `yearly` for YYYY, None for anything else."""
    if MONTH_RE.match(period):
        return "monthly"
    if YEAR_RE.match(period):
        return "yearly"
    return None


def check_period(table: CanonicalTable, period: str) -> str:
    """`period` when it has the form of the table's cadence; else a ConfigError saying which form."""
    if cadence_of(str(period)) != table.cadence:
        fmt, example = PERIOD_FORMAT[table.cadence], EXAMPLE[table.cadence]
        raise ConfigError(
            f"{table.name} is a {table.cadence} table: its period must be {fmt}, got {period!r}",
            hint=f"pass a partition key such as {example}",
        )
    return period


def template_fields(period: str) -> dict[str, str]:
    """Values of the period placeholders for one partition: {month, year} for a month, {year} for a year."""
    cadence = cadence_of(period)
    if cadence is None:
        raise ValueError(f"period must be YYYY-MM or YYYY, got {period!r}")
    return {"month": period, "year": period[:4]} if cadence == "monthly" else {"year": period}


def period_bounds(period: str) -> tuple[date, date]:
    """First and last day of the month or year."""
    year = int(period[:4])
    if cadence_of(period) == "monthly":
        month = int(period[5:7])
        return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    return date(year, 1, 1), date(year, 12, 31)


def previous_periods(period: str, count: int) -> list[str]:
    """The `count` months (or years) before `period`, latest first."""
    cadence = cadence_of(period)
    if cadence is None:
        raise ValueError(f"period must be YYYY-MM or YYYY, got {period!r}")
    if cadence == "yearly":
        return [str(int(period) - i) for i in range(1, count + 1)]
    year, month = int(period[:4]), int(period[5:7])
    out = []
    for _ in range(count):
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        out.append(f"{year:04d}-{month:02d}")
    return out


def closed_month(tick: dt.datetime | date) -> str:
    """The month before the tick's month: on 2025-04-03 that is 2025-03."""
    first = tick.replace(day=1)
    return (first - dt.timedelta(days=1)).strftime("%Y-%m")
