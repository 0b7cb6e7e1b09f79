"""The `kotacerdas` command: demo, run, scorecard, report, export, explain, quality and the OPD simulator.

Conventions: errors go to stderr with a non-zero exit; an unknown city or an empty result is an error; read
commands (scorecard, explain, report, export, quality) read only the evaluator views, so an evaluator's login can
run them (quality also reads the steward view of the rejected rows when the login may)."""

from __future__ import annotations

import errno
import secrets
import signal
import time
from functools import partial
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from sqlalchemy.exc import DBAPIError

from kotacerdas.config import ProjectConfig, environment, overridden_environment
from kotacerdas.errors import ConfigError, KotacerdasError
from kotacerdas.periods import MONTH_RE
from kotacerdas.privacy import scrub_text
from kotacerdas.rounding import decimal_of, format_half_up

app = typer.Typer(
    help="kotacerdas: OPD service data → validated indicators → smart-city maturity indices.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console(width=max(Console().width, 100))  # the scorecard needs 100 columns, even when piped
err_console = Console(stderr=True, width=max(Console(stderr=True).width, 100))
DEBUG_ENV = "KOTACERDAS_DEBUG"  # set (to anything): an unexpected error shows its traceback


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"kotacerdas {version('kotacerdas')}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, metavar="", help="print the version and exit"),
    ] = False,
) -> None:
    """kotacerdas: OPD service data → validated indicators → smart-city maturity indices."""


API_URL_ENV = "KOTACERDAS_OPD_API_URL"
API_TOKEN_ENV = "KOTACERDAS_OPD_API_TOKEN"
# column headings of the terminal scorecard; the dimensions themselves come from the methodology file
SHORT = {
    "governance": "gov",
    "branding": "brand",
    "economy": "econ",
    "living": "living",
    "society": "soc",
    "environment": "env",
}


def month_range(spec: str) -> list[str]:
    """'2025-01:2025-12' or '2025-03' → ['2025-01', …]; anything else (2025-3, 25-1, 2025-13) is a usage error."""
    start, _, end = spec.partition(":")
    if not all(MONTH_RE.match(m) for m in (start, end or start)):
        raise typer.BadParameter(f"{spec!r}: expected YYYY-MM or YYYY-MM:YYYY-MM, e.g. 2025-03 or 2025-01:2025-12")
    periods = pd.period_range(pd.Period(start, "M"), pd.Period(end or start, "M"), freq="M")
    if not len(periods):
        raise typer.BadParameter(f"{spec!r}: the range is empty (is the end before the start?)")
    return [str(p) for p in periods]


def year_range(spec: str) -> list[str]:
    """'2024:2025' or '2025' → ['2024', '2025']."""
    start, _, end = spec.partition(":")
    if not (start.isdigit() and len(start) == 4 and (not end or (end.isdigit() and len(end) == 4))):
        raise typer.BadParameter(f"{spec!r}: expected YYYY or YYYY:YYYY")
    years = [str(y) for y in range(int(start), int(end or start) + 1)]
    if not years:
        raise typer.BadParameter(f"{spec!r}: the range is empty (is the end before the start?)")
    return years


def years_of(months: list[str]) -> list[str]:
    return sorted({m[:4] for m in months})


def one_month(spec: str) -> str:
    """A single month YYYY-MM (--period), checked as --months is."""
    if not MONTH_RE.match(spec):
        raise typer.BadParameter(f"{spec!r}: expected YYYY-MM, e.g. 2025-03")
    return spec


def _checked_project() -> ProjectConfig:
    """The project's config with every file and quality suite read and validated (each rule's expectation type
    against GX, which the run imports anyway) and the warehouse URL understood: a command that starts runs stops
    here on a mistake in config/ or the environment, naming it, rather than in every run's steps."""
    from assets.resources import WarehouseResource
    from kotacerdas.quality.suite import load_suites

    project = ProjectConfig()
    project.check()
    load_suites(project, check_with_gx=True)
    WarehouseResource().sqlalchemy_url(create=False)
    return project


def _cities(project: ProjectConfig, codes: list[str] | None) -> list[str]:
    """The given city codes, each checked against cities.yaml, or all of them (ProjectConfig.city_codes)."""
    return project.city_codes(codes)


def _runnable(project: ProjectConfig, periods: list[str]) -> list[str]:
    """The months or years when each is a partition that can run now (first_month, closed months): kotacerdas.periods,
    on the project's clock, before Dagster is started."""
    from kotacerdas.periods import check_runnable

    return check_runnable(periods, project.pipeline.first_month, str(project.dir / "pipeline.yaml"))


def _require_storage_key() -> None:
    """Runs seal the raw zone with KOTACERDAS_STORAGE_KEY: say so before starting Dagster, not in every step. After
    `make demo` the raw zone is sealed with the demo's key: a new key would leave it unreadable, so say which."""
    from kotacerdas.encryption import KEY_ENV, storage_keys

    try:
        storage_keys()
    except ConfigError as exc:
        demo = ProjectConfig().raw_dir().parent / "storage.key"
        if demo.is_file():
            raise ConfigError(
                exc.message,
                hint=f"the raw zone here was sealed by the demo with {demo}: export {KEY_ENV}=$(cat {demo}) "
                f"(a new key from `kotacerdas storage-key` cannot open what the demo stored)",
            ) from exc
        raise


PER_PARTITION_HELP = (
    "one Dagster run per city × month (as the schedule and sensors run them) instead of one run "
    "per month or per city (as a single-run backfill in the UI groups them)"
)


def _run_with_progress(
    cities: list[str],
    periods: list[str],
    per_partition: bool = False,
    replay: bool = False,
    yearly: bool = False,
    allow_incomplete: bool = False,
):
    from assets.ingest import REPLAY_TAG
    from kotacerdas.quality.completeness import ALLOW_INCOMPLETE_TAG
    from pipelines.definitions import MONTHLY_JOB, YEARLY_JOB, defs
    from pipelines.runner import local_instance, run_backfill, run_partitions

    partitions = [(c, p) for c in cities for p in periods]
    instance = local_instance()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(f"materializing {'yearly' if yearly else 'monthly'} partitions", total=len(partitions))

        def done(outcome):
            mark = "[green]ok[/]" if outcome.success else "[red]problem[/]"
            progress.console.print(f"  {outcome.city} {outcome.period}: {mark}")
            progress.advance(task)

        if per_partition:
            runner = run_partitions
        else:  # as the daemon's backfills: capped by backfill_partitions_per_run
            runner = partial(run_backfill, partitions_per_run=ProjectConfig().pipeline.backfill_partitions_per_run)
        return runner(
            defs,
            partitions,
            instance=instance,
            on_done=done,
            log_level="WARNING",
            tags={
                **({REPLAY_TAG: "true"} if replay else {}),
                **({ALLOW_INCOMPLETE_TAG: "true"} if allow_incomplete else {}),
            },
            job_name=YEARLY_JOB if yearly else MONTHLY_JOB,
        )


def _print_outcomes(outcomes) -> None:
    bad = [o for o in outcomes if not o.success]
    for o in bad:
        console.print(f"[red]{o.city} {o.period}[/] (run {o.run_id}):")
        for p in o.problems:
            console.print(f"    {p}", markup=False)  # a problem may quote what a source sent
    if bad:
        periods = sorted({o.period for o in bad})
        console.print(
            f"[yellow]{len(bad)} of {len(outcomes)} partition(s) had problems; details in the Dagster "
            "UI (`make ui`), and what each OPD delivered and had rejected in "
            + " and ".join(f"`kotacerdas quality --period {p}`" for p in periods[:3])
            + (" …" if len(periods) > 3 else "")
            + ".[/]"
        )


