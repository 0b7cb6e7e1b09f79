"""Benchmark (not a test): N kabupaten/kota × one month end to end, ours against the floor and the naive path, in
the same run, on the same data, each in a fresh process of its own.

    .venv/bin/python bench/national_bench.py --cities 10                    # ours, floor, naive; 10 cities
    .venv/bin/python bench/national_bench.py --scaling 1,10,100,514 --json data/bench/national.json
    .venv/bin/python bench/national_bench.py --cities 514 --variants ours,floor   # a national month
    .venv/bin/python bench/national_bench.py --cities 100 --variants ours --postgres   # warehouse and instance on PG

- **ours**: the path a user runs (`pipelines.runner.run_backfill`, in process: one Dagster run for every city of
  the month, SQLite instance in a fresh DAGSTER_HOME), into a DuckDB warehouse. The library's own stage times are
  measured by wrapping its entry points as the assets call them; Dagster overhead is the run minus their sum.
- **floor**: the same library ingest, staging, indicators and index (the index in one call for all cities, as ours
  does), with the quality rules in plain pandas (no GX, no Dagster) and each partition's rows bulk-loaded into
  DuckDB (`INSERT … SELECT` from the frame, DuckDB's COPY).
- **ours_mp** (only when asked for): the same run with Dagster's multiprocess executor, as the daemon runs a
  backfill (a process per step, two at a time on two cores; the warehouse writers one at a time). CPU includes the
  step processes'; no stage split and no row count (the stages run in those processes).
- **ours on PostgreSQL** (`--postgres`): ours and ours_mp write a fresh PostgreSQL database as warehouse and keep
  Dagster's runs and events in another one (dagster-postgres), as production does; the floor and naive stay on
  DuckDB. The database server's CPU is reported apart (`database_cpu_s`), its memory is not in the peak RSS.
- **naive**: what one writes by hand: `requests` page by page and `pandas.read_csv`, the library's staging (typing),
  GX validation of every frame with a fresh context, the library's indicator `groupby`s and index, `to_sql`.

The cities are the first N of config/regions/ (as bench/backfill_bench.py picks them); the OPD simulator runs in its
own process (`kotacerdas simulate-opd`). Each figure: wall and CPU of the variant's process while it works (its
imports and set-up are reported apart), the simulator's CPU in the same span, peak RSS of all processes (the
variant's and the simulator's, sampled), rows staged, CPU per city-month, and the stage split.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import json
import os
import platform
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.figures import write_figures  # noqa: E402
from bench.simulator_process import Simulator  # noqa: E402

MONTH = "2025-01"
VARIANTS = ("ours", "floor", "naive", "ours_mp")
DEFAULT_VARIANTS = ("ours", "floor", "naive")
PROFILE_ENV = "KOTACERDAS_BENCH_PROFILE"  # a folder: each variant's run is profiled (cProfile) into it
PG_ADMIN_URL = os.environ.get("KOTACERDAS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
STAGES = ("ingest", "staging", "validation", "indicators_index", "publish", "masterplan", "reports")


# --- the measuring parent ---------------------------------------------------------------------------------------


class TreeSampler:
    """Peak resident memory of several processes and their children together, sampled every 0.2 s."""

    def __init__(self, pids: list[int]):
        self.roots = [psutil.Process(p) for p in pids]
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        total = 0
        for root in self.roots:
            with contextlib.suppress(psutil.Error):
                for proc in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        total += proc.memory_info().rss
        self.peak = max(self.peak, total)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def scratch(root: Path, n_cities: int) -> tuple[Path, list[str]]:
    """config/ with the first n kabupaten/kota of the Kemendagri list; the cities' codes."""
    from bench.backfill_bench import scratch_project

    project = scratch_project(root, n_cities, MONTH)
    return project.dir, [c.code for c in project.cities.cities]


