"""Command-line conventions: --version, usage errors, what a new user meets first (no storage key, a month before
first_month or not over yet, a port in use, an unknown city, a malformed month, no warehouse yet), and
`kotacerdas ui` (dg dev) stops with every process it started."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from importlib.metadata import version

import psutil
import pytest
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


def flat_out(done: subprocess.CompletedProcess) -> str:
    return " ".join(done.stdout.split())


def _main(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """`kotacerdas ARGS` in this process (so the frozen clock holds): exit code, stdout, stderr."""
    from pipelines.cli import main

    monkeypatch.setattr(sys, "argv", ["kotacerdas", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    out, err = capsys.readouterr()
    return exited.value.code, out, err


def test_version_is_a_flag_without_a_metavar():
    done = _cli("--help", timeout=120)
    line = next(x for x in done.stdout.splitlines() if "--version" in x)
    assert done.returncode == 0 and "<bool>" not in line and "print the version and exit" in line


def test_run_without_a_storage_key_stops_before_dagster_starts(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "KOTACERDAS_STORAGE_KEY"}
    home = tmp_path / "dagster_home"
    home.mkdir()
    env |= {"DAGSTER_HOME": str(home), "KOTACERDAS_WAREHOUSE_URL": f"duckdb:///{tmp_path}/w.duckdb"}
    done = _cli("run", "--months", "2025-03", "--city", "19.71", env=env, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("KOTACERDAS_STORAGE_KEY is not set") == 1 and "kotacerdas storage-key" in done.stderr
    assert "Traceback" not in done.stderr
    assert list(home.iterdir()) == [] and not (tmp_path / "w.duckdb").exists()  # no Dagster run, no warehouse


@pytest.mark.parametrize(
    ("args", "period"),
    [(("--months", "2020-01", "--city", "19.71"), "2020-01"), (("--years", "2019"), "2019")],
)
def test_run_before_first_month_names_first_month_in_pipeline_yaml(args, period):
    done = _cli("run", *args, timeout=120)
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    assert f"{period} is before the first partition: first_month is 2025-01" in done.stderr
    assert "pipeline.yaml" in done.stderr


def _months_around(now) -> tuple[str, str]:
    """(the month under way, the last closed one) at `now` (an aware Jakarta-time moment of the frozen clock)."""
    first = now.replace(day=1)
    return first.strftime("%Y-%m"), (first - timedelta(days=1)).strftime("%Y-%m")


@pytest.mark.parametrize("command", ["run", "demo"])
def test_a_month_not_over_yet_is_an_error_for_run_and_demo(command, frozen_clock, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("KOTACERDAS_WAREHOUSE_URL", f"duckdb:///{tmp_path}/w.duckdb")
    current, last = _months_around(frozen_clock)
    for months in (f"{last}:{current}", current, f"{frozen_clock.year + 1}-06"):
        code, out, err = _main(monkeypatch, capsys, command, "--months", months, "--city", "19.71")
        shown = months.split(":")[-1]
        assert code == 2 and out == "", (months, out, err)
        assert f"{shown} is not over yet; the last closed month is {last}" in err
    assert not (tmp_path / "w.duckdb").exists()


def test_the_last_closed_month_and_the_year_under_way_are_runnable(frozen_clock):
    from kotacerdas.errors import ConfigError
    from kotacerdas.periods import check_runnable

    current, last = _months_around(frozen_clock)
    year = str(frozen_clock.year)
    assert check_runnable(["2025-01", last, year], "2025-01", "pipeline.yaml") == ["2025-01", last, year]
    with pytest.raises(ConfigError, match=f"{current} is not over yet"):
        check_runnable([current], "2025-01", "pipeline.yaml")
    with pytest.raises(ConfigError, match=f"{int(year) + 1} has not started yet"):
        check_runnable([str(int(year) + 1)], "2025-01", "pipeline.yaml")


def test_simulate_opd_on_a_port_in_use_names_the_port():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _cli("simulate-opd", "--port", str(port), timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"port {port} on 127.0.0.1 is in use" in done.stderr and "--port" in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("run", "--months", "2025-03"),
        ("scorecard",),
        ("explain", "--period", "2025-03"),
        ("report", "--period", "2025-03", "--out", "{tmp}/out"),
        ("export", "--format", "csv", "--out", "{tmp}/out"),
        ("masterplan", "status", "--period", "2025-03"),
        ("masterplan", "explain", "--period", "2025-03", "--programme", "GOV-01"),
        ("quality", "--period", "2025-03"),
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_an_unknown_city_is_named_the_same_way_by_every_command(args, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("KOTACERDAS_WAREHOUSE_URL", f"duckdb:///{tmp_path}/w.duckdb")
    code, out, err = _main(monkeypatch, capsys, *(a.format(tmp=tmp_path) for a in args), "--city", "99.99")
    assert code == 2 and out == "", err
    assert f"city '99.99' is not in {REPO_ROOT / 'config' / 'cities.yaml'}; known: ['19.71', '19.03']" in err
    assert "run the pipeline" not in err and not (tmp_path / "w.duckdb").exists()


@pytest.mark.parametrize(
    ("args", "bad"),
    [
        (("explain", "--city", "19.71", "--period", "2025-3"), "2025-3"),
        (("masterplan", "status", "--period", "2025-3"), "2025-3"),
        (("scorecard", "--months", "25-1"), "25-1"),
        (("run", "--months", "2025-01:2025-3"), "2025-01:2025-3"),
    ],
)
def test_a_malformed_month_is_a_usage_error_naming_the_format(args, bad, monkeypatch, capsys):
    code, out, err = _main(monkeypatch, capsys, *args)
    assert code == 2 and out == ""
    assert repr(bad) in err and "expected YYYY-MM" in err and "must be in 1..12" not in err


@pytest.mark.parametrize(
    "args",
    [
        ("scorecard",),
        ("explain", "--city", "19.71", "--period", "2025-03"),
        ("report", "--city", "19.71", "--period", "2025-03", "--out", "{tmp}/out"),
        ("export", "--format", "csv", "--out", "{tmp}/out"),
        (
            "masterplan",
            "status",
        ),
        ("masterplan", "explain", "--city", "19.71", "--period", "2025-03", "--programme", "GOV-01"),
        ("quality",),
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_read_commands_never_create_a_warehouse(args, monkeypatch, capsys, tmp_path):
    path = tmp_path / "nonexist" / "wh.duckdb"
    monkeypatch.setenv("KOTACERDAS_WAREHOUSE_URL", f"duckdb:///{path}")
    code, out, err = _main(monkeypatch, capsys, *(a.format(tmp=tmp_path) for a in args))
    assert code == 2 and out == ""
    assert f"no warehouse file at {path}" in err and "run `make demo` or `kotacerdas run` first" in err
    assert not path.parent.exists()


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


def test_the_runnable_periods_are_the_partitions_dagster_knows(frozen_clock, opd_project):
    """kotacerdas.periods checks months and years before Dagster starts: the same bounds as the partitions."""
    from assets.partitions import build_city_month_partitions, build_city_year_partitions
    from kotacerdas.periods import check_runnable

    months = build_city_month_partitions(opd_project).get_partitions_def_for_dimension("month").get_partition_keys()
    years = build_city_year_partitions(opd_project).get_partitions_def_for_dimension("year").get_partition_keys()
    first_month = opd_project.pipeline.first_month
    assert check_runnable(months + years, first_month, "pipeline.yaml") == months + years
    _, last = _months_around(frozen_clock)
    assert (months[0], months[-1], years[0], years[-1]) == (first_month, last, first_month[:4], str(frozen_clock.year))


def test_an_unexpected_error_is_one_scrubbed_line_and_a_traceback_on_request(monkeypatch, capsys):
    # a bug (here: the scorecard printer failing, its message quoting a NIK) is no Python traceback to the user, and
    # what is shown is scrubbed; KOTACERDAS_DEBUG=1 gives the traceback to whoever reports it
    import pipelines.cli

    def broken(*args, **kwargs):
        raise RuntimeError("cannot format row of 3271010101900001")

    monkeypatch.setattr(pipelines.cli, "print_scorecard", broken)
    monkeypatch.delenv(pipelines.cli.DEBUG_ENV, raising=False)
    code, out, err = _main(monkeypatch, capsys, "scorecard")
    assert code == 1 and out == "" and "Traceback" not in err
    assert "internal error: RuntimeError: cannot format row of" in err and "3271010101900001" not in err
    assert "KOTACERDAS_DEBUG=1" in err
    monkeypatch.setenv(pipelines.cli.DEBUG_ENV, "1")
    monkeypatch.setattr(sys, "argv", ["kotacerdas", "scorecard"])
    with pytest.raises(RuntimeError, match="cannot format"):
        pipelines.cli.main()


@pytest.mark.parametrize(
    ("file", "broken", "named"),
    [
        ("sources.yaml", lambda t: t.replace("separator:", "seperator:", 1), "seperator"),
        ("sources.yaml", lambda t: t.replace("\nsources:", "\nsources: [", 1), "not valid YAML"),
        ("expectations/complaints.yaml", lambda t: t.replace("severity: error", "severity: fatal", 1), "severity"),
        (
            "expectations/indicator_submissions.yaml",
            lambda t: t.replace("expect_column_values_to_not_be_null", "expect_column_values_to_not_be_nul", 1),
            "expect_column_values_to_not_be_nul",
        ),
        # YAML keeps the last of two equal keys without a word: the first_month below would have won
        ("pipeline.yaml", lambda t: t.replace("first_month:", "first_month: '2030-01'\nfirst_month:", 1), "twice"),
    ],
    ids=["typo", "syntax", "suite", "expectation-type", "duplicate-key"],
)
def test_run_with_a_broken_config_file_stops_before_dagster_starts(file, broken, named, tmp_path):
    # every file of config/ is read before a run starts: a typo in sources.yaml once failed each run's ingest steps
    # (with retries, 15 stack traces) and ended without naming the file
    config = tmp_path / "config"
    shutil.copytree(REPO_ROOT / "config", config)
    target = config / file
    text = target.read_text(encoding="utf-8")
    assert broken(text) != text, "the test's edit no longer applies to the shipped file"
    target.write_text(broken(text), encoding="utf-8")
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = os.environ | {
        "DAGSTER_HOME": str(home),
        "KOTACERDAS_CONFIG_DIR": str(config),
        "KOTACERDAS_WAREHOUSE_URL": f"duckdb:///{tmp_path}/w.duckdb",
    }
    done = _cli("run", "--months", "2025-03", "--city", "19.71", env=env, timeout=120)
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr, done.stderr
    assert str(target) in done.stderr.replace("\n", "") and named in done.stderr
    assert list(home.iterdir()) == [] and not (tmp_path / "w.duckdb").exists()  # no Dagster run, no warehouse


def test_a_partition_with_problems_is_reported_in_words_and_keeps_its_published_version(tmp_path):
    # published once (the demo, its simulator), then run again with no source answering (no simulator, an empty
    # landing folder): the partition is blocked, a data problem the run reports in words (Dagster's frames stay in
    # the event log for the UI), and the scorecard it prints marks the row as the version published before
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = os.environ | {
        "DAGSTER_HOME": str(home),
        "KOTACERDAS_WAREHOUSE_URL": f"duckdb:///{tmp_path}/w.duckdb",
        **{f"KOTACERDAS_{k}_DIR": str(tmp_path / k.lower()) for k in ("LANDING", "RAW", "REPORTS", "DATA_DOCS")},
    }
    first = _cli("demo", "--months", "2025-03", "--city", "19.71", env=env, timeout=600)
    assert first.returncode == 0 and "2025-03†" not in first.stdout, first.stdout + first.stderr
    # a new DAGSTER_HOME gets the project's dagster.yaml (the writer pool's limit, the run queue), and is told so
    shipped = (REPO_ROOT / "dagster_home" / "dagster.yaml").read_text(encoding="utf-8")
    assert (home / "dagster.yaml").read_text(encoding="utf-8") == shipped
    assert "had no dagster.yaml" in first.stderr and "No dagster instance configuration" not in first.stderr
    shutil.rmtree(tmp_path / "landing")
    done = _cli("run", "--months", "2025-03", "--city", "19.71", env=env, timeout=300)
    assert done.returncode == 1 and "19.71 2025-03: problem" in done.stdout, done.stdout + done.stderr
    assert "details in the Dagster UI" in done.stdout and "kotacerdas quality --period 2025-03" in flat_out(done)
    for trace in ("Traceback", "Stack Trace", 'File "'):
        assert trace not in done.stderr + done.stdout, trace
    assert "error: " in done.stderr  # the failed steps, one line each
    assert re.search(r"DagsterAssetCheckFailedError: \d+ blocking asset checks failed", " ".join(done.stdout.split()))
    assert "dagster._core.errors.DagsterAssetCheckFailedError" not in done.stdout  # the class said once
    flat = " ".join(done.stdout.split())
    assert "2025-03†" in done.stdout and "† not replaced by this run" in flat, done.stdout


def test_simulate_opd_help_lists_every_fault_kind():
    from kotacerdas.simulator.faults import FAULT_KINDS

    done = _cli("simulate-opd", "--help", timeout=120)
    flat = "".join(done.stdout.split())  # rich wraps the help text anywhere
    assert done.returncode == 0 and [k for k in FAULT_KINDS if k.replace("_", "") not in flat.replace("_", "")] == []


def test_masterplan_status_with_nothing_published_says_so_once(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("KOTACERDAS_WAREHOUSE_URL", f"duckdb:///{tmp_path}/w.duckdb")
    code, _, _ = _main(monkeypatch, capsys, "warehouse", "upgrade")
    assert code in (0, None)
    code, out, err = _main(monkeypatch, capsys, "masterplan", "status", "--city", "19.71", "--period", "2025-01")
    assert code == 2 and (out + err).count("no masterplan status published for 19.71 in 2025-01") == 1, out + err


def test_run_with_an_unknown_warehouse_url_stops_before_dagster_starts(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = os.environ | {"DAGSTER_HOME": str(home), "KOTACERDAS_WAREHOUSE_URL": "foo://user:s3cret@host/db"}
    done = _cli("run", "--months", "2025-03", "--city", "19.71", env=env, timeout=120)
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr, done.stderr
    assert "names no database kotacerdas can open" in done.stderr and "KOTACERDAS_WAREHOUSE_URL" in done.stderr
    assert "s3cret" not in done.stderr and "internal error" not in done.stderr
    assert list(home.iterdir()) == []  # no Dagster run


@pytest.mark.parametrize("bad", [("--explain", "NOPE"), ("--uncertainty", "1")], ids=["unit", "uncertainty"])
def test_index_with_a_bad_option_writes_nothing(bad, tmp_path):
    asem = REPO_ROOT / "tests" / "data" / "reference" / "asem" / "v1_inputs"
    out = tmp_path / "out"
    done = _cli(
        "index",
        "--data",
        str(asem / "input_iData.csv"),
        "--meta",
        str(asem / "input_iMeta.csv"),
        "--method",
        str(REPO_ROOT / "config" / "methodologies" / "asem-coinr-example.yaml"),
        "--out",
        str(out),
        *bad,
        timeout=120,
    )
    assert done.returncode == 2 and bad[1] in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not out.exists() or list(out.iterdir()) == []  # refused before a file was written


def test_square_brackets_in_what_the_user_gave_are_printed_as_text(monkeypatch, capsys, tmp_path):
    """An error quotes what it was given: `[/]` once made Rich's markup parser fail (an internal error instead of
    the message) and `[final]` vanished from it as a style tag."""
    monkeypatch.setenv("KOTACERDAS_WAREHOUSE_URL", f"duckdb:///{tmp_path}/w.duckdb")
    for city in ("[/]", "laporan [final]"):
        code, out, err = _main(monkeypatch, capsys, "scorecard", "--city", city)
        assert code == 2 and out == "", err
        assert f"city '{city}' is not in" in err and "internal error" not in err


def test_run_without_a_storage_key_after_the_demo_names_the_demos_key(tmp_path):
    """After `make demo` the raw zone is sealed with data/storage.key: the error says to export that key (a new one
    from `kotacerdas storage-key`, which the message used to suggest alone, cannot open what the demo stored)."""
    env = {k: v for k, v in os.environ.items() if k != "KOTACERDAS_STORAGE_KEY"}
    (tmp_path / "data" / "raw").mkdir(parents=True)
    (tmp_path / "data" / "storage.key").write_text("not-a-real-key\n", encoding="ascii")
    env |= {
        "DAGSTER_HOME": str(tmp_path),
        "KOTACERDAS_WAREHOUSE_URL": f"duckdb:///{tmp_path}/w.duckdb",
        "KOTACERDAS_RAW_DIR": str(tmp_path / "data" / "raw"),
    }
    done = _cli("run", "--months", "2025-03", "--city", "19.71", env=env, timeout=120)
    assert done.returncode == 2 and "KOTACERDAS_STORAGE_KEY is not set" in done.stderr
    flat = " ".join(done.stderr.split())
    assert f"export KOTACERDAS_STORAGE_KEY=$(cat {tmp_path / 'data' / 'storage.key'})" in flat, done.stderr


def test_quality_shares_round_half_up_on_the_decimal_share():
    # a gate's rejected share is stored as a fraction: 100 × 0.0285 is 2.8499… as floats, which printed 2.8 %
    from pipelines.cli import _percent

    assert [_percent(v) for v in (0.0285, 0.05, 0.00125, 1 / 3, None, float("nan"))] == [
        "2.9 %",
        "5.0 %",
        "0.1 %",
        "33.3 %",
        "—",
        "—",
    ]
