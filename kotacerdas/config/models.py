"""The models of `config/cities.yaml`, `sources.yaml`, `pipeline.yaml`, `quality.yaml` and `timeliness.yaml`."""

from __future__ import annotations

import codecs
import re
import string
from functools import lru_cache
from typing import Annotated, Literal

import pandas as pd
from pydantic import Field, field_validator, model_validator

from kotacerdas.config.files import Strict as _Strict
from kotacerdas.config.files import check_unique
from kotacerdas.errors import ConfigError
from kotacerdas.periods import TEMPLATE_FIELDS
from kotacerdas.schemas import CANONICAL_TABLES, PII_KINDS

RegionCode = Annotated[str, Field(pattern=r"^\d{2}(\.\d{2})?$")]
# What Dagster accepts as an asset owner: a team or an e-mail address.
AssetOwner = Annotated[str, Field(pattern=r"^(team:[A-Za-z0-9_-]+|[^@\s]+@[^@\s]+\.[^@\s]+)$")]
Period = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


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
            check_unique(codes, f"{kind} code(s)")
        return self

    def city(self, code: str) -> City:
        for c in self.cities:
            if c.code == code:
                return c
        raise ConfigError(f"city {code!r} is not in cities.yaml", hint="add it under `cities:` or fix the code")

    def opds_for(self, dataset: str) -> list[Opd]:
        return [o for o in self.opds if dataset in o.datasets]

    @model_validator(mode="after")
    def _one_reporter_per_city_table(self) -> CitiesConfig:
        # A table without opd_code (SPBE, Kominfo evaluation) holds one report per city: a second OPD listing
        # it would fetch the same report twice.
        for name, table in CANONICAL_TABLES.items():
            reporters = [o.code for o in self.opds_for(name)]
            if "opd_code" not in table.columns and len(reporters) > 1:
                raise ValueError(
                    f"{name} is reported once per city, but OPDs {reporters} list it in `datasets`; "
                    "keep it on the one OPD that reports it"
                )
        return self


# --- sources -------------------------------------------------------------------------------------------


# What one fetch of one partition (source × OPD) may read before it stops with an error naming the source.
DEFAULT_MAX_ROWS = 1_000_000
DEFAULT_MAX_BYTES = 512 * 1024 * 1024


def _check_columns(columns: dict[str, str], optional: list[str]) -> None:
    """Several source names may map to one canonical column (aliases); `optional` must name mapped columns."""
    unknown = sorted(set(optional) - set(columns.values()))
    if unknown:
        raise ValueError(f"optional_columns {unknown} are not targets of `columns`")


ENTERED_FIELD_HELP = (
    "source field with when each row was entered into the OPD's system (its creation, not its last change); "
    "timeliness counts a pulled month as received when its last row was entered, not when it was pulled"
)