@dataclass
class Figures:
    variant: str
    cities: int
    wall_s: float
    cpu_s: float  # the variant's process while it works
    simulator_cpu_s: float
    setup_wall_s: float  # imports, definitions, GX import: once per process
    setup_cpu_s: float
    peak_rss_mib: float  # all processes (variant and simulator), sampled
    process_max_rss_mib: float  # the variant's own process (getrusage)
    rows_staged: int
    stages: dict[str, dict[str, float]] = field(default_factory=dict)  # stage -> {wall_s, cpu_s}
    index_scores: dict[str, float] = field(default_factory=dict)  # city -> index of the month (same numbers?)
    failed: int = 0
    events: dict[str, int] = field(default_factory=dict)  # ours: the run's event log records, by event type
    gc_s: float = 0.0  # wall time inside CPython's cyclic garbage collector during the run
    gc_collections: list[int] = field(default_factory=lambda: [0, 0, 0])  # per generation
    warehouse: str = "duckdb"  # or postgresql (then Dagster's instance is dagster-postgres too)
    database_cpu_s: float = 0.0  # PostgreSQL's server processes during the run (0 on DuckDB: it is in-process)
    partitions_per_run: int | None = None  # ours with `backfill_partitions_per_run` set: runs of at most this many

    @property
    def cpu_per_city_s(self) -> float:
        return (self.cpu_s + self.simulator_cpu_s) / self.cities

    @property
    def overhead_s(self) -> float:
        """Wall time that none of the library's stages account for (Dagster: event log, IO manager, steps)."""
        return self.wall_s - sum(s["wall_s"] for s in self.stages.values())

    @property
    def overhead_cpu_s(self) -> float:
        return self.cpu_s - sum(s["cpu_s"] for s in self.stages.values())


def _postgres_cpu() -> float:
    """CPU so far of the PostgreSQL server's processes on this machine (its backends come and go: the ones that
    ended during a run are missed, so this is a lower bound)."""
    total = 0.0
    for proc in psutil.process_iter(["name", "cpu_times"]):
        if (proc.info["name"] or "").startswith("postgres") and proc.info["cpu_times"]:
            total += proc.info["cpu_times"].user + proc.info["cpu_times"].system
    return total


def run_variant(
    variant: str, env: dict[str, str], sim: Simulator, cities: list[str], root: Path, warehouse: str = "duckdb"
) -> Figures:
    out = root / f"{variant}.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", variant, "--root", str(root), "--out", str(out)]
    sim_cpu, db_cpu = sim.cpu(), _postgres_cpu()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env)
    with TreeSampler([proc.pid, sim.proc.pid]) as memory:
        code = proc.wait()
    if code:
        raise RuntimeError(f"{variant} exited with {code}")
    data = json.loads(out.read_text(encoding="utf-8"))
    database_cpu = _postgres_cpu() - db_cpu if warehouse == "postgresql" else 0.0
    return Figures(variant=variant, cities=len(cities), simulator_cpu_s=sim.cpu() - sim_cpu,
                   peak_rss_mib=memory.peak / 2**20, warehouse=warehouse, database_cpu_s=database_cpu,
                   **data)  # fmt: skip


@contextlib.contextmanager
def postgres_databases(admin_url: str, *purposes: str, keep: bool = False):
    """A fresh database per purpose on the PostgreSQL of `admin_url`, dropped afterwards unless `keep` (to look at
    a run's warehouse, e.g. `EXPLAIN ANALYZE` its evaluator views): purpose -> URL."""
    import uuid

    import sqlalchemy as sa

    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    names = {p: f"kc_bench_{p}_{uuid.uuid4().hex[:8]}" for p in purposes}
    try:
        with admin.connect() as conn:
            for name in names.values():
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        base = sa.make_url(admin_url)
        yield {p: base.set(database=n).render_as_string(hide_password=False) for p, n in names.items()}
    finally:
        if keep:
            print(f"PostgreSQL databases kept: {', '.join(names.values())}")
        else:
            with admin.connect() as conn:
                for name in names.values():
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _instance_yaml(postgres_url: str | None) -> str:
    """dagster.yaml of a variant's DAGSTER_HOME: the project's own, or dagster-postgres storage (same pools)."""
    own = (REPO / "dagster_home" / "dagster.yaml").read_text(encoding="utf-8")
    if postgres_url is None:
        return own
    url = postgres_url.replace("+psycopg:", "+psycopg2:")  # dagster-postgres speaks psycopg2
    # the storage sections of config/dagster-production.yaml (its pooled event log), pointed at this database
    production = yaml.safe_load((REPO / "config" / "dagster-production.yaml").read_text(encoding="utf-8"))
    storage = {
        section: production[section] | {"config": {"postgres_url": url}}
        for section in ("run_storage", "event_log_storage", "schedule_storage")
    }
    rest = {"concurrency": {"pools": {"default_limit": 1}}, "telemetry": {"enabled": False}}
    return yaml.safe_dump(storage | rest, sort_keys=False)


