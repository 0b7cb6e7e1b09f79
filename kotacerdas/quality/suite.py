"""Expectation suites as data: load `config/expectations/<table>.yaml`, check it, and bind its placeholders.

A suite file lists rules; each rule is one GX Core 1.x expectation (`type` is its snake_case name) with a
stable `id`, a `severity` (`error` rejects the row, `warn` only reports it) and a human `description`.

Placeholders are written `${name}` inside `kwargs` (quote them in YAML flow style: `"${city_codes}"`). A value
that is exactly `${name}` is replaced by the typed value (a list, a timestamp); `${name}` inside a longer
string is replaced by its text. Two kinds exist:
- config placeholders, fixed when the suite is loaded from the ProjectConfig (`CONFIG_PLACEHOLDERS`);
- partition placeholders, bound for each (city, period) validation (`PARTITION_PLACEHOLDERS`); the period is a
  month for a monthly table and a year for a yearly one, whose suites cannot use the month placeholders.

Besides its rules a suite may set `freshness_max_age_days` (what `${freshness_floor}` is computed from),
`max_rejected_share` (this table's gate threshold, instead of pipeline.yaml's: a table of a dozen rows per
partition needs a different one than a table of thousands) and a `volume:` rule: the rows delivered compared with
the earlier months in the raw zone, evaluated by `kotacerdas.quality.volume` (GX sees one partition, not its
history) and reported like any other rule.

A rule may also set `per_residents: N` (an `expect_column_values_to_be_between` with numbers as bounds): its
`min_value`/`max_value` are then per N residents, and each partition is checked against them times its city's
population / N (cities.yaml). A count a month is plausible or not for a kabupaten of 50,000 and a kota of 2
million at different sizes; the bound is written once, per resident, like the indicator it feeds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, model_validator

from kotacerdas.config import ProjectConfig, read_yaml
from kotacerdas.errors import ConfigError
from kotacerdas.periods import PERIOD_FORMAT, TIMEZONE, cadence_of
from kotacerdas.regions import REGIONS_FILE, city_rows
from kotacerdas.schemas import CanonicalTable, get_table

Severity = Literal["error", "warn"]

CONFIG_PLACEHOLDERS: dict[str, str] = {
    "city_codes": "codes of all cities in cities.yaml",
    "opd_codes": "codes of the OPDs whose `datasets` include this suite's table",
    "all_opd_codes": "codes of all OPDs in cities.yaml",
    "table_columns": "the canonical table's columns, lineage included",
    "region_codes": "Kemendagri codes of every kabupaten/kota in config/regions/kode_wilayah_prov_kabkota.csv",
    "submitted_indicators": "codes of the catalog indicators OPDs submit themselves (config/indicators.yaml)",
    "percent_indicators": "codes of the catalog indicators in % whose values must lie within 0-100 (not "
    "`allows_over_100`)",
    "service_codes": "codes of every service in cities.yaml",
    "spbe_indicators": "indicator numbers of the SPBE methodology (pipeline.yaml: spbe_methodology)",
    "spbe_levels": "the whole levels on the SPBE methodology's scale",
    "kominfo_parts": "part codes of the Kominfo evaluation methodology (pipeline.yaml: kominfo_methodology)",
    "kominfo_pillars": "pillar codes of the Kominfo evaluation methodology",
    "kominfo_scale_min": "lowest score on the Kominfo evaluation methodology's scale",
    "kominfo_scale_max": "highest score on the Kominfo evaluation methodology's scale",
}
PARTITION_PLACEHOLDERS: dict[str, str] = {
    "city": "the partition's city code",
    "period": "the partition: YYYY-MM for a monthly table, YYYY for a yearly one",
    "year": "the partition's year, YYYY",
    "month": "the partition's month, YYYY-MM",
    "month_start": "first instant of the month (timestamp, inclusive)",
    "month_end": "first instant of the next month (timestamp, exclusive)",
    "freshness_floor": "the end of the month (or now, while the month runs) minus the suite's "
    "`freshness_max_age_days` (timestamp)",
}
KNOWN_PLACEHOLDERS = {**CONFIG_PLACEHOLDERS, **PARTITION_PLACEHOLDERS}
MONTH_ONLY_PLACEHOLDERS = ("month", "month_start", "month_end", "freshness_floor")
# Placeholders whose values are read from other files, only when a suite uses them.
_REGULATOR_PLACEHOLDERS = {
    "spbe": ("spbe_indicators", "spbe_levels"),
    "kominfo": ("kominfo_parts", "kominfo_pillars", "kominfo_scale_min", "kominfo_scale_max"),
}

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# kwargs that name columns of the table, checked against the canonical schema on load.
_COLUMN_KWARGS = ("column", "column_A", "column_B")
_COLUMN_LIST_KWARGS = ("column_list",)
# The gate sets these itself; a suite must not override them.
_RESERVED_KWARGS = ("result_format", "catch_exceptions", "meta")


class _RuleModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    type: Annotated[str, Field(pattern=r"^expect_[a-z0-9_]+$")]
    kwargs: dict[str, Any] = Field(default_factory=dict)
    severity: Severity
    description: Annotated[str, Field(min_length=1)]
    per_residents: StrictInt | None = Field(default=None, gt=0, description="min_value/max_value are per N residents")


# The expectation a rule with `per_residents` must be, and the kwargs scaled by the partition city's population.
PER_RESIDENTS_TYPE = "expect_column_values_to_be_between"
SCALED_KWARGS = ("min_value", "max_value")


class _VolumeModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")] = "volume_within_band"
    severity: Severity = "warn"
    history_months: int = Field(default=6, ge=1, le=36, description="earlier months compared with")
    min_history: int = Field(default=2, ge=1, description="fewer earlier months than this: passes, 'no history'")
    band: tuple[float, float] = Field(
        default=(0.5, 2.0), description="rows allowed, as multiples of the median of the earlier months"
    )
    description: str = "The rows delivered are within the usual range of the earlier months"

    @model_validator(mode="after")
    def _band(self) -> _VolumeModel:
        if not 0 <= self.band[0] < self.band[1]:
            raise ValueError(f"band must be [lower, upper] with 0 <= lower < upper, got {list(self.band)}")
        return self


class _SuiteModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    table: str
    description: str = ""
    freshness_max_age_days: float | None = Field(default=None, ge=0)
    max_rejected_share: float | None = Field(default=None, ge=0, le=1)
    volume: _VolumeModel | None = None
    expectations: list[dict[str, Any]] = Field(min_length=1)


@dataclass(frozen=True)
class Rule:
    """One expectation of a suite, kwargs still holding partition placeholders."""

    id: str
    type: str
    kwargs: Mapping[str, Any]
    severity: Severity
    description: str
    index: int  # position in the file's `expectations:` list, for error messages
    per_residents: int | None = None  # bounds per N residents of the partition's city (see the module doc)

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns the rule looks at, in a stable order (empty for table-level rules without a column)."""
        cols = [self.kwargs[k] for k in _COLUMN_KWARGS if k in self.kwargs]
        for k in _COLUMN_LIST_KWARGS:
            cols.extend(self.kwargs.get(k) or [])
        return tuple(str(c) for c in cols)