def _read_warehouse(reader, *args) -> tuple[pd.DataFrame, str]:
    """`reader(engine, *args)` on the configured warehouse, and the warehouse's address (no password). Readers use
    the evaluator views only, and no migration is checked: an evaluator's read-only login suffices."""
    engine, shown = _warehouse_engine(migrate=False, read_only=True)
    try:
        return reader(engine, *args), shown
    finally:
        engine.dispose()


def _span(periods: list[str]) -> str:
    if not periods:
        return "any month"
    return periods[0] if len(periods) == 1 else f"{periods[0]}..{periods[-1]}"


def print_scorecard(
    cities: list[str], months: list[str], required: bool = True, runs: set[str] | None = None
) -> pd.DataFrame:
    """The scorecard table; nothing published is an error when `required` (the `scorecard` command), a note after
    a run (whose own problems are printed next). After a run, `runs` (its Dagster run ids): a row another run
    published is marked, for a partition with problems keeps the version published before."""
    from kotacerdas.report.scorecard import read_scorecard

    card, where = _read_warehouse(read_scorecard, cities, months)
    if card.empty and not required:
        err_console.print(f"[yellow]nothing published for {', '.join(cities)} in {_span(months)}[/]")
        return card
    if card.empty:
        raise KotacerdasError(
            f"no published scores for {', '.join(cities) or 'any city'} in {_span(months)} (warehouse {where})",
            hint="check the city codes and months, or run the pipeline for them first (kotacerdas run)",
        )
    table = Table(
        title="Smart-city maturity (scores 0–100, level 1–5)",
        box=box.SIMPLE_HEAD,
        caption=f"warehouse: {where}; dimensions: " + ", ".join(f"{v} = {k}" for k, v in SHORT.items() if k != v),
    )
    dimensions = list(ProjectConfig().methodology.dimensions)
    for col in ("city", "month", *(SHORT.get(d, d) for d in dimensions), "index", "lvl"):
        table.add_column(col, justify="left" if col in ("city", "month") else "right", no_wrap=True)
    incomplete = card["status"].eq("incomplete").fillna(False)
    if incomplete.any():
        table.caption += "; * incomplete inputs, published on purpose (--allow-incomplete): not ranked, no change"
    earlier = pd.Series(False, index=card.index) if runs is None else ~card["run_id"].isin(runs)
    if earlier.any():
        kept = card.loc[earlier, ["run_id", "published_at"]].drop_duplicates("run_id")
        shown = ", ".join(f"{r} on {pd.Timestamp(t):%Y-%m-%d %H:%M}" for r, t in kept.head(3).itertuples(index=False))
        more = f" and {len(kept) - 3} more" if len(kept) > 3 else ""
        table.caption += (
            f"; † not replaced by this run (its problems are below): published before, by run {shown}{more}"
        )
    for row, kept in zip(card.to_dict("records"), earlier, strict=True):
        table.add_row(
            row["city_code"],
            row["period"] + ("*" if row["status"] == "incomplete" else "") + ("†" if kept else ""),
            *(format_half_up(row.get(d)) for d in dimensions),
            format_half_up(row["index"]),
            "—" if pd.isna(row["maturity_level"]) else str(int(row["maturity_level"])),
        )
    console.print(table)
    return card


def print_regulators(cities: list[str], years: list[str]) -> pd.DataFrame:
    from kotacerdas.report.regulators import read_regulators

    card, _ = _read_warehouse(read_regulators, cities, years)
    table = Table(
        title="Regulators' indices as published (Kominfo 1–5, SPBE 1–5, IKM 25–100)",
        box=box.SIMPLE_HEAD,
        caption="methodologies: config/pipeline.yaml (*_methodology); a blank was not computed, the "
        "warehouse's quality tables say why",
    )
    for col in ("city", "year", "kominfo", "spbe self", "spbe ext.", "predicate", "IKM", "grade", "respondents"):
        table.add_column(col, justify="left" if col in ("city", "year", "predicate") else "right", no_wrap=True)
    shown = {"kominfo": ("kominfo",), "spbe": ("spbe_self", "spbe_external"), "ikm": ("ikm",)}
    for row in card.to_dict("records"):
        marked = {c for r in str(row.pop("provisional") or "").split(", ") if r for c in shown.get(r, ())}
        table.add_row(*("—" if pd.isna(v) else f"{v}{'*' if c in marked else ''}" for c, v in row.items()))
    if card["provisional"].astype(bool).any():  # read_regulators always has the column
        table.caption += "; * provisional: published with incomplete inputs (an IKM of the year so far)"
    console.print(table)
    return card


@app.command()
def demo(
    months: Annotated[str, typer.Option(help="YYYY-MM:YYYY-MM")] = "2025-01:2025-12",
    city: Annotated[list[str] | None, typer.Option(help="city code (repeatable); default all")] = None,
    seed: Annotated[int, typer.Option(help="simulator seed")] = 42,
    per_partition: Annotated[bool, typer.Option(help=PER_PARTITION_HELP)] = False,
) -> None:
    """Start the OPD simulator, run the whole pipeline for every city × month and the yearly job for their years,
    print the scorecard and the regulators' indices."""
    from kotacerdas.simulator import OpdSimulator, write_file_drops

    started = time.perf_counter()
    project = _checked_project()
    cities, periods = _cities(project, city), _runnable(project, month_range(months))
    _runnable(project, years_of(periods))
    token = environment().get(API_TOKEN_ENV) or secrets.token_urlsafe(24)
    storage = _demo_storage_key(project)
    with (
        OpdSimulator(project, seed=seed, token=token) as sim,
        overridden_environment({API_URL_ENV: sim.url, API_TOKEN_ENV: token, **storage}),  # what sources.yaml names
    ):
        landing = project.landing_dir()
        files = write_file_drops(
            project, landing, cities, periods, seed=seed, years=years_of(periods), masterplan_faults=True
        )
        console.print(f"OPD simulator at {sim.url} (seed {seed}); {len(files)} file drop(s) in {landing}")
        outcomes = _run_with_progress(cities, periods, per_partition)
        outcomes += _run_with_progress(cities, years_of(periods), per_partition, yearly=True)
    print_scorecard(cities, periods, required=False, runs={o.run_id for o in outcomes})
    print_regulators(cities, years_of(periods))
    print_masterplan(cities, periods)
    _print_outcomes(outcomes)
    console.print(
        f"demo finished in {time.perf_counter() - started:.1f} s "
        f"({len(outcomes)} partitions in {len({o.run_id for o in outcomes})} Dagster runs, "
        f"{sum(o.success for o in outcomes)} clean)"
    )
    if not all(o.success for o in outcomes):
        raise typer.Exit(1)


def _demo_storage_key(project: ProjectConfig) -> dict[str, str]:
    """The demo encrypts its raw zone with KOTACERDAS_STORAGE_KEY if set, else with a key of its own data folder."""
    from kotacerdas.encryption import KEY_ENV, demo_key

    if environment().get(KEY_ENV):
        return {}
    key, path, made = demo_key(project.raw_dir().parent)
    console.print(
        f"{'made' if made else 'using'} the demo's storage key {path} (the raw zone and Dagster's values are "
        f"encrypted with it); to open them later, e.g. in `make ui`: export {KEY_ENV}=$(cat {path})"
    )
    return {KEY_ENV: key}


@app.command("storage-key")
def storage_key() -> None:
    """Print a new storage key for KOTACERDAS_STORAGE_KEY (the raw zone's and Dagster's values' encryption)."""
    from kotacerdas.encryption import generate_key

    typer.echo(generate_key())


@app.command("storage-reseal")
def storage_reseal() -> None:
    """Re-encrypt the raw zone with the current KOTACERDAS_STORAGE_KEY (after a rotation; old keys in
    KOTACERDAS_STORAGE_OLD_KEYS) and encrypt payloads stored in clear by earlier versions."""
    from kotacerdas.ingest.landing import reseal_raw

    raw = ProjectConfig().raw_dir()
    counts = reseal_raw(raw) if raw.is_dir() else {}
    console.print(f"{raw}: " + (", ".join(f"{n} {what}" for what, n in counts.items()) or "no raw zone"))


