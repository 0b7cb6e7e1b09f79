"""What monitors see after a batched run (every city of a month in one run, on DuckDB, with the OPD simulator over
HTTP): every `data_docs` link in the check metadata resolves to its own page, the index lists them, a page renders
offline in headless Chromium; Dagster's standard metadata (row counts, column schemas, owners, published scores in
Markdown, rounded values); each table's one error check passes on good data and blocks bad; each partition gets one
evaluation per check of the job."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import pytest
import yaml
from conftest import OPD_TEST_TOKEN, REPO_ROOT, edited_project, fast_rest

from kotacerdas.schemas import INDEX_SCORE_COLUMNS, MONTHLY_TABLES, SERVICE_REQUESTS
from kotacerdas.simulator import OpdSimulator, write_file_drops
from pipelines.definitions import build_definitions
from pipelines.runner import run_backfill

GOOD, BAD = ("19.71", "2025-03"), ("19.03", "2025-03")  # BAD: one OPD's service standard sent as text (> 5 %)


@pytest.fixture(scope="module")
def batched(opd_project, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ui_truth")
    project = edited_project(tmp, opd_project, edit_sources=fast_rest)
    with OpdSimulator(project, seed=42, token=OPD_TEST_TOKEN) as sim, pytest.MonkeyPatch.context() as mp:
        sim.add_fault(f"opd_api_service_requests:wrong_type:field=standar_hari,to=text,city={BAD[0]},opd=DISDUKCAPIL")
        write_file_drops(project, tmp / "landing", [GOOD[0], BAD[0]], [GOOD[1]], seed=42)
        for key, value in {
            "KOTACERDAS_OPD_API_URL": sim.url,
            "KOTACERDAS_OPD_API_TOKEN": OPD_TEST_TOKEN,
            "KOTACERDAS_LANDING_DIR": str(tmp / "landing"),
            "KOTACERDAS_RAW_DIR": str(tmp / "raw"),
            "KOTACERDAS_PII_KEY": "ui-truth-test-key",
            "KOTACERDAS_WAREHOUSE_URL": f"duckdb:///{tmp / 'warehouse.duckdb'}",
            "KOTACERDAS_CONFIG_DIR": str(project.dir),
        }.items():
            mp.setenv(key, value)
        mp.delenv("KOTACERDAS_DATA_DOCS_DIR", raising=False)  # the default: under the Dagster storage
        instance = dg.DagsterInstance.ephemeral()
        defs = build_definitions(project)
        outcomes = run_backfill(defs, [GOOD, BAD], instance=instance, log_level="ERROR")
        assert len({o.run_id for o in outcomes}) == 1  # one run for both cities: the case that lost pages
        events = list(instance.all_logs(outcomes[0].run_id))
        yield SimpleNamespace(instance=instance, defs=defs, outcomes=outcomes, events=events, project=project)


def _checks(batched) -> dict[tuple[str, str, str], object]:
    """(asset, check, partition) -> AssetCheckEvaluation."""
    out = {}
    for e in batched.events:
        if e.dagster_event and e.dagster_event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            ev = e.dagster_event.event_specific_data
            out[(ev.asset_key.to_user_string(), ev.check_name, ev.partition)] = ev
    return out


def _materializations(batched) -> dict[tuple[str, str], dg.AssetMaterialization]:
    """(asset, partition) -> materialization."""
    out = {}
    for e in batched.events:
        if e.dagster_event and e.dagster_event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            m = e.dagster_event.event_specific_data.materialization
            out[(m.asset_key.to_user_string(), m.partition)] = m
    return out


def _key(partition: tuple[str, str]) -> str:
    return "|".join(partition)


# --- Data Docs --------------------------------------------------------------------------------------------------


def test_every_data_docs_link_of_a_batched_run_resolves_and_the_index_lists_them(batched):
    links = [Path(ev.metadata["data_docs"].value) for ev in _checks(batched).values() if "data_docs" in ev.metadata]
    pages = set(links)
    # every monthly table × both cities of the one run: its own page, none overwritten by the other city's
    assert len(pages) == 2 * len(MONTHLY_TABLES), sorted(map(str, pages))
    missing = [str(p) for p in pages if not p.is_file()]
    assert missing == []
    assert {p.name for p in pages} == {f"{c}_{m}.html" for c, m in (GOOD, BAD)}
    root = Path(batched.instance.storage_directory()) / "data_docs"
    index = (root / "index.html").read_text(encoding="utf-8")
    listed = {(root / href).resolve() for href in re.findall(r'href="([^"]+\.html)"', index)}
    assert listed == {p.resolve() for p in pages}
    for page in pages:  # the stored validation result the page was rendered from is beside it
        assert page.with_suffix(".json").is_file()


def test_a_quality_page_and_the_index_render_offline_in_headless_chromium(batched, tmp_path):
    from kotacerdas.report.browser import visit

    bad = _checks(batched)[("service_requests", "error_rules_within_threshold", _key(BAD))]
    page_file = Path(bad.metadata["data_docs"].value)
    html = page_file.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html) and "<script" not in html
    page = visit(page_file, tmp_path / "page.png")
    assert page.console_errors == [] and page.failed_requests == [] and page.remote_requests == []
    assert "Mutu data" in page.text and "Kabupaten Bangka Selatan" in page.text and "DIBLOKIR" in page.text
    assert "type:sla_days" in page.text  # the staging rule that blocked it, with its failing rows
    assert page.screenshot.stat().st_size > 10_000
    index = visit(page_file.parents[2] / "index.html")
    assert index.clean and "Kota Pangkalpinang" in index.text and "service_requests" in index.text


# --- the Dagster UI ---------------------------------------------------------------------------------------------


def test_assets_declare_owners_and_the_column_schema_of_their_table(batched):
    specs = {s.key.to_user_string(): s for s in batched.defs.resolve_all_asset_specs()}
    owners = yaml.safe_load((batched.project.dir / "pipeline.yaml").read_text(encoding="utf-8"))["asset_owners"]
    assert specs["published_scores"].owners == owners["default"]
    assert specs["service_requests"].owners == owners["quality"] != owners["default"]
    published = specs["published_scores"].metadata["dagster/column_schema"]
    assert isinstance(published, dg.TableSchema)
    assert [c.name for c in published.columns] == [*INDEX_SCORE_COLUMNS, "status"]  # status: added by publishing
    assert {c.name: c.type for c in published.columns}["score"] == "float"
    validated = specs["service_requests"].metadata["dagster/column_schema"]
    assert [c.name for c in validated.columns] == list(SERVICE_REQUESTS.all_columns)
    assert "dagster/column_schema" in specs["quarantine"].metadata


def test_regulator_and_masterplan_assets_declare_the_columns_of_the_warehouse_tables_they_hold():
    """From the one declaration of each table (kotacerdas/schemas.py, composed in kotacerdas/warehouse/schema.py):
    every column of every table once, described by the tables that have it."""
    from kotacerdas.schemas import (
        MASTERPLAN_READINESS_COLUMNS,
        REGULATOR_IKM_COLUMNS,
        REGULATOR_KOMINFO_COLUMNS,
        REGULATOR_SPBE_COLUMNS,
    )
    from pipelines.definitions import defs

    specs = {s.key.to_user_string(): s for s in defs.resolve_all_asset_specs()}
    regulators = (REGULATOR_KOMINFO_COLUMNS, REGULATOR_SPBE_COLUMNS, REGULATOR_IKM_COLUMNS)
    published = specs["published_regulator_indices"].metadata["dagster/column_schema"]
    assert isinstance(published, dg.TableSchema)
    columns = {c.name: c for c in published.columns}
    assert set(columns) == {c for cols in regulators for c in cols} | {"coverage", "status"}
    assert columns["predicate"].description == "in regulator_spbe" and columns["predicate"].type == "string"
    assert columns["grade"].description == "in regulator_ikm" and columns["respondents"].type == "int"
    assert columns["status"].description == "in regulator_kominfo_evaluation, regulator_spbe, regulator_ikm"
    assert columns["score"].type == "float" and len(published.columns) == len(columns)  # each column once
    computed = {c.name for c in specs["regulator_indices"].metadata["dagster/column_schema"].columns}
    assert computed == set(columns) - {"status"}  # publishing adds the partition's status
    masterplan = {c.name: c for c in specs["masterplan_status"].metadata["dagster/column_schema"].columns}
    assert set(MASTERPLAN_READINESS_COLUMNS) <= set(masterplan)
    assert masterplan["evidence"].description == "in masterplan_readiness"


def test_each_partition_of_the_batched_run_carries_row_count_scores_and_rounded_values(batched):
    mats = _materializations(batched)
    good = _key(GOOD)
    published = mats[("published_scores", good)].metadata
    assert isinstance(published["dagster/row_count"], dg.IntMetadataValue)
    assert published["dagster/row_count"].value == published["index_scores_rows"].value > 0
    scores = published["scores"]
    assert isinstance(scores, dg.MarkdownMetadataValue)
    method = yaml.safe_load((REPO_ROOT / "config/methodologies/maturity-v1.yaml").read_text(encoding="utf-8"))
    for dim in method["dimensions"].values():
        assert dim["name_id"] in scores.value
    maturity = mats[("maturity_scores", good)].metadata
    index = maturity["index"].value
    assert Decimal(str(index)).as_tuple().exponent >= -2 and f"**{index:.2f}**" in scores.value
    assert all(Decimal(str(v.value)).as_tuple().exponent >= -2 for k, v in maturity.items() if k.startswith("dim"))
    for table in MONTHLY_TABLES:
        validated = mats[(table, good)].metadata
        assert validated["dagster/row_count"].value == validated["valid_rows"].value > 0
    assert mats[("quarantine", good)].metadata["dagster/row_count"].value >= 0
    assert mats[("indicator_values", good)].metadata["dagster/row_count"].value > 0
    # the blocked city of the same run is not published: its materialization says so, with no scores
    assert mats[("published_scores", _key(BAD))].metadata["published"].value == 0


def test_one_error_check_per_table_passes_on_good_data_and_blocks_bad(batched):
    checks = _checks(batched)
    for table in MONTHLY_TABLES:
        good = checks[(table, "error_rules_within_threshold", _key(GOOD))]
        assert good.passed and good.severity == dg.AssetCheckSeverity.ERROR, good.description
        # the default warning level: half the table's threshold (5 %; service_catalogue's suite sets 25 %)
        assert good.metadata["warn_above_share"].value == good.metadata["threshold"].value / 2
    # good data is not flawless: some rows were quarantined, below the warning level, and the check passes
    good = checks[("service_requests", "error_rules_within_threshold", _key(GOOD))].metadata
    assert 0 < good["rejected_share"].value <= good["warn_above_share"].value
    bad = checks[("service_requests", "error_rules_within_threshold", _key(BAD))]
    assert not bad.passed and bad.severity == dg.AssetCheckSeverity.ERROR
    assert bad.metadata["rejected_share"].value > bad.metadata["threshold"].value == 0.05
    assert checks[("complaints", "error_rules_within_threshold", _key(BAD))].passed  # the fault hit one table only


def test_each_partition_gets_one_evaluation_per_check_of_the_job_and_no_more(batched):
    """Every evaluation is a record in Dagster's event log per city × month (#15): one per check, each with its
    partition, the ingest checks included (partitioned like their assets, so the UI shows every city's own)."""
    graph = batched.defs.resolve_job_def("smart_city_monthly").asset_layer.asset_graph
    specs = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert all(graph.get(k).partitions_def is not None for k in graph.asset_check_keys)
    assert ("service_requests_raw", "all_sources_delivered") in specs
    assert not any(name == "rows_pass_error_rules" for _, name in specs)
    for partition in (GOOD, BAD):
        evaluated = [
            (ev.asset_key.to_user_string(), ev.check_name)
            for ev in (
                e.dagster_event.event_specific_data
                for e in batched.events
                if e.dagster_event and e.dagster_event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
            )
            if ev.partition == _key(partition)
        ]
        assert sorted(evaluated) == sorted(specs)  # each check once, none missing, none twice
