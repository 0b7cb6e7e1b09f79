"""Files in and out of the engine: read iData/iMeta CSVs and a method YAML, write every stage and result as CSV.

Errors name the file (and the column or key) and say what to do, so the `kotacerdas index` command can show
them as they are.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from kotacerdas.index.analysis import (
    copeland_dominance,
    correlation_table,
    get_stats,
    group_alpha,
    strengths_weaknesses,
)
from kotacerdas.index.build import IndexBuild, run_build
from kotacerdas.index.errors import IndexMethodError
from kotacerdas.index.meta import NAME, TIME, UNIT, Framework, read_framework
from kotacerdas.index.method import IndexMethod, as_method
from kotacerdas.index.provenance import file_sha256
from kotacerdas.index.sensitivity import Factor, SensitivityResult, as_factors
from kotacerdas.index.weights import renormalise

METHOD_INFO_KEYS = ("name", "description")  # documentation keys of a method file, not build settings


def _drop_r_rownames(table: pd.DataFrame) -> pd.DataFrame:
    """R's write.csv writes row names as a first, unnamed column ("" in the header): drop it."""
    first = table.columns[0] if len(table.columns) else None
    if isinstance(first, str) and (first == "" or first.startswith("Unnamed: 0")):
        return table.drop(columns=first)
    return table


