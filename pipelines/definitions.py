"""The one Definitions object of the kotacerdas code location (loaded by workspace.yaml, `dg`, the CLI)."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from assets.indicators import build_indicator_asset
from assets.indices import build_index_asset
from assets.io_manager import LIGHT_VALUES, PartitionedPickleIOManagerFactory
from assets.masterplan import build_masterplan_asset
from assets.partitions import TIMEZONE, build_city_month_partitions, build_city_year_partitions
from assets.publish import build_quarantine_asset, build_scores_publish_asset
from assets.regulators import build_regulator_assets
from assets.report import build_report_assets
from assets.resources import ProjectResource, WarehouseResource
from assets.tables import build_table_assets
from assets.ui_metadata import with_owners_and_schema
from kotacerdas.config import ProjectConfig, settings
from kotacerdas.logs import install_log_scrubbing
from kotacerdas.schemas import MONTHLY_TABLES, YEARLY_TABLES
from kotacerdas.warehouse.engine import WAREHOUSE_URL_ENV
from pipelines import pool_wait
from pipelines.executors import executor_from_env
from pipelines.schedules import build_annual_schedule, build_monthly_schedule
from sensors.file_drop import build_file_drop_sensor
from sensors.run_failure import failure_webhook
from sensors.source_poll import build_source_poll_sensor

# Every process that loads the code location (webserver, daemon, run and step workers, Celery workers) scrubs its
# log records of personal data and secrets before Dagster stores or prints them.
install_log_scrubbing()
# ... and a run that waits for the warehouse's writer pool sleeps between its tries instead of spinning a core.
pool_wait.install()

MONTHLY_JOB = "smart_city_monthly"
YEARLY_JOB = "smart_city_yearly"


# `eager()` only looks at the latest time window: for yearly partitions that is the year under way, so a closed
# year would never follow a late fix of its tables or of December, while every monthly publish would recompute the
# current year. The yearly assets follow any update of their inputs, in any year, once none is missing.
YEARLY_AUTOMATION = (
    dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_missing()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("yearly: after any input update, none missing")


def _automation(spec: dg.AssetSpec, project: ProjectConfig) -> dg.AssetSpec:
    """Everything after ingestion follows its upstream (declarative automation); published scores must be fresh
    by the publish deadline of each month."""
    if spec.group_name == "ingest":
        return spec
    yearly = "year" in {d.name for d in spec.partitions_def.partitions_defs}
    attrs: dict = {"automation_condition": YEARLY_AUTOMATION if yearly else dg.AutomationCondition.eager()}
    if spec.key.to_user_string() == "published_scores":
        deadline = project.pipeline.publish_deadline_day
        attrs["freshness_policy"] = dg.FreshnessPolicy.cron(
            deadline_cron=f"0 9 {deadline} * *",
            lower_bound_delta=dt.timedelta(days=deadline - 1),
            timezone=TIMEZONE,
        )
    elif spec.key.to_user_string() == "published_regulator_indices":
        # the closed year's regulator indices are due by 1 March (results letters come out in the first weeks)
        attrs["freshness_policy"] = dg.FreshnessPolicy.cron(
            deadline_cron="0 9 1 3 *", lower_bound_delta=dt.timedelta(days=59), timezone=TIMEZONE
        )
    return spec.replace_attributes(**attrs)


def backfill_policy(project: ProjectConfig) -> dg.BackfillPolicy:
    """Every asset body loops over the partitions of its run, so a backfill needs only a run per month."""
    per_run = project.pipeline.backfill_partitions_per_run
    return dg.BackfillPolicy.single_run() if per_run is None else dg.BackfillPolicy.multi_run(per_run)


def build_definitions(project: ProjectConfig | None = None) -> dg.Definitions:
    project = project or ProjectConfig()
    monthly_partitions = build_city_month_partitions(project)
    yearly_partitions = build_city_year_partitions(project)
    monthly_assets = [
        *build_table_assets(MONTHLY_TABLES, monthly_partitions),
        build_quarantine_asset(monthly_partitions),
        build_indicator_asset(monthly_partitions),
        build_index_asset(monthly_partitions),
        build_scores_publish_asset(monthly_partitions),
        build_report_assets(monthly_partitions),
        build_masterplan_asset(monthly_partitions),
    ]
    yearly_assets = [*build_table_assets(YEARLY_TABLES, yearly_partitions), *build_regulator_assets(yearly_partitions)]
    policy = backfill_policy(project)
    assets = [
        a.with_attributes(backfill_policy=policy)
        for a in dg.map_asset_specs(
            lambda spec: with_owners_and_schema(_automation(spec, project), project), monthly_assets + yearly_assets
        )
    ]
    monthly = dg.define_asset_job(
        MONTHLY_JOB,
        selection=dg.AssetSelection.assets(*(k for a in monthly_assets for k in a.keys)),
        description="Ingest, validate, compute and publish one city × month.",
    )
    yearly = dg.define_asset_job(
        YEARLY_JOB,
        selection=dg.AssetSelection.assets(*(k for a in yearly_assets for k in a.keys)),
        description="Ingest and validate the yearly tables (SPBE assessments, Kominfo evaluation scores) of one "
        "city × year, compute and publish the regulators' indices (Kominfo, SPBE, IKM).",
    )
    config_dir = str(project.dir)
    return dg.Definitions(
        assets=assets,
        jobs=[monthly, yearly],
        schedules=[build_monthly_schedule(monthly, project), build_annual_schedule(yearly, project)],
        sensors=[
            build_file_drop_sensor(monthly, monthly_partitions),
            build_file_drop_sensor(yearly, yearly_partitions, "yearly"),
            build_source_poll_sensor(monthly),
            failure_webhook,
        ],
        executor=executor_from_env(),
        resources={
            "project": ProjectResource(config_dir=config_dir),
            # bound by name, so the URL (and its password) is read where the run starts and never stored
            "warehouse": WarehouseResource(
                config_dir=config_dir, url=dg.EnvVar(WAREHOUSE_URL_ENV) if settings().warehouse_url else None
            ),
            "io_manager": PartitionedPickleIOManagerFactory(),
            LIGHT_VALUES: PartitionedPickleIOManagerFactory(light=True),
        },
    )


defs = build_definitions()


def monthly_job() -> dg.JobDefinition:
    """The monthly job, rebuilt by module path: what out-of-process executors (Celery workers) load."""
    return defs.resolve_job_def(MONTHLY_JOB)
