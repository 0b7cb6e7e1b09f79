"""Command-line conventions: --version, and `kotacerdas ui` (dg dev) stops with every process it started."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from importlib.metadata import version

import psutil
from conftest import REPO_ROOT


def _cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args], capture_output=True, text=True, cwd=REPO_ROOT, **kwargs
    )


def test_version_is_the_installed_package_version():
    done = _cli("--version", timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == f"kotacerdas {version('kotacerdas')}"


def test_a_usage_error_goes_to_stderr_with_a_non_zero_exit():
    done = _cli("scorecard", "--months", "2025-13", timeout=120)
    assert done.returncode == 2 and done.stdout == "" and "2025-13" in done.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ui_stops_with_all_its_children_on_sigterm(tmp_path):
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "KOTACERDAS_WAREHOUSE_URL": f"duckdb:///{tmp_path}/w.duckdb"}
    ui = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "ui", "--no-simulator", "--port", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline, up = time.monotonic() + 240, False
        while time.monotonic() < deadline and ui.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as r:
                    up = r.status == 200
            except OSError:
                pass
            if up:
                break
            time.sleep(1)
        assert up, "the Dagster UI did not come up"
        time.sleep(3)  # let the daemon and the code server start too
        children = psutil.Process(ui.pid).children(recursive=True)
        assert len(children) >= 3  # dg dev, its webserver, its daemon (and code servers)
        ui.send_signal(signal.SIGTERM)
        ui.wait(timeout=90)
        gone, alive = psutil.wait_procs(children, timeout=10)
        assert alive == [], [p.info if hasattr(p, "info") else p.pid for p in alive]
    finally:
        if ui.poll() is None:
            ui.kill()
