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
from zoneinfo import ZoneInfo

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


def now_local() -> dt.datetime:
    """The clock of the project: now on Jakarta time, where months close (tests freeze it)."""
    return dt.datetime.now(ZoneInfo(TIMEZONE))


def last_closed_month(now: dt.datetime | None = None) -> str:
    """The latest month that is over (on Jakarta time): on 2026-12-01 00:30 WIB that is 2026-11."""
    return closed_month((now or now_local()).astimezone(ZoneInfo(TIMEZONE)))


def check_runnable(periods: list[str], first_month: str, where: str, now: dt.datetime | None = None) -> list[str]:
    """`periods` (months YYYY-MM or years YYYY) when each is a partition the pipeline can run: not before
    `first_month` (named by `where`, e.g. config/pipeline.yaml), and a month only once it is over; a year may be the
    one under way (regulators publish a year's evaluation before it ends), not a later one. Else a ConfigError."""
    last_month = last_closed_month(now)
    this_year = (now or now_local()).astimezone(ZoneInfo(TIMEZONE)).year
    for period in periods:
        cadence = cadence_of(period)
        if cadence is None:
            raise ConfigError(f"{period!r} is neither a month (YYYY-MM) nor a year (YYYY)", hint="e.g. 2025-03 or 2025")
        first = first_month if cadence == "monthly" else first_month[:4]
        if period < first:
            raise ConfigError(
                f"{period} is before the first partition: first_month is {first_month} in {where}",
                hint=f"run {first} or later, or set an earlier first_month in {where}",
            )
        if cadence == "monthly" and period > last_month:
            raise ConfigError(
                f"{period} is not over yet; the last closed month is {last_month}",
                hint=f"run months up to {last_month}; a month is run once it has closed (Asia/Jakarta time)",
            )
        if cadence == "yearly" and int(period) > this_year:
            raise ConfigError(
                f"{period} has not started yet; the latest year is {this_year}",
                hint=f"run years up to {this_year}",
            )
    return periods