class RestSource(_Strict):
    name: str
    type: Literal["rest"]
    table: str
    base_url: str = Field(description="URL, or ${ENV_VAR} to read it from the environment")
    path: str = Field(description="path template with {city} {opd} and {month} (monthly tables) or {year}")
    pagination: Literal["page", "offset", "cursor"] = Field(
        default="page",
        description="page: ?page=&page_size= and `next_page`; offset: ?offset=&limit= and "
        "`total`; cursor: ?cursor=&limit= and `next_cursor`",
    )
    page_size: int = Field(default=500, gt=0)
    timeout_seconds: tuple[float, float] = (3.05, 30.0)
    retries: int = Field(default=4, ge=0)
    backoff_factor: float = Field(default=0.2, ge=0)
    max_retry_after: float = Field(default=60.0, ge=0, description="longest Retry-After honoured, seconds")
    token_env: str | None = Field(default=None, description="environment variable holding the secret")
    auth: Literal["bearer", "api_key"] = Field(
        default="bearer", description="bearer: `Authorization: Bearer <secret>`; api_key: `<api_key_header>: <secret>`"
    )
    api_key_header: str = "X-API-Key"
    cross_origin_redirects: Literal["drop_credentials", "refuse"] = Field(
        default="drop_credentials",
        description="a redirect to another scheme, host or port: follow it without the credential header, or refuse it",
    )
    max_rows: int = Field(default=DEFAULT_MAX_ROWS, gt=0, description="rows one fetch of a partition may read")
    max_bytes: int = Field(default=DEFAULT_MAX_BYTES, gt=0, description="bytes one fetch of a partition may read")
    incremental: bool = Field(default=False, description="pull only rows changed since the last watermark")
    updated_since_param: str = "updated_since"
    watermark_field: str | None = Field(default=None, description="source field with each row's last change")
    entered_field: str | None = Field(default=None, description=ENTERED_FIELD_HELP)
    columns: dict[str, str] = Field(default_factory=dict, description="source field -> canonical column")
    optional_columns: list[str] = Field(
        default_factory=list, description="canonical columns a payload may lack (else an error)"
    )

    @model_validator(mode="after")
    def _check(self) -> RestSource:
        _check_columns(self.columns, self.optional_columns)
        if self.incremental and not self.watermark_field:
            raise ValueError("incremental: true needs `watermark_field` (the field holding each row's last change)")
        return self


class Unpivot(_Strict):
    """Wide to long: every header matching `columns` becomes one row per file row (like pandas `melt`)."""

    columns: str = Field(
        description="regular expression matched against the whole of each header as written; "
        "its named groups (?P<column>...) fill those canonical columns"
    )
    value: str = Field(description="the canonical column that receives the cell under each matching header")
    empty_cells: Literal["skip", "keep"] = Field(
        default="skip",
        description="skip: an empty cell gives no row (nothing was reported for it); keep: a row "
        "with a missing value, which staging then judges",
    )

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(self.columns)  # re caches compiled patterns

    @property
    def targets(self) -> list[str]:
        """The canonical columns the reshape fills: the named groups, then the value."""
        return [*self.pattern.groupindex, self.value]


def _check_unpivot(source: FileSource) -> None:
    """The regex compiles, names canonical columns, and gives each cell of a wide row its own key."""
    spec = source.unpivot
    if spec is None:
        return
    where = f"source {source.name!r}: unpivot.columns {spec.columns!r}"
    try:
        groups = list(spec.pattern.groupindex)
    except re.error as exc:
        raise ValueError(f"{where} is not a regular expression ({exc})") from None
    example = "e.g. Capaian_Tahun_(?P<period>\\d{4})"
    if not groups:
        raise ValueError(
            f"{where} has no named group: name the part of the header that differs between the "
            f"columns, {example}, so that it fills a canonical column"
        )
    if spec.value in groups:
        raise ValueError(
            f"source {source.name!r}: unpivot.value {spec.value!r} is also a named group of unpivot.columns"
        )
    mapped = (set(source.columns.values()) | set(source.constants)) & set(spec.targets)
    if mapped:
        raise ValueError(
            f"source {source.name!r}: {sorted(mapped)} would be filled both by unpivot and by "
            "`columns` or `constants`; keep one"
        )
    table = CANONICAL_TABLES.get(source.table)
    if table is None:
        return  # SourcesConfig names the unknown table
    unknown = [c for c in spec.targets if c not in table.columns]
    if unknown:
        raise ValueError(
            f"source {source.name!r}: unpivot names {unknown}, which are not columns of table "
            f"{table.name!r}; expected some of {list(table.columns)}"
        )
    if not set(groups) & set(table.key):
        raise ValueError(
            f"{where}: none of its named groups {groups} is a key column of {table.name!r} "
            f"{list(table.key)}, so the rows of one wide row would share a key; {example}"
        )


