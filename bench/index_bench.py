"""Benchmark of the composite-index engine (a script that prints figures, not a test).

    .venv/bin/python bench/index_bench.py [--repeat 10] [--runs 1000]

Prints wall time (median of repeats) and peak memory for: COINr's ASEM build (51 units × 49 indicators), a
synthetic 514-unit × 108-indicator build, and a 1,000-run uncertainty analysis on ASEM (plus a Saltelli/Sobol
analysis of about the same number of runs, and full rebuilds per run for comparison). Reference, COINr 1.1.14 in
R on this machine class: ~0.23 s (ASEM build), 1.4 s (514 × 108), ~20 s per 100 uncertainty runs.
"""

from __future__ import annotations

import argparse
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
    "treat": {},  # COINr default: winsorise up to 10 % of units, else log
    "normalise": {"method": "minmax", "lower": 0, "upper": 100},
    "aggregate": {"method": "arith_mean"},
    "results": {"round_to": 2, "group_ranks": ["Group_island", "Group_kind"]},
}


def timed(fn, repeat: int) -> tuple[float, list[float], object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, out


def peak_mib(fn) -> float:
    """Peak memory allocated while `fn` runs (tracemalloc: Python objects and numpy/pandas buffers)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def row(label: str, seconds: float, spread: list[float] | None, mib: float | None, reference: str = "") -> None:
    extra = f" (min {min(spread):.3f}, max {max(spread):.3f}, n={len(spread)})" if spread and len(spread) > 1 else ""
    peak = f"peak {mib:7.1f} MiB" if mib is not None else f"{'':17}"
    print(f"{label:<58} {seconds:9.3f} s{extra:<32} {peak}   {reference}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=10, help="repeats of each build (median reported)")
    ap.add_argument("--runs", type=int, default=1000, help="runs of the uncertainty analysis")
    ap.add_argument("--slow-runs", type=int, default=20, help="runs done by full rebuilds, for comparison")
    args = ap.parse_args()
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
        f"{platform.machine()}, {platform.system()}"
    )

    if not ASEM_V1.is_dir():
        print(f"ASEM v1 inputs not found at {ASEM_V1}: skipping the ASEM figures")
    else:
        idata = pd.read_csv(ASEM_V1 / "input_iData.csv")
        imeta = pd.read_csv(ASEM_V1 / "input_iMeta.csv")
        method, factors = read_method_file(ASEM_METHOD)
        build_index(idata, imeta, method)  # warm-up (imports, caches)
        t, spread, build = timed(lambda: build_index(idata, imeta, method), args.repeat)
        row(
            "ASEM build (51 × 49, validate + 7 stages + results)",
            t,
            spread,
            peak_mib(lambda: build_index(idata, imeta, method)),
            "COINr ~0.23 s",
        )

        def ua():
            return uncertainty_analysis(build, factors, runs=args.runs, seed=1)

        t, spread, res = timed(ua, 3)
        row(
            f"ASEM uncertainty, {args.runs} runs (4 factors, fast path)",
            t,
            spread,
            peak_mib(ua),
            f"COINr ~{20 * args.runs / 100:.0f} s ({100 * t / args.runs:.2f} s per 100 runs)",
        )
        print(f"    {res.builds} full builds (one per winmax × normalisation); the rest re-aggregated in batches")

        n = max(2, round(args.runs / (len(factors) + 2)))

        def sa():
            return sensitivity_analysis(build, factors, n=n, seed=1)

        t, spread, res = timed(sa, 3)
        row(f"ASEM sensitivity, Saltelli N={n}: {n * (len(factors) + 2)} runs + Sobol", t, spread, peak_mib(sa))
        print("    Sobol indices of the mean absolute rank shift:")
        print("    " + res.sobol.round(3).to_string().replace("\n", "\n    "))

        def slow():
            return uncertainty_analysis(build, factors, runs=args.slow_runs, seed=1, fast=False)

        t, _, _ = timed(slow, 1)
        row(
            f"ASEM uncertainty, {args.slow_runs} runs by full rebuild each",
            t,
            None,
            None,
            f"→ {t / args.slow_runs * 100:.1f} s per 100 runs",
        )

        from kotacerdas.index import WeightNoise

        def noise_only():
            return uncertainty_analysis(build, [WeightNoise(noise=0.25)], runs=args.runs, seed=1)

        t, spread, _ = timed(noise_only, 3)
        row(f"ASEM uncertainty, {args.runs} runs, weight noise only", t, spread, peak_mib(noise_only))

    sdata, smeta = synthetic()
    build_index(sdata, smeta, SYN_METHOD)
    t, spread, sbuild = timed(lambda: build_index(sdata, smeta, SYN_METHOD), max(3, args.repeat // 2))
    row(
        "synthetic build 514 × 108 (18 elements, 6 dims, index)",
        t,
        spread,
        peak_mib(lambda: build_index(sdata, smeta, SYN_METHOD)),
        "COINr ~1.4 s",
    )
    treated = int((sbuild.treat_summary["Treatment"] != "None").sum())
    print(f"    {int(sdata.iloc[:, 3:].isna().sum().sum())} missing values imputed, {treated} indicators treated")

    from kotacerdas.index import WeightNoise

    def syn_noise():
        return uncertainty_analysis(sbuild, [WeightNoise(noise=0.25)], runs=args.runs, seed=1)

    t, spread, _ = timed(syn_noise, 3)
    row(f"synthetic 514 × 108 uncertainty, {args.runs} runs, weight noise", t, spread, peak_mib(syn_noise))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak resident memory (ru_maxrss, whole script): {rss:.0f} MiB")


if __name__ == "__main__":
    main()
