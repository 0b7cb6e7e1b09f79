"""The README's performance section is generated from the benchmark's JSON (bench/perf_markdown.py): the verdict on
each target follows the figures, and only the marked section of the file is rewritten."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))  # perf_markdown, as the script itself imports its neighbours
sys.path.insert(0, str(REPO))  # bench.national_bench, bench.figures

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
    """Each row of the targets table (the last table of the section), by target."""
    lines = markdown.splitlines()
    table = lines[lines.index("| target | measured | |") + 2 :]
    rows = [line.split(" | ") for line in table if line.startswith("| ")]
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


def test_a_postgresql_run_is_shown_beside_and_does_not_stand_in_for_the_duckdb_targets():
    payload = _payload(ours_wall=190)  # meets the time targets on DuckDB
    slow = _figures("ours", 900, 900, {"ingest": 20, "validation": 100}) | {"warehouse": "postgresql"}
    pg_run = payload | {"command": "bench/national_bench.py --cities 514 --variants ours --postgres"}
    pg_run["sizes"] = {"514": [slow | {"database_cpu_s": 321.5}]}
    markdown = render(payload, [pg_run])
    assert "| 514 | ours on PostgreSQL | 900.0 | 900.0 |" in markdown
    assert "(321.5 s at 514 cities)" in markdown and "--postgres" in markdown
    assert _verdicts(markdown)["national month ≤ 5 min wall"] == "met"  # the DuckDB run's verdict


def test_linearity_compares_the_cost_per_added_city_of_small_and_large_sizes():
    def sized(cpu_per_city: float, n: int) -> dict:
        return _figures("ours", 5 + cpu_per_city * n, 5 + cpu_per_city * n, {})

    payload = _payload(ours_wall=190)
    linear = {str(n): [sized(1.5, n)] for n in (10, 100)} | {"514": payload["sizes"]["514"]}
    linear["514"][0] = sized(1.5, 514) | {"overhead_s": 0.0}
    verdict = next(line for line in render(payload | {"sizes": linear}).splitlines() if "linearly" in line)
    assert verdict.endswith("| met |") and "1.50 s (10→100 cities), 1.50 s (100→514)" in verdict
    quadratic = dict(linear) | {"514": [sized(3.0, 514)] + linear["514"][1:]}
    verdict = next(line for line in render(payload | {"sizes": quadratic}).splitlines() if "linearly" in line)
    assert "not met" in verdict


def test_naive_run_at_a_smaller_size_only_is_compared_with_ours_at_that_size():
    payload = _payload(ours_wall=900)
    ours_514, floor_514, naive = payload["sizes"]["514"]
    small_ours = _figures("ours", 40, 40, {"ingest": 10})
    payload["sizes"] = {"100": [small_ours, naive | {"wall_s": 400.0}], "514": [ours_514, floor_514]}
    verdict = next(line for line in render(payload).splitlines() if "naive" in line and "≥ 5×" in line)
    assert "naive/ours 10.0× in wall at 100 cities" in verdict and verdict.endswith("| met |")


def test_a_floor_run_on_a_slower_vm_is_reported_as_drift_not_as_a_met_target():
    payload = _payload(ours_wall=230)  # 2.3x the floor when both ran at one speed
    floor = payload["sizes"]["514"][1]
    slowed = _figures("floor", 130, 130, {"ingest": 26, "validation": 6.5, "publish": 13})  # the VM 1.3x slower
    payload["sizes"]["514"][1] = slowed
    assert floor["stages"]["ingest"]["cpu_s"] == 20  # ours ran its shared ingest at the first speed
    verdicts = _verdicts(render(payload))  # 1.77x as measured, 2.30x at one speed
    assert verdicts["CPU per city-month ≤ 2× the floor"].startswith("undecided")
    assert "2.30× at one speed" in render(payload)
    # at one speed, the ratio decides as before
    payload["sizes"]["514"][1] = floor
    assert _verdicts(render(payload))["CPU per city-month ≤ 2× the floor"].startswith("not met")


def test_the_multiprocess_run_of_another_file_counts_for_the_wall_target_and_has_no_stage_column():
    payload = _payload(ours_wall=900)
    forked_run = payload | {"command": "bench/national_bench.py --cities 514 --variants ours_mp"}
    forked_run["sizes"] = {"514": [_figures("ours_mp", 280, 500, {}) | {"rows_staged": 0}]}
    markdown = render(payload, [forked_run])
    row = next(line for line in markdown.splitlines() if line.startswith("| national month"))
    assert "15.0 min at 514 cities in process; 4.7 min with the multiprocess executor (ours_mp)" in row
    assert row.endswith("| met |")
    assert "| stage, wall s (CPU s) | ours | floor | naive |" in markdown
    assert _verdicts(render(payload))["national month ≤ 5 min wall"].startswith("not met")


def test_every_entry_point_the_national_bench_times_still_exists():
    """The bench times ours by wrapping the library calls in the asset modules; a renamed call would stop the
    bench at start-up (or, worse, leave a stage untimed)."""
    import importlib

    from bench.national_bench import OURS_ENTRY_POINTS, STAGES

    for module, attr, stage in OURS_ENTRY_POINTS:
        assert callable(getattr(importlib.import_module(module), attr, None)), f"{module}.{attr}"
        assert stage in STAGES


def test_the_cpu_ratio_is_judged_on_the_pipelines_own_cpu_too_not_only_with_the_simulators():
    payload = _payload(ours_wall=190)  # 1.9x the floor with nothing else counted
    for figures in payload["sizes"]["514"]:
        figures["simulator_cpu_s"] = 90.0  # the same simulator work beside both draws the ratio towards 1
        figures["cpu_per_city_s"] = (figures["cpu_s"] + 90.0) / 514
    assert _verdicts(render(payload))["CPU per city-month ≤ 2× the floor"] == "met"
    payload["sizes"]["514"][0] |= {"cpu_s": 230.0, "cpu_per_city_s": (230.0 + 90.0) / 514}  # 2.3x alone, 1.68x with
    verdict = _verdicts(render(payload))["CPU per city-month ≤ 2× the floor"]
    assert verdict.startswith("not met"), verdict
    assert "2.30× on the pipeline's own CPU" in render(payload)


def test_every_also_file_is_in_the_readme_and_named_as_a_source(tmp_path):
    payload = _payload(ours_wall=900)
    multiprocess = payload | {"command": "bench/national_bench.py --cities 514 --variants ours_mp"}
    multiprocess["sizes"] = {"514": [_figures("ours_mp", 700, 1400, {})]}
    on_postgres = payload | {"command": "bench/national_bench.py --cities 514 --variants ours --postgres"}
    on_postgres["sizes"] = {"514": [_figures("ours", 950, 900, {}) | {"warehouse": "postgresql", "database_cpu_s": 1}]}
    files = []
    for name, data in (("scaling", payload), ("mp", multiprocess), ("pg", on_postgres)):
        files.append(tmp_path / f"{name}.json")
        files[-1].write_text(json.dumps(data), encoding="utf-8")
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{BEGIN}\n{END}\n", encoding="utf-8")
    script = REPO / "bench" / "perf_markdown.py"
    argv = [sys.executable, str(script), str(files[0]), "--also", str(files[1]), "--also", str(files[2])]
    subprocess.run([*argv, "--readme", str(readme)], check=True, capture_output=True)
    text = readme.read_text(encoding="utf-8")
    assert "| 514 | ours_mp | 700.0 |" in text and "| 514 | ours on PostgreSQL | 950.0 |" in text
    assert all(f"`{f.as_posix()}`" in text for f in files)


def test_a_run_capped_in_partitions_is_shown_beside_and_does_not_stand_in_for_the_month_in_one_run():
    payload = _payload(ours_wall=900)  # the month in one run misses the wall target
    capped = payload | {"command": "bench/national_bench.py --cities 514 --variants ours --partitions-per-run 100"}
    capped["sizes"] = {"514": [_figures("ours", 100, 100, {"ingest": 20}, rss=1100) | {"partitions_per_run": 100}]}
    markdown = render(payload, [capped])
    assert "| 514 | ours, runs of ≤ 100 partitions | 100.0 | 100.0 | 1,100 MiB |" in markdown
    assert _verdicts(markdown)["national month ≤ 5 min wall"].startswith("not met")


def _year(cities: int, months: int, seconds: float, order: list[int] | None = None) -> dict:
    """`bench/backfill_bench.py --json`: its runs (one per month) in the order they started, by default the months'."""
    run = {"status": "SUCCESS", "seconds": seconds / months * 2}
    return {
        "command": f"bench/backfill_bench.py --cities {cities} --months 2025-01:2025-{months:02d}",
        "date": "2026-12-01T01:00:00Z",
        "cities": cities,
        "months": [f"2025-{m:02d}" for m in range(1, months + 1)],
        "partitions": cities * months,
        "status": "COMPLETED_SUCCESS",
        "seconds": seconds,
        "peak_rss_total_mb": 7000.0,
        "runs": [
            run | {"run_id": f"r{m}", "first": f"11.01|2025-{m:02d}", "last": f"96.71|2025-{m:02d}"}
            for m in (order or range(1, months + 1))
        ],
    }