def read_csv(path: str | Path, what: str) -> pd.DataFrame:
    """Read one CSV (also as R's write.csv writes it: row names, "NA"), turning the ways it can fail into an
    error that names the file."""
    path = Path(path)
    if not path.is_file():
        raise IndexMethodError(
            f"{what} file {path} does not exist" + (" (it is a folder)" if path.is_dir() else ""),
            hint=f"give the path of the {what} CSV",
        )
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return read_coinr_export(path)[0 if what == "iData" else 1]
    try:
        table = _drop_r_rownames(pd.read_csv(path))
    except pd.errors.EmptyDataError:
        raise IndexMethodError(
            f"{what} file {path} is empty", hint=f"write the {what} table with a header row"
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise IndexMethodError(
            f"{what} file {path} is not a readable CSV: {str(exc).strip().splitlines()[0]}",
            hint="save it as comma-separated UTF-8 with one header row",
        ) from None
    if table.empty:
        raise IndexMethodError(f"{what} file {path} has a header but no rows", hint=f"add the {what} rows")
    return table


def read_coinr_export(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """iData and iMeta from a workbook written by COINr's `export_to_excel` (sheets "Meta.Ind", "Meta.Unit"
    and "Data.Raw", one sheet per data frame of the coin), or from a workbook with "iData" and "iMeta" sheets.
    A panel (purse) export holds a Time column in Data.Raw."""
    path = Path(path)
    try:
        sheets = pd.read_excel(path, sheet_name=None)
    except (ValueError, OSError) as exc:
        raise IndexMethodError(f"cannot read workbook {path}: {exc}", hint="give an .xlsx file") from None
    if "iData" in sheets and "iMeta" in sheets:
        return sheets["iData"], sheets["iMeta"]
    need = ("Data.Raw", "Meta.Ind")
    missing = [n for n in need if n not in sheets]
    if missing:
        raise IndexMethodError(
            f"workbook {path} has no sheet {missing} (sheets: {list(sheets)})",
            hint="export the coin with COINr's export_to_excel(), or name the sheets iData and iMeta",
        )
    raw, imeta = sheets["Data.Raw"], sheets["Meta.Ind"]
    unit = sheets.get("Meta.Unit")
    if unit is not None:
        key = [c for c in (UNIT, TIME) if c in raw and c in unit]
        extra = [c for c in unit.columns if c not in raw.columns or c in key]
        raw = raw.merge(unit[extra].drop_duplicates(key), on=key, how="left")
    keep = [c for c in imeta.columns if c not in ("EffWeight",)]
    return raw, imeta[keep]


def read_inputs(data: str | Path, meta: str | Path) -> Framework:
    """Read and validate `iData` and `iMeta` CSV files (COINr's interchange format)."""
    idata, imeta = read_csv(data, "iData"), read_csv(meta, "iMeta")
    try:
        return read_framework(idata, imeta)
    except IndexMethodError as exc:
        raise IndexMethodError(f"{exc.message} [iData: {data}; iMeta: {meta}]", hint=exc.hint) from exc


def read_method_file(path: str | Path) -> tuple[IndexMethod, list[Factor] | None]:
    """Read a method YAML: the `IndexMethod` settings (plus `name` and `description`, kept for people) and an
    optional `uncertainty:` section with the factors for sensitivity analysis."""
    path = Path(path)
    if not path.is_file():
        raise IndexMethodError(f"method file {path} does not exist", hint="give the path of the method YAML")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise IndexMethodError(
            f"method file {path} is not valid YAML{where}: {getattr(exc, 'problem', exc)}",
            hint="fix the YAML syntax (indentation, colons, quotes)",
        ) from None
    except UnicodeDecodeError:
        raise IndexMethodError(f"method file {path} is not UTF-8 text", hint="save it as UTF-8") from None
    if not isinstance(raw, dict):
        raise IndexMethodError(
            f"method file {path} holds {type(raw).__name__}, not a mapping of settings",
            hint="write `version: ...` and the step settings (denominate, impute, treat, normalise, ...)",
        )
    settings = {k: v for k, v in raw.items() if k not in METHOD_INFO_KEYS and k != "uncertainty"}
    try:
        method = as_method(settings)
        factors = as_factors(raw["uncertainty"]) if raw.get("uncertainty") is not None else None
    except IndexMethodError as exc:
        raise IndexMethodError(f"{path}: {exc.message}", hint=exc.hint) from exc
    return method, factors


def build_from_files(data: str | Path, meta: str | Path, method: str | Path) -> tuple[IndexBuild, list | None]:
    """Read the three inputs and build; returns the build and the method file's uncertainty factors. The build's
    provenance also carries the SHA-256 of the method file's bytes."""
    fw = read_inputs(data, meta)
    m, factors = read_method_file(method)
    try:
        build = run_build(fw, m)
    except IndexMethodError as exc:
        raise IndexMethodError(f"{exc.message} [method: {method}; iData: {data}]", hint=exc.hint) from exc
    build.provenance["method_file_sha256"] = file_sha256(method)
    return build, factors


def _with_units(build: IndexBuild, frame: pd.DataFrame) -> pd.DataFrame:
    info = [c for c in (NAME, TIME) if c in build.units]
    out = build.units[info].reindex(frame.index).join(frame) if info else frame.copy()
    out.index.name = UNIT
    return out


def _settings(entry: dict[str, Any]) -> str:
    rest = {k: v for k, v in entry.items() if k not in ("step", "skipped", "input", "output", "units", "columns")}
    return json.dumps(rest, sort_keys=True, default=str)


def write_build(build: IndexBuild, out: str | Path, strengths: int = 5) -> list[Path]:
    """Write every stage's data set and the results of `build` as CSV files into `out` (created if needed;
    files of the same name are replaced). Returns the paths written."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IndexMethodError(
            f"cannot create output folder {out}: {exc.strerror}", hint="choose a writable folder for --out"
        ) from None
    fw = build.framework
    written: list[Path] = []

    def put(name: str, frame: pd.DataFrame, index: bool = True) -> None:
        path = out / name
        frame.to_csv(path, index=index)
        written.append(path)

    for stage, frame in build.data.items():
        put(f"data_{stage}.csv", _with_units(build, frame))
    put("units.csv", build.units.rename_axis(UNIT))
    stamp = {k: build.provenance[k] for k in ("method_sha256", "data_sha256") if k in build.provenance}
    put("scores.csv", _with_units(build, build.scores).assign(**stamp))
    put("ranks.csv", _with_units(build, build.ranks).assign(**stamp))
    for group, ranks in build.group_ranks.items():
        put(f"group_ranks_{group}.csv", build.units[[group]].join(ranks).rename_axis(UNIT))
    if build.screen_summary is not None:
        put("screen_summary.csv", build.screen_summary.rename_axis(UNIT))
    if build.treat_flags is not None:
        put("treat_flags.csv", _with_units(build, build.treat_flags))
        put("treat_summary.csv", build.treat_summary)
    codes = fw.indicators + fw.aggregates
    parent = fw.imeta.loc[codes, "Parent"]
    weights = pd.DataFrame(
        {
            "Type": fw.imeta.loc[codes, "Type"],
            "Level": fw.imeta.loc[codes, "Level"],
            "Parent": parent,
            "weight": build.weights.reindex(codes),
            "relative_weight": renormalise(build.weights.reindex(codes), parent),
            "effective_weight": build.effective_weights.reindex(codes),
        }
    ).rename_axis("iCode")
    put("weights.csv", weights)
    log = pd.DataFrame(
        [
            {
                "step": e["step"],
                "skipped": e.get("skipped", False),
                "input": e.get("input"),
                "output": e.get("output"),
                "units": e.get("units"),
                "columns": e.get("columns"),
                "settings": _settings(e),
            }
            for e in build.log
        ]
    )
    for col in ("units", "columns"):
        log[col] = log[col].astype("Int64")
    put("method_log.csv", log, index=False)
    (out / "method.json").write_text(json.dumps(build.method.model_dump(), indent=2, default=str) + "\n")
    written.append(out / "method.json")
    (out / "provenance.json").write_text(json.dumps(build.provenance, indent=2, sort_keys=True) + "\n")
    written.append(out / "provenance.json")
    put("analysis_alpha.csv", group_alpha(build))
    put("analysis_correlations.csv", correlation_table(build))
    put("analysis_stats.csv", get_stats(build))
    level = fw.imeta["Level"]
    if any(build.method.aggregate.at(int(level[c]))[0] == "copeland" for c in fw.aggregates):
        put("analysis_copeland.csv", copeland_dominance(build))
    if strengths:
        put("strengths_weaknesses.csv", strengths_weaknesses(build, strengths), index=False)
    return written


def write_sensitivity(result: SensitivityResult, out: str | Path) -> list[Path]:
    """Write rank intervals and (when computed) Sobol indices of a sensitivity analysis as CSV."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    path = out / "uncertainty_ranks.csv"
    result.summary.to_csv(path)
    written.append(path)
    if result.sobol is not None and result.sobol_units is not None:
        path = out / "sensitivity_sobol.csv"
        result.sobol.to_csv(path)
        written.append(path)
        path = out / "sensitivity_sobol_units.csv"
        result.sobol_units.to_csv(path, index=False)
        written.append(path)
    path = out / "uncertainty_factors.json"
    spec = {
        "target": result.target,
        "n": result.n,
        "runs": int(result.scores.shape[0]),
        "seed": result.seed,
        "factors": [f.model_dump() for f in result.factors],
    }
    path.write_text(json.dumps(spec, indent=2, default=str) + "\n")
    written.append(path)
    return written


def run_files(
    data: str | Path,
    meta: str | Path,
    method: str | Path,
    out: str | Path,
    uncertainty: int | None = None,
    seed: int | None = 0,
    explain: str | None = None,
) -> dict[str, Any]:
    """What `kotacerdas index` does: build from files, write the stages and results to `out`, and with
    `uncertainty=N` run a sensitivity analysis with base sample N (N·(k+2) runs) over the method file's
    `uncertainty` factors (default: ±25 % noise on every weight). Returns a short report."""
    import time

    from kotacerdas.index.sensitivity import WeightNoise, sensitivity_analysis

    if uncertainty is not None and uncertainty < 2:  # checked before anything is built or written
        raise IndexMethodError(f"--uncertainty {uncertainty}", hint="give a base sample of 2 or more (e.g. 200)")
    t0 = time.perf_counter()
    build, factors = build_from_files(data, meta, method)
    t_build = time.perf_counter() - t0
    explained = None
    if explain is not None:  # before anything is written: an unknown unit leaves `out` as it was
        from kotacerdas.index.explain import explain_unit

        explained = explain_unit(build, explain)
    written = write_build(build, out)
    report: dict[str, Any] = {"build": build, "build_seconds": t_build, "files": written, "sensitivity": None}
    if explained is not None:
        report["explain"] = explained
    if uncertainty is not None:
        report["default_factors"] = factors is None
        factors = factors if factors is not None else [WeightNoise(name="weights", noise=0.25)]
        t1 = time.perf_counter()
        try:
            sa = sensitivity_analysis(build, factors, n=uncertainty, seed=seed)
        except IndexMethodError as exc:
            raise IndexMethodError(f"uncertainty analysis ({method}): {exc.message}", hint=exc.hint) from exc
        report["sensitivity"] = sa
        report["sensitivity_seconds"] = time.perf_counter() - t1
        written += write_sensitivity(sa, out)
    return report