class FileSource(_Strict):
    name: str
    type: Literal["file"]
    table: str
    pattern: str = Field(
        description="glob under the landing folder, with {city} {opd} and {month} (monthly tables) or {year}"
    )
    format: Literal["auto", "csv", "xlsx", "json"] = Field(default="auto", description="auto: by file suffix")
    separator: str = Field(default=",", description="`,` `;` tab `|`, or `auto` (sniffed from the header)")
    decimal: Literal[".", ","] = "."
    thousands: Literal["."] | None = Field(
        default=None,
        description="with decimal `,`: the OPD groups thousands with a dot, so 30.750 is 30750; undeclared, such a "
        "number is rejected as ambiguous (rule number:ambiguous_decimal)",
    )
    encoding: str = Field(
        default="utf-8-sig", description="a Python codec, or `auto` (UTF-8 with or without BOM, else Windows-1252)"
    )
    sheet: str | int = Field(default=0, description="XLSX: sheet name or 0-based index")
    header_row: int = Field(
        default=1,
        ge=1,
        description="1-based row of the header among the rows that are not empty (rows above are titles)",
    )
    columns: dict[str, str] = Field(
        default_factory=dict, description="header in the file -> canonical column; several headers may map to one"
    )
    optional_columns: list[str] = Field(
        default_factory=list, description="canonical columns a file may lack (else an error)"
    )
    extra_columns: Literal["error", "ignore"] = Field(
        default="error", description="what to do with a header that is not in `columns`"
    )
    constants: dict[str, str] = Field(
        default_factory=dict,
        description="canonical column -> value for every row ({city} {opd} {month} {year} allowed)",
    )
    region_codes: dict[str, Literal["kemendagri", "as_written"]] = Field(
        default_factory=dict,
        description="canonical column -> how to repair its region codes: `kemendagri` "
        "(3201.0 -> 32.01) or `as_written` (3201190006.0 -> 3201190006)",
    )
    unpivot: Unpivot | None = Field(
        default=None,
        description="reshape a wide file (one column per year, ...) into rows, before `columns` maps the other headers",
    )
    ready_when: Literal["stable", "marker"] = Field(
        default="stable",
        description="when the file-drop sensor takes a file as complete: `stable` (same size and content hash at two "
        "ticks in a row) or `marker` (a file of the same name plus `marker_suffix` is present)",
    )
    marker_suffix: str = Field(
        default=".done", description="with `ready_when: marker`: capaian.csv is complete once capaian.csv.done exists"
    )

    @model_validator(mode="after")
    def _check(self) -> FileSource:
        _check_columns(self.columns, self.optional_columns)
        _check_unpivot(self)
        if not re.fullmatch(r"\.[A-Za-z0-9_.-]+", self.marker_suffix):
            raise ValueError(
                f"marker_suffix must look like .done (a dot, then letters or digits), got {self.marker_suffix!r}"
            )
        if self.thousands is not None and self.decimal != ",":
            raise ValueError(f"thousands {self.thousands!r} needs decimal ',' (with decimal '.', ',' groups thousands)")
        if len(self.separator) != 1 and self.separator != "auto":
            raise ValueError(f"separator must be one character or `auto`, got {self.separator!r}")
        if self.encoding != "auto":
            try:
                codecs.lookup(self.encoding)
            except LookupError:
                raise ValueError(f"unknown encoding {self.encoding!r}") from None
        return self


class SqlSource(_Strict):
    name: str
    type: Literal["sql"]
    table: str
    url_env: str = Field(description="environment variable holding the SQLAlchemy URL (it has credentials)")
    query: str = Field(
        description="SELECT with optional :city, :opd and :month, :month_start, :month_end "
        "(monthly tables) or :year, :year_start, :year_end"
    )
    per_opd: bool = Field(default=False, description="run the query once per OPD delivering the table")
    entered_field: str | None = Field(default=None, description=ENTERED_FIELD_HELP)
    chunk_size: int = Field(default=10_000, gt=0)
    max_rows: int = Field(default=DEFAULT_MAX_ROWS, gt=0, description="rows one query of a partition may return")
    max_bytes: int = Field(default=DEFAULT_MAX_BYTES, gt=0, description="bytes (as JSON) one query may return")
    columns: dict[str, str] = Field(default_factory=dict, description="result column -> canonical column")
    optional_columns: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> SqlSource:
        _check_columns(self.columns, self.optional_columns)
        return self


