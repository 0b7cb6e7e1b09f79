"""Run a long-lived command (`dg dev`) in its own process group and take the whole group down with us: on Ctrl-C
or SIGTERM the child is asked to stop (it shuts its webserver, daemon and code servers down), and whatever of its
group is still alive after a grace period is killed, so nothing is left running."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

GRACE_SECONDS = 20.0


def _kill_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def run_supervised(cmd: Sequence[str], *, cwd: Path, env: dict[str, str], grace: float = GRACE_SECONDS) -> int:
    """Run `cmd` until it exits or we get SIGINT/SIGTERM; returns its exit code (128 + signal when stopped)."""
    child = subprocess.Popen(list(cmd), cwd=cwd, env=env, start_new_session=True)
    stop: list[int] = []

    def on_signal(signum, _frame) -> None:
        stop.append(signum)
        # dagster dev turns SIGTERM into its own graceful shutdown of everything it started
        _kill_group(child.pid, signal.SIGTERM)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while child.poll() is None:
            if stop:
                deadline = time.monotonic() + grace
                while child.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.2)
                break
            time.sleep(0.2)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        # the group outlives its leader when a grandchild ignores the shutdown: nothing may stay behind
        _kill_group(child.pid, signal.SIGKILL)
        child.wait()
    return 128 + stop[0] if stop else child.returncode