@dataclass(frozen=True)
class VolumeRule:
    """Rows delivered vs the median of the earlier months (see `kotacerdas.quality.volume`)."""

    id: str
    severity: Severity
    history_months: int
    min_history: int
    lower: float
    upper: float
    description: str


@dataclass(frozen=True)
class Suite:
    """A checked suite for one canonical table; `expectations(city, period)` gives bound GX expectations."""

    table: CanonicalTable
    path: Path
    rules: tuple[Rule, ...]
    description: str = ""
    config_values: Mapping[str, Any] = field(default_factory=dict)
    volume: VolumeRule | None = None
    freshness_max_age_days: float | None = None
    max_rejected_share: float | None = None  # None: pipeline.yaml's max_rejected_share
    populations: Mapping[str, int] = field(default_factory=dict)  # city code -> residents, for `per_residents`

    @property
    def rule_ids(self) -> list[str]:
        """Every rule in the order results are reported: the expectations, then the volume rule."""
        return [r.id for r in self.rules] + ([self.volume.id] if self.volume else [])

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(f"{self.path}: no rule {rule_id!r}")

    def partition_values(self, city: str, period: str, now: pd.Timestamp | None = None) -> dict[str, Any]:
        """Values of the partition placeholders; `period` is YYYY-MM (YYYY for a yearly table)."""
        if cadence_of(period) != self.table.cadence:
            raise ValueError(
                f"{self.table.name} is {self.table.cadence}: period must be "
                f"{PERIOD_FORMAT[self.table.cadence]}, got {period!r}"
            )
        if city not in self.config_values["city_codes"]:
            raise ConfigError(f"city {city!r} is not in cities.yaml", hint="add it under `cities:` or fix the code")
        values: dict[str, Any] = {"city": city, "period": period, "year": period[:4]}
        if self.table.cadence == "yearly":
            return values
        start = pd.Timestamp(f"{period}-01")
        end = start + pd.offsets.MonthBegin(1)
        values |= {"month": period, "month_start": start, "month_end": end}
        if self.freshness_max_age_days is not None:
            now = local_now() if now is None else pd.Timestamp(now)
            values["freshness_floor"] = min(end, now) - pd.Timedelta(days=self.freshness_max_age_days)
        return values

    def bound_kwargs(self, rule: Rule, city: str, period: str, now: pd.Timestamp | None = None) -> dict[str, Any]:
        values = {**self.config_values, **self.partition_values(city, period, now)}
        kwargs = _resolve(dict(rule.kwargs), values, where=self._where(rule))
        if rule.per_residents is not None:
            if city not in self.populations:
                raise ConfigError(
                    f"{self._where(rule)}: per_residents needs the population of city {city!r}",
                    hint="give the city its `population:` in cities.yaml",
                )
            # bound × population first (exact for any real figures), then one rounding: bound × (population / N)
            # rounds twice and left 40 kabupaten/kota a tourist-visit bound a float step under 20 × population
            population, per = self.populations[city], rule.per_residents
            kwargs |= {k: float(kwargs[k]) * population / per for k in SCALED_KWARGS if kwargs.get(k) is not None}
        return kwargs

    def expectations(self, city: str, period: str, now: pd.Timestamp | None = None) -> list[tuple[Rule, Any]]:
        """(rule, GX Expectation) pairs with every placeholder bound; imports GX (slow, once)."""
        from kotacerdas.quality.gx_runtime import expectation_class

        out = []
        for rule in self.rules:
            kwargs = self.bound_kwargs(rule, city, period, now)
            cls = expectation_class(rule.type, where=self._where(rule))
            try:
                out.append(
                    (
                        rule,
                        cls(
                            **kwargs,
                            meta={"kotacerdas_rule": rule.id},
                            description=f"[{rule.severity}] {rule.description}",
                        ),
                    )
                )
            except Exception as exc:  # GX validates kwargs with pydantic (v1 API); report which rule is wrong
                raise ConfigError(
                    f"{self._where(rule)}: kwargs do not fit {rule.type}: {_short(exc)}",
                    hint="fix `kwargs` (see the GX Core 1.x reference of this expectation)",
                ) from exc
        return out

    def _where(self, rule: Rule) -> str:
        return f"{self.path}: expectations[{rule.index}] ({rule.id})"


