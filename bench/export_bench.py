"""Benchmark (not a test): the evaluators' Excel workbook of N cities × M months, on the same tables, each in a fresh
process of its own, rounds alternated:

- **ours**: `write_workbook` (openpyxl's write-only mode, through lxml);
- **ours_etree**: the same without lxml (`OPENPYXL_LXML=False`: openpyxl's own XML writer), to show lxml's share;
- **to_excel**: what one writes by hand, `DataFrame.to_excel` of each table into one `pd.ExcelWriter` (openpyxl).
  Less work than ours: no number formats, widths, frozen panes, filter or formula neutralising, and the indicator
  values in one sheet.

    .venv/bin/python bench/export_bench.py                          # 514 cities × 1 month, 3 rounds
    .venv/bin/python bench/export_bench.py --cities 514 --months 12 --rounds 1 --json data/bench/export.json

The tables have the columns `kotacerdas.report.export_frames.read_export_tables` gives (the project's own indicator
catalog, methodology and labels from config/) with random figures: the cost is in the cells, not in their values.
Reading them from a warehouse is left out on purpose (`bench/national_bench.py` measures the whole reports step).
Each figure: wall and CPU of writing the file, the process's peak RSS (`ru_maxrss`, tables included), file size.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.figures import write_figures  # noqa: E402

VARIANTS = ("ours", "ours_etree", "to_excel")


def export_tables(n_cities: int, n_months: int, seed: int = 1):
    """ExportTables shaped as read_export_tables makes them, for the first N cities of config/regions/."""
    from kotacerdas.config import ProjectConfig
    from kotacerdas.report.export_frames import ExportTables
    from kotacerdas.report.labels import load_labels

    project = ProjectConfig()
    labels = load_labels(project, "id")
    rng = np.random.default_rng(seed)
    regions = pd.read_csv(project.regions_file("kode_wilayah_prov_kabkota.csv"), dtype=str)
    cities = regions[regions["level"] == "kabupaten_kota"].head(n_cities)
    codes, names = cities["kode_kemendagri"].tolist(), cities["nama"].tolist()
    periods = [f"2025-{m:02d}" for m in range(1, n_months + 1)]
    indicators = project.catalog.indicators
    keys = pd.MultiIndex.from_product([codes, periods]).to_frame(index=False, name=["city_code", "period"])

    def place(frame: pd.DataFrame) -> pd.DataFrame:
        frame.insert(1, "city_name", frame["city_code"].map(dict(zip(codes, names, strict=True))))
        frame.insert(2, "province", "Kepulauan Bangka Belitung")
        return frame

    rows = keys.loc[keys.index.repeat(len(indicators))].reset_index(drop=True)
    n = len(rows)
    indicator_values = place(
        rows.assign(
            dimension=[i.dimension for i in indicators] * len(keys),
            dimension_name=[labels.dimensions[i.dimension] for i in indicators] * len(keys),
            element=[i.element for i in indicators] * len(keys),
            element_name=[labels.elements.get(i.element, i.element) for i in indicators] * len(keys),
            indicator_code=[i.code for i in indicators] * len(keys),
            indicator_name=[labels.indicators[i.code] for i in indicators] * len(keys),
            value=rng.random(n) * 100,
            unit=[i.unit for i in indicators] * len(keys),
            normalised_score=rng.random(n) * 100,
            weight=1 / len(indicators),
            coverage=rng.random(n),
            quality_flag="ok",
            value_status="computed",
            status="complete",
            data_coverage=1.0,
            methodology="smart-city-maturity",
            methodology_version="1.0.0",
            catalog_version="1.0.0",
        )
    )

    def scores(level_codes: list[str], name_of) -> pd.DataFrame:
        s = keys.loc[keys.index.repeat(len(level_codes))].reset_index(drop=True)
        m = len(s)
        return place(
            s.assign(
                code=level_codes * len(keys),
                name=[name_of(c) for c in level_codes] * len(keys),
                score=rng.random(m) * 100,
                maturity_level=rng.integers(1, 6, m),
                coverage=1.0,
                change_previous=rng.normal(0, 2, m),
                change_last_year=np.nan,
                status="complete",
                data_coverage=1.0,
                methodology="smart-city-maturity",
                methodology_version="1.0.0",
                published_at=pd.Timestamp("2025-02-10 08:00", tz="Asia/Jakarta"),
            )
        )

    dims = list(labels.dimension_order)
    methodology = pd.DataFrame({"code": [i.code for i in indicators], "weight": [i.weight for i in indicators]}).assign(
        methodology="smart-city-maturity", version="1.0.0", level="indicator"
    )
    regulators = place(
        keys.loc[keys.index.repeat(3)].reset_index(drop=True).assign(regulator=["kominfo", "spbe", "ikm"] * len(keys),
                                                                      score=rng.random(3 * len(keys)) * 5)
    )  # fmt: skip
    tables = ExportTables(
        indicator_values=indicator_values,
        dimension_scores=scores(dims, lambda c: labels.dimensions[c]),
        indices=scores(["index"], lambda c: labels.text("index")),
        regulators=regulators,
        methodology=methodology,
        lang="id",
    )
    return tables, labels


def child(variant: str, n_cities: int, n_months: int, out: Path) -> dict:
    from kotacerdas.report.workbook import write_workbook

    tables, labels = export_tables(n_cities, n_months)
    if variant == "to_excel":  # Excel takes no time zones: one drops them by hand
        for frame in (tables.dimension_scores, tables.indices):
            frame["published_at"] = frame["published_at"].dt.tz_localize(None)
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    if variant != "to_excel":
        write_workbook(tables, labels, out)
    else:  # by hand: every table as a sheet, pandas' default engine for .xlsx (openpyxl)
        frames = {"indices": tables.indices, "regulators": tables.regulators, "methodology": tables.methodology}
        with pd.ExcelWriter(out) as writer:
            scores = tables.dimension_scores
            for dim in labels.dimension_order:
                scores[scores["code"] == dim].to_excel(writer, sheet_name=dim[:31], index=False)
            tables.indicator_values.to_excel(writer, sheet_name="indicator_values", index=False)
            for name, frame in frames.items():
                frame.to_excel(writer, sheet_name=name, index=False)
    return {
        "wall_s": time.perf_counter() - started_wall,
        "cpu_s": time.process_time() - started_cpu,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "bytes": out.stat().st_size,
        "cells": int(sum(f.size for f in tables.tables().values()) + tables.methodology.size),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cities", type=int, default=514)
    parser.add_argument("--months", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.cities, args.months, args.out)))
        return
    runs: dict[str, list[dict]] = {v: [] for v in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="kc_export_") as tmp:
        for _ in range(args.rounds):  # alternated, so a drifting machine slows both alike
            for variant in VARIANTS:
                command = [sys.executable, __file__, "--child", variant, "--cities", str(args.cities),
                           "--months", str(args.months), "--out", str(Path(tmp) / f"{variant}.xlsx")]  # fmt: skip
                env = {**os.environ, "OPENPYXL_LXML": "False"} if variant == "ours_etree" else None
                done = subprocess.run(command, capture_output=True, text=True, env=env)
                if done.returncode:
                    sys.exit(f"{variant} failed:\n{done.stderr}")
                runs[variant].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"{args.cities} cities × {args.months} month(s), {runs['ours'][0]['cells']:,} cells, {args.rounds} round(s):")
    print(f"  {'variant':<10}{'wall s':>9}{'CPU s':>9}{'peak RSS':>12}{'file':>10}")
    medians = {}
    for variant, figures in runs.items():
        med = {k: statistics.median(f[k] for f in figures) for k in ("wall_s", "cpu_s", "peak_rss_mib", "bytes")}
        medians[variant] = med
        print(f"  {variant:<10}{med['wall_s']:>9.2f}{med['cpu_s']:>9.2f}{med['peak_rss_mib']:>8.0f} MiB"
              f"{med['bytes'] / 2**20:>6.1f} MiB")  # fmt: skip
    for other in ("ours_etree", "to_excel"):
        print(f"  {other}/ours CPU {medians[other]['cpu_s'] / medians['ours']['cpu_s']:.2f}×")
    print("  (to_excel does less: no formats, widths, panes, filter or neutralising)")
    if args.json:
        write_figures(args.json, {"cities": args.cities, "months": args.months, "runs": runs, "medians": medians})


if __name__ == "__main__":
    main()
