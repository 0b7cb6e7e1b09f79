"""Resources: the project configuration, the warehouse and the data folders, chosen by environment."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from kotacerdas.config import ProjectConfig
from kotacerdas.warehouse.engine import create_warehouse_engine, display_url, resolve_warehouse_url

LANDING_DIR_ENV = "KOTACERDAS_LANDING_DIR"
RAW_DIR_ENV = "KOTACERDAS_RAW_DIR"
PII_KEY_ENV = "KOTACERDAS_PII_KEY"


class ProjectResource(dg.ConfigurableResource):
    """`config/` plus the landing and raw folders; environment variables override the YAML."""

    config_dir: str | None = None

    @cached_property
    def project(self) -> ProjectConfig:
        return ProjectConfig(self.config_dir)

    def landing_dir(self) -> Path:
        return self.project.resolve_path(os.environ.get(LANDING_DIR_ENV) or self.project.pipeline.landing_dir)

    def raw_dir(self) -> Path:
        return self.project.resolve_path(os.environ.get(RAW_DIR_ENV) or self.project.pipeline.raw_dir)

    def pii_key(self) -> bytes | None:
        """Key for pseudonymising personal data; without it personal-data columns are dropped."""
        key = os.environ.get(PII_KEY_ENV)
        return key.encode("utf-8") if key else None


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse: KOTACERDAS_WAREHOUSE_URL, else `url`, else `warehouse_url` in config/pipeline.yaml."""

    url: str | None = None
    config_dir: str | None = None

    def sqlalchemy_url(self) -> sa.URL:
        project = ProjectConfig(self.config_dir)
        return resolve_warehouse_url(self.url or project.pipeline.warehouse_url, project.dir.parent)

    def engine(self) -> sa.Engine:
        return create_warehouse_engine(self.sqlalchemy_url())

    def display(self) -> str:
        return display_url(self.sqlalchemy_url())
