"""When a pulled month was complete in the OPD's system: the latest time its rows were entered.

A REST or SQL source is received whenever the pipeline pulls it, so a backfill that pulls a year-old month today says
nothing about whether the OPD entered it on time. A source that names its `entered_field` (each row's creation time
in the OPD's system) lets every fetch record, per OPD, the latest entry among the month's rows; timeliness reads it
(`kotacerdas/quality/timeliness.py`). Times without an offset are the OPD's wall clock, like the data's own
timestamps (`config/timeliness.yaml` `timezone`).

The evidence is all or nothing per OPD: a row whose entry is blank, not a time, before the month could have begun
or after the fetch (a default such as 0001-01-01, a clock set wrong) leaves its OPD's month undated for that fetch,
since the month's last entry is then unknown — it neither makes the OPD late by the fetch's delay nor on time by a
backdated stamp. Only OPD codes the project knows for the table are recorded (the fetch log is not sealed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from kotacerdas.ingest.landing import parse_utc, utc_text
from kotacerdas.periods import now_local
from kotacerdas.stage.staging import code_text

EARLIEST_BEFORE_PERIOD = timedelta(days=31)  # a record may be opened ahead of its month (an appointment), not more
# An OPD system's clock ahead of ours, and times without an offset written on WITA or WIT (UTC+8, +9) but read on
# the project's one zone (WIB): up to two hours ahead of the instant they mean.
FETCH_CLOCK_SLACK = timedelta(hours=3)


class EntryTracker:
    """The latest entry per OPD over a fetch's rows, fed page by page or chunk by chunk.

    `unit_opd` None: a fetch of all OPDs, whose rows name their OPD in the first of `opd_fields` they carry, kept
    only when in `known_opds`. `previous`, for an incremental pull only: the earlier fetches' evidence (OPD -> ISO
    UTC), which the changed rows it sees may only raise; an OPD missing from it leaves the month undated (so
    `_Unit._fetch_rest` pulls such a month whole)."""

    def __init__(
        self,
        *,
        field: str,
        opd_fields: Iterable[str],
        unit_opd: str | None,
        known_opds: Iterable[str],
        timezone: str,
        period_start: datetime,
        previous: Mapping[str, str] | None = None,
    ):
        self.field, self.opd_fields, self.unit_opd = field, tuple(opd_fields), unit_opd
        self.known = set(known_opds)
        self.zone = ZoneInfo(timezone)
        self.earliest = period_start.astimezone(UTC) - EARLIEST_BEFORE_PERIOD
        self.earliest_naive = self.earliest.astimezone(self.zone).replace(tzinfo=None)
        # the latest entry allowed, set as rows arrive (`add`): no row can have been entered after it was read
        self.latest_allowed, self.latest_allowed_naive = self.earliest, self.earliest_naive
        # Naive times are compared as they are, within bounds on the OPDs' wall clock, and only each OPD's latest is
        # converted: per row, a conversion cost a microsecond (a national month has over a million rows). In a zone
        # without daylight saving (Indonesia's) the latest wall-clock time is the latest instant.
        self.latest = {opd: parse_utc(when) for opd, when in (previous or {}).items()}  # OPD -> latest aware entry
        self.latest_naive: dict[str, datetime] = {}
        self.undated: dict[str, int] = {}  # OPD -> rows without a usable entry
        self.rows_with_field = 0
        self.rows = 0
        if previous is not None and unit_opd is not None and unit_opd not in self.latest:
            self.undated[unit_opd] = 0  # the earlier fetches gave no evidence: the month is not dated

    def add(self, rows: Iterable[object]) -> None:
        """Rows just read: none of them can have been entered after now (and a few minutes of the OPD's clock)."""
        self.latest_allowed = now_local().astimezone(UTC) + FETCH_CLOCK_SLACK
        self.latest_allowed_naive = self.latest_allowed.astimezone(self.zone).replace(tzinfo=None)
        for row in rows:
            if not isinstance(row, dict):
                continue
            opd = self.unit_opd if self.unit_opd is not None else _opd_of(row, self.opd_fields)
            if opd is None or (self.unit_opd is None and opd not in self.known):
                continue
            self.rows += 1
            value = row.get(self.field)
            self.rows_with_field += self.field in row
            moment = self._moment(value)
            if moment is None:
                self.undated[opd] = self.undated.get(opd, 0) + 1
                continue
            latest = self.latest if moment.tzinfo is not None else self.latest_naive
            if opd not in latest or moment > latest[opd]:
                latest[opd] = moment

    def entered(self) -> dict[str, str]:
        """OPD -> its month's latest entry (ISO UTC), for the OPDs whose every row had a usable one."""
        out = dict(self.latest)
        for opd, naive in self.latest_naive.items():
            moment = naive.replace(tzinfo=self.zone)
            if opd not in out or moment > out[opd]:
                out[opd] = moment
        return {opd: utc_text(m) for opd, m in sorted(out.items()) if opd not in self.undated}

    def notice(self, source: str, where: str) -> str | None:
        """What a steward or operator should know: the field absent from every row (misspelt in sources.yaml?), or
        rows without a usable entry, which leave their OPD's month undated."""
        if self.rows and not self.rows_with_field:
            return (
                f"{source}: no row of {where} has the entered_field {self.field!r}: its timeliness cannot be dated "
                "by entry (check the field's name in sources.yaml)"
            )
        bad = {opd: n for opd, n in sorted(self.undated.items()) if n}
        if bad:
            listed = ", ".join(f"{opd}: {n}" for opd, n in bad.items())
            return (
                f"{source}: rows of {where} without a usable {self.field!r} (blank, not a time, or outside the month "
                f"and the fetch) leave their OPD's month undated ({listed})"
            )
        return None

    def _moment(self, value: object) -> datetime | None:
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, str) and value.strip():
            try:
                moment = datetime.fromisoformat(value.strip())
            except ValueError:
                return None
        else:
            return None
        if moment.tzinfo is None:
            return moment if self.earliest_naive <= moment <= self.latest_allowed_naive else None
        try:
            return moment if self.earliest <= moment <= self.latest_allowed else None
        except OverflowError:  # 0001-01-01 or 9999-12-31 with an offset: no instant in range
            return None


def _opd_of(row: dict, opd_fields: tuple[str, ...]) -> str | None:
    for name in opd_fields:
        code = code_text(row.get(name))
        if code is not None:
            return code
    return None
