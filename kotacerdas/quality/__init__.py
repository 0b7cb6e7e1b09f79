"""Quality gate: expectation suites as YAML data, run with Great Expectations (GX Core 1.x) per partition.

GX itself is imported only when a suite is checked or a table validated (it takes seconds to import).
"""

from kotacerdas.quality.suite import (
    CONFIG_PLACEHOLDERS,
    PARTITION_PLACEHOLDERS,
    Rule,
    Suite,
    default_suite_path,
    load_suite,
    load_suites,
)
from kotacerdas.quality.validate import QualityResult, validate_table

__all__ = [
    "CONFIG_PLACEHOLDERS",
    "PARTITION_PLACEHOLDERS",
    "QualityResult",
    "Rule",
    "Suite",
    "default_suite_path",
    "load_suite",
    "load_suites",
    "validate_table",
]
