"""`kotacerdas index`: COINr's ASEM v1 inputs end to end through the command, and clear errors (exit 2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.cli import app

ROOT = Path(__file__).resolve().parents[2]
ASEM = ROOT / "tests" / "data" / "reference" / "asem"
V1 = ASEM / "v1_inputs"
# the reference outputs come from COINr 0.6: its settings are in their own method file
METHOD = ROOT / "config" / "methodologies" / "asem-coinr-0.6-reference.yaml"
METHOD_V1 = ROOT / "config" / "methodologies" / "asem-coinr-example.yaml"
STAGES = ("Raw", "Denominated", "Screened", "Imputed", "Treated", "Normalised", "Aggregated")

runner = CliRunner()


def invoke(*args: str | Path):
    return runner.invoke(app, ["index", *map(str, args)])


@pytest.fixture(scope="module")
def asem_out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("asem")
    res = invoke(
        "--data",
        V1 / "input_iData.csv",
        "--meta",
        V1 / "input_iMeta.csv",
        "--method",
        METHOD,
        "--out",
        out,
        "--uncertainty",
        "20",
        "--seed",
        "5",
    )
    assert res.exit_code == 0, res.output
    assert "51 units, 49 indicators, 11 aggregates" in res.output
    assert "120 runs" in res.output  # base sample 20 × (4 factors + 2)
    return out


def test_every_stage_and_result_written(asem_out: Path) -> None:
    for stage in STAGES:
        frame = pd.read_csv(asem_out / f"data_{stage}.csv", index_col="uCode")
        assert frame.shape[0] == 51 and {"uName", "LPI", "NEET"} <= set(frame.columns)
    for name in (
        "scores.csv",
        "ranks.csv",
        "group_ranks_EurAsia_group.csv",
        "treat_flags.csv",
        "treat_summary.csv",
        "weights.csv",
        "method_log.csv",
        "method.json",
        "units.csv",
    ):
        assert (asem_out / name).is_file(), name
    weights = pd.read_csv(asem_out / "weights.csv", index_col="iCode")
    assert weights["effective_weight"][weights["Type"] == "Indicator"].sum() == pytest.approx(1)
    log = pd.read_csv(asem_out / "method_log.csv")
    assert log["step"].tolist()[:3] == ["method", "denominate", "screen"]
    flags = pd.read_csv(asem_out / "treat_flags.csv", index_col="uCode")
    golden = pd.read_csv(ASEM / "treat_flags.csv", index_col="UnitCode")
    assert (flags.loc[golden.index, golden.columns] == golden).all().all()


def test_aggregated_matches_coinr(asem_out: Path) -> None:
    # the v1 iData keep ~8 significant digits of COINr's data, so, as in the golden test's v1 check, scores agree
    # to 1e-6 (relative and absolute; observed ~1e-7), not 1e-9 — and every rank is identical
    ours = pd.read_csv(asem_out / "data_Aggregated.csv", index_col="uCode")
    golden = pd.read_csv(ASEM / "data_Aggregated.csv", index_col="UnitCode")
    codes = [c for c in golden.columns if c in ours.columns and c not in ("uName", "Time")]
    assert len(codes) == 60
    np.testing.assert_allclose(ours.loc[golden.index, codes], golden[codes], rtol=1e-6, atol=1e-6)
    ranks = pd.read_csv(asem_out / "ranks.csv", index_col="uCode")
    gr = pd.read_csv(ASEM / "results_ranks.csv", index_col="UnitCode").drop(columns="UnitName")
    assert (ranks.loc[gr.index, gr.columns].to_numpy() == gr.to_numpy()).all()


def test_provenance_written(asem_out: Path) -> None:
    import hashlib
    import json

    prov = json.loads((asem_out / "provenance.json").read_text())
    assert prov["method_file_sha256"] == hashlib.sha256(METHOD.read_bytes()).hexdigest()
    assert len(prov["data_sha256"]) == 64 and prov["method_version"] == "coinr-asem-0.6"
    scores = pd.read_csv(asem_out / "scores.csv", index_col="uCode")
    assert (scores["method_sha256"] == prov["method_sha256"]).all() and (
        scores["data_sha256"] == prov["data_sha256"]
    ).all()


def test_coinr_1x_example_runs_in_its_order(tmp_path: Path) -> None:
    # COINr 1.x's build_example_coin(): screening after imputation, winmax 5 points, ranks on unrounded scores.
    # No COINr 1.x outputs are stored, so this checks the settings took effect, not COINr's numbers
    res = invoke(
        "--data", V1 / "input_iData.csv", "--meta", V1 / "input_iMeta.csv", "--method", METHOD_V1, "--out", tmp_path
    )
    assert res.exit_code == 0, res.output
    log = pd.read_csv(tmp_path / "method_log.csv")
    assert log["step"].tolist()[:6] == ["method", "denominate", "impute", "screen", "treat", "normalise"]
    summary = pd.read_csv(tmp_path / "treat_summary.csv", index_col="iCode")
    assert (summary["Low"] + summary["High"]).max() <= 5 + 1  # at most one tie past the limit
    scores = pd.read_csv(tmp_path / "scores.csv", index_col="uCode")
    ranks = pd.read_csv(tmp_path / "ranks.csv", index_col="uCode")
    expected = scores["Index"].rank(ascending=False, method="min")
    assert (ranks["Index"] == expected).all()  # unrounded: the 2-dp ties of COINr 0.6 are broken


def test_uncertainty_outputs(asem_out: Path) -> None:
    ranks = pd.read_csv(asem_out / "uncertainty_ranks.csv", index_col="uCode")
    assert len(ranks) == 51
    assert ranks[["rank_q05", "median_rank", "rank_q95"]].min().min() >= 1
    assert ranks[["rank_q05", "median_rank", "rank_q95"]].max().max() <= 51
    assert (ranks["rank_q05"] <= ranks["rank_q95"]).all()
    sobol = pd.read_csv(asem_out / "sensitivity_sobol.csv", index_col="factor")
    assert list(sobol.index) == ["winmax", "normalisation", "weights", "aggregation"]
    assert {"Si", "STi", "Si_lo", "STi_hi"} <= set(sobol.columns)
    units = pd.read_csv(asem_out / "sensitivity_sobol_units.csv")
    assert len(units) == 51 * 4


# errors ----------------------------------------------------------------------------------------------------


def small_inputs(tmp_path: Path, **edits) -> tuple[Path, Path, Path]:
    idata = pd.DataFrame(
        {"uCode": list("ABCDE"), "x1": [1.0, 2, 3, 4, 5], "x2": [5.0, 3, 4, 1, 2], "x3": [2.0, 2, 8, 1, 0]}
    )
    imeta = pd.DataFrame(
        {
            "iCode": ["x1", "x2", "x3", "P", "Index"],
            "Parent": ["P", "P", "Index", "Index", None],
            "Direction": [1, -1, 1, 1, 1],
            "Weight": 1,
            "Type": ["Indicator"] * 3 + ["Aggregate"] * 2,
        }
    )
    method = "version: t1\nimpute: null\ntreat: null\n"
    idata, imeta = edits.get("idata", lambda d: d)(idata), edits.get("imeta", lambda d: d)(imeta)
    method = edits.get("method", method)
    paths = tmp_path / "iData.csv", tmp_path / "iMeta.csv", tmp_path / "method.yaml"
    idata.to_csv(paths[0], index=False)
    imeta.to_csv(paths[1], index=False)
    paths[2].write_text(method)
    return paths


def run_small(tmp_path: Path, *extra: str, **edits):
    d, m, y = small_inputs(tmp_path, **edits)
    return invoke("--data", d, "--meta", m, "--method", y, "--out", tmp_path / "out", *extra)


def test_small_build_ok(tmp_path: Path) -> None:
    res = run_small(tmp_path, "--uncertainty", "4")
    assert res.exit_code == 0, res.output
    assert "±25 % noise on every weight" in res.output  # no uncertainty section: the default factor
    assert pd.read_csv(tmp_path / "out" / "ranks.csv")["Index"].notna().all()


@pytest.mark.parametrize(
    "edits, extra, expected",
    [
        ({}, ("--data", "nowhere.csv"), ["iData file nowhere.csv does not exist"]),
        ({"idata": lambda d: d.drop(columns="x2")}, (), ["indicator 'x2' has no data column", "iData.csv"]),
        ({"idata": lambda d: d.assign(x1=["1", "2", "abc", "4", "5"])}, (), ["'x1'", "'abc'", "unit 'C'"]),
        ({"imeta": lambda m: m.assign(Parent=["P", "P", "Pillar", "Index", None])}, (), ["Parent 'Pillar'"]),
        ({"imeta": lambda m: m.assign(Direction=[1, 2, 1, 1, 1])}, (), ["'x2' has Direction 2"]),
        ({"method": "version: t\nnormalise: {method: minmax\n"}, (), ["method.yaml", "not valid YAML", "line"]),
        ({"method": "version: t\nnormalise: {methd: zscore}\n"}, (), ["method.yaml", "normalise.methd"]),
        ({"method": "- a\n- b\n"}, (), ["holds list"]),
        (
            {"method": "version: t\nimpute: null\nuncertainty: {factors: [{name: w, noise: 2}]}\n"},
            ("--uncertainty", "4"),
            ["uncertainty setting", "noise"],
        ),
        (
            {"method": "version: t\nimpute: null\naggregate: {method: geom_mean}\n"},
            (),
            ["geom_mean of 'P' meets zero", "method.yaml"],
        ),
    ],
)
def test_bad_inputs_exit_2_with_a_clear_message(tmp_path: Path, edits, extra, expected) -> None:
    d, m, y = small_inputs(tmp_path, **edits)
    args = {"--data": d, "--meta": m, "--method": y, "--out": tmp_path / "out"}
    extra = list(extra)
    while extra[:1] and extra[0] in args and len(extra) > 1:
        args[extra[0]] = extra[1]
        extra = extra[2:]
    res = invoke(*[x for kv in args.items() for x in kv], *extra)
    assert res.exit_code == 2, res.output
    assert "error:" in res.stderr and "what to do:" in res.stderr
    for text in expected:
        assert text in res.stderr, res.stderr


def test_empty_csv(tmp_path: Path) -> None:
    d, m, y = small_inputs(tmp_path)
    d.write_text("")
    res = invoke("--data", d, "--meta", m, "--method", y, "--out", tmp_path / "out")
    assert res.exit_code == 2 and f"iData file {d} is empty" in res.stderr