Source = Annotated[RestSource | FileSource | SqlSource, Field(discriminator="type")]


def _check_templates(source: RestSource | FileSource | SqlSource) -> None:
    """A yearly table's source cannot name `{month}`; an unknown placeholder would fail every fetch."""
    cadence = CANONICAL_TABLES[source.table].cadence
    allowed = TEMPLATE_FIELDS[cadence]
    templates = {
        "path": getattr(source, "path", None),
        "pattern": getattr(source, "pattern", None),
        **{f"constants.{k}": v for k, v in getattr(source, "constants", {}).items()},
    }
    for where, template in templates.items():
        if template is None:
            continue
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
        except ValueError as exc:
            raise ValueError(f"source {source.name!r}: {where} {template!r} is not a valid template: {exc}") from None
        unknown = sorted(names - set(allowed))
        if unknown:
            raise ValueError(
                f"source {source.name!r}: {where} uses {{{'}, {'.join(unknown)}}}, but table "
                f"{source.table!r} is {cadence}: use only {{{'}, {'.join(allowed)}}}"
            )


class SourcesConfig(_Strict):
    sources: list[Source] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> SourcesConfig:
        names = [s.name for s in self.sources]
        check_unique(names, "source name(s)")
        for s in self.sources:
            if s.table not in CANONICAL_TABLES:
                raise ValueError(
                    f"source {s.name!r}: unknown table {s.table!r}; expected one of {sorted(CANONICAL_TABLES)}"
                )
            known = CANONICAL_TABLES[s.table].columns
            targets = set(s.columns.values()) | set(getattr(s, "constants", {})) | set(getattr(s, "region_codes", {}))
            unknown = sorted(targets - set(known))
            if unknown:
                raise ValueError(
                    f"source {s.name!r}: {unknown} are not columns of table {s.table!r}; expected some of {list(known)}"
                )
            _check_templates(s)
        return self

    def for_table(self, table: str) -> list[RestSource | FileSource | SqlSource]:
        return [s for s in self.sources if s.table == table]


# --- pipeline settings ----------------------------------------------------------------------------------


class PipelineConfig(_Strict):
    first_month: Period
    warehouse_url: str
    landing_dir: str
    raw_dir: str
    max_rejected_share: float = Field(default=0.05, ge=0, le=1)
    publish_lock_timeout_seconds: float = Field(
        default=600,
        gt=0,
        description="how long a publish waits for another writer of the same partition (PostgreSQL) before failing",
    )
    schedule_grace_days: int = Field(default=3, ge=0, le=27, description="days after month end before it runs")
    publish_deadline_day: int = Field(
        default=10,
        ge=2,
        le=28,
        description="day of the month by which the previous month's scores must be published (freshness policy)",
    )
    methodology: str = Field(description="file name under config/methodologies/")
    annual_schedule_cron: str = Field(
        default="0 2 15 1 *",
        description="when the yearly job runs for the year that closed (Asia/Jakarta); default 02:00 on 15 January",
    )
    ingest_workers: int = Field(
        default=4,
        ge=1,
        le=32,
        description="partitions of a run whose sources are fetched at once (each waits mostly for an OPD system); "
        "1 = one after the other",
    )
    publish_partitions_per_transaction: int = Field(
        default=16,
        ge=1,
        le=1024,
        description="partitions of a run published together in one warehouse transaction (one statement per table "
        "for all of them); 1 = each partition its own transaction",
    )
    backfill_partitions_per_run: int | None = Field(
        default=None,
        ge=1,
        description="partitions one backfill run may take; none = every city of a month "
        "in one run (BackfillPolicy.single_run)",
    )
    # The regulators' methodologies the yearly tables are checked against (their parts, pillars, indicators) and
    # the annual indices are computed with.
    spbe_methodology: str = Field(
        default="spbe-permenpanrb-59-2020",
        description="SPBE methodology under config/methodologies/ (spbe_assessments)",
    )
    kominfo_methodology: str = Field(
        default="kominfo-evaluation-2024",
        description="Kominfo evaluation methodology under config/methodologies/ (evaluation_scores)",
    )
    ikm_methodology: str = Field(
        default="ikm-permenpanrb-14-2017",
        description="IKM methodology under config/methodologies/ (satisfaction_responses → regulator_ikm)",
    )
    report_processes: int = Field(
        default=2,
        ge=1,
        le=64,
        description="worker processes that draw the scorecards of a run with many cities (each city's chart and "
        "pages, ~0.1 s of CPU); 1 = in the step's own process",
    )
    reports_dir: str = Field(
        default="data/reports",
        description="where scorecards (HTML) and exports are written after each publish (kotacerdas.report)",
    )
    asset_owners: dict[str, list[AssetOwner]] = Field(
        default_factory=lambda: {"default": ["team:data-engineering"]},
        description="owners the Dagster UI shows, per asset group (ingest, staging, quality, indicators, indices, "
        "publish); `default` for the groups not named",
    )

    @model_validator(mode="after")
    def _deadline_after_schedule(self) -> PipelineConfig:
        if self.publish_deadline_day <= 1 + self.schedule_grace_days:
            raise ValueError(
                f"publish_deadline_day ({self.publish_deadline_day}) must come after the monthly run "
                f"on day {1 + self.schedule_grace_days} (1 + schedule_grace_days)"
            )
        return self


