"""Composite-indicator engine in the manner of JRC's COINr: one function per step, every stage kept."""

from kotacerdas.index.aggregate import (
    aggregate,
    aggregate_batch,
    copeland,
    dominance,
    outranking_matrix,
    weighted_mean,
)
from kotacerdas.index.analysis import (
    copeland_dominance,
    correlation_pvalues,
    correlation_table,
    cronbach_alpha,
    get_stats,
    group_alpha,
    indicator_ranks,
    level_correlations,
    parent_correlations,
    strengths_weaknesses,
)
from kotacerdas.index.build import STAGES, IndexBuild, build_index, run_build
from kotacerdas.index.denominate import denominate
from kotacerdas.index.errors import IndexMethodError
from kotacerdas.index.explain import explain_table, explain_unit
from kotacerdas.index.impute import impute, impute_panel, impute_regression
from kotacerdas.index.meta import Framework, from_coinr_v0, read_framework
from kotacerdas.index.method import IndexMethod, as_method
from kotacerdas.index.normalise import normalise, normalise_column
from kotacerdas.index.opt_weights import OptWeightsResult, optimise_weights
from kotacerdas.index.panel import PanelBuild, build_panel
from kotacerdas.index.pca import PCAResult, pca, pca_weights
from kotacerdas.index.results import group_ranks, rank_scores, results_table
from kotacerdas.index.screen import ScreenResult, screen_units
from kotacerdas.index.sensitivity import (
    Choice,
    SensitivityResult,
    UncertaintySpec,
    WeightNoise,
    jansen_indices,
    saltelli_design,
    saltelli_indices,
    sensitivity_analysis,
    sobol_indices,
    uncertainty_analysis,
)
from kotacerdas.index.treat import TreatResult, TreatSpec, kurtosis, log_transform, skewness, treat, winsorise
from kotacerdas.index.weights import effective_weights, equal_weights, renormalise

__all__ = [
    "OptWeightsResult",
    "PanelBuild",
    "TreatSpec",
    "build_panel",
    "copeland_dominance",
    "correlation_pvalues",
    "correlation_table",
    "dominance",
    "explain_table",
    "explain_unit",
    "get_stats",
    "impute_regression",
    "log_transform",
    "optimise_weights",
    "saltelli_indices",
    "Choice",
    "Framework",
    "IndexBuild",
    "IndexMethod",
    "IndexMethodError",
    "PCAResult",
    "STAGES",
    "ScreenResult",
    "SensitivityResult",
    "TreatResult",
    "UncertaintySpec",
    "WeightNoise",
    "aggregate",
    "aggregate_batch",
    "as_method",
    "build_index",
    "copeland",
    "cronbach_alpha",
    "denominate",
    "effective_weights",
    "equal_weights",
    "from_coinr_v0",
    "group_alpha",
    "group_ranks",
    "impute",
    "impute_panel",
    "indicator_ranks",
    "jansen_indices",
    "kurtosis",
    "level_correlations",
    "normalise",
    "normalise_column",
    "outranking_matrix",
    "parent_correlations",
    "pca",
    "pca_weights",
    "rank_scores",
    "read_framework",
    "renormalise",
    "results_table",
    "run_build",
    "saltelli_design",
    "screen_units",
    "sensitivity_analysis",
    "skewness",
    "sobol_indices",
    "strengths_weaknesses",
    "treat",
    "uncertainty_analysis",
    "weighted_mean",
    "winsorise",
]
