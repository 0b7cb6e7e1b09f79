"""The README's performance section is generated from the benchmark's JSON (bench/perf_markdown.py): the verdict on
each target follows the figures, and only the marked section of the file is rewritten."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from perf_markdown import BEGIN, END, render, replace_section  # noqa: E402


def _figures(variant: str, wall: float, cpu: float, stages: dict[str, float], rss: float = 900.0) -> dict:
    split = {k: {"wall_s": v, "cpu_s": v} for k, v in stages.items()}
    return {
        "variant": variant,
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_rss_mib": rss,
        "rows_staged": 1_000_000,
        "cpu_per_city_s": cpu / 514,
        "stages": split,
        "overhead_s": wall - sum(stages.values()),
        "overhead_cpu_s": cpu - sum(stages.values()),
    }


def _payload(ours_wall: float) -> dict:
    ours = _figures("ours", ours_wall, ours_wall, {"ingest": 20, "validation": ours_wall - 60, "publish": 20})
    floor = _figures("floor", 100, 100, {"ingest": 20, "validation": 5, "publish": 10})
    naive = _figures("naive", 2000, 2000, {"ingest": 20, "validation": 1500, "publish": 100})
    return {
        "command": "bench/national_bench.py --cities 514",
        "date": "2026-12-01T00:00:00Z",
        "cores": 2,
        "load_at_end": [1.0, 1.0, 1.0],
        "month": "2025-01",
        "sizes": {"514": [ours, floor, naive]},
    }


def _verdicts(markdown: str) -> dict[str, str]:
    rows = [line.split(" | ") for line in markdown.splitlines() if line.startswith("| ") and " ≤ " in line]
    return {cells[0].lstrip("| "): cells[2].rstrip(" |") for cells in rows}


def test_a_slow_run_names_the_stage_that_holds_it_back():
    verdicts = _verdicts(render(_payload(ours_wall=900)))
    assert verdicts["national month ≤ 5 min wall"].startswith("not met: held back most by validation")
    assert verdicts["CPU per city-month ≤ 2× the floor"].startswith("not met")


def test_a_fast_run_meets_the_time_targets():
    verdicts = _verdicts(render(_payload(ours_wall=190)))
    assert verdicts["national month ≤ 5 min wall"] == "met"
    assert verdicts["CPU per city-month ≤ 2× the floor"] == "met"


def test_only_the_marked_section_is_rewritten():
    text = f"# title\nbefore\n{BEGIN}\nold figures\n{END}\nafter\n"
    out = replace_section(text, "new figures\n")
    assert out == f"# title\nbefore\n{BEGIN}\nnew figures\n{END}\nafter\n"


def test_a_variant_that_counts_no_rows_shows_none_rather_than_zero_per_second():
    payload = _payload(ours_wall=900)
    multiprocess = _figures("ours_mp", 700, 1400, {}) | {"rows_staged": 0}
    payload["sizes"]["514"].append(multiprocess)
    row = next(line for line in render(payload).splitlines() if "| ours_mp |" in line)
    assert row == "| 514 | ours_mp | 700.0 | 1400.0 | 900 MiB | – | – | 2.72 s |"
