"""Shared fixtures: real databases (a fresh PostgreSQL database per test, a DuckDB file in tmp_path)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine

REPO_ROOT = Path(__file__).resolve().parent.parent
# Outside reference data (COINr ASEM, real portal files, region codes, FIWARE schema), copied from
# ../shared/reference with its sources and licences in tests/data/reference/README.md, so any clone runs the
# golden tests.
REFERENCE = REPO_ROOT / "tests" / "data" / "reference"
PG_ADMIN_URL = os.environ.get("KOTACERDAS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


# The raw zone and Dagster's value store are encrypted at rest and never fall back to clear text: every test runs
# with this storage key (subprocesses inherit it); tests of a missing key unset it themselves.
TEST_STORAGE_KEY = "a2MtdGVzdC1zdG9yYWdlLWtleS0zMi1ieXRlcyEhISE="


# --- a frozen clock for whatever depends on "today" ------------------------------------------------------

# A month boundary is where date bugs live: each test that takes `frozen_clock` runs once just after a month
# closed (the 1st, 00:30 WIB) and once late in a month (the 28th); `pytest --clock ISO` runs it at another moment.
CLOCK_MOMENTS = ("2026-12-01T00:30:00+07:00", "2027-02-28T23:30:00+07:00")


def pytest_addoption(parser):
    parser.addoption(
        "--clock",
        action="append",
        metavar="ISO",
        help="run the date-sensitive tests (those taking `frozen_clock`) at this moment, e.g. "
        f"2027-03-01T00:05:00+07:00 (repeatable; default: {', '.join(CLOCK_MOMENTS)})",
    )


def pytest_generate_tests(metafunc):
    if "frozen_clock" in metafunc.fixturenames:
        moments = metafunc.config.getoption("clock") or CLOCK_MOMENTS
        metafunc.parametrize("frozen_clock", moments, indirect=True, ids=[m[:10] for m in moments])


@pytest.fixture
def frozen_clock(request) -> dt.datetime:
    """The process's clock starts at the moment given and ticks on from it (sleeps and timeouts still work)."""
    moment = dt.datetime.fromisoformat(request.param)
    if moment.tzinfo is None:
        raise pytest.UsageError(f"--clock {request.param!r} needs a UTC offset, e.g. +07:00")
    with time_machine.travel(moment, tick=True):
        yield moment


@pytest.fixture(autouse=True)
def fresh_fork_server():
    """A test's runs do not get their steps from a fork server that an earlier test started with its own environment
    (pipelines/executors.py: one per process, kept until stopped)."""
    yield
    executors = sys.modules.get("pipelines.executors")  # not imported: no run of this process used the executor
    if executors is not None:
        executors.stop_fork_server()


@pytest.fixture
def definitions_from_this_env():
    """The code location imported afresh during the test, so that it reads the test's environment (it picks its
    executor and resources when imported), and forgotten after it, so that no later test gets this one's."""
    from dagster._core.definitions.reconstruct import ReconstructableJob

    def forget_loaded_jobs() -> None:  # Dagster keeps the last job loaded by module path (lru_cache of size 1)
        ReconstructableJob.get_definition.cache_clear()
        ReconstructableJob.get_repository_definition.cache_clear()

    saved = sys.modules.pop("pipelines.definitions", None)
    forget_loaded_jobs()
    yield
    sys.modules.pop("pipelines.definitions", None)
    forget_loaded_jobs()
    if saved is not None:
        sys.modules["pipelines.definitions"] = saved


@pytest.fixture(scope="session", autouse=True)
def storage_key():
    """Session-wide, so that module-scoped fixtures that run the pipeline have it too."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KOTACERDAS_STORAGE_KEY", TEST_STORAGE_KEY)
        yield TEST_STORAGE_KEY


@pytest.fixture
def duckdb_url(tmp_path: Path) -> str:
    return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"


@contextmanager
def fresh_postgres_database():
    """Create a database on 127.0.0.1:5432 for one test and drop it afterwards; yields its URL."""
    name = f"kc_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:  # not a skip: CI must have PostgreSQL (.ci/run starts it)
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc.orig}. Start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`."
        )
    try:
        yield sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def postgres_url():
    """The warehouse database of a test."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def dagster_postgres_url():
    """A separate database for Dagster's own run and event storage (dagster-postgres)."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def project_dagster_home(tmp_path, monkeypatch) -> Path:
    """A DAGSTER_HOME with the project's own dagster_home/dagster.yaml, fresh for the test."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


@pytest.fixture
def production_dagster_home(tmp_path, monkeypatch, dagster_postgres_url) -> Path:
    """A DAGSTER_HOME with config/dagster-production.yaml as its dagster.yaml, on the test's own database, its
    credentials in the environment as operators set them (DAGSTER_PG_*)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "config" / "dagster-production.yaml", home / "dagster.yaml")
    url = sa.make_url(dagster_postgres_url)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_PG_USER", url.username or "postgres")
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", url.password or "")
    monkeypatch.setenv("DAGSTER_PG_HOST", url.host or "127.0.0.1")
    monkeypatch.setenv("DAGSTER_PG_DB", url.database)
    return home


# --- ingestion: the OPD simulator over HTTP on loopback ---------------------------------------------------

OPD_TEST_TOKEN = "kc-test-token-7f3a9c1e5b"  # a known value, so tests can prove it never leaks


@pytest.fixture(scope="session")
def opd_project():
    from kotacerdas.config import ProjectConfig

    return ProjectConfig(REPO_ROOT / "config")


@pytest.fixture(scope="session")
def opd_simulator(opd_project):
    """One simulator (seed 42, bearer token OPD_TEST_TOKEN) shared by the session; do not inject faults."""
    from kotacerdas.simulator import OpdSimulator

    with OpdSimulator(opd_project, seed=42, token=OPD_TEST_TOKEN) as sim:
        yield sim


def simulator_env(sim) -> dict[str, str]:
    """The environment a fetch from simulator `sim` needs: its URL and the test token."""
    return {"KOTACERDAS_OPD_API_URL": sim.url, "KOTACERDAS_OPD_API_TOKEN": OPD_TEST_TOKEN}


@pytest.fixture
def opd_env(opd_simulator) -> dict[str, str]:
    """The environment ingest_table sees: the shared simulator's URL and the token."""
    return simulator_env(opd_simulator)


def edited_project(target_dir: Path, base, edit_sources=None, edit_cities=None):
    """A copy of config/ in target_dir with sources.yaml / cities.yaml changed in place by the given functions."""
    import yaml

    from kotacerdas.config import ProjectConfig

    target = Path(target_dir) / "config"
    shutil.copytree(base.dir, target)
    for name, edit in (("sources.yaml", edit_sources), ("cities.yaml", edit_cities)):
        if edit is not None:
            data = yaml.safe_load((target / name).read_text(encoding="utf-8"))
            edit(data)
            (target / name).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return ProjectConfig(target)


def fast_rest(data, **extra) -> None:
    """Make every REST source of a sources.yaml dict quick to give up: short timeouts, tiny backoff."""
    for s in data["sources"]:
        if s["type"] == "rest":
            s.update(retries=3, backoff_factor=0.01, timeout_seconds=[1.0, 0.4], max_retry_after=0.05, **extra)