@app.command("raw")
def raw(
    raw_file: Annotated[str, typer.Argument(help="the payload, as the warehouse names it (`_raw_file`, `raw_file`)")],
    row: Annotated[int, typer.Option(help="the data row, as the warehouse names it (`_raw_row`), from 1")] = 1,
) -> None:
    """Show one row of a stored payload as the OPD delivered it (decrypted, its sha256 checked, personal data as
    the warehouse's pseudonyms): where a staged or rejected row came from."""
    from kotacerdas.ingest.raw_view import raw_row
    from kotacerdas.privacy import pii_key_from_env

    _require_storage_key()  # after the demo: the demo's key, not a new one
    project = ProjectConfig()
    shown = raw_row(project, project.raw_dir(), raw_file, row, pii_key_from_env())
    record = shown.record
    # the payload's path on a line of its own, never broken (it is copied from here)
    console.print(f"{record.relpath}: row {shown.row} of {shown.rows} ({shown.source})", soft_wrap=True)
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("field as delivered")
    table.add_column("column")
    table.add_column("value", overflow="fold")  # a pseudonym is shown whole, to be looked up in the warehouse
    for field in shown.fields:
        value = "" if field.value is None else str(field.value)
        table.add_row(escape(field.name), field.column or "—", escape(value))
    console.print(table)
    # whole lines, never broken inside a URL or the sha256 (they are copied from here)
    console.print(f"fetched {record.fetched_at} from {escape(scrub_text(record.origin))}", soft_wrap=True)
    console.print(f"{record.bytes:,} bytes, sha256 {record.sha256} (checked)", soft_wrap=True)


@app.command()
def run(
    months: Annotated[str | None, typer.Option(help="YYYY-MM:YYYY-MM: the monthly job")] = None,
    years: Annotated[str | None, typer.Option(help="YYYY:YYYY: the yearly job (regulators' indices)")] = None,
    city: Annotated[list[str] | None, typer.Option(help="city code (repeatable); default all")] = None,
    per_partition: Annotated[bool, typer.Option(help=PER_PARTITION_HELP)] = False,
    replay: Annotated[bool, typer.Option(help="rebuild from the raw zone without calling any source")] = False,
    allow_incomplete: Annotated[
        bool,
        typer.Option(
            help="publish partitions whose expected sources did not all deliver (config/completeness.yaml); their "
            "rows carry status incomplete and their coverage"
        ),
    ] = False,
) -> None:
    """Run (or backfill) the pipeline against the sources configured in config/sources.yaml (no simulator)."""
    if not months and not years:
        raise typer.BadParameter("give --months YYYY-MM:YYYY-MM (monthly job) and/or --years YYYY:YYYY (yearly job)")
    project = _checked_project()
    cities = _cities(project, city)
    month_list = _runnable(project, month_range(months)) if months else []
    year_list = _runnable(project, year_range(years)) if years else []
    _require_storage_key()
    outcomes = []
    if month_list:
        outcomes += _run_with_progress(cities, month_list, per_partition, replay, False, allow_incomplete)
        print_scorecard(cities, month_list, required=False, runs={o.run_id for o in outcomes})
    if year_list:
        outcomes += _run_with_progress(cities, year_list, per_partition, replay, True, allow_incomplete)
        print_regulators(cities, year_list)
    _print_outcomes(outcomes)
    if not all(o.success for o in outcomes):
        raise typer.Exit(1)


@app.command()
def scorecard(
    months: Annotated[str | None, typer.Option(help="YYYY-MM:YYYY-MM")] = None,
    city: Annotated[list[str] | None, typer.Option(help="city code (repeatable)")] = None,
) -> None:
    """Print dimension scores, index and maturity level from the warehouse."""
    codes = ProjectConfig().city_codes(city) if city else []
    print_scorecard(codes, month_range(months) if months else [])


@app.command()
def report(
    city: Annotated[list[str], typer.Option(help="city code, e.g. 19.71 (repeatable)")],
    period: Annotated[str, typer.Option(help="YYYY-MM")],
    out: Annotated[Path, typer.Option(help="folder for the HTML pages (created)")],
    lang: Annotated[
        str, typer.Option(help="id (Bahasa Indonesia) or en; both are written with --all-languages")
    ] = "id",
    all_languages: Annotated[bool, typer.Option(help="write every language, not only --lang")] = False,
    national: Annotated[bool, typer.Option(help="also write the national ranking page of the period")] = True,
    screenshot: Annotated[
        Path | None, typer.Option(help="also open the scorecard in headless Chromium and save a PNG here")
    ] = None,
    screenshot_height: Annotated[int, typer.Option(help="pixels from the top of the page; 0 = the whole page")] = 0,
) -> None:
    """Self-contained HTML scorecards (one per city) and the national page of a month, from the evaluator views."""
    from kotacerdas.report.browser import visit
    from kotacerdas.report.build import write_scorecards
    from kotacerdas.report.labels import LANGUAGES, check_language
    from kotacerdas.report.scorecard_page import scorecard_filename

    one_month(period)  # the same checks as everywhere: YYYY-MM, a city of cities.yaml
    ProjectConfig().city_codes(city)
    languages = LANGUAGES if all_languages else (check_language(lang),)
    engine, shown = _warehouse_engine(migrate=False, read_only=True)
    try:
        written = write_scorecards(engine, ProjectConfig(), city, period, out, languages, national=national)
    finally:
        engine.dispose()
    for path in written:
        console.print(f"wrote {path}", overflow="ignore", crop=False)
    if screenshot is not None:
        page = visit(out / scorecard_filename(city[0], period, languages[0]), screenshot, height=screenshot_height)
        if not page.clean:
            raise KotacerdasError(
                f"the scorecard did not render cleanly: console errors {page.console_errors}, failed requests "
                f"{page.failed_requests}, requests off this machine {page.remote_requests}",
                hint="report it as a bug with the page attached",
            )
        console.print(f"screenshot {screenshot}", overflow="ignore", crop=False)
    console.print(f"warehouse: {shown}")


@app.command()
def export(
    format: Annotated[str, typer.Option("--format", help="csv, json, xlsx, sdmx-csv or fiware (repeatable)")],
    out: Annotated[Path, typer.Option(help="folder for the files (created; same-named files replaced)")],
    city: Annotated[list[str] | None, typer.Option(help="city code (repeatable); default all")] = None,
    months: Annotated[str | None, typer.Option(help="YYYY-MM or YYYY-MM:YYYY-MM; default all")] = None,
    lang: Annotated[str, typer.Option(help="language of the names: id or en")] = "id",
) -> None:
    """The published scores (indicators, dimensions, indices, regulators' indices) in the field's formats."""
    from kotacerdas.report.build import write_exports
    from kotacerdas.report.exports import FORMATS
    from kotacerdas.report.labels import check_language

    formats = tuple(f.strip() for f in format.split(","))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise typer.BadParameter(f"{', '.join(unknown)}: use one of {', '.join(FORMATS)}", param_hint="--format")
    periods = month_range(months) if months else None
    if city:
        ProjectConfig().city_codes(city)
    engine, shown = _warehouse_engine(migrate=False, read_only=True)
    try:
        written = write_exports(
            engine,
            ProjectConfig(),
            out,
            formats,
            cities=city or None,
            periods=periods,
            lang=check_language(lang),
        )
    finally:
        engine.dispose()
    for path in written:
        console.print(f"wrote {path}", overflow="ignore", crop=False)
    console.print(f"warehouse: {shown}")


