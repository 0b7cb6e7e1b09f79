"""The regulators' own indices, each from a versioned methodology file in `config/methodologies/`.

Kominfo's annual smart-city evaluation, KemenPANRB's SPBE index (59/2020, 5/2018; 8/2026 provisional) and the
IKM of PermenPANRB 14/2017: pydantic models of the files and pure functions over plain data. Computed exactly
(fractions), published half up where the regulation rounds; every result names its methodology and version.
"""

from kotacerdas.regulators.common import (
    Band,
    RegulatorError,
    RegulatorMethodology,
    load_regulator_methodology,
    methodology_path,
)
from kotacerdas.regulators.ikm import (
    IkmMethodology,
    IkmResult,
    element_nrr,
    ikm,
    ikm_from_nrr,
    ikm_grade,
    ikm_unit_score,
)
from kotacerdas.regulators.kominfo import (
    KominfoImprovement,
    KominfoMethodology,
    KominfoResult,
    kominfo_improvement,
    kominfo_index,
)
from kotacerdas.regulators.spbe import SpbeMethodology, SpbeResult, spbe_index, spbe_predicate

__all__ = [
    "Band",
    "IkmMethodology",
    "IkmResult",
    "KominfoImprovement",
    "KominfoMethodology",
    "KominfoResult",
    "RegulatorError",
    "RegulatorMethodology",
    "SpbeMethodology",
    "SpbeResult",
    "element_nrr",
    "ikm",
    "ikm_from_nrr",
    "ikm_grade",
    "ikm_unit_score",
    "kominfo_improvement",
    "kominfo_index",
    "load_regulator_methodology",
    "methodology_path",
    "spbe_index",
    "spbe_predicate",
]
