"""The code location loads as `dagster dev` / `dg check defs` would, and the core library stays Dagster-free."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg

REPO = Path(__file__).resolve().parent.parent


def test_definitions_load_with_stages_as_groups_and_city_month_or_city_year_partitions():
    from kotacerdas.schemas import YEARLY_TABLES
    from pipelines.definitions import MONTHLY_JOB, YEARLY_JOB, defs

    dg.Definitions.validate_loadable(defs)
    specs = {s.key.to_user_string(): s for s in defs.resolve_all_asset_specs()}
    groups = {s.group_name for s in specs.values()}
    assert groups == {"ingest", "staging", "quality", "indicators", "indices", "publish", "masterplan"}
    yearly = {k for t in YEARLY_TABLES for k in (f"{t}_raw", f"{t}_staged", t)}
    yearly |= {"regulator_indices", "published_regulator_indices"}
    for key, spec in specs.items():
        assert isinstance(spec.partitions_def, dg.MultiPartitionsDefinition)
        other = "year" if key in yearly else "month"
        assert {d.name for d in spec.partitions_def.partitions_defs} == {"city", other}, key
        assert defs.resolve_assets_def(key).backfill_policy == dg.BackfillPolicy.single_run()
    keys = defs.resolve_job_def(MONTHLY_JOB).partitions_def.get_partition_keys()
    assert "19.71|2025-01" in keys and "19.03|2025-12" in keys
    year_job = defs.resolve_job_def(YEARLY_JOB)
    assert {k.to_user_string() for k in year_job.asset_layer.selected_asset_keys} == yearly
    assert "19.71|2025" in year_job.partitions_def.get_partition_keys()


def test_monthly_tables_and_only_they_are_in_the_monthly_job():
    from kotacerdas.schemas import MONTHLY_TABLES, YEARLY_TABLES
    from pipelines.definitions import MONTHLY_JOB, defs

    in_job = {k.to_user_string() for k in defs.resolve_job_def(MONTHLY_JOB).asset_layer.selected_asset_keys}
    assert "service_catalogue" in MONTHLY_TABLES
    for table in MONTHLY_TABLES:
        assert {f"{table}_raw", f"{table}_staged", table} <= in_job, table
    assert not any(key.startswith(table) for key in in_job for table in YEARLY_TABLES)


def test_dg_check_defs_passes():
    dg_bin = Path(sys.executable).with_name("dg")
    proc = subprocess.run([str(dg_bin), "check", "defs"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "All definitions loaded successfully" in proc.stdout + proc.stderr


def test_the_code_location_is_kotacerdas_for_dg_and_for_the_workspace_alike():
    import tomllib

    import yaml

    dg_project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["dg"]["project"]
    (entry,) = yaml.safe_load((REPO / "workspace.yaml").read_text(encoding="utf-8"))["load_from"]
    module = entry["python_module"]
    assert (dg_project["code_location_name"], dg_project["code_location_target_module"]) == (
        "kotacerdas",
        module["module_name"],
    )
    assert module["location_name"] == "kotacerdas"


def test_downstream_assets_follow_upstream_and_published_scores_have_a_deadline():
    from pipelines.definitions import defs

    specs = {s.key.to_user_string(): s for s in defs.resolve_all_asset_specs()}
    for key, spec in specs.items():
        assert (spec.automation_condition is None) == key.endswith("_raw"), key
    policy = specs["published_scores"].freshness_policy
    assert policy.deadline_cron == "0 9 10 * *" and policy.timezone == "Asia/Jakarta"


def test_deadline_before_the_monthly_run_is_a_config_error(tmp_path):
    import shutil

    import pytest

    from kotacerdas.config import ProjectConfig
    from kotacerdas.errors import ConfigError

    shutil.copytree(REPO / "config", tmp_path / "config")
    path = tmp_path / "config" / "pipeline.yaml"
    path.write_text(path.read_text().replace("publish_deadline_day: 10", "publish_deadline_day: 3"))
    with pytest.raises(ConfigError, match="pipeline.yaml.*publish_deadline_day \\(3\\) must come after"):
        _ = ProjectConfig(tmp_path / "config").pipeline
