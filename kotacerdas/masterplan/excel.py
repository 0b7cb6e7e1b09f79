"""The Excel template of a masterplan (openpyxl): written empty or from a masterplan, read back into the same
dict the YAML gives, so one model (`kotacerdas.masterplan.schema`) validates both and errors name the sheet row.

One sheet per kind of row, long form (a year is a row, not a column), so a plan of any length fits without
editing the header: Masterplan (key, value), RPJMD, Programmes, Activities, Budget, Indicators, Targets.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from kotacerdas.errors import ConfigError
from kotacerdas.masterplan.schema import DIMENSIONS, STAGES, Masterplan

META_FIELDS = ("city_code", "version", "effective_from", "title", "supersedes")
SHEETS: dict[str, tuple[str, ...]] = {
    "RPJMD": ("code", "misi", "sasaran", "iku"),
    "Programmes": (
        "dimension",
        "code",
        "name",
        "opd",
        "start",
        "end",
        "quick_win_stage",
        "quick_win_year",
        "quick_win_due",
        "rpjmd",
        "maturity_indicators",
    ),
    "Activities": ("programme", "code", "name", "opd", "start", "end"),
    "Budget": ("programme", "activity", "year", "amount"),
    "Indicators": ("programme", "code", "kind", "name", "unit", "baseline", "baseline_year"),
    "Targets": ("indicator", "year", "target"),
}
GUIDE = (
    "Petunjuk pengisian / How to fill this template (docs/bappeda/masterplan.md)",
    "Masterplan: city_code (Kemendagri, e.g. 19.71), version, effective_from (YYYY-MM), title, supersedes.",
    f"Programmes: dimension is one of {', '.join(DIMENSIONS)}; start/end as YYYY-MM; quick_win_stage one of "
    f"{', '.join(STAGES)} (empty: not a quick win); rpjmd and maturity_indicators: codes separated by commas.",
    "Budget: one row per programme (or activity) and year, APBD in rupiah. Targets: one row per indicator and year.",
    "Indicators: kind is output or outcome; leave baseline empty only if it is not known (the review reports it).",
)


def write_template(path: str | Path, plan: Masterplan | None = None) -> Path:
    """The template, empty (headers and a guide) or holding `plan`."""
    import openpyxl

    path = Path(path)
    book = openpyxl.Workbook()
    guide = book.active
    guide.title = "Petunjuk"
    for line in GUIDE:
        guide.append([line])
    meta = book.create_sheet("Masterplan")
    meta.append(["key", "value"])
    for key in META_FIELDS:
        meta.append([key, getattr(plan, key) if plan else None])
    sheets = {name: book.create_sheet(name) for name in SHEETS}
    for name, ws in sheets.items():
        ws.append(list(SHEETS[name]))
    if plan:
        for t in plan.rpjmd:
            sheets["RPJMD"].append([t.code, t.misi, t.sasaran, ", ".join(t.iku)])
        for d in plan.dimensions:
            for p in d.programmes:
                qw = p.quick_win
                sheets["Programmes"].append(
                    [
                        d.code,
                        p.code,
                        p.name,
                        p.opd,
                        p.start,
                        p.end,
                        qw.stage if qw else None,
                        qw.year if qw else None,
                        qw.due if qw else None,
                        ", ".join(p.rpjmd),
                        ", ".join(p.maturity_indicators),
                    ]
                )
                for year, amount in sorted(p.budget.items()):
                    sheets["Budget"].append([p.code, None, year, amount])
                for a in p.activities:
                    sheets["Activities"].append([p.code, a.code, a.name, a.opd, a.start, a.end])
                    for year, amount in sorted(a.budget.items()):
                        sheets["Budget"].append([p.code, a.code, year, amount])
                for i in p.indicators:
                    sheets["Indicators"].append([p.code, i.code, i.kind, i.name, i.unit, i.baseline, i.baseline_year])
                    for year, target in sorted(i.targets.items()):
                        sheets["Targets"].append([i.code, year, target])
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def _cell(value: Any) -> Any:
    """Cell as the YAML would hold it: text stripped, empty as None, a date typed as a month as YYYY-MM."""
    if isinstance(value, datetime | date):
        return f"{value.year:04d}-{value.month:02d}"
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _text(value: Any) -> Any:
    return None if value is None else str(value)


def _codes(value: Any) -> list[str]:
    return [c.strip() for c in str(value).split(",") if c.strip()] if value is not None else []


def _rows(book: Any, name: str, path: Path) -> list[tuple[int, dict[str, Any]]]:
    if name not in book.sheetnames:
        raise ConfigError(f"{path}: no sheet {name!r}", hint="start from `kotacerdas masterplan template`")
    ws = book[name]
    header = [_cell(c) for c in next(ws.iter_rows(min_row=1, max_row=1, values_only=True), ())]
    missing = [h for h in SHEETS.get(name, ("key", "value")) if h not in header]
    if missing:
        raise ConfigError(f"{path}: sheet {name} row 1: missing column(s) {missing}", hint="keep the template header")
    out = []
    for n, values in enumerate(ws.iter_rows(min_row=2, values_only=True), start=2):
        row = {h: _cell(v) for h, v in zip(header, values, strict=False) if h}
        if any(v is not None for v in row.values()):
            out.append((n, row))
    return out


def read_workbook(path: str | Path) -> tuple[dict, dict[tuple, str]]:
    """The workbook as the masterplan dict, and where each row came from (pydantic location → sheet and row)."""
    import openpyxl

    path = Path(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for a file that is no workbook
        raise ConfigError(f"{path}: not a readable .xlsx workbook: {exc}", hint="save it as Excel .xlsx") from exc
    try:
        return _read(book, path)
    finally:
        book.close()


def _read(book: Any, path: Path) -> tuple[dict, dict[tuple, str]]:
    where: dict[tuple, str] = {}
    data: dict[str, Any] = {}
    for n, row in _rows(book, "Masterplan", path):
        key = row.get("key")
        if key in META_FIELDS and row.get("value") is not None:
            data[key] = _text(row["value"])
            where[(key,)] = f"sheet Masterplan row {n}"
    data["rpjmd"] = []
    for n, row in _rows(book, "RPJMD", path):
        where[("rpjmd", len(data["rpjmd"]))] = f"sheet RPJMD row {n}"
        data["rpjmd"].append(
            {"code": _text(row["code"]), "misi": row["misi"], "sasaran": row["sasaran"], "iku": _codes(row["iku"])}
        )
    dims: dict[str, dict] = {}
    programmes: dict[str, tuple[dict, tuple]] = {}
    for n, row in _rows(book, "Programmes", path):
        dim_code = _text(row["dimension"])
        if dim_code not in dims:
            dims[dim_code] = {"code": dim_code, "programmes": []}
            where[("dimensions", len(dims) - 1)] = f"sheet Programmes row {n}"
        di = list(dims).index(dim_code)
        prog: dict[str, Any] = {
            "code": _text(row["code"]),
            "name": row["name"],
            "opd": _text(row["opd"]),
            "start": _text(row["start"]),
            "end": _text(row["end"]),
            "rpjmd": _codes(row["rpjmd"]),
            "maturity_indicators": _codes(row["maturity_indicators"]),
            "budget": {},
            "indicators": [],
            "activities": [],
        }
        if row["quick_win_stage"] is not None or row["quick_win_year"] is not None:
            prog["quick_win"] = {"stage": _text(row["quick_win_stage"]), "year": row["quick_win_year"]}
            if row["quick_win_due"] is not None:
                prog["quick_win"]["due"] = _text(row["quick_win_due"])
        loc = ("dimensions", di, "programmes", len(dims[dim_code]["programmes"]))
        where[loc] = f"sheet Programmes row {n}"
        dims[dim_code]["programmes"].append(prog)
        programmes[prog["code"]] = (prog, loc)
    data["dimensions"] = list(dims.values())

    def owner(sheet: str, n: int, code: Any) -> tuple[dict, tuple]:
        if _text(code) not in programmes:
            raise ConfigError(
                f"{path}: sheet {sheet} row {n}: field `programme`: {code!r} is not a programme of sheet Programmes",
                hint="use a code of sheet Programmes",
            )
        return programmes[_text(code)]

    activities: dict[tuple[str, str], dict] = {}
    for n, row in _rows(book, "Activities", path):
        prog, loc = owner("Activities", n, row["programme"])
        act = {k: _text(row[k]) for k in ("code", "opd", "start", "end")} | {"name": row["name"], "budget": {}}
        where[(*loc, "activities", len(prog["activities"]))] = f"sheet Activities row {n}"
        prog["activities"].append(act)
        activities[(prog["code"], act["code"])] = act
    for n, row in _rows(book, "Budget", path):
        prog, loc = owner("Budget", n, row["programme"])
        target: dict[str, Any] = prog
        if row["activity"] is not None:
            activity = activities.get((prog["code"], _text(row["activity"])))
            if activity is None:
                raise ConfigError(
                    f"{path}: sheet Budget row {n}: field `activity`: {row['activity']!r} is not an activity of "
                    f"{prog['code']}",
                    hint="use a code of sheet Activities",
                )
            target = activity
        where[(*loc, "budget", row["year"])] = where[(*loc, "budget", str(row["year"]))] = f"sheet Budget row {n}"
        target["budget"][row["year"]] = row["amount"]
    indicators: dict[str, tuple[dict, tuple]] = {}
    for n, row in _rows(book, "Indicators", path):
        prog, loc = owner("Indicators", n, row["programme"])
        ind = {k: row[k] for k in ("kind", "name", "unit", "baseline", "baseline_year")} | {
            "code": _text(row["code"]),
            "unit": _text(row["unit"]),
            "targets": {},
        }
        iloc = (*loc, "indicators", len(prog["indicators"]))
        where[iloc] = f"sheet Indicators row {n}"
        prog["indicators"].append(ind)
        indicators[ind["code"]] = (ind, iloc)
    for n, row in _rows(book, "Targets", path):
        code = _text(row["indicator"])
        if code not in indicators:
            raise ConfigError(
                f"{path}: sheet Targets row {n}: field `indicator`: {code!r} is not an indicator of sheet Indicators",
                hint="use a code of sheet Indicators",
            )
        ind, iloc = indicators[code]
        where[(*iloc, "targets", row["year"])] = where[(*iloc, "targets", str(row["year"]))] = f"sheet Targets row {n}"
        ind["targets"][row["year"]] = row["target"]
    return data, where