def bench_size(
    n_cities: int, variants: list[str], keep: bool, postgres: str | None = None, partitions_per_run: int | None = None
) -> list[Figures]:
    from kotacerdas.encryption import generate_key
    from kotacerdas.simulator import write_file_drops

    root = Path(tempfile.mkdtemp(prefix=f"kc_national_{n_cities}_"))
    try:
        config_dir, cities = scratch(root, n_cities)
        from kotacerdas.config import ProjectConfig

        if partitions_per_run is not None:  # ours then reads it from pipeline.yaml, as `kotacerdas run` does
            settings = yaml.safe_load((config_dir / "pipeline.yaml").read_text(encoding="utf-8"))
            settings["backfill_partitions_per_run"] = partitions_per_run
            (config_dir / "pipeline.yaml").write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")

        write_file_drops(ProjectConfig(config_dir), root / "landing", cities, [MONTH], seed=42)
        token = secrets.token_urlsafe(24)
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "KOTACERDAS_CONFIG_DIR": str(config_dir),
            "KOTACERDAS_OPD_API_TOKEN": token,
            "KOTACERDAS_LANDING_DIR": str(root / "landing"),
            "KOTACERDAS_PII_KEY": secrets.token_hex(16),
            "KOTACERDAS_STORAGE_KEY": os.environ.get("KOTACERDAS_STORAGE_KEY") or generate_key(),
            "GX_ANALYTICS_ENABLED": "false",
        }
        for name in ("KOTACERDAS_EXECUTOR", "KOTACERDAS_WAREHOUSE_URL", "DAGSTER_HOME"):
            env.pop(name, None)
        results = []
        with Simulator(env, root / "simulator.log") as sim:
            env["KOTACERDAS_OPD_API_URL"] = sim.url
            (root / "cities.json").write_text(json.dumps(cities), encoding="utf-8")
            for variant in variants:
                work = root / variant
                work.mkdir()
                home = work / "dagster_home"
                home.mkdir()
                on_postgres = postgres is not None and variant in ("ours", "ours_mp")
                with contextlib.ExitStack() as stack:
                    dbs = {}
                    if on_postgres:
                        dbs = stack.enter_context(postgres_databases(postgres, "wh", "dg", keep=keep))
                    (home / "dagster.yaml").write_text(_instance_yaml(dbs.get("dg")), encoding="utf-8")
                    venv = {
                        **env,
                        "DAGSTER_HOME": str(home),
                        "KOTACERDAS_RAW_DIR": str(work / "raw"),
                        "KOTACERDAS_WAREHOUSE_URL": dbs.get("wh", f"duckdb:///{work / 'warehouse.duckdb'}"),
                    }
                    warehouse = "postgresql" if on_postgres else "duckdb"
                    figures = run_variant(variant, venv, sim, cities, root, warehouse)
                    if variant == "ours":
                        figures.partitions_per_run = partitions_per_run
                    results.append(figures)
        return results
    finally:
        if keep:
            print(f"scratch folder kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


# --- the variants, each in its own process --------------------------------------------------------------------


class StageClock:
    """Wall and CPU time per stage of the library's entry points; a call inside a timed call is not counted twice."""

    def __init__(self):
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self._depth = 0

    @contextlib.contextmanager
    def stage(self, name: str):
        if self._depth:
            yield
            return
        self._depth += 1
        wall, cpu = time.perf_counter(), _stage_cpu()
        try:
            yield
        finally:
            self.wall[name] += time.perf_counter() - wall
            self.cpu[name] += _stage_cpu() - cpu
            self._depth -= 1

    def wrap(self, module, attr: str, name: str) -> None:
        original = getattr(module, attr)

        def timed(*args, **kwargs):
            with self.stage(name):
                return original(*args, **kwargs)

        setattr(module, attr, timed)

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {s: {"wall_s": self.wall[s], "cpu_s": self.cpu[s]} for s in STAGES if s in self.wall}


class GcClock:
    """A `gc.callbacks` entry summing the time the cyclic collector runs, and its collections per generation."""

    def __init__(self):
        self.seconds = 0.0
        self.collections = [0, 0, 0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.collections[info["generation"]] += 1


def _stage_cpu() -> float:
    """CPU of this process and of its children that ended: a stage's worker processes (the scorecards' pool, joined
    before the stage returns) count for the stage."""
    usages = [resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usages)


def _cpu() -> float:
    """CPU of this process, of its children that ended, and of its live children with theirs that ended: ours_mp's
    step processes are children of the multiprocess executor's fork server, which lives as long as this process."""
    total = _stage_cpu()
    for child in psutil.Process().children():
        with contextlib.suppress(psutil.Error):
            times = child.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
    return total


# Where the assets call the library, by stage: the bench times ours by wrapping these names in the asset modules
# (tests/test_bench_markdown.py checks that each still exists).
OURS_ENTRY_POINTS = (
    ("assets.ingest", "ingest_partitions", "ingest"),
    ("assets.staging", "stage_table", "staging"),
    ("assets.quality", "run_quality_gates", "validation"),
    ("assets.indicators", "compute_indicators", "indicators_index"),
    ("assets.indices", "score_maturity_each", "indicators_index"),
    ("assets.publish", "load_reference_data", "publish"),
    ("assets.publish", "quarantine_frames", "publish"),
    ("assets.publish", "score_frames", "publish"),
    ("assets.publish", "publish_partitions", "publish"),
    # the masterplan's status of each city-month (the floor and naive have none), its reads and its publish
    ("assets.masterplan", "group_status", "masterplan"),
    ("assets.masterplan", "publish_partitions", "masterplan"),
    ("assets.report", "published_partitions", "reports"),
    ("assets.report", "write_scorecards", "reports"),
    ("assets.report", "write_exports", "reports"),
)


def child_ours(cities: list[str], clock: StageClock) -> dict:
    import assets.staging
    from kotacerdas.config import ProjectConfig
    from pipelines.definitions import defs
    from pipelines.runner import local_instance, run_backfill

    for module, attr, stage in OURS_ENTRY_POINTS:
        clock.wrap(importlib.import_module(module), attr, stage)
    staged_rows = []
    original_stage = assets.staging.stage_table

    def counting(*args, **kwargs):
        result = original_stage(*args, **kwargs)
        staged_rows.append(len(result.frame))
        return result

    assets.staging.stage_table = counting
    instance = local_instance()
    from kotacerdas.quality import gx_runtime

    gx_runtime.import_gx()  # counted as set-up, as the floor's and naive's imports are
    yield "ready"
    per_run = ProjectConfig().pipeline.backfill_partitions_per_run  # as `kotacerdas run` reads it
    outcomes = run_backfill(
        defs, [(c, MONTH) for c in cities], instance=instance, log_level="WARNING", partitions_per_run=per_run
    )

    def events() -> dict[str, int]:
        """The run's event log records by type (counted after the timed span)."""
        counts: dict[str, int] = {}
        for run_id in {o.run_id for o in outcomes}:  # one run holds every partition of the month
            for record in instance.all_logs(run_id):
                kind = record.dagster_event.event_type_value if record.dagster_event else "log message"
                counts[kind] = counts.get(kind, 0) + 1
        return counts

    yield {"rows_staged": sum(staged_rows), "failed": sum(not o.success for o in outcomes), "events": events}


def child_ours_mp(cities: list[str], clock: StageClock) -> dict:
    """One run of the month's range with the multiprocess executor (Dagster's `execute_job`, as a run worker
    started by the daemon executes it)."""
    import dagster as dg

    from assets.partitions import backfill_ranges, range_tags
    from pipelines.definitions import MONTHLY_JOB, defs, monthly_job
    from pipelines.runner import local_instance

    instance = local_instance()
    partitions_def = defs.resolve_job_def(MONTHLY_JOB).partitions_def
    (key_range,) = backfill_ranges(partitions_def, [(c, MONTH) for c in cities])
    yield "ready"
    result = dg.execute_job(
        dg.reconstructable(monthly_job),
        instance=instance,
        tags=range_tags(key_range),
        run_config={"execution": {"config": {"max_concurrent": os.cpu_count() or 2}}},
        raise_on_error=False,
    )
    failed = 0 if result.success else len(cities)  # a range run fails as a whole; `kotacerdas run` says which
    yield {"rows_staged": 0, "failed": failed, "events": None}  # rows are counted in the step processes: not here


def _read_index(url: str, cities: list[str]) -> dict[str, float]:
    import sqlalchemy as sa

    from kotacerdas.warehouse.engine import create_warehouse_engine, resolve_warehouse_url

    engine = create_warehouse_engine(resolve_warehouse_url(url, REPO))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT city_code, score FROM index_scores WHERE level = 'index' AND period = :p"), {"p": MONTH}
            ).all()
    finally:
        engine.dispose()
    return {c: float(s) for c, s in rows if c in set(cities)}


def _condition(df, condition):
    """The rows a GX `row_condition` selects (the suites use `column IN (...)` only)."""
    if condition is None:
        return True
    condition = dict(condition) if isinstance(condition, dict) else condition.model_dump()
    column = condition["column"]["name"] if isinstance(condition["column"], dict) else condition["column"]
    operator = str(condition["operator"]).upper().rsplit(".", 1)[-1]
    if operator != "IN":
        raise ValueError(f"no plain-pandas version of row_condition operator {operator}")
    return df[column].isin(list(condition["parameter"]))


def plain_rules(df, suite, city: str) -> tuple:
    """The suite's rules on `df` with pandas only: (rows failing an `error` rule, failed table-level error rules)."""
    import numpy as np
    import pandas as pd

    blocked = np.zeros(len(df), dtype=bool)
    failed_table = []
    for rule in suite.rules:
        kw, t = suite.bound_kwargs(rule, city, MONTH, pd.Timestamp("2025-06-01")), rule.type
        bad = None
        rows = _condition(df, kw.get("row_condition"))
        if t == "expect_column_values_to_not_be_null":
            bad = df[kw["column"]].isna()
        elif t == "expect_column_values_to_be_null":
            bad = df[kw["column"]].notna()
        elif t == "expect_column_values_to_be_in_set":
            col = df[kw["column"]]
            bad = col.notna() & ~col.isin(kw["value_set"])
        elif t == "expect_column_values_to_be_between":
            col = df[kw["column"]]
            bad = pd.Series(False, index=df.index)
            if kw.get("min_value") is not None:
                bad |= (col <= kw["min_value"]) if kw.get("strict_min") else (col < kw["min_value"])
            if kw.get("max_value") is not None:
                bad |= (col >= kw["max_value"]) if kw.get("strict_max") else (col > kw["max_value"])
        elif t == "expect_compound_columns_to_be_unique":
            bad = df.duplicated(kw["column_list"], keep=False)
        elif t == "expect_column_pair_values_a_to_be_greater_than_b":
            a, b = df[kw["column_A"]], df[kw["column_B"]]
            bad = a.notna() & b.notna() & ~(a >= b if kw.get("or_equal") else a > b)
        elif t == "expect_table_columns_to_match_set":
            if set(df.columns) != set(kw["column_set"]) and rule.severity == "error":
                failed_table.append(rule.id)
        elif t == "expect_column_max_to_be_between":
            top = df[kw["column"]].max()
            if rule.severity == "error" and not (pd.isna(top) or top >= kw["min_value"]):
                failed_table.append(rule.id)
        elif t == "expect_column_distinct_values_to_contain_set":
            if rule.severity == "error" and not set(kw["value_set"]) <= set(df[kw["column"]].dropna()):
                failed_table.append(rule.id)
        else:
            raise ValueError(f"no plain-pandas version of {t}")
        if bad is not None and rule.severity == "error":
            blocked |= (bad.fillna(False) & rows).to_numpy(dtype=bool)
    return blocked, failed_table


def child_floor(cities: list[str], clock: StageClock) -> dict:
    import duckdb
    import pandas as pd

    from kotacerdas.config import ProjectConfig, settings
    from kotacerdas.indicators.compute import compute_indicators
    from kotacerdas.ingest.table import ingest_table
    from kotacerdas.maturity import score_maturity_each
    from kotacerdas.quality.suite import load_suite
    from kotacerdas.schemas import MONTHLY_TABLES
    from kotacerdas.stage.staging import stage_table

    project = ProjectConfig()
    suites = {name: load_suite(t, project, check_with_gx=False) for name, t in MONTHLY_TABLES.items()}
    key = settings().pii_key_bytes()
    db = duckdb.connect(settings().warehouse_url.get_secret_value().removeprefix("duckdb:///"))
    made: set[str] = set()
    yield "ready"
    rows, index, values_by_city = 0, {}, {}

    def insert(frames: dict) -> None:
        db.begin()
        for name, frame in frames.items():
            db.register("frame", frame)
            if name not in made:
                db.execute(f'CREATE TABLE "{name}" AS SELECT * FROM frame LIMIT 0')
                made.add(name)
            db.execute(f'INSERT INTO "{name}" SELECT * FROM frame')
            db.unregister("frame")
        db.commit()

    for city in cities:
        valid = {}
        for name, table in MONTHLY_TABLES.items():
            with clock.stage("ingest"):
                raw = ingest_table(
                    project, name, city, MONTH, raw_dir=project.raw_dir(), landing_dir=project.landing_dir()
                )
            with clock.stage("staging"):
                staged = stage_table(table, raw.frame, city=city, month=MONTH, pii_key=key)
            rows += len(staged.frame)
            with clock.stage("validation"):
                frame = staged.frame.reset_index(drop=True)
                blocked, _ = plain_rules(frame, suites[name], city)
                valid[name] = frame[~blocked]
        with clock.stage("indicators_index"):
            values = values_by_city[city] = compute_indicators(
                project.catalog, valid, city_code=city, period=MONTH, population=project.cities.city(city).population
            )
        with clock.stage("publish"):
            insert({f"staged_{n}": f for n, f in valid.items()} | {"indicator_values": values})
    # the index in one call for all cities, as ours does (its cost is fixed per call, not per city)
    with clock.stage("indicators_index"):
        scored = score_maturity_each(values_by_city, project.catalog, project.methodology)
    with clock.stage("publish"):
        insert({"index_scores": pd.concat(scored.values(), ignore_index=True)})
    for city, scores in scored.items():
        index[city] = float(scores.loc[scores["level"] == "index", "score"].iloc[0])
    db.close()
    yield {"rows_staged": rows, "index_scores": index}


def child_naive(cities: list[str], clock: StageClock) -> dict:
    import glob

    import great_expectations as gx
    import pandas as pd
    import requests
    import sqlalchemy as sa
    from great_expectations.data_context.types.base import ProgressBarsConfig

    from kotacerdas.config import ProjectConfig, settings
    from kotacerdas.config.models import FileSource
    from kotacerdas.indicators.compute import compute_indicators
    from kotacerdas.maturity import score_maturity
    from kotacerdas.quality.suite import load_suite
    from kotacerdas.schemas import MONTHLY_TABLES
    from kotacerdas.stage.staging import stage_table

    project = ProjectConfig()
    env = os.environ
    suites = {name: load_suite(t, project) for name, t in MONTHLY_TABLES.items()}
    key = settings().pii_key_bytes()
    engine = sa.create_engine(settings().warehouse_url.get_secret_value())
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {env['KOTACERDAS_OPD_API_TOKEN']}"
    yield "ready"

    def fetch(source, city: str, opd: str) -> pd.DataFrame:
        if isinstance(source, FileSource):
            pattern = source.pattern.format(city=city, opd=opd, month=MONTH)
            frames = [
                pd.read_csv(p, sep=None, engine="python", dtype=str, encoding="utf-8-sig")
                for p in sorted(glob.glob(str(Path(env["KOTACERDAS_LANDING_DIR"]) / pattern)))
            ]
            frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
            if "Nilai" in frame:  # 1.234,56 as the OPDs write it
                frame["Nilai"] = frame["Nilai"].str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        else:
            url = source.base_url.replace("${KOTACERDAS_OPD_API_URL}", env["KOTACERDAS_OPD_API_URL"])
            url += source.path.format(city=city, opd=opd, month=MONTH)
            rows, page, offset = [], 1, 0
            while True:
                params = (
                    {"offset": offset, "limit": source.page_size}
                    if source.pagination == "offset"
                    else {"page": page, "page_size": source.page_size}
                )
                body = session.get(url, params=params, timeout=60).json()
                rows += body["data"]
                if source.pagination == "offset":
                    offset += len(body["data"])
                    if len(body["data"]) < source.page_size:
                        break
                elif body.get("next_page") is None:
                    break
                page += 1
            frame = pd.DataFrame(rows)
        frame = frame.rename(columns=source.columns)
        return frame.loc[:, ~frame.columns.duplicated()]

    rows, index = 0, {}
    for city in cities:
        valid = {}
        for name, table in MONTHLY_TABLES.items():
            with clock.stage("ingest"):
                parts = [
                    fetch(source, city, opd.code)
                    for source in project.sources.for_table(name)
                    for opd in project.cities.opds_for(name)
                ]
                raw = pd.concat(parts, ignore_index=True)
                raw["_raw_file"], raw["_raw_row"] = name, range(1, len(raw) + 1)
            with clock.stage("staging"):
                frame = stage_table(table, raw, city=city, month=MONTH, pii_key=key).frame.reset_index(drop=True)
            rows += len(frame)
            with clock.stage("validation"):
                context = gx.get_context(mode="ephemeral")
                context.variables.progress_bars = ProgressBarsConfig(globally=False)  # readable output only
                batch = (
                    context.data_sources.add_pandas("naive")
                    .add_dataframe_asset(name)
                    .add_batch_definition_whole_dataframe("all")
                    .get_batch(batch_parameters={"dataframe": frame})
                )
                bound = suites[name].expectations(city, MONTH, pd.Timestamp("2025-06-01"))
                suite = gx.ExpectationSuite(name=name, expectations=[e for _, e in bound])
                result = batch.validate(suite, result_format="COMPLETE")
                severity = {rule.id: rule.severity for rule, _ in bound}
                bad = set()
                for r in result.results:
                    if severity[r.expectation_config.meta.get("kotacerdas_rule")] == "error":
                        bad.update((r.result or {}).get("unexpected_index_list") or [])
                valid[name] = frame.drop(index=list(bad))
        with clock.stage("indicators_index"):
            values = compute_indicators(
                project.catalog, valid, city_code=city, period=MONTH, population=project.cities.city(city).population
            )
            scores = score_maturity(values, project.catalog, project.methodology)
        with clock.stage("publish"):
            for name, frame in {**{f"naive_{n}": f for n, f in valid.items()}, "naive_indicator_values": values,
                                "naive_index_scores": scores}.items():  # fmt: skip
                frame.to_sql(name, engine, if_exists="append", index=False)
        index[city] = float(scores.loc[scores["level"] == "index", "score"].iloc[0])
    engine.dispose()
    yield {"rows_staged": rows, "index_scores": index}


def child(variant: str, root: Path, out: Path) -> None:
    cities = json.loads((root / "cities.json").read_text(encoding="utf-8"))
    clock = StageClock()
    wall0, cpu0 = time.perf_counter(), _cpu()
    children = {"ours": child_ours, "floor": child_floor, "naive": child_naive, "ours_mp": child_ours_mp}
    steps = children[variant](cities, clock)
    next(steps)  # imports and set-up
    setup_wall, setup_cpu = time.perf_counter() - wall0, _cpu() - cpu0
    profile = os.environ.get(PROFILE_ENV)
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    collector = GcClock()
    gc.callbacks.append(collector)
    wall1, cpu1 = time.perf_counter(), _cpu()
    result = next(steps)
    wall, cpu = time.perf_counter() - wall1, _cpu() - cpu1
    gc.callbacks.remove(collector)
    if profile:
        profiler.disable()
        profiler.dump_stats(Path(profile) / f"{variant}-{len(cities)}.prof")
    if callable(result.get("events")):
        result["events"] = result["events"]()
    if variant in ("ours", "ours_mp"):
        result["index_scores"] = _read_index(os.environ["KOTACERDAS_WAREHOUSE_URL"], cities)
    figures = {
        "wall_s": wall,
        "cpu_s": cpu,
        "setup_wall_s": setup_wall,
        "setup_cpu_s": setup_cpu,
        "process_max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "stages": clock.as_dict(),
        "gc_s": collector.seconds,
        "gc_collections": collector.collections,
        **result,
    }
    out.write_text(json.dumps(figures), encoding="utf-8")


# --- printing ---------------------------------------------------------------------------------------------------


def _as_json(f: Figures) -> dict:
    derived = {"cpu_per_city_s": f.cpu_per_city_s, "overhead_s": f.overhead_s, "overhead_cpu_s": f.overhead_cpu_s}
    return f.__dict__ | derived


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}×" if b else "-"


