"""File drops are read only when complete: the sensor waits for a file's size and content hash to hold still across
two ticks, or for its ready marker; backup and temporary copies beside the real file neither trigger nor block."""

from __future__ import annotations

import os

import dagster as dg
import pytest
from conftest import edited_project

from assets.resources import ProjectResource
from kotacerdas.ingest import ingest_table
from kotacerdas.simulator import write_file_drops
from pipelines.definitions import defs

CITY, MONTH = "19.71", "2025-03"


@pytest.fixture
def landing(tmp_path, monkeypatch):
    path = tmp_path / "landing"
    path.mkdir()
    monkeypatch.setenv("KOTACERDAS_LANDING_DIR", str(path))
    return path


def _tick(cursor=None, config_dir=None):
    sensor = defs.get_repository_def().get_sensor_def("opd_file_drop")
    resources = {"project": ProjectResource(config_dir=str(config_dir) if config_dir else None)}
    return sensor(dg.build_sensor_context(cursor=cursor, resources=resources))


def _requested(result) -> list[str]:
    return [r.partition_key for r in result.run_requests]


def test_a_half_written_file_gives_no_run_until_its_size_and_content_hold_still(landing, opd_project):
    files = write_file_drops(opd_project, landing, [CITY], [MONTH], seed=1)
    done = _tick(_tick().cursor)
    assert _requested(done) == [f"{CITY}|{MONTH}"]
    # An OPD re-uploads one file; the copy is cut half way at the first tick, then grows.
    target = max(files, key=lambda p: p.stat().st_size)
    full = target.read_bytes() + b"19.71;DLH;ENV_X;2025-03;1,5;%;\r\n"
    target.write_bytes(full[: len(full) // 2])
    half = _tick(done.cursor)
    assert half.run_requests == [] and "still changing" in half.skip_reason.skip_message
    target.write_bytes(full)
    grown = _tick(half.cursor)
    assert grown.run_requests == []  # changed since the last tick: not yet
    stable = _tick(grown.cursor)
    assert _requested(stable) == [f"{CITY}|{MONTH}"]
    assert _tick(stable.cursor).run_requests == []

    # The fingerprint is the content: touching a file is no upload, new bytes of the same size and mtime are.
    os.utime(target, (1_900_000_000, 1_900_000_000))
    assert _tick(_tick(stable.cursor).cursor).run_requests == []
    mtime = target.stat().st_mtime
    target.write_bytes(full.replace(b"1,5", b"2,5"))
    os.utime(target, (mtime, mtime))
    rewritten = _tick(_tick(stable.cursor).cursor)
    assert _requested(rewritten) == [f"{CITY}|{MONTH}"]
    assert rewritten.run_requests[0].run_key != stable.run_requests[0].run_key


def test_backup_and_temporary_copies_are_ignored_and_do_not_block_the_city(landing, opd_project, tmp_path):
    files = write_file_drops(opd_project, landing, [CITY], [MONTH], seed=1)
    before = ingest_table(
        opd_project, "indicator_submissions", CITY, MONTH, raw_dir=tmp_path / "raw0", landing_dir=landing, env={}
    )
    done = _tick(_tick().cursor)
    assert _requested(done) == [f"{CITY}|{MONTH}"]
    real = files[0]
    for suffix in (".bak", "~", ".tmp", ".part"):  # what editors, Excel and uploads leave beside the real file
        real.with_name(real.name + suffix).write_bytes(b"\x00garbage;not;the;template\r\n")
    (real.parent / f"~${real.name}").write_bytes(b"lock")  # Excel's lock file
    quiet = _tick(_tick(done.cursor).cursor)
    assert quiet.run_requests == [] and "no new files" in quiet.skip_reason.skip_message
    after = ingest_table(
        opd_project, "indicator_submissions", CITY, MONTH, raw_dir=tmp_path / "raw1", landing_dir=landing, env={}
    )
    assert after.failures == [] and before.failures == []
    assert len(after.frame) == len(before.frame) and len(after.raw_files) == len(before.raw_files)


def test_a_marker_source_runs_once_the_marker_is_present_and_not_before(landing, opd_project, tmp_path):
    def marker(data):
        for source in data["sources"]:
            if source["name"] == "opd_file_drop_indicators":
                source.update(ready_when="marker", marker_suffix=".done")

    project = edited_project(tmp_path, opd_project, edit_sources=marker)
    # the marker source's files (the drops also hold the masterplan reports, whose source waits for stability)
    files = [f for f in write_file_drops(project, landing, [CITY], [MONTH], seed=1) if "capaian_indikator" in f.name]
    waiting = _tick(_tick(config_dir=project.dir).cursor, config_dir=project.dir)
    assert waiting.run_requests == [] and "waiting for its ready marker" in waiting.skip_reason.skip_message
    unmarked = ingest_table(
        project, "indicator_submissions", CITY, MONTH, raw_dir=tmp_path / "raw", landing_dir=landing
    )
    assert {f.opd for f in unmarked.failures} == {p.parent.name for p in files}
    assert all("not complete yet: no .done marker" in f.message for f in unmarked.failures)
    for path in files[:-1]:
        path.with_name(path.name + ".done").touch()
    partly = _tick(waiting.cursor, config_dir=project.dir)
    assert partly.run_requests == []  # one file of the city-month still unmarked holds the partition
    files[-1].with_name(files[-1].name + ".done").touch()
    marked = _tick(partly.cursor, config_dir=project.dir)
    assert _requested(marked) == [f"{CITY}|{MONTH}"]  # at once: the marker says the file is complete
    assert _tick(marked.cursor, config_dir=project.dir).run_requests == []  # markers are not files to read
