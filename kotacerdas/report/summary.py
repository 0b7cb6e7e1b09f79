"""The published scores of one city × month as a short Markdown table: what a monitor reads in the Dagster UI
beside each materialization (half up, two places; the warehouse keeps the exact values)."""

from __future__ import annotations

import pandas as pd

from kotacerdas.report.labels import Labels
from kotacerdas.rounding import format_half_up


def scores_markdown(scores: pd.DataFrame, labels: Labels) -> str:
    """Dimensions in the methodology's order, then the index with its maturity level (`INDEX_SCORE_COLUMNS`)."""
    if scores.empty:
        return "no scores"
    dims = scores[scores["level"] == "dimension"].set_index("code")
    lines = ["| dimensi / dimension | skor / score | cakupan / coverage |", "|---|---:|---:|"]
    for code in [c for c in labels.dimension_order if c in dims.index]:
        row = dims.loc[code]
        lines.append(
            f"| {labels.name('dimension', code)} ({code}) | {format_half_up(row['score'])} | "
            f"{format_half_up(row['coverage'] * 100 if pd.notna(row['coverage']) else None, 0)} % |"
        )
    index = scores[scores["level"] == "index"]
    if len(index):
        top = index.iloc[0]
        level = "—" if pd.isna(top["maturity_level"]) else int(top["maturity_level"])
        lines.append(f"| **{labels.name('index', 'index')}** | **{format_half_up(top['score'])}** | level {level} |")
        lines.append("")
        lines.append(f"{top['methodology']} {top['methodology_version']}")
    return "\n".join(lines)