@app.command()
def quality(
    period: Annotated[
        str | None, typer.Option(help="YYYY-MM, or YYYY for the yearly tables; default: the latest month validated")
    ] = None,
    city: Annotated[list[str] | None, typer.Option(help="city code (repeatable); default all")] = None,
    opd: Annotated[list[str] | None, typer.Option(help="OPD code (repeatable): its deliveries and rows only")] = None,
    csv: Annotated[Path | None, typer.Option(help="also write every rejected row shown to this CSV file")] = None,
    months: Annotated[
        str | None,
        typer.Option(help="YYYY-MM:YYYY-MM instead of --period: each OPD's reporting rates over those months"),
    ] = None,
) -> None:
    """For the OPDs' data stewards: each table's quality gate, each OPD's delivery (on time, late, missing) and the
    rejected rows by rule with a value, its reason and its raw file and row (the rows from the steward view
    v_quarantine, which an evaluator's login is not given: it is shown the gates and deliveries). With --months,
    each OPD's reporting rates over a span of months instead (DHIS2's: received and on time, of those expected)."""
    from kotacerdas.report.stewards import check_period, latest_quality_period, read_steward_view

    project = ProjectConfig()
    cities = _cities(project, city)
    known = {o.code for o in project.cities.opds}
    opd = [code.upper() if code.upper() in known else code for code in opd] if opd else opd  # dinkes: DINKES
    unknown = sorted(set(opd or []) - known)
    if unknown:
        raise KotacerdasError(
            f"OPD {', '.join(unknown)} is not in cities.yaml", hint=f"use one of {', '.join(sorted(known))}"
        )
    if months is not None:
        if period is not None or csv is not None:
            raise typer.BadParameter("give --months alone, without --period or --csv", param_hint="--months")
        _print_reporting_rates(cities, month_range(months), opd)
        return
    if period is None:
        period, _ = _read_warehouse(latest_quality_period, cities)
        if period is None:
            raise KotacerdasError(
                f"nothing validated for {', '.join(cities)}",
                hint="run the pipeline first (make demo, or kotacerdas run --months YYYY-MM)",
            )
        err_console.print(f"period {period}: the latest month validated (--period YYYY-MM for another)")
    view, where = _read_warehouse(read_steward_view, cities, check_period(period), opd)
    if view.gates.empty and view.deliveries.empty:
        raise KotacerdasError(
            f"nothing validated for {', '.join(cities)} in {period} (warehouse {where})",
            hint="check the city codes and the period, or run the pipeline for them first",
        )
    denied = (
        f"the warehouse login at {where} may not read the rejected rows (v_quarantine: the rows as the OPDs sent "
        "them, for their data stewards; an evaluator sees the counts)"
    )
    hint = "use a steward login (`kotacerdas warehouse grant-evaluator NAME --steward`) or the owner's"
    if view.rejected is None and csv is not None:
        raise KotacerdasError(denied, hint=hint)
    for code in cities:
        _print_steward_tables(view, code, period, opd)
    if view.rejected is None:
        err_console.print(escape(f"{denied}; {hint}"), style="yellow")
    if view.without_opd:
        err_console.print(
            f"{view.without_opd} rejected row(s) of {period} were published before the warehouse recorded their "
            "OPD (migration 0011) and are left out by --opd: run without --opd to see them",
            style="yellow",
        )
    if csv is not None and view.rejected is not None:
        from kotacerdas.report.cells import neutralise_frame

        csv.parent.mkdir(parents=True, exist_ok=True)
        neutralise_frame(view.rejected).to_csv(csv, index=False, encoding="utf-8-sig")
        console.print(f"wrote {len(view.rejected)} rejected rows to {csv}", overflow="ignore", crop=False)
    console.print(f"warehouse: {where}")


def _print_reporting_rates(cities: list[str], months: list[str], opds: list[str] | None) -> None:
    from kotacerdas.report.stewards import read_reporting_rates

    rates, where = _read_warehouse(read_reporting_rates, cities, months, opds)
    if rates.empty:
        raise KotacerdasError(
            f"nothing validated for {', '.join(cities)} in {_span(months)} (warehouse {where})",
            hint="check the city codes and the months, or run the pipeline for them first",
        )
    for code in cities:
        mine = rates[rates["city_code"] == code]
        if mine.empty:
            console.print(f"{code} {_span(months)}: nothing validated")
            continue
        seen = int(mine["months"].max())
        table = Table(
            title=f"{code} {_span(months)}: reporting rates per OPD (datasets of every table and month)",
            box=box.SIMPLE_HEAD,
            caption=f"months validated: {seen} of the {len(months)} asked (a month never run counts neither as "
            "expected nor as missing); pending: not due yet, not counted as expected; rate: received of expected; "
            "on-time rate: on time of expected (DHIS2), the undated left out; worst on time first; undated: a REST or "
            "SQL pull after its due date with no usable entry times (sources.yaml `entered_field`), received but "
            "neither on time nor late",
        )
        for col in (
            "OPD",
            "months",
            "expected",
            "received",
            "on time",
            "late",
            "undated",
            "missing",
            "pending",
            "rate",
            "on-time rate",
            "rows",
            "rejected",
        ):
            table.add_column(col, justify="left" if col == "OPD" else "right", no_wrap=True)
        for _, r in mine.iterrows():
            table.add_row(
                *_plain(
                    r["opd_code"],
                    _count(r["months"]),
                    _count(r["expected"]),
                    _count(r["received"]),
                    _count(r["on_time"]),
                    _count(r["late"]),
                    _count(r["undated"]),
                    _count(r["missing"]),
                    _count(r["pending"]),
                    _rate(r["reporting_rate"]),
                    _rate(r["reporting_rate_on_time"]),
                    _count(r["rows_delivered"]),
                    _count(r["rows_rejected"]),
                )
            )
        _print_whole(table)
    console.print(f"warehouse: {where}")


