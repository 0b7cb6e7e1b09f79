"""Single-run backfills: every city of a month in one run, in process, simulator over HTTP → DuckDB.

The same partitions run one per run and as one range must publish the same scores; a partition failing its quality
gate inside a range is not published while the other cities of the range are, and re-running it alone behaves as a
normal run."""

from __future__ import annotations

import dagster as dg
import pytest
import sqlalchemy as sa
from conftest import OPD_TEST_TOKEN, edited_project, fast_rest

from assets.partitions import backfill_ranges, build_city_month_partitions
from kotacerdas.config import ProjectConfig
from kotacerdas.simulator import OpdSimulator, write_file_drops
from pipelines.definitions import build_definitions
from pipelines.runner import run_backfill, run_partitions

CITIES = ("19.71", "19.03")
MONTH = "2025-03"
SCORES = "SELECT city_code, period, level, code, score, maturity_level FROM index_scores ORDER BY 1, 2, 3, 4"


def _env(mp, tmp, sim, project, name):
    landing, raw = tmp / "landing", tmp / f"raw_{name}"
    if not landing.exists():
        write_file_drops(project, landing, list(CITIES), [MONTH], seed=42)
    url = f"duckdb:///{tmp / f'{name}.duckdb'}"
    for key, value in {
        "KOTACERDAS_OPD_API_URL": sim.url,
        "KOTACERDAS_OPD_API_TOKEN": OPD_TEST_TOKEN,
        "KOTACERDAS_LANDING_DIR": str(landing),
        "KOTACERDAS_RAW_DIR": str(raw),
        "KOTACERDAS_PII_KEY": "backfill-test",
        "KOTACERDAS_WAREHOUSE_URL": url,
    }.items():
        mp.setenv(key, value)
    return sa.create_engine(url)


def _rows(engine, sql):
    with engine.connect() as conn:
        return conn.exec_driver_sql(sql).all()


@pytest.mark.parametrize("months", [("2025-03",), ("2025-01", "2025-02"), ("2025-01", "2025-02", "2025-03")])
def test_backfill_ranges_group_along_the_smaller_dimension(opd_project, months):
    """As Dagster's backfill daemon does: one run per month (all cities) or per city (all months), whichever
    makes fewer runs — 514 cities × 12 months is 12 runs."""
    partitions_def = build_city_month_partitions(opd_project)
    wanted = {f"{c}|{m}" for c in CITIES for m in months}
    ranges = backfill_ranges(partitions_def, [(c, m) for c in CITIES for m in months])
    assert len(ranges) == min(len(CITIES), len(months))
    covered = [set(partitions_def.get_partition_keys_in_range(r)) for r in ranges]
    assert {len(c) for c in covered} == {max(len(CITIES), len(months))}
    assert set().union(*covered) == wanted


def test_a_range_is_listed_once_however_often_dagster_asks(opd_project, monkeypatch):
    """Dagster lists the run's range again on every `add_asset_metadata` (N partitions × N keys per asset: 60 s of
    CPU in a 514-city month); the project's partitions list a range once, with Dagster's own keys, and are equal to
    Dagster's definition (the UI and snapshots see no difference)."""
    from assets.partitions import build_city_year_partitions

    built = []
    original = dg.MultiPartitionsDefinition.get_partition_keys_in_range

    def counting(self, partition_key_range, dynamic_partitions_store=None):
        built.append(partition_key_range)
        return original(self, partition_key_range, dynamic_partitions_store)

    monkeypatch.setattr(dg.MultiPartitionsDefinition, "get_partition_keys_in_range", counting)
    for build, period in ((build_city_month_partitions, MONTH), (build_city_year_partitions, "2025")):
        ours = build(opd_project)
        plain = dg.MultiPartitionsDefinition({d.name: d.partitions_def for d in ours.partitions_defs})
        assert ours == plain and hash(ours) == hash(plain)
        dim = next(d.name for d in ours.partitions_defs if d.name != "city")
        first, *_, last = ours.get_partitions_def_for_dimension("city").get_partition_keys()
        whole = dg.PartitionKeyRange(
            dg.MultiPartitionKey({"city": first, dim: period}), dg.MultiPartitionKey({"city": last, dim: period})
        )
        built.clear()
        expected = plain.get_partition_keys_in_range(whole)
        assert sorted(expected) == sorted(f"{c}|{period}" for c in CITIES)
        for _ in range(50):
            listed = ours.get_partition_keys_in_range(whole)
            assert listed == expected
            listed.clear()  # a caller changing its list changes nothing kept
        assert len(built) == 2  # once for `plain`, once for ours
        single = dg.PartitionKeyRange(expected[0], expected[0])
        assert ours.get_partition_keys_in_range(single) == [expected[0]]


