"""The path from raw value to index for one unit: each indicator through every stage, each aggregate as the
weighted combination of its children, and the unit's ranks (`kotacerdas index --explain CODE`)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd

from kotacerdas.index.errors import IndexMethodError
from kotacerdas.index.weights import renormalise

if TYPE_CHECKING:
    from kotacerdas.index.build import IndexBuild

PRE = ("Raw", "Denominated", "Screened", "Imputed", "Treated", "Normalised")


def _num(v) -> str:
    return "NA" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{float(v):.6g}"


def explain_table(build: IndexBuild, unit: str) -> pd.DataFrame:
    """One row per indicator and aggregate: its value at every stage (indicators), the treatment flag, its weight
    relative to its siblings, its contribution to its parent (arithmetic mean: weight × value), and its rank."""
    if unit not in build.units.index:
        known = list(build.units.index[:5])
        raise IndexMethodError(
            f"unit '{unit}' is not among the units of this build",
            hint=f"give a uCode of the data after screening, e.g. {known}",
        )
    fw = build.framework
    codes = fw.indicators + fw.aggregates
    parent = fw.imeta.loc[codes, "Parent"]
    rel = renormalise(build.weights.reindex(codes), parent)
    agg = build.data["Aggregated"]
    rows = []
    for code in codes:
        row = {"iCode": code, "Level": int(fw.imeta.at[code, "Level"]), "Parent": parent[code]}
        if code in fw.indicators:
            for stage in PRE:
                if stage in build.data and code in build.data[stage]:
                    row[stage] = build.data[stage].at[unit, code] if unit in build.data[stage].index else math.nan
            row["Direction"] = fw.direction[code]
            if build.treat_flags is not None:
                row["TreatFlag"] = build.treat_flags.at[unit, code]
        row["Score"] = agg.at[unit, code]
        row["RelWeight"] = rel[code]
        row["Contribution"] = rel[code] * agg.at[unit, code] if isinstance(parent[code], str) else math.nan
        if code in build.ranks:
            row["Rank"] = build.ranks.at[unit, code]
        rows.append(row)
    return pd.DataFrame(rows).set_index("iCode")


def explain_unit(build: IndexBuild, unit: str) -> str:
    """A readable tree from the top of the index down to each indicator's raw value, for one unit."""
    table = explain_table(build, unit)
    fw = build.framework
    n = len(build.units)
    name = build.units.at[unit, "uName"] if "uName" in build.units else unit
    prov = build.provenance
    out = [
        f"{unit} ({name}) — method {build.method.version}, method sha256 {prov.get('method_sha256', '?')[:12]}, "
        f"data sha256 {prov.get('data_sha256', '?')[:12]}"
    ]
    roots = [c for c in fw.aggregates if not isinstance(fw.imeta.at[c, "Parent"], str)]
    level = fw.imeta["Level"]

    def walk(code: str, depth: int) -> None:
        r = table.loc[code]
        pad = "  " * depth
        head = f"{pad}{code} = {_num(r['Score'])}"
        if not pd.isna(r.get("Rank", math.nan)):
            head += f"  (rank {int(r['Rank'])} of {n})"
        if isinstance(r["Parent"], str):
            head += f"  weight {_num(r['RelWeight'])} in {r['Parent']}, contributes {_num(r['Contribution'])}"
        if code in fw.aggregates:
            method, p, _ = build.method.aggregate.at(int(level[code]))
            head += f"  [{method}{'' if p is None else f', p={p:g}'} of {len(fw.children(code))} children]"
            out.append(head)
            for kid in fw.children(code):
                walk(kid, depth + 1)
            return
        out.append(head)
        steps = [f"{s} {_num(r[s])}" for s in PRE if s in r.index and s != "Normalised"]
        flag = r.get("TreatFlag")
        flag = "" if flag in (None, "No") or pd.isna(flag) else f" [{flag}]"
        out.append(
            f"{pad}  {' → '.join(steps)}{flag} → × direction {int(r['Direction'])} → "
            f"{build.method.normalise.method} → {_num(r['Normalised'])}"
        )

    for root in roots:
        walk(root, 0)
    return "\n".join(out)