def test_the_national_year_is_judged_against_the_hour_and_a_smaller_backfill_is_not_called_one():
    def verdict(year: dict) -> str:
        return _verdicts(render(_payload(ours_wall=900), year=year))["national year as a backfill (aim: under an hour)"]

    assert verdict(_year(514, 12, 3000)) == "met"
    assert verdict(_year(514, 12, 6400)).startswith("not met")
    assert verdict(_year(100, 12, 1800)) == "not a national year"
    assert "--months 2025-01:2025-12" in render(_payload(ours_wall=900), year=_year(514, 12, 6400))
    timed = _year(514, 12, 3000) | {"python_probe": {"steps": 2_000_000, "seconds": 0.0384}}
    assert "(a 2,000,000-step Python loop in 0.038 s)" in render(_payload(ours_wall=900), year=timed)


def test_a_year_whose_months_started_out_of_order_says_so():
    def verdict(year: dict) -> str:
        return _verdicts(render(_payload(ours_wall=900), year=year))["national year as a backfill (aim: under an hour)"]

    assert "out of order" not in verdict(_year(514, 12, 6400))
    scrambled = verdict(_year(514, 12, 6400, order=[9, 8, 6, 4, 2, 11, 7, 12, 3, 5, 1, 10]))
    assert scrambled.startswith("not met: an hour is the aim; its months started out of order (09, 08, 06, 04,")
    assert "writes their scorecards again" in scrambled


