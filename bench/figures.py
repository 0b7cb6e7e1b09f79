"""The JSON file a benchmark writes with `--json`: its figures with the command, the date and the cores they came
from, as `perf_markdown.py` quotes them."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import psutil


def write_figures(path: Path, figures: dict) -> None:
    payload = {
        "command": " ".join(sys.argv),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cores": psutil.cpu_count(),
        **figures,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    print(f"figures written to {path}")
