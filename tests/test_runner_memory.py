"""The CLI's runs do not keep every step's output in memory (pipelines/in_process.py): a month of 514 cities held
all of them, 7.8 GB, until the run ended. And during a run the garbage collector scans less (pipelines/runner.py)."""

from __future__ import annotations

import gc
import weakref

import dagster as dg

from pipelines.in_process import execute_in_process_uncaptured


class _Frame:
    """Stands for a step's data frame: weakly referable, so the test sees whether anything still holds it."""


class _Discard(dg.ConfigurableIOManager):
    # like our value store, the output lives elsewhere than in the process once handled
    def handle_output(self, context, obj):
        pass

    def load_input(self, context):
        return _Frame()


def _job(produced: list) -> dg.JobDefinition:
    partitions = dg.StaticPartitionsDefinition(["a", "b"])

    @dg.asset(partitions_def=partitions)
    def frame() -> _Frame:
        value = _Frame()
        produced.append(weakref.ref(value))
        return value

    @dg.asset(partitions_def=partitions)
    def after(frame: _Frame) -> None:
        pass

    defs = dg.Definitions(assets=[frame, after], resources={"io_manager": _Discard()})
    return defs.resolve_implicit_global_asset_job_def()


def _alive(produced: list) -> int:
    gc.collect()
    return sum(ref() is not None for ref in produced)


def test_a_run_keeps_its_events_but_not_its_outputs():
    produced: list = []
    job = _job(produced)
    with dg.instance_for_test() as instance:
        result = execute_in_process_uncaptured(
            job, instance=instance, run_config={}, partition_key="a", tags={"kotacerdas/trigger": "test"}
        )
        assert result.success
        assert {"frame", "after"} <= {e.step_key for e in result.all_events if e.is_step_success}
        run = instance.get_run_by_id(result.run_id)
        assert run.tags["dagster/partition"] == "a" and run.tags["kotacerdas/trigger"] == "test"
        assert produced and _alive(produced) == 0

        # the control: Dagster's own execute_in_process holds the output for as long as its result lives
        captured = job.execute_in_process(instance=instance, partition_key="b")
        assert captured.success and _alive(produced) == 1


def test_the_collector_runs_less_often_during_a_run_and_as_before_after_it():
    import gc

    from pipelines.runner import GC_THRESHOLD_DURING_RUNS, _fewer_collections

    before = gc.get_threshold()
    alive = _Frame()
    with _fewer_collections():
        assert gc.get_threshold() == (GC_THRESHOLD_DURING_RUNS, *before[1:])
        assert gc.get_freeze_count() > 0  # what lived before is out of the scans
        assert alive is not None
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    # cycles made during a run are still collected
    with _fewer_collections():
        a, b = _Frame(), _Frame()
        a.other, b.other = b, a
        ref = weakref.ref(a)
        del a, b
        gc.collect()
        assert ref() is None


def _stored_range(tmp_path, keys: list[str]):
    from assets.io_manager import PartitionedPickleIOManager

    manager = PartitionedPickleIOManager(tmp_path / "values")
    key = dg.AssetKey("service_requests_staged")
    partitions = dg.StaticPartitionsDefinition(keys)
    manager.handle_output(  # one file per partition, as a range's step writes them
        dg.build_output_context(
            asset_key=key,
            asset_partitions_def=partitions,
            asset_partition_key_range=dg.PartitionKeyRange(keys[0], keys[-1]),
        ),
        {k: _Frame() for k in keys},
    )
    context = dg.build_input_context(
        asset_key=key,
        asset_partitions_def=partitions,
        asset_partition_key_range=dg.PartitionKeyRange(keys[0], keys[-1]),
    )
    return manager, context


def test_a_range_step_holds_one_partition_of_an_input_at_a_time(tmp_path):
    # A month's range read every city's value of every input at once (3.9 GB at 514 cities); now each is read when
    # the step asks for it and let go when it asks for the next.
    keys = ["19.71|2026-01", "19.71|2026-02", "19.71|2026-03"]
    manager, context = _stored_range(tmp_path, keys)
    values = manager.load_input(context)
    assert sorted(values) == keys and len(values) == 3 and "other" not in values
    first = weakref.ref(values[keys[0]])
    assert values[keys[0]] is first()  # asked twice in a row: read once
    values[keys[1]]
    gc.collect()
    assert first() is None  # nothing holds the first partition's value once the next is read
    assert isinstance(values[keys[2]], _Frame)
    # asking whether a partition is there reads no file
    manager._path(dg.AssetKey("service_requests_staged"), keys[0]).unlink()
    assert keys[0] in values and "19.71|2026-04" not in values


def test_a_missing_partition_fails_the_step_before_it_starts(tmp_path):
    keys = ["19.71|2026-01", "19.71|2026-02"]
    manager, context = _stored_range(tmp_path, keys)
    manager._path(dg.AssetKey("service_requests_staged"), keys[1]).unlink()
    import pytest

    with pytest.raises(Exception, match="FileNotFoundError: no stored value .* materialize that partition"):
        manager.load_input(context)
