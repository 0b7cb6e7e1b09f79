"""Write the scorecards, the national page and the exports of a period: what `kotacerdas report` / `export` and the
`scorecards` asset call."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa

from kotacerdas.config import ProjectConfig
from kotacerdas.report.drawing import PageSet, draw_pages, workers_for
from kotacerdas.report.export_frames import read_export_tables
from kotacerdas.report.exports import FORMATS, write_export
from kotacerdas.report.labels import LANGUAGES, load_labels, maturity_methodology
from kotacerdas.report.national_page import build_national_html, write_national
from kotacerdas.report.reader import TREND_MONTHS, published_partitions, read_national_data, read_scorecards_data
from kotacerdas.report.views import month_offset


def write_scorecards(
    engine: sa.Engine,
    project: ProjectConfig,
    cities: list[str],
    period: str,
    out_dir: Path,
    languages: tuple[str, ...] = LANGUAGES,
    national: bool = True,
    *,
    processes: int | None = None,
    generated: dt.datetime | None = None,
) -> list[Path]:
    """A scorecard per city and language, and the national page of the period (linking to them).

    `processes`: worker processes that may draw the pages of many cities (`report_processes` of
    config/pipeline.yaml when None); `generated`: the time the pages say they were made (now when None)."""
    pages = PageSet(
        project=project,
        labels={lang: load_labels(project, lang) for lang in languages},
        out_dir=out_dir,
        period=period,
        generated=generated or dt.datetime.now(dt.UTC),
    )
    min_coverage = maturity_methodology(project).min_coverage
    period_cache: dict = {}  # the Monte Carlo, the ranking, the catalogue: the same on every page of the period
    scorecards = read_scorecards_data(engine, cities, period, min_coverage=min_coverage, period_cache=period_cache)
    workers = workers_for(project.pipeline.report_processes if processes is None else processes, len(cities))
    written = draw_pages(pages, scorecards, workers)
    if national:
        nat = read_national_data(engine, period)
        present = {p.name.split("_")[1] for p in out_dir.glob(f"scorecard_*_{period}_*.html")}
        for lang in languages:
            html = build_national_html(nat, pages.labels[lang], project, scorecards=present | set(cities))
            written.append(write_national(html, out_dir, period, lang))
    return written


def pages_to_refresh(engine: sa.Engine, project: ProjectConfig, written: dict[str, list[str]]) -> dict[str, list[str]]:
    """Scorecards made earlier that the run's publications made stale: period -> cities to write again.

    A page shows figures of other partitions: its rank among the month's cities, its change since the previous
    month and the same month a year earlier, and its trend over `TREND_MONTHS`. So after a run has published
    (city, month) pairs (`written`: period -> cities):
    - the same city's later months (within the trend window) that are published are written again;
    - once a month has every city of config/cities.yaml published, its other cities' pages are written again, so
      every rank of the month agrees with the national page. Before that a page says its rank is provisional.
    """
    expected = {c.code for c in project.cities.cities}
    later = {
        (city, shifted)
        for period, cities in written.items()
        for city in cities
        for shifted in (month_offset(period, k) for k in range(1, TREND_MONTHS + 1))
    }
    candidates = sorted({p for _, p in later} | set(written))
    published = published_partitions(engine, candidates)
    refresh: dict[str, set[str]] = {}
    for city, period in later & published:
        if city not in written.get(period, []):
            refresh.setdefault(period, set()).add(city)
    for period, cities in written.items():
        present = {c for c, p in published if p == period}
        if expected <= present:
            others = present - set(cities)
            if others:
                refresh.setdefault(period, set()).update(others)
    return {p: sorted(c) for p, c in sorted(refresh.items())}


def write_exports(
    engine: sa.Engine,
    project: ProjectConfig,
    out_dir: Path,
    formats: tuple[str, ...] = FORMATS,
    cities: list[str] | None = None,
    periods: list[str] | None = None,
    lang: str = LANGUAGES[0],
) -> list[Path]:
    labels = load_labels(project, lang)
    tables = read_export_tables(engine, project, labels, cities, periods)
    return [path for fmt in formats for path in write_export(tables, labels, fmt, out_dir)]