def print_size(results: list[Figures]) -> None:
    n = results[0].cities
    print(f"\n{n} cities × {MONTH}")
    print(f"  {'variant':<7} {'wall s':>8} {'CPU s':>8} {'sim CPU':>8} {'set-up':>7} {'peak RSS':>9} {'rows':>9} "
          f"{'rows/s':>8} {'CPU/city':>9}")  # fmt: skip
    for f in results:
        if f.warehouse != "duckdb":
            print(f"  ({f.variant}: warehouse and Dagster instance on {f.warehouse}; its server's CPU "
                  f"{f.database_cpu_s:.1f} s, not in the figures below)")  # fmt: skip
        if f.partitions_per_run is not None:
            print(f"  ({f.variant}: runs of at most {f.partitions_per_run} partitions)")
        print(
            f"  {f.variant:<7} {f.wall_s:8.1f} {f.cpu_s:8.1f} {f.simulator_cpu_s:8.1f} {f.setup_wall_s:7.1f} "
            f"{f.peak_rss_mib:7.0f} MiB {f.rows_staged:9,d} {f.rows_staged / f.wall_s:8,.0f} {f.cpu_per_city_s:8.2f} s"
        )
    print(f"  stages, wall s (CPU s): {'':<3}" + "".join(f"{s:>22}" for s in (*STAGES, "unaccounted")))
    for f in results:
        cells = [f"{f.stages[s]['wall_s']:.2f} ({f.stages[s]['cpu_s']:.2f})" if s in f.stages else "-" for s in STAGES]
        print(f"  {f.variant:<26}" + "".join(f"{c:>22}" for c in cells) + f"{f.overhead_s:>22.2f}")
    by = {f.variant: f for f in results}
    if "ours" in by:
        ours = by["ours"]
        print(f"  Dagster overhead (ours: run minus the library's stages): {ours.overhead_s:.1f} s = "
              f"{ours.overhead_s / ours.wall_s:.0%} of wall, {ours.overhead_cpu_s:.1f} s = "
              f"{ours.overhead_cpu_s / ours.cpu_s:.0%} of CPU; failed partitions: {ours.failed}")  # fmt: skip
        print(f"  garbage collector (ours): {ours.gc_s:.1f} s in {sum(ours.gc_collections)} collections, "
              f"{ours.gc_collections[2]} of them full")  # fmt: skip
        if ours.events:
            top = sorted(ours.events.items(), key=lambda kv: -kv[1])
            print(f"  event log: {sum(ours.events.values()) / n:.1f} records per city; "
                  + ", ".join(f"{k} {v / n:.1f}" for k, v in top))  # fmt: skip
        for other in ("floor", "naive"):
            if other in by:
                f = by[other]
                slow, fast = (ours, f) if other == "floor" else (f, ours)
                ratio = (
                    f"{slow.variant}/{fast.variant} CPU per city {_ratio(slow.cpu_per_city_s, fast.cpu_per_city_s)}, "
                    f"wall {_ratio(slow.wall_s, fast.wall_s)}"
                )
                diff = max((abs(ours.index_scores[c] - v) for c, v in f.index_scores.items() if c in ours.index_scores),
                           default=float("nan"))  # fmt: skip
                print(f"  {ratio}; largest index difference from ours {diff:.2e}")
                if other == "floor":
                    for s in STAGES:
                        if s in ours.stages and s in f.stages and f.stages[s]["cpu_s"]:
                            print(f"    {s:<17} CPU ours/floor {_ratio(ours.stages[s]['cpu_s'], f.stages[s]['cpu_s'])}")


