"""The JSON file a benchmark writes with `--json`: its figures with the command, the date, the cores they came from
and how fast the machine ran plain Python then, as `perf_markdown.py` quotes them."""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import psutil

PROBE_STEPS = 2_000_000


def python_speed_s(repeat: int = 5) -> float:
    """Median seconds of a fixed pure-Python loop: VMs of one class differ by more than twofold (2026-12-05), so
    figures of two files compare only when this does too. Measured when the figures are written, after the bench's
    own processes have ended."""
    times = []
    for _ in range(repeat):
        started, total = time.perf_counter(), 0
        for i in range(PROBE_STEPS):
            total += i
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def write_figures(path: Path, figures: dict) -> None:
    speed = python_speed_s()
    payload = {
        "command": " ".join(sys.argv),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cores": psutil.cpu_count(),
        "python_probe": {"steps": PROBE_STEPS, "seconds": speed},
        **figures,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    print(f"figures written to {path} (machine speed: {PROBE_STEPS:,} Python loop steps in {speed:.3f} s)")
