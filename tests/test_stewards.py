"""`kotacerdas quality`, what an OPD's data steward reads: on a warehouse the pipeline filled from the OPD simulator,
where one OPD of one city sends its service standard as text (every one of its rows is rejected and its city's
service requests are blocked), the command names the gate, the OPD's delivery, the rule, how many rows and where
they are in the raw file; with --opd it keeps to one OPD, with --csv it writes every rejected row."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import OPD_TEST_TOKEN, REPO_ROOT

from kotacerdas.rounding import format_half_up
from kotacerdas.simulator import OpdSimulator, write_file_drops
from pipelines.definitions import defs
from pipelines.runner import run_backfill

CITIES = ("19.71", "19.03")
CLI = Path(sys.executable).with_name("kotacerdas")
FAULT = "opd_api_service_requests:wrong_type:field=standar_hari,to=text,city=19.03,opd=DISDUKCAPIL"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, opd_project):
    tmp = tmp_path_factory.mktemp("stewards")
    write_file_drops(opd_project, tmp / "landing", list(CITIES), ["2025-03"], seed=42)
    with OpdSimulator(opd_project, seed=42, token=OPD_TEST_TOKEN) as sim, pytest.MonkeyPatch.context() as mp:
        sim.add_fault(FAULT)
        env = {
            "KOTACERDAS_OPD_API_URL": sim.url,
            "KOTACERDAS_OPD_API_TOKEN": OPD_TEST_TOKEN,
            "KOTACERDAS_LANDING_DIR": str(tmp / "landing"),
            "KOTACERDAS_RAW_DIR": str(tmp / "raw"),
            "KOTACERDAS_REPORTS_DIR": str(tmp / "reports"),
            "KOTACERDAS_WAREHOUSE_URL": f"duckdb:///{tmp / 'warehouse.duckdb'}",
            "KOTACERDAS_PII_KEY": "stewards-test-pii-key",
        }
        for key, value in env.items():
            mp.setenv(key, value)
        outcomes = run_backfill(
            defs, [(c, "2025-03") for c in CITIES], instance=dg.DagsterInstance.ephemeral(), log_level="ERROR"
        )
    assert {o.city: o.success for o in outcomes} == {"19.71": True, "19.03": False}  # 19.03 is blocked
    engine = sa.create_engine(env["KOTACERDAS_WAREHOUSE_URL"], poolclass=sa.pool.NullPool)
    yield {"engine": engine, "env": env, "tmp": tmp}
    engine.dispose()


def _cli(warehouse, *args: str, columns: int = 250) -> subprocess.CompletedProcess:
    env = {**os.environ, **warehouse["env"], "COLUMNS": str(columns), "DAGSTER_HOME": str(warehouse["tmp"])}
    return subprocess.run([str(CLI), "quality", *args], capture_output=True, text=True, env=env, cwd=REPO_ROOT)


def _sql(warehouse, sql: str) -> pd.DataFrame:
    with warehouse["engine"].connect() as conn:
        return pd.read_sql(sa.text(sql), conn)


def test_a_steward_sees_the_gate_the_delivery_and_the_rejected_rows_by_rule(warehouse):
    done = _cli(warehouse, "--city", "19.03")
    assert done.returncode == 0, done.stderr
    assert "period 2025-03: the latest month validated" in done.stderr
    lines = done.stdout.splitlines()
    gate = next(line for line in lines if line.split()[:1] == ["service_requests"])
    assert "BLOCKED" in gate and "rejected share above the threshold" in gate
    # every service request DISDUKCAPIL delivered (the ingest's count, not the quarantine's) is one rejected row
    delivered = _sql(
        warehouse,
        "SELECT rows_delivered FROM opd_timeliness WHERE city_code = '19.03' AND period = '2025-03' "
        "AND opd_code = 'DISDUKCAPIL' AND table_name = 'service_requests'",
    )["rows_delivered"].iloc[0]
    assert delivered > 0
    rule = next(line for line in lines if "type:sla_days" in line).split()
    assert rule[:5] == ["service_requests", "type:sla_days", "error", str(delivered), "DISDUKCAPIL"]
    delivery = [
        line
        for line in lines
        if "DISDUKCAPIL" in line and "service_requests" in line and ("late" in line or "on time" in line)
    ]
    # due on the OPDs' clock: 10 days after March closes is 11 April 00:00 WIB (10 April 17:00 UTC in the warehouse)
    assert delivery and "2025-04-11 00:00" in delivery[0], delivery
    assert "due and received on Asia/Jakarta time" in " ".join(done.stdout.split())
    assert "opd_api_service_requests/19.03/2025-03/" in done.stdout  # the raw file of the first rejected row


def test_one_opd_and_every_rejected_row_in_a_csv(warehouse, tmp_path):
    done = _cli(
        warehouse,
        "--city",
        "19.03",
        "--period",
        "2025-03",
        "--opd",
        "dinkes",  # as a steward types it
        "--csv",
        str(tmp_path / "r.csv"),
    )
    assert done.returncode == 0, done.stderr
    assert "DISDUKCAPIL" not in done.stdout
    written = pd.read_csv(tmp_path / "r.csv", encoding="utf-8-sig", dtype=str)
    expected = _sql(
        warehouse, "SELECT count(*) AS n FROM quarantine WHERE city_code = '19.03' AND opd_code = 'DINKES'"
    )["n"].iloc[0]
    assert len(written) == expected and set(written["opd_code"]) <= {"DINKES"}

    everyone = _cli(warehouse, "--city", "19.03", "--period", "2025-03", "--csv", str(tmp_path / "all.csv"))
    assert everyone.returncode == 0, everyone.stderr
    rows = pd.read_csv(tmp_path / "all.csv", encoding="utf-8-sig", dtype=str)
    assert len(rows) == _sql(warehouse, "SELECT count(*) AS n FROM quarantine WHERE city_code = '19.03'")["n"].iloc[0]
    sla = rows[rows["rule"] == "type:sla_days"]
    assert len(sla) > 0 and set(sla["opd_code"]) == {"DISDUKCAPIL"} and sla["raw_row"].notna().all()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--opd", "NOPE"), "OPD NOPE is not in cities.yaml"),
        (("--period", "2025-3"), "bad period '2025-3'"),
        (("--period", "2024-03"), "nothing validated for 19.71, 19.03 in 2024-03"),
    ],
)
def test_a_wrong_opd_or_period_is_named(warehouse, args, message):
    done = _cli(warehouse, *args)
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    assert message in " ".join(done.stderr.split())


def test_what_the_opd_sent_is_shown_as_text_whole_on_a_narrow_terminal(warehouse):
    """A rejected value or reason in square brackets is text, not terminal markup (`[/]` once crashed the command,
    and a pseudonym `[nik:…]` vanished); on 80 columns the codes and the raw file's path are printed whole. A row
    published before the warehouse recorded OPDs is named when --opd leaves it out."""
    row = (
        "INSERT INTO quarantine (city_code, period, opd_code, table_name, rule, severity, column_name, value, reason, "
        "record_key, _raw_file, _raw_row, run_id) VALUES ('19.71', '2025-03', {opd}, 'complaints', "
        "'category_not_null', 'warn', 'category', '[/] [b]x[/b]', 'hubungi [nik:abc123] (got [/])', '19.71|DLH|C9', "
        "'opd_api_complaints/19.71/2025-03/DLH/a_long_folder_name_for_the_test/page-0001.json', 7, 'test')"
    )
    with warehouse["engine"].begin() as conn:
        conn.exec_driver_sql(row.format(opd="'DLH'"))
        conn.exec_driver_sql(row.format(opd="NULL").replace("C9", "C8"))
    try:
        done = _cli(warehouse, "--city", "19.71", "--period", "2025-03", columns=80)
        assert done.returncode == 0, done.stderr
        assert "[/] [b]x[/b]" in done.stdout and "[nik:abc123]" in done.stdout
        assert "opd_api_complaints/19.71/2025-03/DLH/a_long_folder_name_for_the_test/page-0001.json:7" in done.stdout
        assert " category_not_null " in done.stdout and " type:sla_days " not in done.stdout  # 19.71: no fault
        one = _cli(warehouse, "--city", "19.71", "--period", "2025-03", "--opd", "DLH")
        assert one.returncode == 0, one.stderr
        assert "1 rejected row(s) of 2025-03 were published before" in " ".join(one.stderr.split())
    finally:
        with warehouse["engine"].begin() as conn:
            conn.exec_driver_sql("DELETE FROM quarantine WHERE run_id = 'test'")


def test_the_example_of_a_rule_is_one_rejected_row_whole():
    """The first row of a rule is shown as it is: its value, reason and place from the same row, even when the first
    row has no value (pandas' `first()` took each column's first value present, from different rows)."""
    from kotacerdas.report.stewards import StewardView

    rejected = pd.DataFrame(
        {
            "city_code": ["19.71"] * 2,
            "table_name": ["complaints"] * 2,
            "rule": ["r"] * 2,
            "severity": ["error"] * 2,
            "opd_code": ["DLH", None],
            "value": [None, "x"],
            "reason": ["why A", "why B"],
            "raw_file": ["a.csv", "b.csv"],
            "raw_row": [1, 2],
        }
    )
    rules = StewardView(pd.DataFrame(), pd.DataFrame(), rejected).rules()
    (example,) = rules.to_dict("records")
    assert pd.isna(example["value"]) and (example["reason"], example["raw_file"], example["raw_row"]) == (
        "why A",
        "a.csv",
        1,
    )
    assert (example["rows"], example["opds"]) == (2, "DLH")


def test_reporting_rates_per_opd_over_months(warehouse):
    """--months: each OPD's datasets expected, received, on time, late and missing, and DHIS2's two rates, as the
    warehouse's own rows count them; worst on-time rate first."""
    done = _cli(warehouse, "--city", "19.03", "--months", "2025-03:2025-03")
    assert done.returncode == 0, done.stderr
    counts = _sql(
        warehouse,
        "SELECT opd_code, count(*) AS expected, count(received_at) AS received, "
        "sum(CASE WHEN on_time THEN 1 ELSE 0 END) AS on_time, sum(CASE WHEN late THEN 1 ELSE 0 END) AS late, "
        "sum(CASE WHEN status = 'received_undated' THEN 1 ELSE 0 END) AS undated "
        "FROM opd_timeliness WHERE city_code = '19.03' AND period = '2025-03' AND expected GROUP BY opd_code",
    ).set_index("opd_code")
    rows = [line.split() for line in done.stdout.splitlines()]
    shown = {cells[0]: cells for cells in rows if cells and cells[0] in counts.index}  # OPD months expected …
    assert set(shown) == set(counts.index)
    for opd, c in counts.iterrows():
        cells = shown[opd]
        assert [int(x) for x in cells[1:7]] == [1, c.expected, c.received, c.on_time, c.late, c.undated], opd
        # the on-time rate, after the rate: of the datasets whose timing is known (undated pulls left out)
        assert cells[11] == format_half_up(100 * c.on_time / (c.expected - c.undated), 1)
    in_order = [float(cells[11]) for cells in rows if cells and cells[0] in counts.index]
    assert in_order == sorted(in_order)
    year = _cli(warehouse, "--city", "19.03", "--months", "2025-01:2025-12")
    assert "months validated: 1 of the 12 asked" in " ".join(year.stdout.split()), year.stdout
    both = _cli(warehouse, "--months", "2025-03:2025-03", "--period", "2025-03")
    assert both.returncode == 2 and "without --period" in both.stderr