def print_scaling(series: dict[int, list[Figures]]) -> None:
    sizes = sorted(series)
    if len(sizes) < 2:
        return
    print("\nscaling (wall s / CPU s / peak RSS MiB per size; slope per added city between the first and last size)")
    for variant in VARIANTS:
        points = [(n, f) for n in sizes for f in series[n] if f.variant == variant]
        if len(points) < 2:
            continue
        (n0, a), (n1, b) = points[0], points[-1]
        cells = "  ".join(f"{n}: {f.wall_s:.1f}/{f.cpu_s:.1f}/{f.peak_rss_mib:.0f}" for n, f in points)
        step = n1 - n0
        print(
            f"  {variant:<6} {cells}  slope {(b.wall_s - a.wall_s) / step:.2f} s wall, "
            f"{(b.cpu_s - a.cpu_s) / step:.2f} s CPU, {(b.peak_rss_mib - a.peak_rss_mib) / step:.1f} MiB per city"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cities", type=int, default=10)
    parser.add_argument("--scaling", help="comma-separated city counts, e.g. 1,10,100,514 (overrides --cities)")
    parser.add_argument("--variants", default=",".join(DEFAULT_VARIANTS), help=f"of {','.join(VARIANTS)}")
    parser.add_argument(
        "--naive-max-cities",
        type=int,
        help="run naive only at sizes up to this many cities (it takes about as long as ours takes CPU, per city)",
    )
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folders (and PostgreSQL databases)")
    parser.add_argument("--profile", type=Path, help="profile each variant's run with cProfile into this folder")
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=PG_ADMIN_URL,
        help=f"ours and ours_mp on PostgreSQL (warehouse, dagster-postgres instance); admin URL ({PG_ADMIN_URL})",
    )
    parser.add_argument(
        "--partitions-per-run",
        type=int,
        help="ours in runs of at most this many partitions (`backfill_partitions_per_run` of pipeline.yaml), to "
        "show that memory is bounded by the run, not the month",
    )
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.root, args.out)
        return
    if args.profile:  # the children read it; their figures then include the profiler's own cost
        args.profile.mkdir(parents=True, exist_ok=True)
        os.environ[PROFILE_ENV] = str(args.profile.resolve())
    variants = [v for v in args.variants.split(",") if v]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variant(s) {sorted(unknown)}")
    if args.partitions_per_run is not None and "ours_mp" in variants:
        parser.error("--partitions-per-run applies to ours only (ours_mp runs the month as one range)")
    sizes = [int(s) for s in args.scaling.split(",")] if args.scaling else [args.cities]
    load = os.getloadavg()
    print(f"{platform.node()}: {psutil.cpu_count()} cores, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at start")
    series = {}
    for n in sizes:
        at_size = [v for v in variants if v != "naive" or args.naive_max_cities is None or n <= args.naive_max_cities]
        series[n] = bench_size(n, at_size, args.keep, args.postgres, args.partitions_per_run)
        print_size(series[n])
    print_scaling(series)
    load = os.getloadavg()
    print(f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the end")
    if args.json:
        sizes = {n: [_as_json(f) for f in figs] for n, figs in series.items()}
        write_figures(args.json, {"load_at_end": load, "month": MONTH, "sizes": sizes})


if __name__ == "__main__":
    main()
