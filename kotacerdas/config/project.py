"""`ProjectConfig`: every file of `config/`, read lazily, validated, and found by this one class.

No other module joins paths into `config/`: it asks here for the model (cities, sources, pipeline, quality,
timeliness, the indicator catalog, the maturity methodology) or for the path of a per-table or per-method file
(an expectation suite, a regulator's methodology), which its own loader reads.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from kotacerdas.config.files import DEFAULT_CONFIG_DIR, load_yaml_model
from kotacerdas.config.models import (
    CitiesConfig,
    CompletenessConfig,
    PipelineConfig,
    QualitySettings,
    SourcesConfig,
    TimelinessConfig,
)
from kotacerdas.config.settings import settings
from kotacerdas.errors import ConfigError

if TYPE_CHECKING:
    from kotacerdas.indicators.catalog import IndicatorCatalog
    from kotacerdas.maturity import MaturityMethodology

METHODOLOGIES = "methodologies"
EXPECTATIONS = "expectations"
REGIONS = "regions"
MASTERPLAN = "masterplan"


class ProjectConfig:
    """All of `config/`, loaded lazily and validated; one instance per run."""

    def __init__(self, config_dir: str | Path | None = None):
        self.dir = Path(config_dir or settings().config_dir or DEFAULT_CONFIG_DIR).resolve()

    def city_codes(self, codes: list[str] | None = None) -> list[str]:
        """`codes` when every one is a city of cities.yaml (all of them when none is given); else a ConfigError
        naming the unknown code and the known ones. The one check of a city code given by a user."""
        known = [c.code for c in self.cities.cities]
        for code in codes or []:
            if code not in known:
                raise ConfigError(
                    f"city {code!r} is not in {self.dir / 'cities.yaml'}; known: {known}",
                    hint="use one of the known codes, or add the city to cities.yaml",
                )
        return list(codes) if codes else known

    def check(self) -> None:
        """Read and validate every file of config/ now: a ConfigError names the first problem (file, key, fix).
        Files are otherwise read when first needed, which for sources.yaml is inside each run's first step: a typo
        there failed every ingest step of every run (with its retries) instead of stopping the command."""
        files = ("cities", "sources", "pipeline", "quality", "timeliness", "completeness", "catalog", "methodology")
        for name in files:
            getattr(self, name)

    # --- files with a model of their own --------------------------------------------------------------------

    @cached_property
    def cities(self) -> CitiesConfig:
        return load_yaml_model(self.dir / "cities.yaml", CitiesConfig)

    @cached_property
    def sources(self) -> SourcesConfig:
        return load_yaml_model(self.dir / "sources.yaml", SourcesConfig)

    @cached_property
    def pipeline(self) -> PipelineConfig:
        return load_yaml_model(self.dir / "pipeline.yaml", PipelineConfig)

    @cached_property
    def quality(self) -> QualitySettings:
        """`quality.yaml` (Data Docs, failing-row samples, personal-data policy); defaults when absent."""
        path = self.dir / "quality.yaml"
        return load_yaml_model(path, QualitySettings) if path.is_file() else QualitySettings()

    @cached_property
    def timeliness(self) -> TimelinessConfig:
        """`timeliness.yaml` (when each OPD's data is due); defaults when absent. OPD codes must exist."""
        path = self.dir / "timeliness.yaml"
        config = load_yaml_model(path, TimelinessConfig) if path.is_file() else TimelinessConfig()
        known = {o.code for o in self.cities.opds}
        unknown = sorted(set(config.opds) - known)
        if unknown:
            raise ConfigError(
                f"{path}: opds: unknown OPD code(s) {unknown}", hint=f"use codes of cities.yaml: {sorted(known)}"
            )
        return config

    @cached_property
    def completeness(self) -> CompletenessConfig:
        """`completeness.yaml` (what each table × partition must deliver); every source and OPD of every table,
        at least one row each, when absent. Source names and OPD codes must exist."""
        path = self.dir / "completeness.yaml"
        config = load_yaml_model(path, CompletenessConfig) if path.is_file() else CompletenessConfig()
        sources, opds = {s.name for s in self.sources.sources}, {o.code for o in self.cities.opds}
        for where, e in [
            *(("tables", e) for e in config.tables.values()),
            *(("exceptions", e) for e in config.exceptions),
        ]:
            for kind, named, known in (("source", e.sources, sources), ("OPD", e.opds, opds)):
                unknown = sorted(set(named or ()) - known)
                if unknown:
                    raise ConfigError(
                        f"{path}: {where}: unknown {kind}(s) {unknown}",
                        hint=f"use names of the config: {sorted(known)}",
                    )
        return config

    @cached_property
    def catalog(self) -> IndicatorCatalog:
        """The indicator catalog, `indicators.yaml`."""
        from kotacerdas.indicators.catalog import load_catalog

        return load_catalog(self.catalog_file)

    @cached_property
    def methodology(self) -> MaturityMethodology:
        """The maturity-index methodology named by `methodology` in pipeline.yaml."""
        from kotacerdas.maturity import load_methodology

        return load_methodology(self.methodology_file(self.pipeline.methodology))

    # --- paths of files read by their own loaders -----------------------------------------------------------

    @property
    def catalog_file(self) -> Path:
        return self.dir / "indicators.yaml"

    def methodology_file(self, name: str | Path) -> Path:
        """A path (anything with a folder in it) as given; a bare name, with or without .yaml, under
        `config/methodologies/`."""
        p = Path(name)
        if len(p.parts) > 1:
            return p
        return self.dir / METHODOLOGIES / (p.name if p.suffix == ".yaml" else f"{p.name}.yaml")

    def suite_file(self, table: str) -> Path:
        """The expectation suite of a canonical table."""
        return self.dir / EXPECTATIONS / f"{table}.yaml"

    @property
    def masterplan_dir(self) -> Path:
        """`config/masterplan/`: one folder per city holding every version of its masterplan."""
        return self.dir / MASTERPLAN

    @property
    def masterplan_rules_file(self) -> Path:
        """The rules that give a masterplan programme its monthly status."""
        return self.dir / MASTERPLAN / "status_rules.yaml"

    def regions_file(self, name: str) -> Path:
        """A file of the Kemendagri region lists copied into `config/regions/`."""
        return self.dir / REGIONS / name

    @property
    def files(self) -> list[Path]:
        """The files whose content the warehouse's reference data depends on (to tell when to reload it)."""
        return [
            self.dir / "cities.yaml",
            self.catalog_file,
            self.dir / "pipeline.yaml",
            self.methodology_file(self.pipeline.methodology),
        ]

    def resolve_path(self, value: str | Path) -> Path:
        """Paths in config are relative to the project root (the parent of config/)."""
        p = Path(value)
        return p if p.is_absolute() else (self.dir.parent / p).resolve()

    def landing_dir(self) -> Path:
        """KOTACERDAS_LANDING_DIR, else `landing_dir` of pipeline.yaml."""
        return self.resolve_path(settings().landing_dir or self.pipeline.landing_dir)

    def raw_dir(self) -> Path:
        """KOTACERDAS_RAW_DIR, else `raw_dir` of pipeline.yaml."""
        return self.resolve_path(settings().raw_dir or self.pipeline.raw_dir)

    def reports_dir(self) -> Path:
        """KOTACERDAS_REPORTS_DIR, else `reports_dir` of pipeline.yaml: where the `scorecards` asset writes."""
        return self.resolve_path(settings().reports_dir or self.pipeline.reports_dir)