def local_now() -> pd.Timestamp:
    """Now as a naive Asia/Jakarta wall-clock time, like the timestamps in the data."""
    return pd.Timestamp.now(tz=TIMEZONE).tz_localize(None)


def region_codes(config: ProjectConfig) -> list[str]:
    """Kemendagri codes of every kabupaten/kota in config/regions/ (the project's copy of the reference list)."""
    rows = city_rows(config.regions_file(REGIONS_FILE))
    return sorted({r["kode_kemendagri"].strip() for r in rows})


def _catalog_codes(config: ProjectConfig) -> tuple[list[str], list[str]]:
    """(indicators OPDs submit, those among them in % that must stay within 0-100)."""
    from kotacerdas.indicators.catalog import SubmittedMethod

    catalog = config.catalog
    submitted = [i for i in catalog.indicators if isinstance(i.method, SubmittedMethod)]
    percent = [i.code for i in catalog.indicators if i.unit.strip() == "%" and not i.allows_over_100]
    return [i.code for i in submitted], percent


def _regulator_values(config: ProjectConfig, regulator: str) -> dict[str, Any]:
    """The parts, pillars, indicators and scales the regulators' methodologies accept (kotacerdas.regulators), so
    that the yearly tables are checked against the same file their indices are computed with."""
    from kotacerdas.regulators import load_regulator_methodology
    from kotacerdas.regulators.kominfo import KominfoMethodology
    from kotacerdas.regulators.spbe import SpbeMethodology

    pipeline = config.pipeline
    if regulator == "spbe":
        spbe = load_regulator_methodology(pipeline.spbe_methodology, config.dir)
        if not isinstance(spbe, SpbeMethodology) or not spbe.domains:
            raise ConfigError(
                f"pipeline.yaml: spbe_methodology {pipeline.spbe_methodology!r} is not an SPBE "
                "methodology with domains and indicators",
                hint="name an SPBE file in force under config/methodologies/",
            )
        return {
            "spbe_indicators": list(range(1, spbe.structure.indicators + 1)),
            "spbe_levels": list(range(int(spbe.scale.min), int(spbe.scale.max) + 1)),
        }
    kominfo = load_regulator_methodology(pipeline.kominfo_methodology, config.dir)
    if not isinstance(kominfo, KominfoMethodology):
        raise ConfigError(
            f"pipeline.yaml: kominfo_methodology {pipeline.kominfo_methodology!r} is not a Kominfo "
            "evaluation methodology",
            hint="name a kominfo-evaluation file under config/methodologies/",
        )
    return {
        "kominfo_parts": list(kominfo.parts),
        "kominfo_pillars": list(kominfo.pillars),
        "kominfo_scale_min": float(kominfo.scale.min),
        "kominfo_scale_max": float(kominfo.scale.max),
    }