# --- quality.yaml ---------------------------------------------------------------------------------------------


class PersonalDataPolicy(_Strict):
    """What the scrubber looks for in free text and what it puts in its place (`personal_data` in quality.yaml)."""

    scan: tuple[Literal["nik", "phone", "email"], ...] = Field(
        default=PII_KINDS, description="kinds of personal data searched for in every text column"
    )
    free_text: Literal["pseudonymise", "drop"] = Field(
        default="pseudonymise",
        description="pseudonymise: [nik:<HMAC>] (needs KOTACERDAS_PII_KEY, else as drop); drop: [nik]",
    )


class DataDocsSettings(_Strict):
    enabled: bool = True
    dir: str | None = Field(
        default=None,
        description="folder for the static HTML (relative to the project root); default: "
        "<Dagster storage>/data_docs, or data/data_docs outside Dagster",
    )
    values_shown: int = Field(default=20, ge=0, description="failing values listed per rule on a page")


class QualitySettings(_Strict):
    data_docs: DataDocsSettings = DataDocsSettings()
    failing_rows_sample: int = Field(default=5, ge=0, description="failing rows shown per rule in asset checks")
    warn_rejected_share: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="share of rejected rows above which a table's `error_rules_within_threshold` check fails as a "
        "WARN, which does not block (an early warning before it blocks); default: half the table's "
        "max_rejected_share",
    )
    personal_data: PersonalDataPolicy = PersonalDataPolicy()


# --- timeliness.yaml ------------------------------------------------------------------------------------------


def _check_tables(value: dict[str, int]) -> None:
    unknown = sorted(set(value) - set(CANONICAL_TABLES))
    if unknown:
        raise ValueError(f"unknown table(s) {unknown}; expected some of {sorted(CANONICAL_TABLES)}")
    bad = {t: d for t, d in value.items() if not isinstance(d, int) or d < 0}
    if bad:
        raise ValueError(f"due days must be whole numbers >= 0, got {bad}")


