"""Declarative automation of the yearly assets: a late fix to a closed year (one of its months re-published, or its
Kominfo evaluation re-ingested) brings that year's regulator indices up to date, not only the year under way."""

from __future__ import annotations

import dagster as dg

from pipelines.definitions import build_definitions

YEARLY = dg.AssetSelection.assets("regulator_indices", "published_regulator_indices")
YEARLY_INPUTS = [
    f"{table}{stage}" for table in ("evaluation_scores", "spbe_assessments") for stage in ("_raw", "_staged", "")
]


def _materialized(instance, key: str, partitions: list[str]) -> None:
    for partition in partitions:
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition=partition))


def _requested(result) -> dict[str, list[str]]:
    return {r.key.to_user_string(): sorted(r.true_subset.expensively_compute_partition_keys()) for r in result.results}


def test_a_closed_year_follows_late_fixes_of_its_months_and_tables():
    defs = build_definitions()
    instance = dg.DagsterInstance.ephemeral()
    _materialized(instance, "published_scores", [f"19.71|2025-{m:02d}" for m in range(1, 13)])
    for key in YEARLY_INPUTS:
        _materialized(instance, key, ["19.71|2025"])
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=YEARLY)
    _materialized(instance, "regulator_indices", ["19.71|2025"])
    _materialized(instance, "published_regulator_indices", ["19.71|2025"])
    quiet = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=YEARLY, cursor=first.cursor)
    assert _requested(quiet) == {"regulator_indices": [], "published_regulator_indices": []}

    # December 2025 is re-published in January 2026 (a late OPD upload): 2025's indices follow
    _materialized(instance, "published_scores", ["19.71|2025-12"])
    december = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, asset_selection=YEARLY, cursor=quiet.cursor
    )
    assert _requested(december) == {"regulator_indices": ["19.71|2025"], "published_regulator_indices": ["19.71|2025"]}
    _materialized(instance, "regulator_indices", ["19.71|2025"])
    _materialized(instance, "published_regulator_indices", ["19.71|2025"])
    settled = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, asset_selection=YEARLY, cursor=december.cursor
    )

    # the Kominfo evaluation of 2025 is corrected and re-ingested: again
    _materialized(instance, "evaluation_scores", ["19.71|2025"])
    corrected = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, asset_selection=YEARLY, cursor=settled.cursor
    )
    assert _requested(corrected)["regulator_indices"] == ["19.71|2025"]


def test_a_year_whose_yearly_tables_are_missing_is_not_computed():
    defs = build_definitions()
    instance = dg.DagsterInstance.ephemeral()
    _materialized(instance, "published_scores", [f"19.03|2025-{m:02d}" for m in range(1, 13)])
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=YEARLY)
    _materialized(instance, "published_scores", ["19.03|2025-12"])
    later = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=YEARLY, cursor=first.cursor)
    assert _requested(later)["regulator_indices"] == []  # no SPBE or Kominfo data for 2025 yet
