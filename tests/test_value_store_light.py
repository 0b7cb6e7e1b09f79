"""The value store keeps an ingest result light beside it (assets/io_manager.py): the steps after staging read
where rows came from, not the delivered values. A light copy opens only beside the value it was made from, is
sealed as the value is, and is never taken for it."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest

from assets.io_manager import PartitionedPickleIOManager
from kotacerdas.ingest.landing import RawFile
from kotacerdas.ingest.table import IngestResult

KEY = dg.AssetKey("service_requests_raw")
PARTITIONS = dg.StaticPartitionsDefinition(["19.71|2026-01"])
PART = "19.71|2026-01"
NIK = "1971010101900001"


def _ingest(request_id: str) -> IngestResult:
    frame = pd.DataFrame(
        {
            "request_id": [request_id, "R2"],
            "opd_code": ["DISDUKCAPIL", None],
            "applicant_nik": [NIK, NIK],
            "_raw_file": ["service_requests/19.71/2026-01/DISDUKCAPIL/f1/page-1.json"] * 2,
            "_raw_row": [1, 2],
        },
        dtype=object,
    )
    raw = RawFile("service_requests/19.71/2026-01/DISDUKCAPIL/f1/page-1.json", "ab" * 32, "rest", "http://x", "t", 2, 9)
    return IngestResult("service_requests", frame, [raw], [])


def _store(manager: PartitionedPickleIOManager, value: object) -> None:
    context = dg.build_output_context(asset_key=KEY, asset_partitions_def=PARTITIONS, partition_key=PART)
    manager.handle_output(context, {PART: value})


def _load(manager: PartitionedPickleIOManager, light: bool) -> object:
    context = dg.build_input_context(asset_key=KEY, asset_partitions_def=PARTITIONS, partition_key=PART)
    return PartitionedPickleIOManager(manager.base_dir, light=light).load_input(context)[PART]


def test_a_light_input_reads_where_rows_came_from_and_a_plain_one_everything(tmp_path):
    manager = PartitionedPickleIOManager(tmp_path / "values")
    _store(manager, _ingest("R1"))
    full, light = _load(manager, light=False), _load(manager, light=True)
    assert list(full.frame.columns) == ["request_id", "opd_code", "applicant_nik", "_raw_file", "_raw_row"]
    assert list(light.frame.columns) == ["_raw_file", "_raw_row", "opd_code"]
    assert len(light.frame) == 2 and light.raw_files == full.raw_files and light.failures == full.failures
    # both files sealed: no personal data, no path in clear
    stored = [p for p in (tmp_path / "values").rglob("*") if p.is_file()]
    assert sorted(p.name for p in stored) == ["2026-01.light.pickle", "2026-01.pickle"]
    assert not [p for p in stored if NIK.encode() in p.read_bytes() or b"page-1" in p.read_bytes()]


class _Unpicklable:
    def __reduce__(self):
        raise RuntimeError("cannot be stored")


def test_a_light_copy_is_never_older_than_its_value(tmp_path):
    manager = PartitionedPickleIOManager(tmp_path / "values")
    _store(manager, _ingest("OLD"))
    newer = _ingest("NEW")
    newer.failures.append(_Unpicklable())  # type: ignore[arg-type]  # the full value cannot be written
    with pytest.raises(Exception, match="RuntimeError: cannot be stored"):
        _store(manager, newer)
    # the old light copy went before the value was replaced: a light read falls back to the value still stored
    assert not manager._path(KEY, PART, light=True).exists()
    assert _load(manager, light=True).frame["request_id"].tolist() == ["OLD", "R2"]


def test_a_value_without_a_light_copy_is_read_whole(tmp_path):
    manager = PartitionedPickleIOManager(tmp_path / "values")
    _store(manager, {"not": "an ingest result"})
    assert _load(manager, light=True) == {"not": "an ingest result"}


def test_a_light_copy_in_the_values_place_fails(tmp_path):
    manager = PartitionedPickleIOManager(tmp_path / "values")
    _store(manager, _ingest("R1"))
    manager._path(KEY, PART, light=True).replace(manager._path(KEY, PART))
    with pytest.raises(Exception, match="SealedDataError|re-materialize"):
        _load(manager, light=False)


def test_a_light_copy_of_another_value_is_not_read(tmp_path):
    # Two runs writing the same partition at once can leave one's light copy beside the other's value: it does not
    # open there (it is sealed with its own value's id), and the value stored is read whole.
    manager = PartitionedPickleIOManager(tmp_path / "values")
    light = manager._path(KEY, PART, light=True)
    _store(manager, _ingest("A"))
    from_a = light.read_bytes()
    _store(manager, _ingest("B"))
    assert _load(manager, light=True).frame.columns.tolist() == ["_raw_file", "_raw_row", "opd_code"]
    light.write_bytes(from_a)
    read = _load(manager, light=True)
    assert read.frame["request_id"].tolist() == ["B", "R2"]  # the full value B, not A's light copy