def _print_steward_tables(view, city: str, period: str, opds: list[str] | None) -> None:
    """The city's three tables, each printed whole (codes, times and paths never cut) and every value from the
    warehouse as plain text (a rejected value `[nik:…]` or `[/]` is text, not Rich markup)."""
    from kotacerdas.report.stewards import delivery_status, verdict

    gates = view.gates[view.gates["city_code"] == city]
    if gates.empty and view.deliveries[view.deliveries["city_code"] == city].empty:
        console.print(f"{city} {period}: nothing validated")
        return
    table = Table(title=f"{city} {period}: quality gate per table", box=box.SIMPLE_HEAD)
    for col in ("table", "rows", "valid", "rejected", "share", "blocks above", "verdict"):
        right = col in ("rows", "valid", "rejected", "share", "blocks above")
        table.add_column(col, justify="right" if right else "left", no_wrap=True)
    table.add_column("why", max_width=60, overflow="fold")  # a path in it is folded, never cut
    for _, g in gates.iterrows():
        why = g.get("incomplete_reason") if g.get("status") == "incomplete" else g.get("failed_table_rules")
        if verdict(g) == "BLOCKED" and (why is None or pd.isna(why) or not str(why)):
            why = "rejected share above the threshold: the rules below"
        table.add_row(
            *_plain(
                g["table_name"],
                _count(g["input_rows"]),
                _count(g["valid_rows"]),
                _count(g["rejected_rows"]),
                _percent(g["rejected_share"]),
                _percent(g["threshold"]),
                verdict(g),
                _shown(why),
            )
        )
    if not gates.empty:
        _print_whole(table)

    deliveries = view.deliveries[view.deliveries["city_code"] == city]
    zone = ProjectConfig().timeliness.timezone  # the warehouse keeps UTC; a steward reads the OPDs' own clock
    late = Table(
        title=f"{city} {period}: deliveries per OPD" + (f" ({', '.join(opds)})" if opds else ""),
        box=box.SIMPLE_HEAD,
        caption=f"due and received on {zone} time (the warehouse keeps UTC); a dataset is due before its time; "
        "config/timeliness.yaml sets the due days; a file counts as received when the OPD uploaded it, a REST or "
        "SQL pull when its last row was entered (sources.yaml `entered_field`), else when it was fetched: fetched "
        "after the due date, it is `received, date unknown`",
    )
    for col in ("OPD", "table", "due", "received", "status", "rows", "rejected"):
        late.add_column(col, justify="right" if col in ("rows", "rejected") else "left", no_wrap=True)
    late.add_column("failure", max_width=60, overflow="fold")
    for _, d in deliveries.iterrows():
        late.add_row(
            *_plain(
                str(d["opd_code"]),
                d["table_name"],
                _minute(d.get("due_at"), zone),
                # an undated pull: when it was fetched, which says nothing of when the OPD entered it
                ("fetched " if d.get("status") == "received_undated" else "") + _minute(d.get("received_at"), zone),
                delivery_status(d),
                _count(d.get("rows_delivered")),
                _count(d.get("rows_rejected")),
                _shown(d.get("failure_message")),
            )
        )
    if not deliveries.empty:
        _print_whole(late)

    if view.rejected is None:
        return  # a login without the steward view: the command says so once, after every city
    rules = view.rules()
    rules = rules[rules["city_code"] == city]
    rejected = Table(
        title=f"{city} {period}: rejected rows by rule" + (f" ({', '.join(opds)})" if opds else ""),
        box=box.SIMPLE_HEAD,
        caption="error rules set a row aside, warn rules only report it; the first row's value and reason; "
        "--csv FILE writes every row",
    )
    for col in ("table", "rule", "severity", "rows", "OPDs"):
        rejected.add_column(col, justify="right" if col == "rows" else "left", no_wrap=True)
    # the OPD's text: wrapped (a long word or path folded, never cut) and cut past SHOWN_CHARS (the CSV has it)
    rejected.add_column("value", max_width=40, overflow="fold")
    rejected.add_column("reason", max_width=60, overflow="fold")
    rejected.add_column("raw file:row", no_wrap=True)  # the whole path: where the steward looks
    for _, r in rules.iterrows():
        place = (
            "" if pd.isna(r["raw_file"]) else f"{r['raw_file']}:{'' if pd.isna(r['raw_row']) else int(r['raw_row'])}"
        )
        rejected.add_row(
            *_plain(
                r["table_name"],
                r["rule"],
                r["severity"],
                _count(r["rows"]),
                r["opds"],
                _shown(r["value"]),
                _shown(r["reason"]),
                place,
            )
        )
    if rules.empty:
        console.print(f"{city} {period}: no rejected rows" + (f" for {', '.join(opds)}" if opds else ""))
    else:
        _print_whole(rejected)


SHOWN_CHARS = 300  # of a rejected value or reason in the terminal; `--csv` writes them whole


def _shown(value: object) -> str:
    text = "" if value is None or pd.isna(value) else str(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def _plain(*values: object) -> list[Text]:
    """Cells as plain text: what the warehouse holds is never read as Rich markup."""
    return [Text(str(v)) for v in values]


def _print_whole(table: Table) -> None:
    """The table at its natural width (at least the terminal's): a narrow terminal folds the display, the codes,
    times and paths in it stay whole, as `explain` prints its tree."""
    natural = console.measure(table, options=console.options.update_width(100_000)).maximum
    Console(width=max(console.width, natural), soft_wrap=False).print(table)


def _minute(value, zone: str) -> str:
    """A warehouse time (UTC, naive) on the clock of `zone`, to the minute."""
    if value is None or pd.isna(value):
        return "—"
    moment = pd.Timestamp(value)
    moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment
    return f"{moment.tz_convert(zone):%Y-%m-%d %H:%M}"


def _rate(value) -> str:
    """A rate already in percent, one decimal half up; — when there is none (no dataset to count it over)."""
    return "—" if value is None or pd.isna(value) else f"{format_half_up(float(value), 1)} %"


def _percent(value) -> str:
    """A share as a percentage, half up on the decimal share (0.0285 is 2.9 %, where 100 × the float gives 2.8)."""
    return "—" if value is None or pd.isna(value) else f"{format_half_up(decimal_of(value) * 100, 1)} %"


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="port of the Dagster UI")] = 3000,
    simulator: Annotated[bool, typer.Option(help="serve the OPD simulator as the sources")] = True,
    months: Annotated[str, typer.Option(help="months to write simulator file drops for")] = "2025-01:2025-12",
    seed: int = 42,
) -> None:
    """`dg dev` on this code location (webserver and daemon); by default wired to the OPD simulator, as in the demo.
    Ctrl-C or SIGTERM stops it with everything it started."""
    import signal
    import sys
    from contextlib import nullcontext

    from pipelines.event_log import batch_event_writes
    from pipelines.runner import DEFAULT_DAGSTER_HOME, ensure_instance_config
    from pipelines.supervise import run_supervised

    project = _checked_project()
    if not simulator:  # runs launched from the UI seal the raw zone with the environment's key
        _require_storage_key()
    env = dict(environment())
    env.setdefault("DAGSTER_HOME", str(DEFAULT_DAGSTER_HOME))
    ensure_instance_config(Path(env["DAGSTER_HOME"]))
    batch_event_writes(env)  # the run workers the daemon starts inherit it
    context = nullcontext()
    if simulator:
        from kotacerdas.simulator import OpdSimulator, write_file_drops

        token = secrets.token_urlsafe(24)
        context = OpdSimulator(project, seed=seed, token=token)
    with context as sim:
        if sim is not None:
            env |= {API_URL_ENV: sim.url, API_TOKEN_ENV: token, **_demo_storage_key(project)}
            # the yearly SPBE self-assessment too: without it the yearly job's partitions are incomplete
            periods = month_range(months)
            landing = project.landing_dir()
            write_file_drops(project, landing, _cities(project, None), periods, seed=seed, years=years_of(periods))
            console.print(
                f"OPD simulator at {sim.url}; file drops written for {months} and {', '.join(years_of(periods))}"
            )
        # `dagster dev` is superseded by `dg dev` in Dagster 1.13 (both start the same webserver and daemon)
        dg = Path(sys.executable).with_name("dg")
        root = project.dir.parent
        cmd = [str(dg), "dev", "-w", str(root / "workspace.yaml"), "-p", str(port)]
        console.print(f"Dagster UI on http://127.0.0.1:{port} (DAGSTER_HOME={env['DAGSTER_HOME']}); Ctrl-C to stop")
        code = run_supervised(cmd, cwd=root, env=env)
    if code not in (0, 128 + signal.SIGINT, 128 + signal.SIGTERM):
        raise typer.Exit(code)