def test_one_range_run_publishes_what_one_run_per_partition_publishes(opd_project, tmp_path, monkeypatch):
    project = edited_project(tmp_path, opd_project, edit_sources=fast_rest)
    defs = build_definitions(project)
    partitions = [(c, MONTH) for c in CITIES]
    # the range's partitions published in one transaction (the default), and each in its own
    pipeline = project.dir / "pipeline.yaml"
    one_each = pipeline.read_text(encoding="utf-8").replace(
        "publish_partitions_per_transaction: 16", "publish_partitions_per_transaction: 1"
    )
    assert "publish_partitions_per_transaction: 1" in one_each
    with OpdSimulator(project, seed=42, token=OPD_TEST_TOKEN) as sim:
        per_partition = _env(monkeypatch, tmp_path, sim, project, "per_partition")
        instance = dg.DagsterInstance.ephemeral()
        singles = run_partitions(defs, partitions, instance=instance)
        ranged = _env(monkeypatch, tmp_path, sim, project, "ranged")
        backfill = run_backfill(defs, partitions, instance=dg.DagsterInstance.ephemeral())
        pipeline.write_text(one_each, encoding="utf-8")
        one_each_project = ProjectConfig(project.dir)
        assert one_each_project.pipeline.publish_partitions_per_transaction == 1
        ranged_one_each = _env(monkeypatch, tmp_path, sim, project, "ranged_one_each")
        backfill_one_each = run_backfill(
            build_definitions(one_each_project), partitions, instance=dg.DagsterInstance.ephemeral()
        )
    assert all(o.success for o in singles) and len({o.run_id for o in singles}) == 2
    assert [o.problems for o in backfill] == [(), ()] == [o.problems for o in backfill_one_each]
    assert len({o.run_id for o in backfill}) == 1  # both cities in one run
    expected = _rows(per_partition, SCORES)
    assert len(expected) > 2 * 7
    for engine in (ranged, ranged_one_each):
        assert _rows(engine, SCORES) == expected
        for table in ("indicator_values", "quarantine", "staged_service_requests", "masterplan_programme_status"):
            count = f"SELECT city_code, count(*) FROM {table} GROUP BY 1 ORDER BY 1"
            assert _rows(engine, count) == _rows(per_partition, count), table


@pytest.fixture
def blocked_city_backfill(opd_project, tmp_path, monkeypatch):
    """A range run of 2025-03 where 19.03's service standard arrives as text (service_requests past 5 %)."""
    project = edited_project(tmp_path, opd_project, edit_sources=fast_rest)
    defs = build_definitions(project)
    with OpdSimulator(project, seed=42, token=OPD_TEST_TOKEN) as sim:
        sim.add_fault("opd_api_service_requests:wrong_type:field=standar_hari,to=text,city=19.03,opd=DISDUKCAPIL")
        engine = _env(monkeypatch, tmp_path, sim, project, "blocked")
        instance = dg.DagsterInstance.ephemeral()
        outcomes = run_backfill(defs, [(c, MONTH) for c in CITIES], instance=instance)
        yield defs, instance, engine, {o.city: o for o in outcomes}, sim