class TimelinessConfig(_Strict):
    """When each OPD's data is due: days after its period closes, per table and per OPD × table."""

    timezone: str = "Asia/Jakarta"
    due_days_after_period_end: int = Field(default=10, ge=0, le=366)
    datasets: dict[str, int] = Field(default_factory=dict, description="table -> due days")
    opds: dict[str, dict[str, int]] = Field(default_factory=dict, description="OPD -> table -> due days")

    @field_validator("datasets")
    @classmethod
    def _known_tables(cls, value: dict[str, int]) -> dict[str, int]:
        _check_tables(value)
        return value

    @field_validator("opds")
    @classmethod
    def _known_opd_tables(cls, value: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        for per_table in value.values():
            _check_tables(per_table)
        return value

    def due_days(self, opd: str, table: str) -> int:
        return self.opds.get(opd, {}).get(table, self.datasets.get(table, self.due_days_after_period_end))

    def period_end(self, period: str) -> pd.Timestamp:
        """The instant the month closes, in UTC (naive)."""
        return _after_month_close(period, 0, self.timezone)

    def due_at(self, opd: str, table: str, period: str) -> pd.Timestamp:
        """Due before this instant (UTC, naive): the close of the month plus the due days."""
        return _after_month_close(period, self.due_days(opd, table), self.timezone)


@lru_cache(maxsize=4096)
def _after_month_close(period: str, days: int, timezone: str) -> pd.Timestamp:
    """`days` after month `period` closes in `timezone`, as a UTC instant (naive). Cached: a month's timeliness asks
    for every OPD × table of every city, and pandas' period and time-zone arithmetic costs a quarter millisecond."""
    start = pd.Period(period, "M").to_timestamp() + pd.offsets.MonthBegin(1)
    due = start + pd.Timedelta(days=days)
    return due.tz_localize(timezone).tz_convert("UTC").tz_localize(None).as_unit("us")


# --- completeness: what each table × partition must deliver (completeness.yaml) --------------------------


class Expectation(_Strict):
    """What one table must deliver for a partition. Unset keys fall back to the table's, then to the defaults."""

    expected: bool | None = Field(default=None, description="false: nothing expected (never makes it incomplete)")
    sources: list[str] | None = Field(default=None, description="source names; default every source of the table")
    opds: list[str] | None = Field(default=None, description="OPD codes; default the OPDs listing it in cities.yaml")
    min_rows: int | None = Field(default=None, ge=0, description="rows each source × OPD must deliver")


class CompletenessException(Expectation):
    """The same keys for some cities and/or periods (a month, a year, or a `YYYY-MM:YYYY-MM` range)."""

    table: str
    cities: list[RegionCode] | None = None
    periods: str | None = Field(default=None, pattern=r"^\d{4}(-\d{2})?(:\d{4}(-\d{2})?)?$")

    def applies(self, table: str, city: str, period: str) -> bool:
        if table != self.table or (self.cities is not None and city not in self.cities):
            return False
        if self.periods is None:
            return True
        first, _, last = self.periods.partition(":")
        last = last or first
        # compared on the common prefix: a month falls in a range of years, a year in a range of its months
        n = len(period)
        return first[:n] <= period[: len(first)] and period[: len(last)] <= last[:n]


class CompletenessConfig(_Strict):
    """`completeness.yaml`: per canonical table, which sources and OPDs must deliver and how many rows each."""

    defaults: Expectation = Expectation(expected=True, min_rows=1)
    tables: dict[str, Expectation] = Field(default_factory=dict)
    exceptions: list[CompletenessException] = Field(default_factory=list)

    @field_validator("tables")
    @classmethod
    def _known_tables(cls, value: dict[str, Expectation]) -> dict[str, Expectation]:
        _check_tables(dict.fromkeys(value, 0))
        return value

    @model_validator(mode="after")
    def _known_exception_tables(self) -> CompletenessConfig:
        _check_tables({e.table: 0 for e in self.exceptions})
        return self

    def expectation(self, table: str, city: str, period: str) -> Expectation:
        """The resolved expectation of one table × partition: exceptions (last wins) over the table over defaults."""
        layers = [self.defaults, self.tables.get(table, Expectation())]
        layers += [e for e in self.exceptions if e.applies(table, city, period)]
        resolved: dict[str, object] = {}
        for layer in layers:
            resolved |= {
                k: v for k, v in layer.model_dump(include=set(Expectation.model_fields)).items() if v is not None
            }
        return Expectation(**resolved)
