"""The OPD simulator in a process of its own (`kotacerdas simulate-opd`), as the benchmarks run it: the OPD
systems are other machines in production, so their CPU must not share an interpreter (and its GIL) with what is
measured or with the benchmark's own polling."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Simulator:
    """`kotacerdas simulate-opd` in its own process, serving the scratch project's cities."""

    env: dict[str, str]
    log: Path
    seed: int = 42
    proc: subprocess.Popen | None = None
    url: str = ""

    def __enter__(self) -> Simulator:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, "-m", "pipelines.cli", "simulate-opd", "--port", str(port), "--seed", str(self.seed)]
        self._out = self.log.open("wb")
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=self.env, stdout=self._out, stderr=subprocess.STDOUT)
        import requests

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the simulator exited with {self.proc.returncode}; see {self.log}")
            with contextlib.suppress(requests.ConnectionError):
                requests.get(self.url, timeout=2)
                return self
            time.sleep(0.3)
        raise TimeoutError(f"the simulator did not answer in 120 s; see {self.log}")

    def cpu(self) -> float:
        times = psutil.Process(self.proc.pid).cpu_times()
        return times.user + times.system

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._out.close()
