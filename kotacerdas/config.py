"""Load and validate the YAML files in `config/`; a bad file fails with its path, the key and what was expected."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kotacerdas.errors import ConfigError
from kotacerdas.schemas import CANONICAL_TABLES

DEFAULT_CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
CONFIG_DIR_ENV = "KOTACERDAS_CONFIG_DIR"

RegionCode = Annotated[str, Field(pattern=r"^\d{2}(\.\d{2})?$")]
Period = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- cities and OPDs -----------------------------------------------------------------------------------


class City(_Strict):
    code: RegionCode
    name: str
    kind: Literal["kota", "kabupaten"]
    province_code: Annotated[str, Field(pattern=r"^\d{2}$")]
    population: int = Field(gt=0)


class Service(_Strict):
    code: str
    name: str
    sla_days: int = Field(ge=0)
    online: bool


class Opd(_Strict):
    code: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_-]*$")]
    name: str
    datasets: list[str]
    services: list[Service] = []

    @field_validator("datasets")
    @classmethod
    def _known_datasets(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(CANONICAL_TABLES))
        if unknown:
            raise ValueError(f"unknown dataset(s) {unknown}; expected some of {sorted(CANONICAL_TABLES)}")
        return value


class CitiesConfig(_Strict):
    cities: list[City] = Field(min_length=1)
    opds: list[Opd] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_codes(self) -> CitiesConfig:
        for kind, codes in (("city", [c.code for c in self.cities]), ("OPD", [o.code for o in self.opds])):
            dupes = sorted({c for c in codes if codes.count(c) > 1})
            if dupes:
                raise ValueError(f"duplicate {kind} code(s): {dupes}")
        return self

    def city(self, code: str) -> City:
        for c in self.cities:
            if c.code == code:
                return c
        raise ConfigError(f"city {code!r} is not in cities.yaml", hint="add it under `cities:` or fix the code")

    def opds_for(self, dataset: str) -> list[Opd]:
        return [o for o in self.opds if dataset in o.datasets]


# --- sources -------------------------------------------------------------------------------------------


class RestSource(_Strict):
    name: str
    type: Literal["rest"]
    table: str
    base_url: str = Field(description="URL, or ${ENV_VAR} to read it from the environment")
    path: str = Field(description="path template with {city} {opd} {month}")
    page_size: int = Field(default=500, gt=0)
    timeout_seconds: tuple[float, float] = (3.05, 30.0)
    retries: int = Field(default=4, ge=0)
    backoff_factor: float = Field(default=0.2, ge=0)
    token_env: str | None = Field(default=None, description="environment variable holding a bearer token")
    columns: dict[str, str] = Field(default_factory=dict, description="source field -> canonical column")


class FileSource(_Strict):
    name: str
    type: Literal["file"]
    table: str
    pattern: str = Field(description="glob under the landing folder, with {city} {opd} {month}")
    separator: str = ","
    decimal: str = "."
    encoding: str = "utf-8-sig"
    columns: dict[str, str] = Field(default_factory=dict, description="header in the file -> canonical column")


Source = Annotated[RestSource | FileSource, Field(discriminator="type")]


class SourcesConfig(_Strict):
    sources: list[Source] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> SourcesConfig:
        names = [s.name for s in self.sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate source name(s): {dupes}")
        for s in self.sources:
            if s.table not in CANONICAL_TABLES:
                raise ValueError(f"source {s.name!r}: unknown table {s.table!r}; expected one of "
                                 f"{sorted(CANONICAL_TABLES)}")
        return self

    def for_table(self, table: str) -> list[RestSource | FileSource]:
        return [s for s in self.sources if s.table == table]


# --- pipeline settings ----------------------------------------------------------------------------------


class PipelineConfig(_Strict):
    first_month: Period
    warehouse_url: str
    landing_dir: str
    raw_dir: str
    max_rejected_share: float = Field(default=0.05, ge=0, le=1)
    methodology: str = Field(description="file name under config/methodologies/")


# --- loading ------------------------------------------------------------------------------------------

M = TypeVar("M", bound=BaseModel)


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def load_yaml_model(path: Path, model: type[M]) -> M:
    """Parse `path` into `model`; any problem raises ConfigError naming the file, the key and the fix."""
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}", hint=f"create it or set {CONFIG_DIR_ENV}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}", hint="fix the syntax at the line shown") from exc
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        problems = "; ".join(f"{_location(e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path}: {problems}", hint="correct the keys named above") from exc


class ProjectConfig:
    """All of `config/`, loaded lazily and validated; one instance per run."""

    def __init__(self, config_dir: str | Path | None = None):
        self.dir = Path(config_dir or os.environ.get(CONFIG_DIR_ENV) or DEFAULT_CONFIG_DIR).resolve()

    @cached_property
    def cities(self) -> CitiesConfig:
        return load_yaml_model(self.dir / "cities.yaml", CitiesConfig)

    @cached_property
    def sources(self) -> SourcesConfig:
        return load_yaml_model(self.dir / "sources.yaml", SourcesConfig)

    @cached_property
    def pipeline(self) -> PipelineConfig:
        return load_yaml_model(self.dir / "pipeline.yaml", PipelineConfig)

    def resolve_path(self, value: str) -> Path:
        """Paths in config are relative to the project root (the parent of config/)."""
        p = Path(value)
        return p if p.is_absolute() else (self.dir.parent / p).resolve()