def _index(asem: tuple[float, float], syn: tuple[float, float], full: tuple[float, float]) -> dict:
    """`bench/index_bench.py --json` with (CPU, wall) medians for each build against COINr 1.1.14's figures."""

    def row(key: str, cpu_wall: tuple[float, float], coinr: float) -> dict:
        return {"key": key, "label": key, "cpu_s": cpu_wall[0], "wall_s": cpu_wall[1], "coinr_s": coinr}

    shortcut = {"key": "", "label": "shortcut", "cpu_s": 0.5, "wall_s": 0.5, "coinr_s": None}
    return {
        "command": "bench/index_bench.py --repeat 21",
        "date": "2026-12-01T02:00:00Z",
        "load_at_start": [0.1, 0.1, 0.1],
        "load_at_end": [0.9, 0.5, 0.2],
        "rows": [row("asem", asem, 0.080), row("syn", syn, 0.559), row("full_rebuilds", full, 10.5), shortcut],
    }


def test_the_index_engine_is_judged_on_every_build_against_coinr_and_never_on_the_shortcut():
    def verdict(index: dict) -> str:
        return _verdicts(render(_payload(ours_wall=900), index=index))["index engine ≥ 2× faster than COINr on builds"]

    assert verdict(_index((0.035, 0.036), (0.2, 0.21), (4.0, 4.1))) == "met"
    assert verdict(_index((0.035, 0.036), (0.2, 0.21), (4.0, 6.0))).startswith("met on CPU; not on wall")
    assert verdict(_index((0.050, 0.050), (0.2, 0.21), (4.0, 4.1))) == (
        "not met: the ASEM build (docs/methodology/index-engine.md)"
    )
    assert "bench/index_bench.py --repeat 21" in render(_payload(ours_wall=900), index=_index((1, 1), (1, 1), (1, 1)))


