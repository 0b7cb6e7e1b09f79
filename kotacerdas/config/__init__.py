"""The one owner of configuration: the YAML files of `config/` (`ProjectConfig`) and the environment (`settings`).

Modules that `ProjectConfig` loads for it (the indicator catalog, the methodologies) import `kotacerdas.config.files`
rather than this package, so nothing imports itself back.
"""

from kotacerdas.config.files import (
    CONFIG_DIR_ENV,
    DEFAULT_CONFIG_DIR,
    Strict,
    check_unique,
    load_yaml_model,
    read_yaml,
)
from kotacerdas.config.models import (
    CitiesConfig,
    City,
    CompletenessConfig,
    DataDocsSettings,
    Expectation,
    FileSource,
    Opd,
    PersonalDataPolicy,
    PipelineConfig,
    QualitySettings,
    RestSource,
    Service,
    Source,
    SourcesConfig,
    SqlSource,
    TimelinessConfig,
    Unpivot,
)
from kotacerdas.config.project import ProjectConfig
from kotacerdas.config.settings import Settings, environment, overridden_environment, settings

__all__ = [
    "CONFIG_DIR_ENV",
    "DEFAULT_CONFIG_DIR",
    "CitiesConfig",
    "City",
    "CompletenessConfig",
    "DataDocsSettings",
    "Expectation",
    "FileSource",
    "Opd",
    "PersonalDataPolicy",
    "PipelineConfig",
    "ProjectConfig",
    "QualitySettings",
    "RestSource",
    "Service",
    "Settings",
    "Source",
    "SourcesConfig",
    "SqlSource",
    "Strict",
    "TimelinessConfig",
    "Unpivot",
    "check_unique",
    "environment",
    "load_yaml_model",
    "overridden_environment",
    "read_yaml",
    "settings",
]