@app.command("simulate-opd")
def simulate_opd(
    port: Annotated[int, typer.Option(help="0 = any free port")] = 8765,
    seed: int = 42,
    token: Annotated[str | None, typer.Option(envvar=API_TOKEN_ENV, help="require this bearer token")] = None,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            help="a fault mode, repeatable: TARGET:KIND[:key=value,...] with TARGET a source name, an API path or *, "
            "KIND one of latency, error, rate_limit, drop, truncate, duplicate_page, ignore_offset, rename_field, "
            "drop_field, wrong_type (kotacerdas.simulator.faults); e.g. opd_api_complaints:error:status=503,times=2"
        ),
    ] = None,
    all_regions: Annotated[
        bool, typer.Option(help="serve all 514 kabupaten/kota of the Kemendagri list (national-scale runs)")
    ] = False,
    regions_csv: Annotated[
        Path | None, typer.Option(help="kode_wilayah_prov_kabkota.csv (default: config/regions/)")
    ] = None,
    file_drops: Annotated[Path | None, typer.Option(help="also write the OPD file drops into this folder")] = None,
    months: Annotated[str, typer.Option(help="months of the file drops, YYYY-MM:YYYY-MM")] = "2025-01:2025-12",
    messy: Annotated[
        bool, typer.Option(help="write the file drops as staff export them (encodings, ; or ,, Excel dates, XLSX)")
    ] = False,
) -> None:
    """Serve the synthetic OPD APIs on 127.0.0.1 until Ctrl-C."""
    from kotacerdas.simulator import Fault, OpdSimulator, default_regions_csv, load_regions, write_file_drops

    _stop_on_sigterm()
    project = ProjectConfig()
    try:
        faults = [Fault.parse(spec) for spec in fault or []]
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--fault") from exc
    extra = load_regions(regions_csv or default_regions_csv(project)) if all_regions else []
    periods = month_range(months)
    try:
        sim = OpdSimulator(project, seed=seed, token=token, port=port, cities=extra, faults=faults).start()
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise KotacerdasError(
            f"port {port} on 127.0.0.1 is in use (another simulator, or another program, listens there)",
            hint="stop that program, or pass another port: --port N (--port 0 takes any free port)",
        ) from exc
    with sim:
        if file_drops is not None:
            cities = list(sim.cities.values())
            # with the yearly SPBE self-assessment of each year of the months (the yearly job expects it)
            written = write_file_drops(
                project,
                file_drops,
                cities,
                periods,
                seed=seed,
                messy=messy,
                years=years_of(periods),
                masterplan_faults=True,
            )
            console.print(f"{len(written)} file drop(s) written to {file_drops}")
        console.print(
            f"OPD simulator serving on {sim.url} (seed {seed}{', token required' if token else ''}; "
            f"{len(sim.cities)} cities; faults: {', '.join(fault or []) or 'none'}); Ctrl-C to stop"
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


def _stop_on_sigterm() -> None:
    """SIGTERM (`docker stop`, systemd, a supervisor's terminate) stops the command as Ctrl-C does: cleanly, even
    when the parent left it ignored or blocked, as a process spawned from a worker thread can inherit."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


@app.command("index")
def index(
    data: Annotated[Path, typer.Option(help="iData CSV (COINr): uCode, uName, indicator, group, denominator columns")],
    meta: Annotated[Path, typer.Option(help="iMeta CSV (COINr): iCode, Parent, Direction, Weight, Type, ...")],
    method: Annotated[Path, typer.Option(help="method YAML, e.g. config/methodologies/asem-coinr-example.yaml")],
    out: Annotated[Path, typer.Option(help="folder for the CSV files (created; same-named files replaced)")],
    uncertainty: Annotated[
        int | None,
        typer.Option(
            help="also run uncertainty/sensitivity analysis with Sobol base sample N (N·(k+2) builds' worth of runs)"
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="random seed of the uncertainty analysis")] = 0,
    explain: Annotated[
        str | None, typer.Option(help="print the path from raw value to index for this unit (uCode)")
    ] = None,
) -> None:
    """Build a composite index from COINr iData/iMeta (CSV, or a COINr export_to_excel workbook) and a method file;
    write every stage and result as CSV, each result stamped with the hashes of the method and the data."""
    from kotacerdas.index.io import run_files

    try:
        report = run_files(data, meta, method, out, uncertainty=uncertainty, seed=seed, explain=explain)
    except KotacerdasError as exc:  # bad input: say which file and what to do, exit 2 like a usage error
        typer.echo(f"error: {exc.message}", err=True)
        if exc.hint:
            typer.echo(f"what to do: {exc.hint}", err=True)
        raise typer.Exit(2) from exc
    b = report["build"]
    fw = b.framework
    console.print(
        f"built '{b.method.version}': {len(b.units)} units, {len(fw.indicators)} indicators, "
        f"{len(fw.aggregates)} aggregates in {report['build_seconds']:.2f} s"
    )
    sa = report["sensitivity"]
    if sa is not None:
        note = " (none in the method file: ±25 % noise on every weight)" if report["default_factors"] else ""
        console.print(
            f"uncertainty: {len(sa.scores)} runs over {[f.name for f in sa.factors]}{note} "
            f"in {report['sensitivity_seconds']:.2f} s (seed {seed})"
        )
    console.print(f"wrote {len(report['files'])} files to {out}")
    if report.get("explain") is not None:
        typer.echo(report["explain"])


# --- warehouse and lineage (thin shells over kotacerdas.warehouse / kotacerdas.report) ----------------------

warehouse_app = typer.Typer(help="Warehouse schema (Alembic migrations) and the evaluator role.", no_args_is_help=True)
app.add_typer(warehouse_app, name="warehouse")


def _warehouse_engine(migrate: bool = True, read_only: bool = False):
    """An engine on the configured warehouse and its address; `read_only` (the read commands) makes nothing: a
    DuckDB file that is not there is an error, not a new empty warehouse."""
    from assets.resources import WarehouseResource
    from kotacerdas.warehouse.engine import create_warehouse_engine, require_existing_warehouse

    warehouse = WarehouseResource()
    url = warehouse.sqlalchemy_url(create=not read_only)
    if read_only:
        require_existing_warehouse(url)
    return create_warehouse_engine(url, migrate=migrate and not read_only), warehouse.display()


@warehouse_app.command("upgrade")
def warehouse_upgrade(
    revision: Annotated[str, typer.Option(help="target migration (default: the newest)")] = "head",
) -> None:
    """Apply the pending migrations and reload the dimensions from config/ (regions, OPDs, indicators)."""
    from kotacerdas.warehouse.migrate import upgrade
    from kotacerdas.warehouse.reference import load_reference_data

    engine, shown = _warehouse_engine(migrate=False)
    try:
        before, after = upgrade(engine, revision)
        loaded = load_reference_data(engine, ProjectConfig())
    finally:
        engine.dispose()
    console.print(f"warehouse {shown}: schema {before or 'empty'} → {after}")
    for unit, rows in loaded.items():
        console.print(f"  {unit}: {f'{rows} row(s) loaded' if rows else 'unchanged'}")


@warehouse_app.command("grant-evaluator")
def warehouse_grant_evaluator(
    name: Annotated[str, typer.Argument(help="login role to create or reuse for the evaluator")],
    group: Annotated[
        str | None,
        typer.Option(help="NOLOGIN role holding the grants; default kotacerdas_evaluator (kotacerdas_steward)"),
    ] = None,
    password_env: Annotated[str | None, typer.Option(help="environment variable holding a password")] = None,
    steward: Annotated[
        bool, typer.Option("--steward", help="an OPD data steward: also the rejected rows as delivered (v_quarantine)")
    ] = False,
) -> None:
    """PostgreSQL: a read-only role NAME that can read the evaluator views and nothing else (with --steward, also
    the steward views: the rejected rows, which evaluators do not see)."""
    from kotacerdas.warehouse.roles import default_group, grant_evaluator, server_hardening

    group = group or default_group(steward)
    password = None
    if password_env:
        password = environment().get(password_env)
        if not password:
            raise typer.BadParameter(f"environment variable {password_env} is empty or not set")
    engine, shown = _warehouse_engine()
    try:
        views = grant_evaluator(engine, name, group=group, password=password, steward=steward)
        todo = server_hardening(engine)
    finally:
        engine.dispose()
    console.print(f"{shown}: role {name} (member of {group}) may read {len(views)} view(s): {', '.join(views)}")
    if todo:
        console.print("[yellow]for the server's administrator[/] (docs/operators/privacy.md):", *todo, sep="\n  ")


def _when(value, missing: str = "—", prefix: str = "") -> str:
    """A timestamp of the warehouse as printed after `prefix`; `missing` for none (a delivery that never came)."""
    return missing if value is None or pd.isna(value) else f"{prefix}{value}"


def _count(value) -> str:
    return "0" if value is None or pd.isna(value) else str(int(value))


def _num(value, digits: int = 2) -> str:
    return "—" if value is None or pd.isna(value) else format_half_up(float(value), digits)


@app.command()
def explain(
    city: Annotated[str, typer.Option(help="city code, e.g. 19.71")],
    period: Annotated[str, typer.Option(help="YYYY-MM")],
    dimension: Annotated[str | None, typer.Option(help="only this dimension, e.g. governance")] = None,
    programme: Annotated[
        str | None, typer.Option(help="a masterplan programme instead: its status down to the OPD reports")
    ] = None,
) -> None:
    """Where a score came from: index → dimensions → elements → indicators → staged rows → raw files; with
    --programme, where a masterplan programme's status came from (as `kotacerdas masterplan explain`)."""
    if programme:
        return masterplan_explain(city, period, programme)
    one_month(period)
    project = ProjectConfig()
    project.city_codes([city])
    from rich.text import Text
    from rich.tree import Tree

    from kotacerdas.report.explain import explain as explain_partition

    widths: list[int] = []
    fed_elements = {i.element for i in project.catalog.indicators}

    def whole(markup: str) -> Text:
        """A label that is never wrapped: the tree is printed as wide as its longest line (below), so a raw file's
        path and its sha256 always stay whole on one line."""
        text = Text.from_markup(markup, overflow="ignore")
        text.no_wrap = True
        widths.append(len(text.plain))
        return text

    engine, shown = _warehouse_engine(migrate=False, read_only=True)
    try:
        ex = explain_partition(engine, city, period, dimension)
    finally:
        engine.dispose()
    index = ex.scores[ex.scores["level"] == "index"].iloc[0]
    tree = Tree(
        whole(
            f"[bold]{city} {period}[/] index {_num(index['score'])} (level {_num(index['maturity_level'], 0)}), "
            f"{index['methodology']} {index['methodology_version']}, run {index['run_id']}"
        )
    )

    def node(parent: Tree, row) -> None:
        label = (
            f"{row['level']} [bold]{row['code']}[/] {_num(row['score'])} × weight {_num(row['weight'], 4)}"
            f" (coverage {_num(row['coverage'])})"
        )
        if row["level"] != "indicator":
            children = ex.children(row["code"])
            if row["level"] == "element" and row["code"] not in fed_elements:
                label += f" — no indicator of config/indicators.yaml feeds element {row['code']}"
            branch = parent.add(whole(label))
            for _, child in children.iterrows():
                node(branch, child)
            return
        branch = parent.add(
            whole(
                f"{label}: value {_num(row['value'], 4)} {escape(str(row['unit']))} → goalposts "
                f"{_num(row['goalpost_worst'])}..{_num(row['goalpost_best'])}; {row['method_type']} of "
                f"{row['source_table']}, "
                f"{_num(row['rows_used'], 0)} row(s) counted; quality {row['quality_flag']}"
            )
        )
        for f in ex.files[ex.files["indicator_code"] == row["code"]].itertuples():
            numerator = f", {int(f.rows_in_numerator)} in numerator" if pd.notna(f.rows_in_numerator) else ""
            source = escape(str(f.raw_file))  # a file's name as the OPD gave it: `[final].csv` is text
            branch.add(whole(f"{f.rows_counted} row(s){numerator} from {source} sha256 {f.raw_sha256}"))

    for _, child in ex.children(index["code"]).iterrows():
        node(tree, child)
    wide = Console(width=max(console.width, max(widths) + 6 * 4), soft_wrap=False)  # 4 columns per tree level
    wide.print(tree)
    console.print(
        f"warehouse: {shown}; the same chain in SQL: v_lineage_scores → v_lineage_rows (docs/evaluators/warehouse.md)"
    )


# --- masterplan (kotacerdas.masterplan): the template, the plan's review, programme status ----------------------
masterplan_app = typer.Typer(
    help="The Masterplan Smart City: Excel template, review, monthly status.", no_args_is_help=True
)
app.add_typer(masterplan_app, name="masterplan")


def _masterplan_files(project: ProjectConfig, city: list[str] | None, file: Path | None):
    """(path, plan) of the given file, or of the version in force now of each city (latest)."""
    from kotacerdas.masterplan import load_history, load_masterplan

    opds, indicators = [o.code for o in project.cities.opds], [i.code for i in project.catalog.indicators]
    if file is not None:
        return [(file, load_masterplan(file, opd_codes=opds, indicator_codes=indicators))]
    out = []
    for code in _cities(project, city):
        history = load_history(project.masterplan_dir, code, opd_codes=opds, indicator_codes=indicators)
        if not history.versions:
            raise KotacerdasError(
                f"no masterplan for {code} in {project.masterplan_dir / code}",
                hint="fill the template (kotacerdas masterplan template) and save it there",
            )
        out.append(history.versions[-1])
    return out


@masterplan_app.command("template")
def masterplan_template(
    out: Annotated[Path, typer.Option(help="the .xlsx to write")],
    source: Annotated[Path | None, typer.Option("--from", help="a masterplan file to fill it with")] = None,
) -> None:
    """Write the Excel template Bappeda fills in (empty, or holding an existing masterplan); the same reader
    loads it back (save it under config/masterplan/<city>/<version>.xlsx)."""
    from kotacerdas.masterplan import load_masterplan
    from kotacerdas.masterplan.excel import write_template

    path = write_template(out, load_masterplan(source) if source else None)
    console.print(f"template written: {path}")


@masterplan_app.command("check")
def masterplan_check(
    city: Annotated[list[str] | None, typer.Option(help="city code (repeatable); default all")] = None,
    file: Annotated[Path | None, typer.Option(help="check this file (YAML or .xlsx) instead")] = None,
    strict: Annotated[bool, typer.Option(help="exit 1 when anything is found")] = False,
) -> None:
    """Review a masterplan: programmes without output/outcome indicator, OPD or budget, targets without
    baseline, RPJMD targets no programme serves; a completeness score per dimension."""
    from kotacerdas.masterplan.check import review

    found_any = False
    for path, plan in _masterplan_files(ProjectConfig(), city, file):
        findings, completeness = review(plan)
        found_any |= not findings.empty
        table = Table(title=f"{plan.city_code} masterplan {plan.version} ({path})", box=box.SIMPLE_HEAD)
        for col in ("dimension", "programme", "finding", "detail"):
            table.add_column(col)
        for r in findings.itertuples():
            table.add_row(*_plain(r.dimension, r.programme_code, r.finding, r.detail))
        console.print(table)
        scores = Table(title="completeness per dimension (share of the review's criteria met)", box=box.SIMPLE_HEAD)
        for col in ("dimension", "programmes", "criteria met", "completeness"):
            scores.add_column(col, justify="left" if col == "dimension" else "right")
        for r in completeness.itertuples():
            scores.add_row(r.dimension, str(r.programmes), f"{r.criteria_met}/{r.criteria}", _num(r.completeness, 1))
        console.print(scores)
    if strict and found_any:
        raise typer.Exit(1)


def print_masterplan(cities: list[str], months: list[str], required: bool = False) -> pd.DataFrame:
    """The short masterplan status per city in the last month: programmes per status, quick wins delivered/due.
    Nothing published is an error when `required` (`masterplan status`), a note after a run."""
    from kotacerdas.report.masterplan import read_masterplan_summary

    summary, _ = _read_warehouse(read_masterplan_summary, cities, months[-1:])
    table = Table(
        title=f"Masterplan Smart City, {months[-1]}: programmes by status (config/masterplan/status_rules.yaml)",
        box=box.SIMPLE_HEAD,
        caption="unknown: no usable OPD report that month (missing, late or rejected)"
        + ("" if required else "; `kotacerdas masterplan status` lists the programmes"),
    )
    for col in ("city", "on track", "at risk", "late", "done", "unknown", "quick wins delivered/due", "absorption"):
        table.add_column(col, justify="left" if col == "city" else "right", no_wrap=True)
    for r in summary.itertuples():
        table.add_row(
            r.city_code,
            *(str(int(v)) for v in (r.on_track, r.at_risk, r.late, r.done, r.unknown)),
            f"{int(r.quick_wins_delivered)}/{int(r.quick_wins_due)}",
            "—" if pd.isna(r.budget_absorption) else f"{format_half_up(100 * r.budget_absorption, 1)} %",
        )
    if summary.empty and required:
        raise KotacerdasError(
            f"no masterplan status published for {', '.join(cities)} in {months[-1]}", hint="run the pipeline"
        )
    if summary.empty:
        err_console.print(f"[yellow]no masterplan status published for {', '.join(cities)} in {months[-1]}[/]")
    else:
        console.print(table)
    return summary


@masterplan_app.command("status")
def masterplan_status(
    period: Annotated[str | None, typer.Option(help="YYYY-MM; default: the latest month published")] = None,
    city: Annotated[list[str] | None, typer.Option(help="city code (repeatable); default all")] = None,
) -> None:
    """Each programme's published status in a month (from the warehouse's v_masterplan_status view)."""
    from kotacerdas.report.masterplan import latest_masterplan_period, read_programmes, read_readiness

    cities = _cities(ProjectConfig(), city)
    if period is None:
        latest, _ = _read_warehouse(latest_masterplan_period, cities)
        if latest is None:
            raise KotacerdasError(
                f"no masterplan status published for {', '.join(cities)}",
                hint="run the pipeline first (make demo, or kotacerdas run --months YYYY-MM)",
            )
        period = latest
        err_console.print(f"period {period}: the latest month published (--period YYYY-MM for another)")
    else:
        one_month(period)
    print_masterplan(cities, [period], required=True)
    for code in cities:
        rows, _ = _read_warehouse(read_programmes, code, period)
        if rows.empty:
            raise KotacerdasError(f"no masterplan status published for {code} in {period}", hint="run the pipeline")
        table = Table(title=f"{code} {period}, masterplan {rows['masterplan_version'].iloc[0]}", box=box.SIMPLE_HEAD)
        for col in ("programme", "OPD", "status", "planned", "actual", "absorption", "why"):
            table.add_column(col, justify="right" if col in ("planned", "actual", "absorption") else "left")
        for r in rows.itertuples():
            qw = f" (quick win {r.quick_win_stage})" if isinstance(r.quick_win_stage, str) else ""
            table.add_row(
                *_plain(
                    f"{r.programme_code}{qw}",
                    str(r.opd_code),
                    r.status,
                    _num(r.planned_progress, 1),
                    _num(r.actual_progress, 1),
                    _num(None if pd.isna(r.budget_absorption) else 100 * r.budget_absorption, 1),
                    r.status_reason,
                )
            )
        console.print(table)
        ready, _ = _read_warehouse(read_readiness, code, period)
        if not ready.empty:
            card = Table(
                title=f"{code} {period}: evaluation readiness per Kominfo component (self-assessed, 1–5)",
                box=box.SIMPLE_HEAD,
                caption=f"{ready['methodology'].iloc[0]} {ready['methodology_version'].iloc[0]}; "
                "docs/bappeda/masterplan.md says what each counts",
            )
            for col in ("component", "self", "official", "evidence"):
                card.add_column(col, justify="right" if col in ("self", "official") else "left")
            for r in ready.itertuples():
                card.add_row(*_plain(r.component, _num(r.self_score), _num(r.official_score), r.evidence))
            console.print(card)


@masterplan_app.command("explain")
def masterplan_explain(
    city: Annotated[str, typer.Option(help="city code, e.g. 19.71")],
    period: Annotated[str, typer.Option(help="YYYY-MM")],
    programme: Annotated[str, typer.Option(help="programme code, e.g. GOV-01")],
) -> None:
    """A programme's status down to the OPD report rows and raw files behind it, and when the OPD delivered."""
    from kotacerdas.report.masterplan import explain_programme

    one_month(period)
    ProjectConfig().city_codes([city])
    ex, shown = _read_warehouse(explain_programme, city, period, programme)
    s = ex.status
    console.print(
        f"[bold]{escape(f'{city} {period} {programme}')}[/] {escape(str(s['programme_name']))} ({s['opd_code']}), "
        f"masterplan {escape(str(s['masterplan_version']))}, rules {escape(str(s['rules_version']))}: "
        f"[bold]{s['status']}[/] — {escape(str(s['status_reason']))}"
    )
    console.print(
        f"  planned {_num(s['planned_progress'], 1)} %, reported {_num(s['actual_progress'], 1)} %; budget "
        f"{_num(s['budget_realised'], 0)} of {_num(s['budget_year'], 0)}; report {s['report_status']}",
        markup=False,
    )
    for i in ex.indicators.itertuples():
        console.print(
            f"  {i.kind} {i.indicator_code}: value {_num(i.value)} {i.unit}, baseline {_num(i.baseline)}, "
            f"target {_num(i.target)} → achievement {_num(i.achievement, 3)}",
            markup=False,  # what the OPD reported: its brackets are text
        )
    for t in ex.timeliness.itertuples():
        console.print(
            f"  OPD {t.opd_code} delivery of masterplan_progress: {t.status} (due {_when(t.due_at)}, "
            f"{_when(t.received_at, 'nothing received', 'received ')}); {_count(t.rows_valid)} valid, "
            f"{_count(t.rows_rejected)} rejected row(s)",
            soft_wrap=True,  # one line per delivery, as the report rows below
            markup=False,
        )
    for r in ex.reports.to_dict("records"):  # not itertuples: it renames the _raw_* columns
        console.print(
            f"  report row {r['_raw_file']} row {r['_raw_row']} sha256 {r['_raw_sha256']}: progress "
            f"{_num(r['physical_progress'], 1)} %, {r['indicator_code'] or '-'} = {_num(r['indicator_value'])}; "
            f"{r['evidence_url']}",
            overflow="ignore",
            crop=False,
            markup=False,
        )
    console.print(f"warehouse: {shown}; in SQL: v_masterplan_status → v_masterplan_reports, v_opd_quality")


def main() -> None:
    try:
        app()
    except KotacerdasError as exc:
        # a message may quote what a file or server sent: its square brackets are text, not markup
        err_console.print(f"[red]error:[/] {escape(exc.message)}", overflow="ignore", crop=False)
        if exc.hint:
            err_console.print(f"[yellow]what to do:[/] {escape(exc.hint)}", overflow="ignore", crop=False)
        raise SystemExit(2) from exc
    except DBAPIError as exc:  # the warehouse could not be opened or read: its own words, no traceback
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
        err_console.print(
            f"[red]error:[/] the warehouse could not be read: {escape(reason)}", overflow="ignore", crop=False
        )
        hint = (
            "this command needs the login that owns the warehouse: an evaluator's read-only login reads the views "
            "only (KOTACERDAS_WAREHOUSE_URL names the login)"
            if "permission denied" in reason.lower()
            else "check KOTACERDAS_WAREHOUSE_URL, and that no other process holds an embedded DuckDB file open for "
            "writing"
        )
        err_console.print(f"[yellow]what to do:[/] {hint}", overflow="ignore", crop=False)
        raise SystemExit(2) from exc
    except Exception as exc:  # a bug, not the user's input: one scrubbed line, the traceback only when asked for
        if environment().get(DEBUG_ENV):
            raise
        err_console.print(
            f"[red]internal error:[/] {type(exc).__name__}: {escape(scrub_text(str(exc)))}",
            overflow="ignore",
            crop=False,
        )
        err_console.print(
            f"[yellow]what to do:[/] this is a bug in kotacerdas, not in your data or settings: run the command again "
            f"with {DEBUG_ENV}=1 for the traceback and report it (the message above is scrubbed of personal data)",
            overflow="ignore",
            crop=False,
        )
        raise SystemExit(1) from exc


if __name__ == "__main__":
    main()
