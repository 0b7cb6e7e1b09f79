"""Indices stage: the smart-city maturity index per city × month (element, dimension, index, level)."""

from collections.abc import Mapping

import dagster as dg
import pandas as pd

from assets.failures import scrubbed_failures
from assets.partitioned import report_metadata
from assets.partitions import partitions_of
from assets.resources import ProjectResource
from assets.ui_metadata import row_count, shown
from kotacerdas.maturity import score_maturity_each


def build_index_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        name="maturity_scores",
        group_name="indices",
        partitions_def=partitions_def,
        kinds={"python", "pandas"},
        description="Indicator → element → dimension → index scores (0–100) with maturity level 1–5, "
        "tagged with the methodology version (config/methodologies/).",
    )
    @scrubbed_failures
    def maturity_scores(
        context: dg.AssetExecutionContext,
        project: ProjectResource,
        indicator_values: Mapping,  # partition key → frame, None if blocked
    ):
        cfg = project.project
        methodology, catalog = cfg.methodology, cfg.catalog
        parts = partitions_of(context)
        values = {p.key: indicator_values[p.key] for p in parts}  # each read once from the value store
        # blocked partitions (None: their quality gate upstream) stay None; the others are scored in one call
        scored = score_maturity_each({k: v for k, v in values.items() if v is not None}, catalog, methodology)
        scores_by_key: dict[str, pd.DataFrame | None] = {p.key: scored.get(p.key) for p in parts}
        metadata = {
            p: {"blocked": 1} if scores is None else _score_metadata(scores) | row_count(len(scores))
            for p, scores in zip(parts, scores_by_key.values(), strict=True)
        }
        return dg.Output(
            scores_by_key,
            metadata=report_metadata(context, metadata) | {"methodology": f"{methodology.name} {methodology.version}"},
        )

    return maturity_scores


def _score_metadata(scores: pd.DataFrame) -> dict:
    index = scores[scores["level"] == "index"].iloc[0]
    dims = scores[scores["level"] == "dimension"].set_index("code")["score"]
    return {
        "index": shown(index["score"]),
        "maturity_level": int(index["maturity_level"]) if pd.notna(index["maturity_level"]) else None,
        **{f"dimension_{d}": shown(s) for d, s in dims.items()},
    }
