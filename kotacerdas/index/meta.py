"""Read and validate COINr interchange tables (`iData`, `iMeta`) into a `Framework`; adapt COINr 0.x input."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from kotacerdas.index.errors import IndexMethodError

UNIT = "uCode"
NAME = "uName"
TIME = "Time"
TYPES = ("Indicator", "Aggregate", "Group", "Denominator", "Other")
META_COLUMNS = (
    "Level",
    "iCode",
    "iName",
    "Parent",
    "Direction",
    "Weight",
    "Type",
    "Target",
    "Denominator",
    "Unit",
)


@dataclass(frozen=True, eq=False)
class Framework:
    """A validated index structure plus its unit data; everything the build steps need to know."""

    imeta: pd.DataFrame  # index iCode, canonical META_COLUMNS (minus iCode)
    idata: pd.DataFrame  # one row per unit (and Time, for panels), original columns

    @cached_property
    def sha256(self) -> str:
        """Fingerprint of iData and iMeta (see `kotacerdas.index.provenance`)."""
        from kotacerdas.index.provenance import frame_sha256

        return frame_sha256(self.idata, self.imeta.reset_index())

    @cached_property
    def indicators(self) -> list[str]:
        return list(self.imeta.index[self.imeta["Type"] == "Indicator"])

    @cached_property
    def aggregates(self) -> list[str]:
        """Aggregate codes, lowest level first, so each can be computed from already computed children."""
        agg = self.imeta[self.imeta["Type"] == "Aggregate"]
        return list(agg.sort_values("Level", kind="stable").index)

    @cached_property
    def groups(self) -> list[str]:
        return list(self.imeta.index[self.imeta["Type"] == "Group"])

    @cached_property
    def denominators(self) -> list[str]:
        return list(self.imeta.index[self.imeta["Type"] == "Denominator"])

    @cached_property
    def levels(self) -> dict[int, list[str]]:
        tree = self.imeta[self.imeta["Type"].isin(["Indicator", "Aggregate"])]
        return {int(lv): list(codes) for lv, codes in tree.groupby("Level", sort=True).groups.items()}

    def children(self, code: str) -> list[str]:
        return list(self.imeta.index[self.imeta["Parent"] == code])

    @cached_property
    def direction(self) -> pd.Series:
        return self.imeta.loc[self.indicators, "Direction"].astype(float)

    @cached_property
    def weight(self) -> pd.Series:
        tree = self.indicators + self.aggregates
        return self.imeta.loc[tree, "Weight"].astype(float)

    @cached_property
    def target(self) -> pd.Series:
        return self.imeta.loc[self.indicators, "Target"].astype(float)

    @cached_property
    def denominator(self) -> pd.Series:
        """Denominator column per indicator (NaN where the indicator is not denominated)."""
        return self.imeta.loc[self.indicators, "Denominator"]

    @cached_property
    def times(self) -> list:
        return sorted(self.idata[TIME].dropna().unique()) if TIME in self.idata else []

    def cross_section(self, time=None) -> pd.DataFrame:
        """Rows of `idata` for one time point, indexed by uCode (the latest time when `time` is None)."""
        data = self.idata
        if self.times:
            pick = self.times[-1] if time is None else time
            if pick not in self.times:
                raise IndexMethodError(
                    f"iData has no rows for Time={pick!r}", hint=f"choose one of {self.times} in method.time"
                )
            data = data[data[TIME] == pick]
        elif time is not None:
            raise IndexMethodError(
                f"method.time={time!r} given but iData has no Time column",
                hint="remove method.time or add a Time column to iData",
            )
        return data.set_index(UNIT)

    def unit_table(self, time=None) -> pd.DataFrame:
        """uName, Time and group columns of each unit, indexed by uCode."""
        cs = self.cross_section(time)
        keep = [c for c in (NAME, TIME) if c in cs] + self.groups
        return cs[keep]


def _blank(value) -> bool:
    return (
        value is None
        or (isinstance(value, float) and np.isnan(value))
        or (isinstance(value, str) and value.strip() == "")
        or value is pd.NA
    )


def _numeric(meta: pd.DataFrame, column: str, rows: pd.Index, *, required: bool) -> pd.Series:
    """Convert one iMeta column to float, naming the first code whose entry is not a number."""
    out = pd.Series(np.nan, index=meta.index, dtype=float)
    if column not in meta:
        if required and len(rows):
            raise IndexMethodError(
                f"iMeta has no '{column}' column",
                hint=f"add a numeric '{column}' for every Indicator and Aggregate row",
            )
        return out
    col = meta.loc[rows, column]
    fast = pd.to_numeric(col, errors="coerce") if col.dtype.kind in "biuf" or col.dtype == object else None
    if fast is not None and fast.notna().all():  # the usual case: every entry a number
        out[rows] = fast.astype(float).to_numpy()
        return out
    for code in rows:
        raw = meta.at[code, column]
        if _blank(raw):
            if required:
                raise IndexMethodError(f"iMeta row '{code}' has no {column}", hint=f"give '{code}' a numeric {column}")
            continue
        try:
            out[code] = float(raw)
        except (TypeError, ValueError):
            raise IndexMethodError(
                f"iMeta row '{code}' has {column}={raw!r}, which is not a number",
                hint=f"write a plain number for the {column} of '{code}'",
            ) from None
    return out


def _check_codes(meta: pd.DataFrame) -> None:
    if "iCode" not in meta:
        raise IndexMethodError("iMeta has no 'iCode' column", hint="name every row with a unique iCode")
    codes = meta["iCode"]
    if codes.map(_blank).any():
        rows = list(np.flatnonzero(codes.map(_blank).to_numpy()))
        raise IndexMethodError(f"iMeta rows {rows} have an empty iCode", hint="give every row a unique iCode")
    dup = codes[codes.duplicated(keep=False)]
    if len(dup):
        code = dup.iloc[0]
        raise IndexMethodError(
            f"iCode '{code}' appears {int((codes == code).sum())} times in iMeta",
            hint="codes must be unique: rename or remove the duplicate rows",
        )
    if "Type" not in meta:
        raise IndexMethodError("iMeta has no 'Type' column", hint=f"set Type to one of {TYPES} on every row")
    bad = meta.loc[~meta["Type"].isin(TYPES)]
    if len(bad):
        raise IndexMethodError(
            f"iMeta row '{bad['iCode'].iloc[0]}' has Type={bad['Type'].iloc[0]!r}",
            hint=f"Type must be one of {TYPES}",
        )


def _check_tree(meta: pd.DataFrame) -> pd.Series:
    """Check parents exist and form a tree without cycles; return the level of each tree node."""
    tree = meta.index[meta["Type"].isin(["Indicator", "Aggregate"])]
    aggregates = set(meta.index[meta["Type"] == "Aggregate"])
    parent = meta["Parent"]
    up = parent.to_dict()
    types = meta["Type"].to_dict()
    for code in tree:
        p = up[code]
        if _blank(p):
            if types[code] == "Indicator":
                raise IndexMethodError(
                    f"indicator '{code}' has no Parent",
                    hint="name the aggregate it belongs to in the Parent column",
                )
            continue
        if p not in aggregates:
            what = "is not an Aggregate row" if p in meta.index else "is not an iCode in iMeta"
            raise IndexMethodError(
                f"'{code}' has Parent '{p}', which {what}",
                hint=f"add an Aggregate row '{p}' to iMeta or correct the Parent of '{code}'",
            )
    for code in meta.index[~meta["Type"].isin(["Indicator", "Aggregate"])]:
        if not _blank(parent[code]):
            raise IndexMethodError(
                f"'{code}' is a {meta.at[code, 'Type']} row but has Parent '{parent[code]}'",
                hint="only Indicator and Aggregate rows belong to the tree; clear its Parent",
            )
    for code in tree:  # walk up from every node: revisiting a node means a cycle
        path = [code]
        while not _blank(up[path[-1]]):
            nxt = up[path[-1]]
            if nxt in path:
                cycle = " → ".join(path[path.index(nxt) :] + [nxt])
                raise IndexMethodError(
                    f"the Parent links form a cycle: {cycle}",
                    hint="every chain of parents must end at a root (an empty Parent)",
                )
            path.append(nxt)
    has_child = set(parent[tree].dropna())
    for code in aggregates - has_child:
        raise IndexMethodError(
            f"aggregate '{code}' has no children",
            hint=f"set Parent='{code}' on its members or remove the row",
        )
    # level = 1 for indicators, 1 + highest child level for aggregates
    level: dict[str, int] = {}
    kids_of: dict[str, list[str]] = {}
    for code in tree:
        p = up[code]
        if not _blank(p):
            kids_of.setdefault(p, []).append(code)

    def depth(code: str) -> int:
        if code not in level:
            level[code] = 1 if types[code] == "Indicator" else 1 + max(depth(k) for k in kids_of[code])
        return level[code]

    return pd.Series({code: depth(code) for code in tree}, dtype=int)


def _check_levels(meta: pd.DataFrame, inferred: pd.Series) -> pd.Series:
    if "Level" not in meta or meta.loc[inferred.index, "Level"].map(_blank).all():
        return inferred
    given = _numeric(meta, "Level", inferred.index, required=True)
    lv, types, up = given.to_dict(), meta["Type"].to_dict(), meta["Parent"].to_dict()
    for code in inferred.index:
        if types[code] == "Indicator" and lv[code] != 1:
            raise IndexMethodError(
                f"indicator '{code}' has Level {given[code]:g}",
                hint="indicators are Level 1; aggregates sit above them",
            )
        p = up[code]
        if not _blank(p) and lv[p] <= lv[code]:
            raise IndexMethodError(
                f"'{code}' (Level {given[code]:g}) has Parent '{p}' at Level {given[p]:g}",
                hint="a parent must sit at a higher Level than its children",
            )
    return given.loc[inferred.index].astype(int)


def _check_data(meta: pd.DataFrame, idata: pd.DataFrame) -> pd.DataFrame:
    if UNIT not in idata:
        raise IndexMethodError("iData has no 'uCode' column", hint="add a uCode column naming each unit")
    codes = idata[UNIT]
    if codes.isna().any() or (codes.astype(str).str.strip() == "").any():
        raise IndexMethodError("iData has rows with an empty uCode", hint="give every unit a code")
    key = [UNIT, TIME] if TIME in idata else [UNIT]
    dup = idata[idata.duplicated(key, keep=False)]
    if len(dup):
        raise IndexMethodError(
            f"unit '{dup[UNIT].iloc[0]}' appears more than once in iData for the same {key}",
            hint="keep one row per unit (and Time)",
        )
    numeric_types = ("Indicator", "Denominator")
    converted: dict[str, pd.Series] = {}  # set at once at the end: column-by-column assignment is slow
    for code in meta.index[meta["Type"].isin(numeric_types)]:
        if code not in idata:
            raise IndexMethodError(
                f"{meta.at[code, 'Type'].lower()} '{code}' has no data column in iData",
                hint=f"add a column '{code}' to iData or remove its iMeta row",
            )
        if idata[code].dtype.kind == "f":
            continue
        if idata[code].dtype.kind in "biu":
            converted[code] = idata[code].astype(float)
            continue
        col = pd.to_numeric(idata[code], errors="coerce")
        bad = col.isna() & ~idata[code].map(_blank)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise IndexMethodError(
                f"column '{code}' of iData holds {idata[code].iloc[i]!r} for unit '{idata[UNIT].iloc[i]}'",
                hint="indicator and denominator columns must be numbers (leave missing values empty)",
            )
        converted[code] = col.astype(float)
    out = idata.assign(**converted) if converted else idata.copy()
    for code in meta.index[meta["Type"] == "Group"]:
        if code not in idata:
            raise IndexMethodError(
                f"group '{code}' has no column in iData",
                hint=f"add a column '{code}' to iData or remove its iMeta row",
            )
    return out


def read_framework(idata: pd.DataFrame, imeta: pd.DataFrame) -> Framework:
    """Validate COINr `iData`/`iMeta` tables and return the `Framework` every build step works from.

    `Group_*` and `Den_*` columns of iData without an iMeta row are taken as groups and denominators
    (the COINr 0.x convention).
    """
    meta = imeta.copy()
    _check_codes(meta)
    known = set(meta["iCode"])
    extra = [c for c in idata.columns if c not in known]
    auto = [
        {"iCode": c, "Type": "Group" if c.startswith("Group_") else "Denominator"}
        for c in extra
        if c.startswith(("Group_", "Den_"))
    ]
    if auto:
        meta = pd.concat([meta, pd.DataFrame(auto)], ignore_index=True)
    meta = meta.set_index("iCode", drop=True)
    meta.index = meta.index.astype(str)
    meta["Parent"] = meta.get("Parent", np.nan)
    meta["Parent"] = meta["Parent"].map(lambda p: np.nan if _blank(p) else str(p)).astype(object)
    tree_rows = meta.index[meta["Type"].isin(["Indicator", "Aggregate"])]
    if not len(meta.index[meta["Type"] == "Indicator"]):
        raise IndexMethodError("iMeta has no Indicator rows", hint="add at least one row with Type 'Indicator'")
    level = _check_levels(meta, _check_tree(meta))
    out = pd.DataFrame(index=meta.index)
    out["Level"] = level.reindex(meta.index).astype("Int64")
    out["iName"] = meta["iName"] if "iName" in meta else pd.Series(meta.index, index=meta.index)
    out["Parent"] = meta["Parent"]
    out["Type"] = meta["Type"]
    out["Direction"] = _numeric(meta, "Direction", tree_rows, required=True)
    bad_dir = out.loc[tree_rows, "Direction"][~out.loc[tree_rows, "Direction"].isin([1.0, -1.0])]
    if len(bad_dir):
        raise IndexMethodError(
            f"'{bad_dir.index[0]}' has Direction {bad_dir.iloc[0]:g}",
            hint="Direction must be 1 (higher is better) or -1 (lower is better)",
        )
    out["Weight"] = _numeric(meta, "Weight", tree_rows, required=True)
    neg = out.loc[tree_rows, "Weight"][out.loc[tree_rows, "Weight"] < 0]
    if len(neg):
        raise IndexMethodError(
            f"'{neg.index[0]}' has a negative Weight ({neg.iloc[0]:g})",
            hint="weights must be zero or positive",
        )
    ind_rows = meta.index[meta["Type"] == "Indicator"]
    out["Target"] = _numeric(meta, "Target", ind_rows, required=False)
    den = meta["Denominator"] if "Denominator" in meta else pd.Series(np.nan, index=meta.index)
    out["Denominator"] = den.map(lambda d: np.nan if _blank(d) else str(d)).astype(object)
    den_rows = set(meta.index[meta["Type"] == "Denominator"])
    dens = out["Denominator"].to_dict()
    for code in ind_rows:
        d = dens[code]
        if not _blank(d) and d not in den_rows and d not in idata:
            raise IndexMethodError(
                f"indicator '{code}' names denominator '{d}', which is not in iData",
                hint=f"add a column '{d}' to iData (Type 'Denominator' in iMeta)",
            )
        if not _blank(d) and d not in meta.index:  # a plain iData column used as denominator
            out.loc[d] = {"Type": "Denominator", "iName": d}
    out["Unit"] = meta.get("Unit", np.nan)
    data = _check_data(out, idata)
    return Framework(imeta=out, idata=data)


def _aggregate_parents(ind_meta: pd.DataFrame, agg_cols: list[str]) -> dict[str, str | float]:
    """Parent of each aggregate code from the Agg1..AggN columns of a COINr 0.x IndMeta."""
    parents: dict[str, str | float] = {}
    for i, col in enumerate(agg_cols):
        up = agg_cols[i + 1] if i + 1 < len(agg_cols) else None
        for _, row in ind_meta.iterrows():
            code, p = row[col], (row[up] if up else np.nan)
            if _blank(code):
                continue
            if code in parents and not (_blank(parents[code]) and _blank(p)) and parents[code] != p:
                raise IndexMethodError(
                    f"aggregate '{code}' has two parents in IndMeta: '{parents[code]}' and '{p}'",
                    hint=f"fix column {up} so '{code}' sits under a single parent",
                )
            parents[code] = p
    return parents


def from_coinr_v0(
    ind_data: pd.DataFrame,
    ind_meta: pd.DataFrame,
    agg_meta: pd.DataFrame,
    denominators: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Convert COINr 0.x `IndData`/`IndMeta`/`AggMeta` (plus optional denominators) to `iData`/`iMeta`."""
    idata = ind_data.rename(columns={"UnitCode": UNIT, "UnitName": NAME, "Year": TIME})
    if denominators is not None:
        den = denominators.rename(columns={"UnitCode": UNIT})
        new = [c for c in den.columns if c.startswith("Den_") and c not in idata]
        idata = idata.merge(den[[UNIT, *new]], on=UNIT, how="left", validate="one_to_one")
    agg_cols = sorted(
        (c for c in ind_meta.columns if c.startswith("Agg") and c[3:].isdigit()), key=lambda c: int(c[3:])
    )
    rows = []
    for _, r in ind_meta.iterrows():
        rows.append(
            {
                "Level": 1,
                "iCode": r["IndCode"],
                "iName": r.get("IndName", r["IndCode"]),
                "Parent": r[agg_cols[0]] if agg_cols else np.nan,
                "Direction": r.get("Direction", 1),
                "Weight": r.get("IndWeight", 1),
                "Type": "Indicator",
                "Target": r.get("Target", np.nan),
                "Denominator": r.get("Denominator", np.nan),
                "Unit": r.get("IndUnit", np.nan),
            }
        )
    parents = _aggregate_parents(ind_meta, agg_cols)
    for _, r in agg_meta.iterrows():
        code = r["Code"]
        if code not in parents:
            raise IndexMethodError(
                f"AggMeta code '{code}' is not used in any Agg column of IndMeta",
                hint="remove it from AggMeta or place indicators under it",
            )
        rows.append(
            {
                "Level": int(r["AgLevel"]),
                "iCode": code,
                "iName": r.get("Name", code),
                "Parent": parents[code],
                "Direction": 1,
                "Weight": r.get("Weight", 1),
                "Type": "Aggregate",
            }
        )
    missing = set(parents) - set(agg_meta["Code"])
    if missing:
        raise IndexMethodError(
            f"aggregates {sorted(missing)} appear in IndMeta but not in AggMeta",
            hint="add a row (AgLevel, Code, Name, Weight) to AggMeta for each",
        )
    for c in idata.columns:
        if c.startswith("Group_"):
            rows.append({"iCode": c, "iName": c, "Type": "Group"})
        elif c.startswith("Den_"):
            rows.append({"iCode": c, "iName": c, "Type": "Denominator"})
    imeta = pd.DataFrame(rows, columns=list(META_COLUMNS))
    return idata, imeta
