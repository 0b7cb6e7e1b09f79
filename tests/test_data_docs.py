"""The project's Data Docs on real files: pages written by parallel processes are all in the index, personal data in
a failing value never reaches a page or its stored result, and pages are rebuilt from the stored results."""

from __future__ import annotations

import dataclasses
import json
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO_ROOT
from test_quality import request, staged

from kotacerdas.config import ProjectConfig
from kotacerdas.quality.docs import _ENTRIES, read_entries, rebuild_data_docs, validation_record, write_data_docs
from kotacerdas.quality.gate import run_quality_gate
from kotacerdas.schemas import SERVICE_REQUESTS, empty_quarantine
from kotacerdas.stage.staging import StagingResult

NIK = "1971015208900011"


@pytest.fixture(scope="module")
def gate():
    """A validated partition of 19.71 March 2024 whose failing channel carries a NIK (staging bypassed)."""
    rows = [request(0), request(1, channel=f"loket NIK {NIK}"), request(2, channel="walk-in")]
    frame = staged(SERVICE_REQUESTS, rows)
    project = ProjectConfig(REPO_ROOT / "config")
    return run_quality_gate(
        project, SERVICE_REQUESTS, StagingResult(frame, empty_quarantine(), len(frame)), city="19.71", month="2024-03"
    )


def _record(gate, month: str, run: str = "run-1") -> dict:
    partition = dataclasses.replace(gate, period=month)
    return validation_record(
        partition, run_name=run, validated_at=pd.Timestamp("2026-12-01 08:00"), descriptions={}, city_name="Kota X"
    )


def _write(args: tuple[dict, str]) -> str:
    record, root = args
    return str(write_data_docs(record, root))


def test_pages_written_by_parallel_processes_are_all_in_the_index(gate, tmp_path):
    records = [_record(gate, f"2024-{m:02d}") for m in range(1, 13)]
    with ProcessPoolExecutor(4) as pool:
        pages = list(pool.map(_write, [(r, str(tmp_path)) for r in records]))
    assert len(set(pages)) == 12 and all(Path(p).is_file() for p in pages)
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert {tmp_path / h for h in re.findall(r'href="([^"]+\.html)"', index)} == {Path(p) for p in pages}
    assert len(read_entries(tmp_path)) == 12


def test_personal_data_in_a_failing_value_never_reaches_a_page(gate, tmp_path):
    assert any(NIK in str(v) for v in gate.quarantine["value"])  # it is there before the page is written
    page = write_data_docs(_record(gate, "2024-03"), tmp_path)
    stored = page.with_suffix(".json").read_text(encoding="utf-8")
    html = page.read_text(encoding="utf-8")
    for text in (stored, html, (tmp_path / "index.html").read_text(encoding="utf-8")):
        assert NIK not in text
    assert "loket NIK [nik" in html and "walk-in" in html  # the value is shown, the NIK pseudonymised
    assert json.loads(stored)["passed"] is False  # 2 of 3 rows rejected


def test_pages_and_index_are_rebuilt_from_the_stored_results(gate, tmp_path):
    page = write_data_docs(_record(gate, "2024-03"), tmp_path)
    before = page.read_text(encoding="utf-8")
    page.unlink()
    (tmp_path / "index.html").unlink()
    rebuild_data_docs(tmp_path)
    assert page.read_text(encoding="utf-8") == before
    assert page.relative_to(tmp_path).as_posix() in (tmp_path / "index.html").read_text(encoding="utf-8")


def test_a_result_stored_before_the_warning_state_still_renders(gate, tmp_path):
    """Results and index entries stored before 2026-12-06 have no `warns`: their pages and the index must still
    render (the templates are strict)."""
    passing = dataclasses.replace(gate, threshold=1.0, warn_share=1.0)  # 2 of 3 rows rejected, within both
    old = validation_record(
        passing, run_name="run-0", validated_at=pd.Timestamp("2026-11-01 08:00"), descriptions={}, city_name="Kota X"
    )
    assert old.pop("warns") is False
    page = write_data_docs(old, tmp_path)
    assert 'class="big ok">LOLOS' in page.read_text(encoding="utf-8")
    # the index as an older version wrote it: entries without `warns`; a new page is appended to it
    entries = tmp_path / _ENTRIES
    lines = [json.loads(line) for line in entries.read_text(encoding="utf-8").splitlines()]
    assert all("warns" not in e or e.pop("warns") is False for e in lines)
    entries.write_text("".join(json.dumps(e) + "\n" for e in lines), encoding="utf-8")
    write_data_docs(_record(gate, "2024-06"), tmp_path)
    assert {"warns"} & set(read_entries(tmp_path)[0]) == set()  # the old entry is read as it was stored
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "lolos / passed" in index and "diblokir / blocked" in index


def test_a_page_names_the_clock_of_its_validation_time(gate, tmp_path):
    # the gate's clock is Jakarta's: a bare "19:56" on the page was read as UTC by a new user
    page = write_data_docs(_record(gate, "2024-03"), str(tmp_path)).read_text(encoding="utf-8")
    assert "2026-12-01 08:00:00 WIB" in page
    aware = validation_record(
        gate, run_name="r", validated_at=pd.Timestamp("2026-12-01 01:00", tz="UTC"), descriptions={}, city_name="X"
    )
    assert aware["validated_at"] == "2026-12-01 08:00:00 WIB"


def test_a_page_says_what_each_of_stagings_own_rules_means(tmp_path):
    """Staging's rules were all described as 'value could not be parsed', a repeated key too (whose first copy is
    kept); each kind now says what it checks."""
    from kotacerdas.schemas import QUARANTINE_COLUMNS, typed_frame

    frame = staged(SERVICE_REQUESTS, [request(0), request(1)])
    base = {"table_name": "service_requests", "city_code": "19.71", "period": "2024-03", "severity": "error"}
    rejected = typed_frame(
        [
            {**base, "rule": "unique:key", "column_name": "request_id", "value": "k", "reason": "r", "_raw_row": 3},
            {
                **base,
                "rule": "type:sla_days",
                "column_name": "sla_days",
                "value": "1 hari",
                "reason": "r",
                "_raw_row": 4,
            },
        ],
        QUARANTINE_COLUMNS,
    )
    project = ProjectConfig(REPO_ROOT / "config")
    result = run_quality_gate(
        project, SERVICE_REQUESTS, StagingResult(frame, rejected, len(frame) + 2), city="19.71", month="2024-03"
    )
    html = write_data_docs(_record(result, "2024-03"), tmp_path).read_text(encoding="utf-8")
    assert "value could not be parsed" not in html
    assert "the key repeats an earlier row&#39;s; the first copy is kept" in html
    assert "the value could not be read as its column&#39;s type" in html
