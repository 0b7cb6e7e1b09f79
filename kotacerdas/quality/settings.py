"""`config/quality.yaml`: where Data Docs go, how many failing rows checks show, and the personal-data policy."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from kotacerdas.config import load_yaml_model
from kotacerdas.privacy import PersonalDataPolicy

DATA_DOCS_DIR_ENV = "KOTACERDAS_DATA_DOCS_DIR"


class DataDocsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    dir: str | None = Field(
        default=None,
        description="folder for the static HTML (relative to the project root); default: "
        "<Dagster storage>/data_docs, or data/data_docs outside Dagster",
    )
    values_shown: int = Field(default=20, ge=0, description="failing values listed per rule on a page")


class QualitySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    data_docs: DataDocsSettings = DataDocsSettings()
    failing_rows_sample: int = Field(default=5, ge=0, description="failing rows shown per rule in asset checks")
    personal_data: PersonalDataPolicy = PersonalDataPolicy()


def load_quality_settings(config_dir: Path) -> QualitySettings:
    """`quality.yaml` in `config_dir`, validated; the defaults when the file does not exist."""
    path = Path(config_dir) / "quality.yaml"
    if not path.is_file():
        return QualitySettings()
    return load_yaml_model(path, QualitySettings)


def data_docs_root(settings: QualitySettings, project_root: Path, default: Path | None = None) -> Path:
    """KOTACERDAS_DATA_DOCS_DIR, else `data_docs.dir`, else `default` (the orchestrator's storage), else
    data/data_docs under the project root."""
    chosen = os.environ.get(DATA_DOCS_DIR_ENV) or settings.data_docs.dir
    if chosen:
        path = Path(chosen)
        return path if path.is_absolute() else (project_root / path).resolve()
    return default if default is not None else project_root / "data" / "data_docs"
