"""Resources: the project configuration, the warehouse and the data folders, chosen by environment."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from kotacerdas.config import ProjectConfig, settings
from kotacerdas.warehouse.engine import create_warehouse_engine, display_url, resolve_warehouse_url
from kotacerdas.warehouse.publish import LOCK_TIMEOUT_OPTION


class ProjectResource(dg.ConfigurableResource):
    """`config/` plus the landing and raw folders (KOTACERDAS_LANDING_DIR / _RAW_DIR override pipeline.yaml)."""

    config_dir: str | None = None

    @cached_property
    def project(self) -> ProjectConfig:
        return ProjectConfig(self.config_dir)

    def landing_dir(self) -> Path:
        return self.project.landing_dir()

    def raw_dir(self) -> Path:
        return self.project.raw_dir()

    def pii_key(self) -> bytes | None:
        """Key for pseudonymising personal data; without it personal-data columns are dropped."""
        return settings().pii_key_bytes()


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse: `url` when the resource is given one (the code location binds KOTACERDAS_WAREHOUSE_URL here
    with `dg.EnvVar`), else KOTACERDAS_WAREHOUSE_URL, else `warehouse_url` in config/pipeline.yaml."""

    url: str | None = None
    config_dir: str | None = None

    def sqlalchemy_url(self, create: bool = True) -> sa.URL:
        """The URL; with `create` false, a DuckDB file's folder is not made (readers make nothing)."""
        project = ProjectConfig(self.config_dir)
        env_url = settings().warehouse_url
        raw = self.url or (env_url.get_secret_value() if env_url else None) or project.pipeline.warehouse_url
        return resolve_warehouse_url(raw, project.dir.parent, create=create)

    def engine(self) -> sa.Engine:
        """The engine, carrying how long a publish waits for another writer of its partition (pipeline.yaml)."""
        timeout = ProjectConfig(self.config_dir).pipeline.publish_lock_timeout_seconds
        return create_warehouse_engine(self.sqlalchemy_url()).execution_options(**{LOCK_TIMEOUT_OPTION: timeout})

    def display(self) -> str:
        return display_url(self.sqlalchemy_url(create=False))
