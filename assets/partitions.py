"""Partitions: one per city × month (monthly tables, indicators, maturity index) or city × year (yearly tables, the
regulators' annual indices); the unit of parallel work, backfills and re-runs.

A run materializes one partition (schedules, sensors, `kotacerdas run`) or a range of them (a single-run
backfill: every city of a month in one run). Asset bodies therefore loop over `partitions_of(context)` and
exchange values keyed by partition key (see assets/io_manager.py).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import dagster as dg

from kotacerdas.config import ProjectConfig
from kotacerdas.periods import TIMEZONE  # re-exported: the partitions, schedules and sensors close months on it


class CityPeriodPartitions(dg.MultiPartitionsDefinition):
    """Dagster's city × period partitions, remembering the keys of the last ranges asked for.

    Dagster lists the run's whole range again for every `add_asset_metadata` call, to check that the partition is
    in it; a run of a month's N cities reports metadata for each of its N partitions on ~25 assets, so it built
    25·N² keys: about 60 s of CPU for the 514 cities of a national month (#15). Both dimensions are fixed lists
    of keys (cities from cities.yaml, months or years between explicit ends), so a range always lists the same
    keys. Everything else is Dagster's own: equality, snapshots and the UI see a MultiPartitionsDefinition.
    """

    _RANGES_KEPT = 8

    def get_partition_keys_in_range(self, partition_key_range, dynamic_partitions_store=None):  # type: ignore[override]
        ranges: dict = self.__dict__.setdefault("_ranges", {})
        key = (str(partition_key_range.start), str(partition_key_range.end))
        if key not in ranges:
            if len(ranges) >= self._RANGES_KEPT:
                ranges.pop(next(iter(ranges)))
            ranges[key] = tuple(super().get_partition_keys_in_range(partition_key_range, dynamic_partitions_store))
        return list(ranges[key])


def build_city_month_partitions(project: ProjectConfig) -> dg.MultiPartitionsDefinition:
    cities = dg.StaticPartitionsDefinition([c.code for c in project.cities.cities])
    months = dg.MonthlyPartitionsDefinition(start_date=project.pipeline.first_month, fmt="%Y-%m", timezone=TIMEZONE)
    return CityPeriodPartitions({"city": cities, "month": months})


def build_city_year_partitions(project: ProjectConfig) -> dg.MultiPartitionsDefinition:
    cities = dg.StaticPartitionsDefinition([c.code for c in project.cities.cities])
    years = dg.TimeWindowPartitionsDefinition(
        cron_schedule="0 0 1 1 *",
        start=project.pipeline.first_month[:4],
        fmt="%Y",
        timezone=TIMEZONE,
        end_offset=1,  # the year under way too: regulators publish a year's evaluation before it ends
    )
    return CityPeriodPartitions({"city": cities, "year": years})


def months_of_year() -> dg.MultiPartitionMapping:
    """A city × year partition depends on the twelve city × month partitions of that city and year. (Dagster
    1.13 calls MultiPartitionMapping beta and warns on every definition load; silenced here, once.)"""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.MultiPartitionMapping(
            {
                "city": dg.DimensionPartitionMapping("city", dg.IdentityPartitionMapping()),
                "month": dg.DimensionPartitionMapping("year", dg.TimeWindowPartitionMapping()),
            }
        )


def city_month_key(city: str, month: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"city": city, "month": month})


def city_period_key(partitions_def: dg.MultiPartitionsDefinition, city: str, period: str) -> dg.MultiPartitionKey:
    """The key of a city × month or city × year partition, whichever `partitions_def` is."""
    other = next(d.name for d in partitions_def.partitions_defs if d.name != "city")
    return dg.MultiPartitionKey({"city": city, other: period})


def partition_tags(city: str, month: str) -> dict[str, str]:
    """Run tags that place a run launched by hand (Celery, API) in its partition, as the UI does."""
    return {
        "dagster/partition": str(city_month_key(city, month)),
        "dagster/partition/city": city,
        "dagster/partition/month": month,
    }


@dataclass(frozen=True)
class Partition:
    key: str  # the partition key as Dagster writes it, e.g. "19.71|2026-01" or "19.71|2025"
    city: str
    period: str  # YYYY-MM or YYYY

    def __str__(self) -> str:
        return f"{self.city} {self.period}"


def partition_from_key(partitions_def: dg.MultiPartitionsDefinition, key: str) -> Partition:
    """ "19.71|2026-01" (or "19.71|2025") as a Partition of a city × month (or city × year) definition."""
    dims = partitions_def.get_partition_key_from_str(key).keys_by_dimension
    return Partition(str(key), dims["city"], dims.get("month") or dims["year"])


def partitions_of(context: dg.AssetExecutionContext) -> list[Partition]:
    """Every city × month (or year) this run materializes: one, or all of a backfill range."""
    return [partition_from_key(context.assets_def.partitions_def, key) for key in context.partition_keys]


def in_groups(parts: list[Partition], size: int) -> Iterator[list[Partition]]:
    """`parts` in consecutive groups of at most `size` (what one warehouse transaction publishes)."""
    for start in range(0, len(parts), size):
        yield parts[start : start + size]


def period_of_key(key: str) -> str:
    """The month (YYYY-MM) or year (YYYY) of a partition key as Dagster writes it: "19.71|2026-01" -> "2026-01".
    Dagster joins a key's dimensions in the order of their names, and "city" sorts before "month" and "year"."""
    return key.rpartition("|")[2]


def backfill_ranges(
    partitions_def: dg.MultiPartitionsDefinition, partitions: Iterable[tuple[str, str]]
) -> list[dg.PartitionKeyRange]:
    """How Dagster's backfill daemon groups these (city, period) partitions into single-run ranges (all cities of a
    month, or all months of a city), so `kotacerdas run` makes the runs a backfill in the UI would; oldest period
    first. Dagster lists the ranges in the order of a set of strings, which changes with every process: a year's
    months came 09, 08, 06, …, 01, 10, and each month published after its later months makes the reports step write
    their pages again (their trend and change show it)."""
    keys = [str(city_period_key(partitions_def, city, period)) for city, period in partitions]
    ranges = partitions_def.subset_with_partition_keys(keys).get_partition_key_ranges(partitions_def)
    return sorted(ranges, key=lambda r: (period_of_key(r.start), r.start))


def capped_backfill_ranges(
    partitions_def: dg.MultiPartitionsDefinition, partitions: Iterable[tuple[str, str]], per_run: int | None
) -> list[dg.PartitionKeyRange]:
    """`backfill_ranges`, each cut into ranges of at most `per_run` partitions (`backfill_partitions_per_run` of
    pipeline.yaml), as the daemon's `BackfillPolicy.multi_run` cuts them. None: no cap."""
    ranges = backfill_ranges(partitions_def, partitions)
    if per_run is None:
        return ranges
    capped = []
    for whole in ranges:
        keys = partitions_def.get_partition_keys_in_range(whole)  # along one city or one month
        capped += [
            dg.PartitionKeyRange(keys[i], keys[min(i + per_run, len(keys)) - 1]) for i in range(0, len(keys), per_run)
        ]
    return capped


def range_tags(key_range: dg.PartitionKeyRange) -> dict[str, str]:
    """Run tags of a run over a range of partitions, as a single-run backfill writes them."""
    return {"dagster/asset_partition_range_start": key_range.start, "dagster/asset_partition_range_end": key_range.end}