def default_suite_path(config: ProjectConfig, table: CanonicalTable) -> Path:
    return config.suite_file(table.name)


def load_suite(
    table: CanonicalTable | str,
    config: ProjectConfig | None = None,
    *,
    path: str | Path | None = None,
    check_with_gx: bool = True,
) -> Suite:
    """Load and check the suite of `table` (default `config/expectations/<table>.yaml`).

    Raises ConfigError naming the file and the expectation index for bad YAML, an unknown field, severity or
    placeholder, a column not in the canonical table, and (with `check_with_gx`, which imports GX) an unknown
    expectation type or kwargs GX does not accept (e.g. a missing `value_set`).
    """
    table = get_table(table) if isinstance(table, str) else table
    config = config or ProjectConfig()
    path = Path(path) if path is not None else default_suite_path(config, table)
    hint = "fix the suite file; each expectation needs id, type, kwargs, severity (error|warn) and description"
    data = read_yaml(path, missing="expectation suite not found", missing_hint=f"create it for table {table.name!r}")
    try:
        suite_model = _SuiteModel.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_pydantic_problems(exc)}", hint=hint) from exc
    if suite_model.table != table.name:
        raise ConfigError(
            f"{path}: suite is for table {suite_model.table!r}, expected {table.name!r}",
            hint="set `table:` to the canonical table this file checks",
        )

    columns = set(table.all_columns)
    rules: list[Rule] = []
    for i, raw in enumerate(suite_model.expectations):
        where = f"{path}: expectations[{i}]"
        try:
            m = _RuleModel.model_validate(raw)
        except ValidationError as exc:
            raise ConfigError(f"{where}: {_pydantic_problems(exc)}", hint=hint) from exc
        where = f"{where} ({m.id})"
        if any(r.id == m.id for r in rules):
            raise ConfigError(f"{where}: duplicate rule id {m.id!r}", hint="rule ids must be unique within a suite")
        reserved = sorted(set(m.kwargs) & set(_RESERVED_KWARGS))
        if reserved:
            raise ConfigError(f"{where}: kwargs {reserved} are set by the quality gate", hint="remove them")
        _check_placeholders(m.kwargs, where)
        monthly_only = sorted(set(_PLACEHOLDER.findall(repr(m.kwargs))) & set(MONTH_ONLY_PLACEHOLDERS))
        if table.cadence == "yearly" and monthly_only:
            raise ConfigError(
                f"{where}: table {table.name!r} is yearly, but the rule uses "
                f"{', '.join('${' + p + '}' for p in monthly_only)}",
                hint="use ${period} or ${year}: a yearly partition has no month",
            )
        if "freshness_floor" in _PLACEHOLDER.findall(repr(m.kwargs)) and suite_model.freshness_max_age_days is None:
            raise ConfigError(
                f"{where}: uses ${{freshness_floor}} but the suite sets no freshness_max_age_days",
                hint="add `freshness_max_age_days: <days>` at the top of the suite file",
            )
        if m.per_residents is not None:
            _check_per_residents(m, where)
        rule = Rule(m.id, m.type, m.kwargs, m.severity, m.description, i, m.per_residents)
        unknown_cols = [c for c in rule.columns if c not in columns]
        if unknown_cols:
            raise ConfigError(
                f"{where}: column(s) {unknown_cols} not in canonical table {table.name!r}",
                hint=f"use one of {sorted(columns)}",
            )
        rules.append(rule)

    volume = None
    if suite_model.volume is not None:
        v = suite_model.volume
        if any(r.id == v.id for r in rules):
            raise ConfigError(f"{path}: volume: id {v.id!r} is also a rule id", hint="give the volume rule its own id")
        volume = VolumeRule(v.id, v.severity, v.history_months, v.min_history, v.band[0], v.band[1], v.description)

    cities = config.cities
    used = set(_PLACEHOLDER.findall(repr([r.kwargs for r in rules])))
    values: dict[str, Any] = {
        "city_codes": [c.code for c in cities.cities],
        "opd_codes": [o.code for o in cities.opds_for(table.name)],
        "all_opd_codes": [o.code for o in cities.opds],
        "table_columns": list(table.all_columns),
    }
    if "region_codes" in used:  # read only when a rule needs them (514 codes from a file)
        values["region_codes"] = region_codes(config)
    if used & {"submitted_indicators", "percent_indicators"}:
        values["submitted_indicators"], values["percent_indicators"] = _catalog_codes(config)
    if "service_codes" in used:
        values["service_codes"] = sorted({s.code for o in cities.opds for s in o.services})
    for regulator, names in _REGULATOR_PLACEHOLDERS.items():
        if used & set(names):
            values |= _regulator_values(config, regulator)
    suite = Suite(
        table=table,
        path=path,
        rules=tuple(rules),
        description=suite_model.description,
        config_values=values,
        volume=volume,
        freshness_max_age_days=suite_model.freshness_max_age_days,
        max_rejected_share=suite_model.max_rejected_share,
        populations={c.code: c.population for c in cities.cities} if any(r.per_residents for r in rules) else {},
    )
    if check_with_gx:
        # Bind against a sample partition: placeholders are typed, so any real partition binds the same way.
        suite.expectations(cities.cities[0].code, "2000" if table.cadence == "yearly" else "2000-01")
    return suite


