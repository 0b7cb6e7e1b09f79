"""Composite-indicator engine in the manner of JRC's COINr: one function per step, every stage kept."""

from kotacerdas.index.aggregate import aggregate, weighted_mean
from kotacerdas.index.build import STAGES, IndexBuild, build_index, run_build
from kotacerdas.index.denominate import denominate
from kotacerdas.index.errors import IndexMethodError
from kotacerdas.index.impute import impute, impute_panel
from kotacerdas.index.meta import Framework, from_coinr_v0, read_framework
from kotacerdas.index.method import IndexMethod, as_method
from kotacerdas.index.normalise import normalise, normalise_column
from kotacerdas.index.results import group_ranks, rank_scores, results_table
from kotacerdas.index.screen import ScreenResult, screen_units
from kotacerdas.index.treat import TreatResult, kurtosis, skewness, treat, winsorise
from kotacerdas.index.weights import effective_weights, equal_weights, renormalise

__all__ = [
    "STAGES",
    "Framework",
    "IndexBuild",
    "IndexMethod",
    "IndexMethodError",
    "ScreenResult",
    "TreatResult",
    "aggregate",
    "as_method",
    "build_index",
    "denominate",
    "effective_weights",
    "equal_weights",
    "from_coinr_v0",
    "group_ranks",
    "impute",
    "impute_panel",
    "kurtosis",
    "normalise",
    "normalise_column",
    "rank_scores",
    "read_framework",
    "renormalise",
    "results_table",
    "run_build",
    "screen_units",
    "skewness",
    "treat",
    "weighted_mean",
    "winsorise",
]
