"""Staging owns text hygiene: control characters and ambiguous decimals are quarantined with a named rule, so a
NUL byte never reaches PostgreSQL's COPY and `0.125` never becomes 125."""

from __future__ import annotations

import shutil

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa

from kotacerdas.config import ProjectConfig
from kotacerdas.schemas import INDICATOR_SUBMISSIONS
from kotacerdas.simulator import write_file_drops
from kotacerdas.stage.staging import stage_table
from pipelines.definitions import build_definitions
from pipelines.runner import run_partitions


def _submissions(values: list, units: list, evidence: list) -> pd.DataFrame:
    n = len(values)
    return pd.DataFrame(
        {
            "city_code": ["19.71"] * n,
            "opd_code": ["DLH"] * n,
            "indicator_code": [f"I{i}" for i in range(n)],
            "period": ["2025-03"] * n,
            "value": values,
            "unit": units,
            "evidence_ref": evidence,
            "_raw_file": ["f.csv"] * n,
            "_raw_row": list(range(1, n + 1)),
        },
        dtype=object,
    )


def test_control_characters_reject_their_row_with_the_rule_and_are_stored_escaped():
    frame = _submissions(
        ["1", "2", "3\x00", "4", {"a": "b\x00"}],
        ["%", "%\x07", "%", "%", "%"],
        ["ok\tand\r\nfine", None, None, "bad\x00ref\x1b", None],
    )
    result = stage_table(INDICATOR_SUBMISSIONS, frame, city="19.71", month="2025-03", pii_key=None)
    assert result.frame["indicator_code"].tolist() == ["I0"]  # tab and line ends are text, not control noise
    rejected = result.rejected.set_index("record_key")
    rules = rejected["rule"].to_dict()
    assert rules == {f"19.71|DLH|I{i}|2025-03": "text:control_characters" for i in (1, 2, 3)} | {
        "19.71|DLH|I4|2025-03": "type:value"  # a nested JSON value, shown as its (escaped) repr
    }
    assert rejected.loc["19.71|DLH|I2|2025-03", "value"] == "3\\x00"
    assert rejected.loc["19.71|DLH|I3|2025-03", "value"] == "bad\\x00ref\\x1b"
    assert "\\x00, \\x1b" in rejected.loc["19.71|DLH|I3|2025-03", "reason"]
    stored = "".join(str(v) for v in result.rejected.astype(object).to_numpy().ravel())
    assert "\x00" not in stored and "\x07" not in stored and "\x1b" not in stored


CITY, MONTH = "19.71", "2025-03"


def _edit(path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8-sig")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8-sig", newline="")


def test_a_nul_byte_and_an_ambiguous_decimal_in_real_files_are_quarantined_on_postgres(
    tmp_path, monkeypatch, opd_project, opd_env, postgres_url
):
    landing = tmp_path / "landing"
    # the OPDs' indicator files (the drops also hold their masterplan progress reports)
    files = [
        f for f in write_file_drops(opd_project, landing, [CITY], [MONTH], seed=42) if "capaian_indikator" in f.name
    ]
    # Two bad rows of ~20 are within indicator_submissions' own threshold (25 %): the partition publishes, so the
    # test sees where the rows went (quarantine on PostgreSQL), not only that the gate blocked them.
    config = tmp_path / "config"
    shutil.copytree(opd_project.dir, config)
    nul_file, decimal_file = files[0], files[1]
    # One cell with a NUL byte, and one value a decimal-comma source cannot read one way only.
    nul_line = nul_file.read_text(encoding="utf-8-sig").splitlines()[1].split(";")
    _edit(nul_file, nul_line[-1], nul_line[-1][:3] + "\x00" + nul_line[-1][3:])
    decimal_line = decimal_file.read_text(encoding="utf-8-sig").splitlines()[1].split(";")
    _edit(decimal_file, ";".join(decimal_line[3:5]), f"{decimal_line[3]};0.125")
    assert b"\x00" in nul_file.read_bytes()
    for key, value in {
        **opd_env,
        "KOTACERDAS_LANDING_DIR": str(landing),
        "KOTACERDAS_RAW_DIR": str(tmp_path / "raw"),
        "KOTACERDAS_PII_KEY": "hygiene-test-key",
        "KOTACERDAS_WAREHOUSE_URL": postgres_url,
    }.items():
        monkeypatch.setenv(key, value)

    defs = build_definitions(ProjectConfig(config))
    outcome = run_partitions(defs, [(CITY, MONTH)], instance=dg.DagsterInstance.ephemeral())[0]
    assert outcome.success, outcome.problems

    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        rules = conn.execute(
            sa.text(
                "SELECT rule, value, reason, record_key FROM quarantine WHERE table_name = 'indicator_submissions' "
                "AND rule IN ('text:control_characters', 'number:ambiguous_decimal') ORDER BY rule"
            )
        ).all()
        published = conn.execute(sa.text("SELECT opd_code, indicator_code FROM staged_indicator_submissions")).all()
    engine.dispose()
    assert [r.rule for r in rules] == ["number:ambiguous_decimal", "text:control_characters"]
    ambiguous, control = rules
    assert (
        ambiguous.value == "0.125"
        and "125" in ambiguous.reason
        and ambiguous.record_key.split("|")[2] == (decimal_line[2])
    )
    assert "\\x00" in control.value and control.record_key.split("|")[2] == nul_line[2]
    # The rejected rows are missing from the published table (never published as 125 or cut at the NUL); every
    # other row of the city-month is there.
    delivered = sum(len(f.read_text(encoding="utf-8-sig").splitlines()) - 1 for f in files)
    assert len(published) == delivered - 2
    assert {tuple(nul_line[1:3]), tuple(decimal_line[1:3])}.isdisjoint(map(tuple, published))


@pytest.mark.parametrize("bad", ["\x00", "\x1f", "\x85"])
def test_staged_text_never_keeps_a_control_character(bad):
    frame = _submissions(["1"], [f"%{bad}"], [None])
    result = stage_table(INDICATOR_SUBMISSIONS, frame, city="19.71", month="2025-03", pii_key=None)
    assert result.frame.empty and result.rejected["rule"].tolist() == ["text:control_characters"]