def test_a_blocked_city_does_not_stop_the_other_cities_of_its_run(blocked_city_backfill):
    _, instance, engine, outcomes, _ = blocked_city_backfill
    assert outcomes["19.71"].success and outcomes["19.71"].problems == ()
    assert not outcomes["19.03"].success
    assert any("error_rules_within_threshold" in p for p in outcomes["19.03"].problems)
    # scores only for the passing city; rejected rows for both (stewards see why 19.03 was blocked)
    assert _rows(engine, "SELECT DISTINCT city_code FROM index_scores") == [("19.71",)]
    assert {c for (c,) in _rows(engine, "SELECT DISTINCT city_code FROM quarantine")} == {"19.71", "19.03"}
    # each city's checks are recorded against its own partition; in a range they do not block the whole run
    run_id = outcomes["19.03"].run_id
    evaluations = [
        e.dagster_event.event_specific_data
        for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    ]
    gates = {e.partition: e for e in evaluations if e.check_name == "partition_within_error_threshold"}
    assert set(gates) == {"19.71|2025-03", "19.03|2025-03"}
    assert gates["19.71|2025-03"].passed
    blocked = gates["19.03|2025-03"]
    assert not blocked.passed and blocked.severity == dg.AssetCheckSeverity.ERROR and blocked.blocking is False
    assert "service_requests" in blocked.description
    # Dagster records a materialization of every asset for both partitions of the range; each carries its own
    # metadata, which says that 19.03 was not published
    records = instance.fetch_materializations(dg.AssetKey("published_scores"), limit=10).records
    published = {r.partition_key: r.asset_materialization.metadata for r in records}
    assert set(published) == {"19.71|2025-03", "19.03|2025-03"}
    assert published["19.03|2025-03"]["published"].value == 0 and published["19.71|2025-03"]["published"].value == 1
    assert published["19.71|2025-03"]["index_scores_rows"].value > 0
    assert "index_scores_rows" not in published["19.03|2025-03"]


def test_rerunning_the_blocked_city_alone_after_the_fix_publishes_it(blocked_city_backfill):
    defs, instance, engine, _, sim = blocked_city_backfill
    sim.clear_faults()
    again = run_partitions(defs, [("19.03", MONTH)], instance=instance)
    assert again[0].success, again[0].problems
    assert {c for (c,) in _rows(engine, "SELECT DISTINCT city_code FROM index_scores")} == {"19.71", "19.03"}


def test_a_run_tagged_replay_rebuilds_from_the_raw_zone_without_any_source(opd_project, tmp_path, monkeypatch):
    from assets.ingest import REPLAY_TAG

    project = edited_project(tmp_path, opd_project, edit_sources=fast_rest)
    defs = build_definitions(project)
    instance = dg.DagsterInstance.ephemeral()
    counts = "SELECT city_code, count(*) FROM staged_service_requests GROUP BY 1 ORDER BY 1"
    with OpdSimulator(project, seed=42, token=OPD_TEST_TOKEN) as sim:
        engine = _env(monkeypatch, tmp_path, sim, project, "replay")
        first = run_backfill(defs, [(c, MONTH) for c in CITIES], instance=instance)
        before = _rows(engine, counts), _rows(engine, SCORES)
    assert all(o.success for o in first)
    # the OPD systems are gone now: a normal run cannot reach them (the partition is incomplete: nothing replaced,
    # the failures published for the stewards), a replay does not need them
    [outage] = run_partitions(defs, [("19.71", MONTH)], instance=instance)
    assert not outage.success and any("INCOMPLETE" in p for p in outage.problems)
    assert (_rows(engine, counts), _rows(engine, SCORES)) == before
    assert _rows(engine, "SELECT count(*) FROM ingest_failures WHERE city_code = '19.71'")[0][0] > 0
    replayed = run_backfill(defs, [(c, MONTH) for c in CITIES], instance=instance, tags={REPLAY_TAG: "true"})
    assert [o.problems for o in replayed] == [(), ()]
    assert (_rows(engine, counts), _rows(engine, SCORES)) == before
    assert _rows(engine, "SELECT count(*) FROM ingest_failures")[0][0] == 0
    run = instance.get_run_by_id(replayed[0].run_id)
    assert run.tags[REPLAY_TAG] == "true"


def test_a_cap_on_partitions_per_run_cuts_each_month_into_runs_of_at_most_that_many(opd_project):
    from assets.partitions import capped_backfill_ranges

    partitions_def = build_city_month_partitions(opd_project)
    months = ("2025-01", "2025-02")
    wanted = [(c, m) for c in CITIES for m in months]
    assert len(capped_backfill_ranges(partitions_def, wanted, None)) == len(backfill_ranges(partitions_def, wanted))
    ranges = capped_backfill_ranges(partitions_def, wanted, 1)
    covered = [partitions_def.get_partition_keys_in_range(r) for r in ranges]
    assert len(ranges) == 4 and all(len(c) == 1 for c in covered)
    assert {k for c in covered for k in c} == {f"{c}|{m}" for c, m in wanted}
    # a cap at the length of the uncapped ranges changes nothing
    whole = len(covered) // len(backfill_ranges(partitions_def, wanted))
    assert capped_backfill_ranges(partitions_def, wanted, whole) == backfill_ranges(partitions_def, wanted)