def test_the_machine_speed_of_the_run_is_quoted_with_its_figures():
    """VMs of one class differed more than twofold (2026-12-05): the section says how fast this one ran Python."""
    payload = _payload(ours_wall=300) | {"python_probe": {"steps": 2_000_000, "seconds": 0.4567}}
    assert "a 2,000,000-step Python loop in 0.457 s" in render(payload)
    assert "Python loop" not in render(_payload(ours_wall=300))  # older files have no probe: nothing made up


def test_figures_files_carry_the_machine_speed(tmp_path):
    from bench.figures import PROBE_STEPS, write_figures

    write_figures(tmp_path / "f.json", {"x": 1})
    probe = json.loads((tmp_path / "f.json").read_text(encoding="utf-8"))["python_probe"]
    assert probe["steps"] == PROBE_STEPS and probe["seconds"] > 0


def test_with_details_the_readme_keeps_the_verdicts_and_the_tables_go_to_the_docs(tmp_path):
    figures = tmp_path / "scaling.json"
    figures.write_text(json.dumps(_payload(ours_wall=900)), encoding="utf-8")
    readme, details = tmp_path / "README.md", tmp_path / "docs" / "operators" / "performance.md"
    details.parent.mkdir(parents=True)
    readme.write_text(f"# x\n{BEGIN}\nold\n{END}\n## Licence\n", encoding="utf-8")
    details.write_text(f"# Performance\nkept\n{BEGIN}\n{END}\n## History\nkept too\n", encoding="utf-8")
    script = REPO / "bench" / "perf_markdown.py"
    argv = [sys.executable, str(script), str(figures), "--readme", str(readme), "--details", str(details)]
    subprocess.run(argv, check=True, capture_output=True)
    summary, tables = readme.read_text(encoding="utf-8"), details.read_text(encoding="utf-8")
    # the README: when, how, the verdicts (with the stage that holds a target back) and where the tables are
    assert "2026-12-01T00:00:00Z" in summary and "bench/national_bench.py --cities 514" in summary
    assert _verdicts(summary)["national month ≤ 5 min wall"].startswith("not met: held back most by validation")
    assert "[docs/operators/performance.md](docs/operators/performance.md)" in summary
    assert "| cities | variant |" not in summary and "Stage split" not in summary and "old" not in summary
    # the docs: the same heading and the tables, the rest of the page untouched
    assert "2026-12-01T00:00:00Z" in tables and "| 514 | ours | 900.0 |" in tables and "Stage split" in tables
    assert "Against the targets" not in tables
    assert tables.startswith("# Performance\nkept\n") and tables.endswith("## History\nkept too\n")
    # alone, --details has nowhere to link from
    alone = subprocess.run([sys.executable, str(script), str(figures), "--details", str(details)], capture_output=True)
    assert alone.returncode == 2 and b"--details goes with --readme" in alone.stderr


def test_details_outside_the_readmes_folder_are_linked_and_a_file_without_markers_changes_nothing(tmp_path):
    figures = tmp_path / "scaling.json"
    figures.write_text(json.dumps(_payload(ours_wall=900)), encoding="utf-8")
    readme, details = tmp_path / "site" / "README.md", tmp_path / "pages" / "perf.md"
    for path in (readme, details):
        path.parent.mkdir()
        path.write_text(f"{BEGIN}\n{END}\n", encoding="utf-8")
    script = [sys.executable, str(REPO / "bench" / "perf_markdown.py"), str(figures)]
    subprocess.run([*script, "--readme", str(readme), "--details", str(details)], check=True, capture_output=True)
    assert "[../pages/perf.md](../pages/perf.md)" in readme.read_text(encoding="utf-8")
    # a README without the markers: an error naming it, and the details file is not rewritten either
    readme.write_text("# no markers\n", encoding="utf-8")
    details.write_text(f"{BEGIN}\nbefore\n{END}\n", encoding="utf-8")
    run = subprocess.run([*script, "--readme", str(readme), "--details", str(details)], capture_output=True, text=True)
    assert run.returncode != 0 and str(readme) in run.stderr and "are not in" in run.stderr
    assert details.read_text(encoding="utf-8") == f"{BEGIN}\nbefore\n{END}\n"
