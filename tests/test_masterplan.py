"""The masterplan as data: its schema (errors naming row and field), the Excel template, versions, the review."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
import yaml

from kotacerdas.config import ProjectConfig
from kotacerdas.errors import ConfigError
from kotacerdas.masterplan import load_history, load_masterplan
from kotacerdas.masterplan.check import review
from kotacerdas.masterplan.excel import write_template
from kotacerdas.simulator.masterplan import simulated_masterplan

PROJECT = ProjectConfig()
OPDS = [o.code for o in PROJECT.cities.opds]
INDICATORS = [i.code for i in PROJECT.catalog.indicators]


def _plan(tmp_path: Path, edit=None, name: str = "v.yaml") -> Path:
    content = simulated_masterplan(PROJECT.cities.city("19.71"))
    if edit:
        edit(content)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    return path


def test_shipped_masterplans_load_with_their_history():
    history = load_history(PROJECT.masterplan_dir, "19.71", opd_codes=OPDS, indicator_codes=INDICATORS)
    assert [p.version for _, p in history.versions] == ["2025.1", "2025.2"]
    assert history.in_force("2024-12") is None
    assert history.in_force("2025-06").version == "2025.1"
    assert history.in_force("2025-07").version == "2025.2"  # the revision from its first month on
    assert history.latest().supersedes == "2025.1"
    assert len(load_history(PROJECT.masterplan_dir, "19.03").versions) == 1


def test_missing_field_names_the_programme_row_and_field(tmp_path):
    path = _plan(tmp_path, lambda c: c["dimensions"][0]["programmes"][1].pop("start"))
    with pytest.raises(ConfigError) as err:
        load_masterplan(path)
    assert "dimensions[0] governance > programmes[1] GOV-02: field `start`: Field required" in str(err.value)
    assert str(path) in str(err.value)


def test_bad_value_names_the_indicator_row(tmp_path):
    path = _plan(tmp_path, lambda c: c["dimensions"][2]["programmes"][0]["indicators"][0].update(kind="impact"))
    with pytest.raises(ConfigError) as err:
        load_masterplan(path)
    assert "programmes[0] ECO-01 > indicators[0] ECO-01-O1: field `kind`" in str(err.value)


def test_end_before_start_and_unknown_rpjmd_code_are_refused(tmp_path):
    def edit(c):
        c["dimensions"][1]["programmes"][1]["end"] = "2024-12"

    with pytest.raises(ConfigError, match=r"programmes\[1\] BRD-02: field `\(row\)`: end 2024-12 is before start"):
        load_masterplan(_plan(tmp_path, edit))
    path = _plan(tmp_path, lambda c: c["dimensions"][0]["programmes"][0]["rpjmd"].append("S9.9"))
    with pytest.raises(ConfigError, match=r"programme GOV-01: rpjmd code\(s\) \['S9.9'\]"):
        load_masterplan(path)


def test_unknown_opd_and_maturity_indicator_name_the_programme(tmp_path):
    def edit(c):
        c["dimensions"][0]["programmes"][0]["opd"] = "DINAS-X"
        c["dimensions"][5]["programmes"][1]["maturity_indicators"] = ["ENV_NOPE"]

    with pytest.raises(ConfigError) as err:
        load_masterplan(_plan(tmp_path, edit), opd_codes=OPDS, indicator_codes=INDICATORS)
    assert "programme GOV-01 (governance): field `opd`: OPD 'DINAS-X' is not in cities.yaml" in str(err.value)
    assert "programme ENV-02 (environment): field `maturity_indicators`: ['ENV_NOPE']" in str(err.value)


def test_a_revision_is_a_new_file_and_two_versions_cannot_start_the_same_month(tmp_path):
    folder = tmp_path / "masterplan"
    (folder / "19.71").mkdir(parents=True)
    _plan(folder / "19.71", name="2025.1.yaml")
    _plan(folder / "19.71", lambda c: c.update(version="2025.2", effective_from="2025-04"), name="2025.2.yaml")
    history = load_history(folder, "19.71")
    assert [p.version for _, p in history.versions] == ["2025.1", "2025.2"]
    assert history.in_force("2025-03").version == "2025.1"
    _plan(folder / "19.71", lambda c: c.update(version="2025.3", effective_from="2025-04"), name="2025.3.yaml")
    with pytest.raises(ConfigError, match="two versions take effect in the same month"):
        load_history(folder, "19.71")


def test_excel_template_round_trips_through_the_same_reader(tmp_path):
    plan = load_masterplan(PROJECT.masterplan_dir / "19.71" / "2025.1.yaml")
    path = write_template(tmp_path / "mp.xlsx", plan)
    assert load_masterplan(path, opd_codes=OPDS, indicator_codes=INDICATORS) == plan


def test_empty_template_has_every_sheet_and_reads_as_an_incomplete_plan(tmp_path):
    path = write_template(tmp_path / "empty.xlsx")
    assert openpyxl.load_workbook(path).sheetnames == [
        "Petunjuk", "Masterplan", "RPJMD", "Programmes", "Activities", "Budget", "Indicators", "Targets",
    ]  # fmt: skip
    with pytest.raises(ConfigError, match="field `city_code`: Field required"):
        load_masterplan(path)


def test_excel_error_names_the_sheet_row_and_field(tmp_path):
    plan = load_masterplan(PROJECT.masterplan_dir / "19.71" / "2025.1.yaml")
    path = write_template(tmp_path / "mp.xlsx", plan)
    book = openpyxl.load_workbook(path)
    ws = book["Programmes"]
    ws.cell(row=3, column=5, value="Maret 2025")  # GOV-02's start, typed as words
    book["Targets"].cell(row=4, column=3, value="banyak")
    book.save(path)
    with pytest.raises(ConfigError) as err:
        load_masterplan(path)
    text = str(err.value)
    assert "sheet Programmes row 3 (dimensions[0] governance > programmes[1] GOV-02: field `start`)" in text
    assert "sheet Targets row 4" in text and "field `targets." in text


def test_excel_row_for_an_unknown_programme_is_refused_with_its_row(tmp_path):
    plan = load_masterplan(PROJECT.masterplan_dir / "19.71" / "2025.1.yaml")
    path = write_template(tmp_path / "mp.xlsx", plan)
    book = openpyxl.load_workbook(path)
    book["Budget"].append(["XXX-99", None, 2025, 1e9])
    row = book["Budget"].max_row
    book.save(path)
    with pytest.raises(ConfigError, match=f"sheet Budget row {row}: field `programme`: 'XXX-99'"):
        load_masterplan(path)


def test_review_finds_the_plan_gaps_and_scores_each_dimension():
    plan = load_masterplan(PROJECT.masterplan_dir / "19.71" / "2025.1.yaml")
    findings, completeness = review(plan)
    got = set(zip(findings["programme_code"], findings["finding"], strict=True))
    assert {
        ("BRD-01", "outcome_indicator"),  # no outcome indicator
        ("BRD-01", "budget"),  # no budget
        ("SOC-01", "outcome_indicator"),
        ("LIV-02", "baselines"),  # a target without baseline
        ("", "rpjmd_unserved"),  # S4.2 flood risk
    } <= got
    assert "S4.2" in findings.loc[findings["finding"] == "rpjmd_unserved", "detail"].iloc[0]
    by_dim = completeness.set_index("dimension")["completeness"]
    # 7 criteria per programme: BRD-01 lacks budget and outcome indicator, BRD-02 an RPJMD link
    assert by_dim["branding"] == pytest.approx(100 * 11 / 14)
    assert by_dim["living"] == pytest.approx(100 * 12 / 14)  # LIV-02: a baseline and an RPJMD link
    assert by_dim["economy"] == 100.0


def test_review_of_a_programme_without_opd_or_budget(tmp_path):
    def edit(c):
        c["dimensions"][5]["programmes"][0].update(opd=None, budget={2025: 0})

    findings, completeness = review(load_masterplan(_plan(tmp_path, edit)))
    env = findings[findings["programme_code"] == "ENV-01"]
    assert set(env["finding"]) == {"opd", "budget"}
    assert completeness.set_index("dimension").loc["environment", "completeness"] == pytest.approx(100 * 12 / 14)


def test_template_and_check_commands(tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app

    out = tmp_path / "mp.xlsx"
    made = CliRunner().invoke(
        app, ["masterplan", "template", "--out", str(out), "--from", str(PROJECT.masterplan_dir / "19.03/2025.1.yaml")]
    )
    assert made.exit_code == 0, made.output
    checked = CliRunner().invoke(app, ["masterplan", "check", "--file", str(out), "--strict"])
    assert checked.exit_code == 1  # the simulated plan has gaps: --strict fails on them
    assert "rpjmd_unserved" in checked.output and "completeness per dimension" in checked.output
    assert "78.6" in checked.output  # branding: 11 of 14 criteria


def test_simulated_progress_reports_carry_the_faults(tmp_path):
    from kotacerdas.simulator.masterplan import progress_rows, report_fault, write_progress_drops

    months = [f"2025-{m:02d}" for m in range(1, 13)]
    written = write_progress_drops(PROJECT, tmp_path, ["19.71"], months)
    reporters = [o.code for o in PROJECT.cities.opds_for("masterplan_progress")]
    history = load_history(PROJECT.masterplan_dir, "19.71")
    faults = {(o, m): report_fault(42, "19.71", o, m) for o in reporters for m in months}
    assert {"missing", "late", "inconsistent"} <= set(faults.values())
    for (opd, month), fault in faults.items():
        path = tmp_path / "19.71" / opd / f"laporan_masterplan_{month}.csv"
        assert path.exists() == (fault != "missing"), (opd, month)
        lines = path.read_text(encoding="utf-8-sig").splitlines() if path.exists() else []
        under_way = progress_rows(history.in_force(month), opd, month, 42)
        if fault != "missing":  # a row per programme and output indicator, started or not
            assert len(lines) == 1 + len(under_way) and under_way, (opd, month)
        if fault == "inconsistent" and under_way:
            assert ";130,0;" in lines[1]
    assert len(written) == sum(f != "missing" for f in faults.values())
    # the late ones were sent after their due date, the others before (timeliness reads the file time)
    for (opd, month), fault in faults.items():
        if fault in ("late", None):
            sent = (tmp_path / "19.71" / opd / f"laporan_masterplan_{month}.csv").stat().st_mtime
            due = PROJECT.timeliness.due_at(opd, "masterplan_progress", month).tz_localize("UTC").timestamp()
            assert (sent > due) == (fault == "late"), (opd, month)


def test_shipped_masterplans_are_what_the_simulator_writes(tmp_path):
    """config/masterplan/ holds the simulator's plans for the seed cities (regenerate with write_masterplans)."""
    from kotacerdas.simulator.masterplan import write_masterplans

    written = write_masterplans(PROJECT, tmp_path)
    assert {p.relative_to(tmp_path).as_posix() for p in written} == {
        "19.71/2025.1.yaml",
        "19.71/2025.2.yaml",
        "19.03/2025.1.yaml",
    }
    for path in written:
        assert path.read_text(encoding="utf-8") == (PROJECT.masterplan_dir / path.relative_to(tmp_path)).read_text(
            encoding="utf-8"
        ), path
