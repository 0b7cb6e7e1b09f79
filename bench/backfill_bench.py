"""Benchmark (not a test): a backfill launched the way a data engineer launches it — through the Dagster UI's
GraphQL API against `dagster dev` (webserver + daemon) — for N cities × M months of the OPD simulator, and how
many runs and how long it took.

    .venv/bin/python bench/backfill_bench.py                       # 20 cities × 3 months (2025-01..03)
    .venv/bin/python bench/backfill_bench.py --cities 50 --months 2025-01:2025-12

The cities are the first N kabupaten/kota of the Kemendagri list (config/regions/); everything else (sources,
methodology, quality rules) is the project's own config/, copied to a scratch folder together with a fresh
DAGSTER_HOME (same dagster.yaml) and a DuckDB warehouse. The clock starts when the backfill is submitted and stops
when the daemon marks it finished; the webserver's start-up is not counted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
import requests
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.figures import write_figures  # noqa: E402
from bench.simulator_process import Simulator  # noqa: E402
from kotacerdas.config import ProjectConfig  # noqa: E402
from kotacerdas.config.settings import Settings  # noqa: E402
from kotacerdas.encryption import generate_key  # noqa: E402
from kotacerdas.simulator import write_file_drops  # noqa: E402
from kotacerdas.simulator.masterplan import write_masterplans  # noqa: E402
from kotacerdas.simulator.regions import default_regions_csv, load_regions  # noqa: E402

FINISHED = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}

LAUNCH = """mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message stack }
  ... on InvalidSubsetError { message } ... on UnauthorizedError { message } } }"""
STATUS = """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
  __typename ... on PartitionBackfill { status numPartitions startTime endTime
    runs { runId status startTime endTime tags { key value }
      repositoryOrigin { repositoryName repositoryLocationName } }
    error { message } }
  ... on PythonError { message } } }"""
ASSETS = """{ assetNodes { assetKey { path } isPartitioned jobNames } }"""
MONTHLY_JOB = "smart_city_monthly"


@dataclass(frozen=True)
class BackfillOutcome:
    status: str
    partitions: int
    runs: list[dict]
    seconds: float
    peak_rss_total_mb: float = 0.0  # all processes of the deployment at once (webserver, daemon, runs, steps)
    peak_rss_process_mb: float = 0.0  # the largest single process (a step of a run)
    cpu_s: float = 0.0  # user + system CPU of the deployment's processes (a lower bound: `MemorySampler`)
    simulator_cpu_s: float = 0.0  # the OPD simulator's, in a process of its own
    cpu_by_role: dict[str, float] | None = None  # cpu_s by what each process was (`process_role`)
    submitted_at: float = 0.0  # epoch seconds when the backfill was submitted (runs' times are epoch seconds too)


class MemorySampler:
    """Peak resident memory of a process tree, sampled every half second, and the CPU its processes spent meanwhile:
    each process's CPU as last seen, less what it had at the first sample. A process that ends loses what it spent
    after its last sample (under half a second of it), so the CPU is a lower bound."""

    def __init__(self, pid: int):
        self.root = psutil.Process(pid)
        self.total = self.largest = 0
        self._cpu_first: dict[tuple[int, float], float] = {}
        self._cpu_last: dict[tuple[int, float], float] = {}
        self._roles: dict[tuple[int, float], str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def cpu_s(self) -> float:
        return sum(self._cpu_last.values()) - sum(self._cpu_first.values())

    def cpu_by_role(self) -> dict[str, float]:
        """The CPU above, by what each process was (`process_role`): where a deployment's CPU goes."""
        spent: dict[str, float] = {}
        for key, last in self._cpu_last.items():
            role = self._roles.get(key, "other")
            spent[role] = spent.get(role, 0.0) + last - self._cpu_first.get(key, 0.0)
        return dict(sorted(spent.items(), key=lambda item: -item[1]))

    def _sample(self, first: bool = False) -> None:
        sizes = []
        for proc in [self.root, *self.root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):  # a step process that just ended
                with proc.oneshot():
                    sizes.append(proc.memory_info().rss)
                    times = proc.cpu_times()
                    key = (proc.pid, proc.create_time())
                if key not in self._roles:
                    self._roles[key] = process_role(proc)
                self._cpu_last[key] = times.user + times.system
                if first:
                    self._cpu_first[key] = self._cpu_last[key]
        self.total, self.largest = max(self.total, sum(sizes)), max(self.largest, max(sizes, default=0))

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self._sample()

    def __enter__(self) -> MemorySampler:
        self._sample(first=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


# What a deployment's process is, by its command line and its parent's role (a run worker is the code server's
# spawned child; a fork server's children have its command line: a run's fork server forks the steps, and a step's
# own fork server its scorecard workers).
ROLES = [
    ("dagster._daemon", "daemon"),
    ("dagster_webserver", "webserver"),
    ("api grpc", "code server"),
    ("code-server start", "code server"),
    ("resource_tracker", "resource tracker"),
    ("tail -F", "compute log capture"),
    ("watch_orphans", "compute log capture"),
    (" dev ", "dagster dev"),
]


def process_role(proc: psutil.Process | None) -> str:
    if proc is None:
        return "other"
    line = " ".join(proc.cmdline())
    role = next((name for words, name in ROLES if words in line), None)
    if role:
        return role
    parent = process_role(proc.parent()) if "multiprocessing" in line else "other"
    if "multiprocessing.spawn" in line:
        return "run worker" if parent == "code server" else "step's workers"
    if "multiprocessing.forkserver" in line:
        return {"run worker": "fork server", "fork server": "step"}.get(parent, "step's workers")
    return "other"


def scratch_project(root: Path, n_cities: int, first_month: str) -> ProjectConfig:
    """A copy of config/ whose cities are the first n kabupaten/kota of the Kemendagri list, each with a masterplan."""
    base = ProjectConfig(REPO / "config")
    target = root / "config"
    shutil.copytree(base.dir, target)
    cities = load_regions(default_regions_csv(base))[:n_cities]
    data = yaml.safe_load((target / "cities.yaml").read_text(encoding="utf-8"))
    data["cities"] = [c.model_dump() for c in cities]
    (target / "cities.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    pipeline = yaml.safe_load((target / "pipeline.yaml").read_text(encoding="utf-8"))
    pipeline["first_month"] = first_month
    (target / "pipeline.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False), encoding="utf-8")
    project = ProjectConfig(target)
    # every city has a masterplan, as in production: the simulator then drops its OPDs' monthly progress reports
    write_masterplans(project, project.masterplan_dir)
    return project


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DagsterDev:
    """`dagster dev` (webserver + daemon) on this code location, in its own process group."""

    def __init__(self, env: dict[str, str], log: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/graphql"
        self._log = log.open("wb")
        dagster = Path(sys.executable).with_name("dagster")
        self.proc = subprocess.Popen(
            [str(dagster), "dev", "-w", str(REPO / "workspace.yaml"), "-p", str(self.port)],
            cwd=REPO,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def query(self, query: str, variables: dict | None = None) -> dict:
        response = requests.post(self.url, json={"query": query, "variables": variables or {}}, timeout=60)
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise RuntimeError(f"GraphQL error: {body['errors']}")
        return body["data"]

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dagster dev exited with {self.proc.returncode}; see {self._log.name}")
            try:
                if self.query(ASSETS)["assetNodes"]:
                    return
            except (requests.ConnectionError, requests.HTTPError, RuntimeError):
                pass
            time.sleep(1)
        raise TimeoutError(f"dagster dev not ready after {timeout} s; see {self._log.name}")

    def backfill(
        self, partition_keys: list[str], timeout: float = 3600, simulator_cpu: Callable[[], float] = lambda: 0.0
    ) -> BackfillOutcome:
        assets = [n["assetKey"] for n in self.query(ASSETS)["assetNodes"] if MONTHLY_JOB in n["jobNames"]]
        params = {
            "partitionNames": partition_keys,
            "assetSelection": assets,
            "fromFailure": False,
            "title": f"bench: {len(partition_keys)} partitions",
        }
        started, simulator_started, submitted_at = time.monotonic(), simulator_cpu(), time.time()
        with MemorySampler(self.proc.pid) as memory:
            launched = self.query(LAUNCH, {"params": params})["launchPartitionBackfill"]
            if launched["__typename"] != "LaunchBackfillSuccess":
                raise RuntimeError(f"backfill not launched: {launched}")
            backfill_id = launched["backfillId"]
            reported: set[str] = set()
            while time.monotonic() - started < timeout:
                state = self.query(STATUS, {"id": backfill_id})["partitionBackfillOrError"]
                # each run as it ends, so a long backfill's figures so far are on screen even if it is stopped
                for run in state.get("runs") or []:
                    if run["endTime"] and run["runId"] not in reported:
                        reported.add(run["runId"])
                        figures = _run_figures(run)
                        print(
                            f"  ended at {time.monotonic() - started:7.1f} s: run {figures['run_id'][:8]} "
                            f"{figures['status']} {figures['seconds']:.1f} s {figures['first']} … {figures['last']}",
                            flush=True,
                        )
                if state["status"] in FINISHED:
                    break
                time.sleep(2)
            else:
                raise TimeoutError(f"backfill {backfill_id} not finished after {timeout} s")
        return BackfillOutcome(
            state["status"],
            state["numPartitions"],
            state["runs"],
            time.monotonic() - started,
            memory.total / 2**20,
            memory.largest / 2**20,
            memory.cpu_s,
            simulator_cpu() - simulator_started,
            memory.cpu_by_role(),
            submitted_at,
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the webserver, the daemon and their code servers
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self._log.close()


def run_backfill_bench(
    root: Path, n_cities: int, months: list[str], seed: int = 42, timeout: float = 3600, executor: str | None = None
) -> BackfillOutcome:
    """Everything in `root`: config, DAGSTER_HOME, landing and raw zones, warehouse.duckdb, dagster_dev.log."""
    project = scratch_project(root, n_cities, months[0])
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    token = secrets.token_urlsafe(24)
    cities = [c.code for c in project.cities.cities]
    write_file_drops(project, root / "landing", cities, months, seed=seed)
    simulator_env = {**os.environ, "KOTACERDAS_CONFIG_DIR": str(project.dir), "KOTACERDAS_OPD_API_TOKEN": token}
    with Simulator(simulator_env, root / "simulator.log", seed=seed) as sim:
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "KOTACERDAS_CONFIG_DIR": str(project.dir),
            "KOTACERDAS_OPD_API_URL": sim.url,
            "KOTACERDAS_OPD_API_TOKEN": token,
            "KOTACERDAS_LANDING_DIR": str(root / "landing"),
            "KOTACERDAS_RAW_DIR": str(root / "raw"),
            "KOTACERDAS_WAREHOUSE_URL": f"duckdb:///{root / 'warehouse.duckdb'}",
            "KOTACERDAS_PII_KEY": secrets.token_hex(16),
            # the bench's own raw zone and values are encrypted with a key of its own unless one is given
            "KOTACERDAS_STORAGE_KEY": os.environ.get("KOTACERDAS_STORAGE_KEY") or generate_key(),
        }
        env.pop("KOTACERDAS_EXECUTOR", None)
        if executor:
            env["KOTACERDAS_EXECUTOR"] = executor
        dev = DagsterDev(env, root / "dagster_dev.log")
        try:
            dev.wait_ready()
            return dev.backfill([f"{c}|{m}" for c in cities for m in months], timeout=timeout, simulator_cpu=sim.cpu)
        finally:
            dev.stop()


def _month_range(spec: str) -> list[str]:
    import pandas as pd

    start, _, end = spec.partition(":")
    return [str(p) for p in pd.period_range(start, end or start, freq="M")]


def _run_figures(run: dict) -> dict:
    """A run as the GraphQL API returned it: its id, status, seconds from start to end, first and last partition."""
    tags = {t["key"]: t["value"] for t in run["tags"]}
    return {
        "run_id": run["runId"],
        "status": run["status"],
        "seconds": (run["endTime"] or 0) - (run["startTime"] or 0),
        "first": tags.get("dagster/asset_partition_range_start"),
        "last": tags.get("dagster/asset_partition_range_end"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cities", type=int, default=20)
    parser.add_argument("--months", default="2025-01:2025-03", help="YYYY-MM:YYYY-MM")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (logs, warehouse)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--executor",
        choices=["multiprocess", "in_process"],
        help="KOTACERDAS_EXECUTOR for the runs (default: its default)",
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the backfill (a year: more)")
    args = parser.parse_args()
    months = _month_range(args.months)
    root = Path(tempfile.mkdtemp(prefix="kc_backfill_bench_"))
    try:
        outcome = run_backfill_bench(root, args.cities, months, timeout=args.timeout, executor=args.executor)
        statuses = sorted({r["status"] for r in outcome.runs})
        print(
            f"backfill of {args.cities} cities × {len(months)} months = {outcome.partitions} partitions: "
            f"{outcome.status} in {outcome.seconds:.1f} s with {len(outcome.runs)} runs ({', '.join(statuses)}); "
            f"peak memory {outcome.peak_rss_total_mb:.0f} MB in all processes, "
            f"{outcome.peak_rss_process_mb:.0f} MB in the largest; CPU {outcome.cpu_s:.1f} s in its processes "
            f"(at least), {outcome.simulator_cpu_s:.1f} s in the OPD simulator's"
        )
        starts = [r["startTime"] for r in outcome.runs if r["startTime"]]
        ends = [r["endTime"] for r in outcome.runs if r["endTime"]]
        if starts and ends:  # Dagster's own latency: the backfill daemon ticks every 30 s, the queue every few
            print(
                f"  first run started {min(starts) - outcome.submitted_at:.1f} s after submission; the backfill "
                f"finished {outcome.submitted_at + outcome.seconds - max(ends):.1f} s after its last run ended"
            )
        roles = outcome.cpu_by_role or {}
        print("  CPU by process: " + ", ".join(f"{role} {seconds:.1f} s" for role, seconds in roles.items()))
        runs = [_run_figures(run) for run in sorted(outcome.runs, key=lambda r: r["startTime"] or 0)]
        for run in runs:
            span = f"{run['first']} … {run['last']}"
            print(f"  run {run['run_id'][:8]} {run['status']:<8} {run['seconds']:6.1f} s  {span}")
        if args.json:
            figures = {
                "cities": args.cities,
                "months": months,
                "executor": args.executor or Settings.model_fields["executor"].default,
                "partitions": outcome.partitions,
                "status": outcome.status,
                "seconds": outcome.seconds,
                "peak_rss_total_mb": outcome.peak_rss_total_mb,
                "peak_rss_process_mb": outcome.peak_rss_process_mb,
                "cpu_s": outcome.cpu_s,
                "simulator_cpu_s": outcome.simulator_cpu_s,
                "cpu_by_role_s": outcome.cpu_by_role,
                "runs": runs,  # in the order the daemon started them
            }
            write_figures(args.json, figures)
    finally:
        if args.keep:
            print(f"scratch folder kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
