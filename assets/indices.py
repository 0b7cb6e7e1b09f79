"""Indices stage: the smart-city maturity index per city × month (element, dimension, index, level)."""

import dagster as dg
import pandas as pd

from kotacerdas.index.maturity import load_methodology, score_maturity
from kotacerdas.indicators.catalog import load_catalog
from pipelines.resources import ProjectResource


def build_index_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        name="maturity_scores",
        group_name="indices",
        partitions_def=partitions_def,
        kinds={"python", "pandas"},
        description="Indicator → element → dimension → index scores (0–100) with maturity level 1–5, "
                    "tagged with the methodology version (config/methodologies/).",
    )
    def maturity_scores(context: dg.AssetExecutionContext, project: ProjectResource,
                        indicator_values: pd.DataFrame):
        cfg = project.project
        methodology = load_methodology(cfg.dir / "methodologies" / cfg.pipeline.methodology)
        scores = score_maturity(indicator_values, load_catalog(cfg.dir / "indicators.yaml"), methodology)
        index = scores[scores["level"] == "index"].iloc[0]
        dims = scores[scores["level"] == "dimension"].set_index("code")["score"]
        return dg.Output(scores, metadata={
            "index": float(index["score"]) if pd.notna(index["score"]) else None,
            "maturity_level": int(index["maturity_level"]) if pd.notna(index["maturity_level"]) else None,
            "methodology": f"{methodology.name} {methodology.version}",
            **{f"dimension_{d}": (float(s) if pd.notna(s) else None) for d, s in dims.items()},
        })

    return maturity_scores
