"""Write the scorecards, the national page and the exports of a period: what `kotacerdas report` / `export` and the
`scorecards` asset call."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from kotacerdas.config import ProjectConfig
from kotacerdas.report.export_frames import read_export_tables
from kotacerdas.report.exports import FORMATS, write_export
from kotacerdas.report.labels import LANGUAGES, load_labels, maturity_methodology
from kotacerdas.report.national_page import build_national_html, write_national
from kotacerdas.report.reader import read_national_data, read_scorecard_data
from kotacerdas.report.scorecard_page import build_scorecard_html, trend_chart, write_scorecard


def write_scorecards(
    engine: sa.Engine,
    project: ProjectConfig,
    cities: list[str],
    period: str,
    out_dir: Path,
    languages: tuple[str, ...] = LANGUAGES,
    national: bool = True,
) -> list[Path]:
    """A scorecard per city and language, and the national page of the period (linking to them)."""
    labels = {lang: load_labels(project, lang) for lang in languages}
    min_coverage = maturity_methodology(project).min_coverage
    written = []
    uncertainty: dict = {}  # the Monte Carlo covers every city of the period: once per methodology version
    for city in cities:
        data = read_scorecard_data(engine, city, period, min_coverage=min_coverage, uncertainty_cache=uncertainty)
        trend = trend_chart(data, labels[languages[0]])  # no words in it: drawn once for every language
        for lang in languages:
            html = build_scorecard_html(data, labels[lang], project, trend=trend)
            written.append(write_scorecard(html, out_dir, city, period, lang))
    if national:
        nat = read_national_data(engine, period)
        present = {p.name.split("_")[1] for p in out_dir.glob(f"scorecard_*_{period}_*.html")}
        for lang in languages:
            html = build_national_html(nat, labels[lang], project, scorecards=present | set(cities))
            written.append(write_national(html, out_dir, period, lang))
    return written


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
