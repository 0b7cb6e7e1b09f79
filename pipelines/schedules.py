"""The monthly schedule: after a month closes (plus a grace period for late OPDs), run it for every city."""

import dagster as dg

from assets.failures import scrubbed_failures
from assets.partitions import TIMEZONE, city_month_key
from kotacerdas.config import ProjectConfig
from kotacerdas.periods import closed_month


def build_monthly_schedule(job: "dg.JobDefinition | object", project: ProjectConfig) -> dg.ScheduleDefinition:
    grace = project.pipeline.schedule_grace_days
    cities = [c.code for c in project.cities.cities]

    @dg.schedule(
        name="monthly_close",
        job=job,
        cron_schedule=f"0 2 {1 + grace} * *",
        execution_timezone=TIMEZONE,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=f"At 02:00 WIB on day {1 + grace} of each month, ingest and score the month that just closed "
        "for every city (grace days: `schedule_grace_days` in config/pipeline.yaml).",
    )
    @scrubbed_failures
    def monthly_close(context: dg.ScheduleEvaluationContext):
        month = closed_month(context.scheduled_execution_time)
        for city in cities:
            yield dg.RunRequest(
                run_key=f"{city}|{month}",
                partition_key=str(city_month_key(city, month)),
                tags={"kotacerdas/trigger": "schedule"},
            )

    return monthly_close


def build_annual_schedule(job: "dg.JobDefinition | object", project: ProjectConfig) -> dg.ScheduleDefinition:
    cron = project.pipeline.annual_schedule_cron
    cities = [c.code for c in project.cities.cities]

    @dg.schedule(
        name="annual_close",
        job=job,
        cron_schedule=cron,
        execution_timezone=TIMEZONE,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=f"On `{cron}` (WIB; `annual_schedule_cron` in config/pipeline.yaml), ingest the yearly tables "
        "(SPBE assessments, Kominfo evaluation scores) of the year that closed and compute and publish "
        "the regulators' indices for every city.",
    )
    @scrubbed_failures
    def annual_close(context: dg.ScheduleEvaluationContext):
        year = str(context.scheduled_execution_time.year - 1)
        for city in cities:
            yield dg.RunRequest(
                run_key=f"{city}|{year}",
                partition_key=str(dg.MultiPartitionKey({"city": city, "year": year})),
                tags={"kotacerdas/trigger": "schedule"},
            )

    return annual_close
