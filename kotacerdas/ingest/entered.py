"""When a pulled month was complete in the OPD's system: the latest time its rows were entered.

A REST or SQL source is received whenever the pipeline pulls it, so a backfill that pulls a year-old month today says
nothing about whether the OPD entered it on time. A source that names its `entered_field` (each row's creation time
in the OPD's system) lets every fetch record, per OPD, the latest entry among the month's rows; timeliness reads it
(`kotacerdas/quality/timeliness.py`). Times without an offset are the OPD's wall clock, like the data's own
timestamps (`config/timeliness.yaml` `timezone`); blanks and text that is not a time are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from kotacerdas.ingest.landing import parse_utc, utc_text


def latest_entries(
    rows: Iterable[object],
    *,
    field: str,
    opd_fields: Iterable[str],
    unit_opd: str | None,
    timezone: str,
    previous: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """OPD -> the latest `field` among `rows` (ISO UTC text), merged with an earlier fetch's `previous` (an
    incremental pull sees only the rows changed since). `unit_opd` None: a fetch of all OPDs, whose rows name their
    OPD in the first of `opd_fields` they carry."""
    opd_fields = tuple(opd_fields)
    naive: dict[str, datetime] = {}
    aware: dict[str, datetime] = {}
    for row in rows:
        if not isinstance(row, dict):
            continue
        moment = _moment(row.get(field))
        opd = unit_opd if unit_opd is not None else _opd_of(row, opd_fields)
        if moment is None or opd is None:
            continue
        latest = aware if moment.tzinfo is not None else naive
        if opd not in latest or moment > latest[opd]:
            latest[opd] = moment
    zone = ZoneInfo(timezone)
    out = {opd: parse_utc(when) for opd, when in (previous or {}).items()}
    # one conversion per OPD, not per row: in a zone without daylight saving (Indonesia's) the latest wall-clock
    # time is the latest instant
    for opd, moment in [*((o, m.replace(tzinfo=zone)) for o, m in naive.items()), *aware.items()]:
        if opd not in out or moment > out[opd]:
            out[opd] = moment
    return {opd: utc_text(moment) for opd, moment in sorted(out.items())}


def _moment(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None


def _opd_of(row: dict, opd_fields: tuple[str, ...]) -> str | None:
    for name in opd_fields:
        value = row.get(name)
        if value is not None and str(value).strip():
            return str(value).strip()
    return None
