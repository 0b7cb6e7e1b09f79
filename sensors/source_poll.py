"""Source-polling sensor: when an OPD API reports new or changed rows for a month, re-run that city × month.

Sources with a `watermark_field` are asked for rows changed since the last check (`updated_since`); the others
for their row count, which is compared with the last one seen. The first check of a partition only records a
baseline: history is loaded by the schedule or a backfill, not by this sensor.
"""

import datetime as dt
import hashlib
import json
from zoneinfo import ZoneInfo

import dagster as dg

from assets.failures import scrubbed_failures
from assets.partitions import TIMEZONE, city_month_key
from assets.resources import ProjectResource
from kotacerdas.config import RestSource
from kotacerdas.errors import KotacerdasError
from kotacerdas.ingest.probe import probe_rows
from kotacerdas.periods import closed_month
from kotacerdas.schemas import MONTHLY_TABLES


def watched_months(now: dt.datetime) -> list[str]:
    """The last two closed months: late uploads and corrections land there (the month in progress has no
    partition yet)."""
    last = closed_month(now)
    return [closed_month(dt.datetime.strptime(last + "-01", "%Y-%m-%d")), last]


def build_source_poll_sensor(job) -> dg.SensorDefinition:
    @dg.sensor(
        name="opd_api_changes",
        job=job,
        minimum_interval_seconds=15 * 60,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Polls each REST source (one-row page) for the last two closed months; a partition whose "
        "source reports new or changed rows is re-run once per change.",
    )
    @scrubbed_failures
    def opd_api_changes(context: dg.SensorEvaluationContext, project: ProjectResource):
        cfg = project.project
        state: dict[str, dict] = json.loads(context.cursor) if context.cursor else {}
        now = dt.datetime.now(ZoneInfo(TIMEZONE))
        checked_at = now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
        changed: dict[tuple[str, str], list[str]] = {}
        problems = []
        for source in (s for s in cfg.sources.sources if isinstance(s, RestSource) and s.table in MONTHLY_TABLES):
            for opd in cfg.cities.opds_for(source.table):
                for city in (c.code for c in cfg.cities.cities):
                    for month in watched_months(now):
                        key = f"{source.name}|{city}|{opd.code}|{month}"
                        last = state.get(key)
                        try:
                            since = last["checked"] if last and source.watermark_field else None
                            rows = probe_rows(source, city=city, opd=opd.code, month=month, since=since)
                        except KotacerdasError as exc:
                            problems.append(f"{key}: {exc.message}")
                            continue
                        new = {"checked": checked_at, "total": rows if not source.watermark_field else None}
                        if last is not None:
                            moved = rows > 0 if source.watermark_field else rows != last.get("total")
                            if moved:
                                changed.setdefault((city, month), []).append(f"{key}:{rows}:{checked_at}")
                        state[key] = new
        for problem in problems:
            context.log.warning(f"cannot poll {problem}")
        requests = [
            dg.RunRequest(
                run_key=hashlib.sha256("|".join(sorted(marks)).encode()).hexdigest()[:24],
                partition_key=str(city_month_key(city, month)),
                tags={"kotacerdas/trigger": "source_change"},
            )
            for (city, month), marks in sorted(changed.items())
        ]
        cursor = json.dumps(state, sort_keys=True)
        if requests:
            return dg.SensorResult(run_requests=requests, cursor=cursor)
        reason = f"no changes at the sources ({len(state)} partitions × source watched, timezone {TIMEZONE})"
        if problems:
            reason += f"; {len(problems)} could not be polled, e.g. {problems[0]}"
        return dg.SensorResult(skip_reason=dg.SkipReason(reason), cursor=cursor)

    return opd_api_changes