def load_suites(config: ProjectConfig | None = None, *, check_with_gx: bool = True) -> dict[str, Suite]:
    """The suites of all canonical tables, keyed by table name."""
    from kotacerdas.schemas import CANONICAL_TABLES

    config = config or ProjectConfig()
    return {name: load_suite(t, config, check_with_gx=check_with_gx) for name, t in CANONICAL_TABLES.items()}


# --- placeholders -----------------------------------------------------------------------------------------


def _check_per_residents(m: _RuleModel, where: str) -> None:
    """`per_residents` scales numbers: the rule must be a range on values with a number for a bound."""
    if m.type != PER_RESIDENTS_TYPE:
        raise ConfigError(
            f"{where}: per_residents is for {PER_RESIDENTS_TYPE}, not {m.type}",
            hint="remove per_residents, or write the rule as a range of values",
        )
    bounds = {k: m.kwargs.get(k) for k in SCALED_KWARGS if m.kwargs.get(k) is not None}
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in bounds.values())
    if not bounds or not numbers:
        raise ConfigError(
            f"{where}: per_residents needs min_value and/or max_value as finite numbers, got {bounds or 'neither'}",
            hint="write the bound per N residents as a number, e.g. `max_value: 10000` with `per_residents: 1000`",
        )


def _check_placeholders(obj: Any, where: str) -> None:
    if isinstance(obj, str):
        for name in _PLACEHOLDER.findall(obj):
            if name not in KNOWN_PLACEHOLDERS:
                known = ", ".join("${" + k + "}" for k in KNOWN_PLACEHOLDERS)
                raise ConfigError(f"{where}: unknown placeholder ${{{name}}}", hint=f"use one of {known}")
    elif isinstance(obj, Mapping):
        for v in obj.values():
            _check_placeholders(v, where)
    elif isinstance(obj, list | tuple):
        for v in obj:
            _check_placeholders(v, where)


def _resolve(obj: Any, values: Mapping[str, Any], *, where: str) -> Any:
    """Replace `${name}` recursively: a whole-string placeholder keeps its type, an embedded one is text."""
    if isinstance(obj, str):
        whole = _PLACEHOLDER.fullmatch(obj)
        if whole:
            return _copy(values[whole.group(1)])

        def text(m: re.Match[str]) -> str:
            value = values[m.group(1)]
            if isinstance(value, list | tuple):
                raise ConfigError(
                    f"{where}: list placeholder ${{{m.group(1)}}} used inside a longer string",
                    hint="write it as the whole value, e.g. `value_set: ${opd_codes}`",
                )
            return str(value)

        return _PLACEHOLDER.sub(text, obj)
    if isinstance(obj, Mapping):
        return {k: _resolve(v, values, where=where) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        out: list[Any] = []
        for v in obj:
            # `[${city}]` and `[${city_codes}]` both read naturally: a list placeholder in a list is spliced.
            resolved = _resolve(v, values, where=where)
            if isinstance(v, str) and _PLACEHOLDER.fullmatch(v) and isinstance(resolved, list):
                out.extend(resolved)
            else:
                out.append(resolved)
        return out
    return obj


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list | tuple) else value


# --- error text -------------------------------------------------------------------------------------------


def _pydantic_problems(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors():
        loc = ""
        for p in e["loc"]:
            loc += f"[{p}]" if isinstance(p, int) else (f".{p}" if loc else str(p))
        parts.append(f"{loc or '(top level)'}: {e['msg']}")
    return "; ".join(parts)


def _short(exc: Exception) -> str:
    return " ".join(str(exc).split())
