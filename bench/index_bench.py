"""Benchmark of the composite-index engine against COINr 1.1.14, like for like (a script that prints figures).

    .venv/bin/python bench/index_bench.py [--repeat 15] [--runs 100] [--shortcut-runs 1000]

Each row is the median of repeats (min and max shown) with the load average of the machine, which is shared.
Compared with COINr 1.1.14 measured on this machine class (R, compute only):
  - ASEM example build, 51 units × 49 indicators (validate + every step): COINr 0.080 s
  - synthetic 514 units × 108 indicators, 3 aggregation levels, COINr's treatment defaults (winsorise up to 5
    points, else log_CT): COINr 0.559 s
  - 100 uncertainty runs on ASEM, each a FULL rebuild (as COINr's get_sensitivity regenerates the coin): COINr 10.5 s
Shown separately, with no COINr counterpart: the re-aggregation shortcut (runs that share their pre-aggregation
steps re-aggregated as matrix products), which is what `uncertainty_analysis` does by default.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.figures import write_figures  # noqa: E402
from kotacerdas.index import build_index, sensitivity_analysis, uncertainty_analysis  # noqa: E402
from kotacerdas.index.io import read_method_file  # noqa: E402

ASEM_V1 = ROOT / "tests" / "data" / "reference" / "asem" / "v1_inputs"
ASEM_METHOD = ROOT / "config" / "methodologies" / "asem-coinr-example.yaml"


def synthetic(units: int = 514, indicators: int = 108, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """514 units × 108 indicators under 18 elements, 6 dimensions and an index (as Kominfo's 6 × 3); skewed
    seeded data with ~3 % missing values, two group columns."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(units, 1))
    x = np.exp(0.6 * latent + rng.normal(size=(units, indicators))) * rng.uniform(1, 100, indicators)
    x[rng.random(x.shape) < 0.03] = np.nan
    codes = [f"ind{k:03d}" for k in range(indicators)]
    idata = pd.DataFrame(x, columns=codes)
    idata.insert(0, "uCode", [f"U{k:03d}" for k in range(units)])
    idata.insert(1, "Group_island", rng.choice(["Sumatera", "Jawa", "Kalimantan", "Sulawesi", "Timur"], units))
    idata.insert(2, "Group_kind", np.where(rng.random(units) < 0.2, "kota", "kabupaten"))
    per_element = indicators // 18
    elements = [f"E{k:02d}" for k in range(18)]
    dims = [f"D{k}" for k in range(6)]
    imeta = pd.DataFrame(
        {
            "iCode": codes + elements + dims + ["Index"],
            "Parent": [elements[min(k // per_element, 17)] for k in range(indicators)]
            + [dims[k // 3] for k in range(18)]
            + ["Index"] * 6
            + [None],
            "Direction": list(rng.choice([1, -1], indicators, p=[0.7, 0.3])) + [1] * 25,
            "Weight": list(rng.integers(1, 4, indicators)) + [1] * 25,
            "Type": ["Indicator"] * indicators + ["Aggregate"] * 25,
        }
    )
    return idata, imeta


SYN_METHOD = {
    "version": "bench-514x108",
    "impute": {"method": "mean", "group": "Group_island"},
    "treat": {"winmax": 5},  # COINr 1.x's Treat defaults: up to 5 points, |skew| ≥ 2 and kurtosis ≥ 3.5, log_CT
    "normalise": {"method": "minmax", "lower": 0, "upper": 100},
    "aggregate": {"method": "arith_mean"},
    "results": {"rank_on": "unrounded", "group_ranks": ["Group_island", "Group_kind"]},
}
COINR = {"asem": 0.080, "syn": 0.559, "ua100": 10.5}  # seconds, COINr 1.1.14 on this machine class


CPU: list[float] = []  # median CPU seconds of the last timed() call (the machine is shared: wall time waits)
ROWS: list[dict] = []  # every printed row, for --json


def timed(fn, repeat: int) -> tuple[float, list[float], object]:
    times, cpu, out = [], [], None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    CPU[:] = [statistics.median(cpu)]
    return statistics.median(times), times, out


def peak_mib(fn) -> float:
    """Peak memory allocated while `fn` runs (tracemalloc: Python objects and numpy/pandas buffers)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def row(
    label: str, seconds: float, spread: list[float] | None, mib: float | None, coinr: float | None = None, key: str = ""
) -> None:
    ROWS.append(
        {
            "key": key,
            "label": label,
            "wall_s": seconds,
            "cpu_s": CPU[0],
            "spread_s": spread,
            "peak_mib": mib,
            "coinr_s": coinr,
        }
    )
    extra = f" (min {min(spread):.3f}, max {max(spread):.3f}, n={len(spread)})" if spread and len(spread) > 1 else ""
    peak = f"peak {mib:6.1f} MiB" if mib is not None else f"{'':16}"
    ref = f"COINr {coinr:.3f} s → {coinr / seconds:.1f}× (wall)" if coinr else "no COINr counterpart"
    print(f"{label:<62} {seconds:8.3f} s wall, {CPU[0]:7.3f} s CPU{extra:<34} {peak}   {ref}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15, help="repeats of each build (median reported)")
    ap.add_argument("--runs", type=int, default=100, help="uncertainty runs done as full rebuilds")
    ap.add_argument("--shortcut-runs", type=int, default=1000, help="runs of the re-aggregation shortcut")
    ap.add_argument("--json", type=Path, help="also write the figures here (perf_markdown.py --index reads it)")
    args = ap.parse_args()
    load_at_start = os.getloadavg()
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs, load average at start {load_at_start[0]:.2f}"
    )
    idata = pd.read_csv(ASEM_V1 / "input_iData.csv")
    imeta = pd.read_csv(ASEM_V1 / "input_iMeta.csv")
    method, factors = read_method_file(ASEM_METHOD)
    build_index(idata, imeta, method)  # warm-up (imports, caches)
    t, spread, build = timed(lambda: build_index(idata, imeta, method), args.repeat)
    row(
        "ASEM build (51 × 49: validate + every step + results)",
        t,
        spread,
        peak_mib(lambda: build_index(idata, imeta, method)),
        COINR["asem"],
        key="asem",
    )

    sdata, smeta = synthetic()
    build_index(sdata, smeta, SYN_METHOD)
    t, spread, sbuild = timed(lambda: build_index(sdata, smeta, SYN_METHOD), max(5, args.repeat // 2))
    row(
        "synthetic 514 × 108, 3 levels, COINr treatment defaults",
        t,
        spread,
        peak_mib(lambda: build_index(sdata, smeta, SYN_METHOD)),
        COINR["syn"],
        key="syn",
    )
    treated = sbuild.treat_summary["Treatment"]
    missing = int(sdata.iloc[:, 3:].isna().sum().sum())
    wins, logged = int(treated.str.startswith("Winsorised").sum()), int(treated.str.contains("exceeded").sum())
    print(f"    {missing} missing values imputed; {wins} indicators winsorised, {logged} log-transformed")

    def full():
        return uncertainty_analysis(build, factors, runs=args.runs, seed=1, fast=False)

    t, spread, res = timed(full, 3)
    row(
        f"ASEM uncertainty, {args.runs} runs, each a full rebuild (4 factors)",
        t,
        spread,
        None,
        COINR["ua100"] * args.runs / 100,
        key="full_rebuilds",
    )
    print(f"    {res.builds} full builds")

    def shortcut():
        return uncertainty_analysis(build, factors, runs=args.shortcut_runs, seed=1)

    t, spread, res = timed(shortcut, 3)
    row(f"ASEM uncertainty, {args.shortcut_runs} runs, re-aggregation shortcut", t, spread, peak_mib(shortcut))
    print(f"    {res.builds} full builds (one per winmax × normalisation); the rest re-aggregated in batches")
    n = max(2, round(args.shortcut_runs / (len(factors) + 2)))
    t, spread, res = timed(lambda: sensitivity_analysis(build, factors, n=n, seed=1), 3)
    row(f"ASEM sensitivity, Saltelli N={n}: {n * (len(factors) + 2)} runs + Sobol (shortcut)", t, spread, None)
    print("    Sobol indices (Saltelli 2010 first order, Jansen total) of the mean absolute rank shift:")
    print("    " + res.sobol.round(3).to_string().replace("\n", "\n    "))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"load average at end {os.getloadavg()[0]:.2f}; process peak resident memory {rss:.0f} MiB")
    if args.json:
        write_figures(
            args.json, {"load_at_start": load_at_start, "load_at_end": os.getloadavg(), "runs": args.runs, "rows": ROWS}
        )


if __name__ == "__main__":
    main()
