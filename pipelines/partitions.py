"""Partitions: one per city × month; the unit of parallel work, backfills and re-runs."""

from __future__ import annotations

import dagster as dg

from kotacerdas.config import ProjectConfig

TIMEZONE = "Asia/Jakarta"  # WIB: a month closes on Jakarta time, not UTC


def build_city_month_partitions(project: ProjectConfig) -> dg.MultiPartitionsDefinition:
    cities = dg.StaticPartitionsDefinition([c.code for c in project.cities.cities])
    months = dg.MonthlyPartitionsDefinition(
        start_date=project.pipeline.first_month, fmt="%Y-%m", timezone=TIMEZONE
    )
    return dg.MultiPartitionsDefinition({"city": cities, "month": months})


def city_month_key(city: str, month: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"city": city, "month": month})


def partition_tags(city: str, month: str) -> dict[str, str]:
    """Run tags that place a run launched by hand (Celery, API) in its partition, as the UI does."""
    return {"dagster/partition": str(city_month_key(city, month)), "dagster/partition/city": city,
            "dagster/partition/month": month}


def partition_of(context: dg.AssetExecutionContext) -> tuple[str, str]:
    """(city code, YYYY-MM) of the partition being materialized."""
    keys = context.partition_key.keys_by_dimension
    return keys["city"], keys["month"]
