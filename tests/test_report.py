"""Scorecards, the national page and the exports, on a warehouse the pipeline filled from the OPD simulator (2 cities ×
3 months and the yearly job, one run shared by this module): rendered in headless Chromium, each export checked
against its format, the CLI's conventions on real output."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from conftest import OPD_TEST_TOKEN, REFERENCE, REPO_ROOT, edited_project

from kotacerdas.rounding import format_half_up
from kotacerdas.simulator import write_file_drops
from pipelines.definitions import YEARLY_JOB, defs
from pipelines.runner import run_backfill

CITIES = ("19.71", "19.03")
MONTHS = ("2025-01", "2025-02", "2025-03")
CLI = Path(sys.executable).with_name("kotacerdas")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, opd_project, opd_simulator):
    """One pipeline run for the module: DuckDB warehouse, reports folder, environment for the CLI."""
    tmp = tmp_path_factory.mktemp("report")
    env = {
        "KOTACERDAS_OPD_API_URL": opd_simulator.url,
        "KOTACERDAS_OPD_API_TOKEN": OPD_TEST_TOKEN,
        "KOTACERDAS_LANDING_DIR": str(tmp / "landing"),
        "KOTACERDAS_RAW_DIR": str(tmp / "raw"),
        "KOTACERDAS_REPORTS_DIR": str(tmp / "reports"),
        "KOTACERDAS_WAREHOUSE_URL": f"duckdb:///{tmp / 'warehouse.duckdb'}",
        "KOTACERDAS_PII_KEY": "report-test-pii-key",
    }
    write_file_drops(opd_project, tmp / "landing", list(CITIES), list(MONTHS), seed=42, years=["2025"])
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        instance = dg.DagsterInstance.ephemeral()
        monthly = run_backfill(defs, [(c, m) for c in CITIES for m in MONTHS], instance=instance, log_level="ERROR")
        yearly = run_backfill(defs, [(c, "2025") for c in CITIES], instance=instance, job_name=YEARLY_JOB)
        assert all(o.success for o in monthly + yearly), [o.problems for o in monthly + yearly]
        # no pooled connection left open: DuckDB lets one process at a time open the file, and the CLI is another
        engine = sa.create_engine(env["KOTACERDAS_WAREHOUSE_URL"], poolclass=sa.pool.NullPool)
        yield {"engine": engine, "env": env, "tmp": tmp}
        engine.dispose()


def _cli(warehouse, *args: str, columns: int = 100) -> subprocess.CompletedProcess:
    env = {**os.environ, **warehouse["env"], "COLUMNS": str(columns), "DAGSTER_HOME": str(warehouse["tmp"])}
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=300)


def _index(engine, city: str, period: str) -> float:
    with engine.connect() as conn:
        return conn.exec_driver_sql(
            f"SELECT score FROM index_scores WHERE level = 'index' AND city_code = '{city}' AND period = '{period}'"
        ).scalar_one()


def _dimension_names(lang: str) -> list[str]:
    """Read straight from the methodology file, as a person would look them up."""
    method = yaml.safe_load((REPO_ROOT / "config/methodologies/maturity-v1.yaml").read_text(encoding="utf-8"))
    return [d[f"name_{lang}"] for d in method["dimensions"].values()]


def _status_labels() -> dict[str, dict[str, str]]:
    """The programme statuses a scorecard counts, with their names, read straight from config."""
    rules = yaml.safe_load((REPO_ROOT / "config/masterplan/status_rules.yaml").read_text(encoding="utf-8"))
    return {k: v for k, v in rules["labels"].items() if k != "not_started"}


class _Tables(HTMLParser):
    """The text of each cell of the tables of a page, by table id (and the text of elements with an id)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.by_id: dict[str, str] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._open: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        ident = dict(attrs).get("id")
        if tag == "table" and ident:
            self._table = ident
            self.tables[ident] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []
        self._open.append((tag, ident))
        if ident:
            self.by_id.setdefault(ident, "")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._table and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        for _, ident in self._open:
            if ident:
                self.by_id[ident] += data


def _parse(html: str) -> _Tables:
    parser = _Tables()
    parser.feed(html)
    return parser


# --- pages ----------------------------------------------------------------------------------------------------


def test_scorecard_and_national_page_render_offline_in_headless_chromium(warehouse, tmp_path):
    from kotacerdas.report.browser import visit

    out, shot = tmp_path / "pages", tmp_path / "scorecard.png"
    done = _cli(
        warehouse,
        "report",
        "--city",
        "19.71",
        "--period",
        "2025-03",
        "--out",
        str(out),
        "--all-languages",
        "--screenshot",
        str(shot),
    )
    assert done.returncode == 0, done.stderr
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000

    page = visit(out / "scorecard_19.71_2025-03_id.html", tmp_path / "again.png")
    assert page.console_errors == [] and page.failed_requests == [] and page.remote_requests == []
    index = format_half_up(_index(warehouse["engine"], "19.71", "2025-03"), 2).replace(".", ",")
    for name in _dimension_names("id"):
        assert name in page.text, name
    assert "Kota Pangkalpinang" in page.text and index in page.text
    assert "Kota Pangkal Pinang" in page.text  # the Kemendagri list's spelling beside the city's own
    html = (out / "scorecard_19.71_2025-03_id.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing to fetch, not even a link target

    statuses = _status_labels()
    assert "Masterplan Smart City" in page.text and all(v["name_id"] in page.text for v in statuses.values())

    english = visit(out / "scorecard_19.71_2025-03_en.html")
    assert english.clean and all(name in english.text for name in _dimension_names("en"))
    assert "Smart City Masterplan" in english.text and all(v["name_en"] in english.text for v in statuses.values())
    assert format_half_up(_index(warehouse["engine"], "19.71", "2025-03"), 2) in english.text

    national = visit(out / "national_2025-03_id.html", tmp_path / "national.png")
    assert national.clean, (national.console_errors, national.failed_requests, national.remote_requests)
    for city, name in (("19.71", "Kota Pangkalpinang"), ("19.03", "Kabupaten Bangka Selatan")):
        assert name in national.text
        assert format_half_up(_index(warehouse["engine"], city, "2025-03"), 2).replace(".", ",") in national.text


def test_national_page_filters_by_peer_group(warehouse, tmp_path):
    from playwright.sync_api import sync_playwright

    from kotacerdas.report.browser import CHROMIUM_ARGS, chromium_path

    done = _cli(
        warehouse, "report", "--city", "19.71", "--city", "19.03", "--period", "2025-03", "--out", str(tmp_path)
    )
    assert done.returncode == 0, done.stderr
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        page = context.new_page()
        page.goto((tmp_path / "national_2025-03_id.html").as_uri())
        rows = page.locator("tbody tr")
        assert rows.count() == 2 and page.inner_text("#shown") == "2"
        page.select_option("#filter-kind", "kota")  # peer group: kota only
        visible = [r for r in rows.all() if r.is_visible()]
        assert [r.get_attribute("data-kind") for r in visible] == ["kota"] and page.inner_text("#shown") == "1"
        assert "Kota Pangkalpinang" in visible[0].inner_text()
        assert visible[0].locator(".rank-shown").inner_text() == "1"  # numbered within the filter
        page.select_option("#filter-kind", "")
        page.select_option("#filter-province", "19")
        assert page.inner_text("#shown") == "2"
        context.close()


def test_the_asset_wrote_scorecards_national_pages_and_exports_after_publishing(warehouse):
    folder = warehouse["tmp"] / "reports" / "2025-02"
    for city in CITIES:
        for lang in ("id", "en"):
            assert (folder / f"scorecard_{city}_2025-02_{lang}.html").is_file()
    assert (folder / "national_2025-02_id.html").is_file()
    names = {p.name for p in (folder / "exports").iterdir()}
    assert {"indices.csv", "kotacerdas_scores.xlsx", "kotacerdas_sdmx.csv", "kotacerdas_kpi.json"} <= names


def _rank_on_page(path: Path) -> tuple[int, int]:
    found = re.search(r"Rank (\d+) of (\d+) cities", path.read_text(encoding="utf-8"))
    assert found, f"no rank on {path.name}"
    return int(found.group(1)), int(found.group(2))


def test_every_scorecard_ranks_its_city_as_the_national_page_does(warehouse):
    """The fixture publishes one city's three months, then the other's: the first city's pages, written when it
    was alone, were written again once the other city completed each month (pages_to_refresh)."""
    for month in MONTHS:
        ranking = pd.read_sql(
            sa.text("SELECT city_code, rank_overall FROM v_ranking WHERE period = :p AND level = 'index'"),
            warehouse["engine"],
            params={"p": month},
        ).set_index("city_code")["rank_overall"]
        for city in CITIES:
            page = warehouse["tmp"] / "reports" / month / f"scorecard_{city}_{month}_en.html"
            assert _rank_on_page(page) == (int(ranking[city]), len(CITIES)), page.name


def test_a_publication_makes_the_pages_that_show_its_figures_stale(warehouse, opd_project, tmp_path):
    from kotacerdas.report.build import pages_to_refresh, write_scorecards

    engine = warehouse["engine"]
    # 19.71's January changes its rank in January, and its change and trend in February and March
    assert pages_to_refresh(engine, opd_project, {"2025-01": ["19.71"]}) == {
        "2025-01": ["19.03"],
        "2025-02": ["19.71"],
        "2025-03": ["19.71"],
    }
    assert pages_to_refresh(engine, opd_project, {"2025-03": list(CITIES)}) == {}  # nothing later, nobody else

    # with a third city expected, no month is complete: only the later months of the same city, and the page
    # says its rank is provisional
    def third_city(data):
        data["cities"].append(dict(data["cities"][0], code="19.04", name="Kabupaten Bangka Tengah"))

    wider = edited_project(tmp_path, opd_project, edit_cities=third_city)
    assert pages_to_refresh(engine, wider, {"2025-01": ["19.71"]}) == {"2025-02": ["19.71"], "2025-03": ["19.71"]}
    [page] = [p for p in write_scorecards(engine, wider, ["19.71"], "2025-02", tmp_path / "out", ("en",), False)]
    assert "provisional: 2 of 3 cities published for this period so far" in page.read_text(encoding="utf-8")


# --- what a scorecard says --------------------------------------------------------------------------------------


def test_changes_compare_only_complete_periods_of_the_same_methodology(warehouse):
    from kotacerdas.report.reader import read_scorecard_data

    data = read_scorecard_data(warehouse["engine"], "19.71", "2025-03", with_uncertainty=False)
    expected = _index(warehouse["engine"], "19.71", "2025-03") - _index(warehouse["engine"], "19.71", "2025-02")
    assert data.change("index", "INDEX", 1).value == pytest.approx(expected, abs=1e-12)
    assert data.change("index", "INDEX", 12).value is None  # 2024-03 was never published
    # a baseline published with missing inputs is never compared against
    marked = data.history.assign(status=["incomplete" if p == "2025-02" else None for p in data.history["period"]])
    assert dataclasses.replace(data, history=marked).change("index", "INDEX", 1).value is None
    # nor one made by another methodology version
    periods, versions = data.history["period"], data.history["methodology_version"]
    other = data.history.assign(
        methodology_version=["0.9" if p == "2025-02" else v for p, v in zip(periods, versions, strict=True)]
    )
    assert dataclasses.replace(data, history=other).change("dimension", "governance", 1).value is None


def test_uncertainty_band_holds_the_published_index_and_ranks_within_the_cities(warehouse):
    from kotacerdas.report.reader import read_scorecard_data

    data = read_scorecard_data(warehouse["engine"], "19.71", "2025-03", min_coverage=0.5)
    bands = data.uncertainty.bands.set_index("city_code")
    for city in CITIES:
        published = _index(warehouse["engine"], city, "2025-03")
        # the engine re-aggregates the published indicator scores with the methodology's weights: same index
        assert bands.at[city, "nominal_score"] == pytest.approx(published, abs=1e-9)
        assert bands.at[city, "score_q05"] <= published <= bands.at[city, "score_q95"]
        assert bands.at[city, "score_q95"] - bands.at[city, "score_q05"] > 0  # ±25 % weights move it
        assert 1 <= bands.at[city, "rank_q05"] <= bands.at[city, "rank_q95"] <= len(CITIES)


def test_the_uncertainty_band_does_not_depend_on_the_order_the_warehouse_returns_rows(warehouse, monkeypatch):
    # DuckDB returns a DISTINCT or a parallel scan in any order, and each run's random draws go to the weights in the
    # tree's order: a page drawn twice showed 63,21 once and 63,20 the next time
    from kotacerdas.report import reader, uncertainty

    captured = {}
    real = uncertainty.index_uncertainty
    spy = lambda s, t, **k: captured.update(s=s, t=t, k=k) or real(s, t, **k)  # noqa: E731
    monkeypatch.setattr(reader, "index_uncertainty", spy)
    with warehouse["engine"].connect() as conn:
        first = reader.read_uncertainty(conn, "2025-03", "smart-city-maturity", "1.0.0", 0.5)
    assert set(first.bands["city_code"]) == set(CITIES)
    scores, tree, kwargs = captured["s"], captured["t"], captured["k"]
    for seed in (1, 2, 3):
        shuffled = real(scores.sample(frac=1, random_state=seed), tree.sample(frac=1, random_state=seed), **kwargs)
        pd.testing.assert_frame_equal(shuffled.bands, first.bands)


def test_the_monte_carlo_of_a_month_runs_once_for_all_its_scorecards(warehouse, monkeypatch):
    # it covers every city of the month, so rerunning it per city made the report stage quadratic in cities
    from kotacerdas.report import reader

    calls = []
    real = reader.read_uncertainty
    monkeypatch.setattr(reader, "read_uncertainty", lambda *a, **k: calls.append(a[1:]) or real(*a, **k))
    cache: dict = {}
    first, second = (
        reader.read_scorecard_data(warehouse["engine"], city, "2025-03", min_coverage=0.5, period_cache=cache)
        for city in CITIES
    )
    assert len(calls) == 1 and calls[0][0] == "2025-03"
    assert first.uncertainty is second.uncertainty and len(first.uncertainty.bands) == len(CITIES)


def test_scorecards_read_together_show_what_each_read_alone_shows(warehouse, monkeypatch):
    # the report stage reads each view once for many cities and splits the rows by city; a city must get exactly its
    # own rows, in the order a read of that city alone gives (one city per query is the reference)
    from kotacerdas.report import reader

    engine = warehouse["engine"]
    statements = []

    def count(conn, cursor, statement, *rest):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        together = list(reader.read_scorecards_data(engine, list(CITIES), "2025-03", with_uncertainty=False))
        read_together = len(statements)
        monkeypatch.setattr(reader, "CITIES_PER_READ", 1)
        alone = list(reader.read_scorecards_data(engine, list(CITIES), "2025-03", with_uncertainty=False))
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert read_together < len(statements) - read_together  # fewer statements together than one city at a time
    assert [d.city_code for d in together] == list(CITIES)
    for a, b in zip(together, alone, strict=True):
        assert a.region == b.region
        for name in ("history", "indicators", "ranking", "opd_league", "opd_quality", "quality"):
            pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), obj=f"{a.city_code} {name}")
        assert set(a.history["city_code"]) == {a.city_code} and not a.opd_league.empty and not a.quality.empty
        pd.testing.assert_frame_equal(a.explanation.scores, b.explanation.scores)
        pd.testing.assert_frame_equal(a.explanation.files, b.explanation.files)
        assert a.regulators.keys() == b.regulators.keys()
        for key in a.regulators:
            pd.testing.assert_frame_equal(a.regulators[key], b.regulators[key], obj=f"{a.city_code} {key}")
        assert (a.masterplan is None) == (b.masterplan is None)
        if a.masterplan is not None:
            assert (a.masterplan.version, a.masterplan.unserved) == (b.masterplan.version, b.masterplan.unserved)
            pd.testing.assert_series_equal(a.masterplan.city, b.masterplan.city)
            pd.testing.assert_frame_equal(a.masterplan.dimensions, b.masterplan.dimensions)
            pd.testing.assert_frame_equal(a.masterplan.readiness, b.masterplan.readiness)
    assert together[0].history["score"].tolist() != together[1].history["score"].tolist()
    assert any(d.masterplan is not None for d in together) and any(not d.explanation.files.empty for d in together)


def test_pages_drawn_in_worker_processes_are_the_pages_drawn_here(warehouse, opd_project, tmp_path, monkeypatch):
    # a run of many cities draws its pages in spawned workers: each page must be byte for byte the one drawn in the
    # step's own process, and come back in the cities' order
    import datetime as dt
    import multiprocessing

    from kotacerdas.report import drawing
    from kotacerdas.report.labels import LANGUAGES, load_labels
    from kotacerdas.report.reader import read_scorecards_data

    def pages(out: Path) -> drawing.PageSet:
        labels = {lang: load_labels(opd_project, lang) for lang in LANGUAGES}
        return drawing.PageSet(opd_project, labels, out, "2025-03", dt.datetime(2026, 4, 1, 9, 30, tzinfo=dt.UTC))

    def read():
        return read_scorecards_data(warehouse["engine"], list(CITIES), "2025-03", min_coverage=0.5)

    monkeypatch.setattr(drawing, "CITIES_PER_TASK", 1)  # a task per city: both workers draw
    here = drawing.draw_pages(pages(tmp_path / "here"), read(), workers=0)
    there = drawing.draw_pages(pages(tmp_path / "there"), read(), workers=2)
    assert [p.name for p in there] == [p.name for p in here] and len(here) == len(CITIES) * len(LANGUAGES)
    for a, b in zip(here, there, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    assert "<svg" in here[0].read_text(encoding="utf-8")

    # a worker's failure is the caller's, with its own type, and no worker is left behind
    (tmp_path / "a_file").write_text("not a folder", encoding="utf-8")
    with pytest.raises(FileExistsError):
        drawing.draw_pages(pages(tmp_path / "a_file"), read(), workers=2)
    assert not multiprocessing.active_children()


def test_workers_draw_pages_only_where_two_of_them_pay_off():
    from kotacerdas.report.drawing import MIN_CITIES_PER_PROCESS, workers_for

    assert workers_for(2, 1, cpus=8) == 0 and workers_for(1, 514, cpus=8) == 0
    assert workers_for(2, 2 * MIN_CITIES_PER_PROCESS - 1, cpus=8) == 0
    assert workers_for(2, 2 * MIN_CITIES_PER_PROCESS, cpus=8) == 2 and workers_for(2, 514, cpus=8) == 2
    assert workers_for(8, 514, cpus=8) == 8 and workers_for(64, 514, cpus=64) == 514 // MIN_CITIES_PER_PROCESS
    # never more workers than CPUs to run them: one CPU draws in the step's own process
    assert workers_for(8, 514, cpus=4) == 4 and workers_for(2, 514, cpus=1) == 0


def test_a_worker_stops_when_its_parent_is_killed_outright(tmp_path):
    # an OOM kill of the run worker leaves no pool to stop its workers: each must stop by itself, not hold memory
    import signal
    import time

    import psutil

    script = tmp_path / "parent.py"
    script.write_text(
        "import multiprocessing, os, time\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "from kotacerdas.report import drawing\n"
        "def pid(_):\n"
        "    time.sleep(0.2)\n"
        "    return os.getpid()\n"
        "if __name__ == '__main__':\n"
        "    spawn = multiprocessing.get_context('spawn')\n"
        "    pool = ProcessPoolExecutor(2, mp_context=spawn, initializer=drawing._start, initargs=(None,))\n"
        "    print(*sorted(set(pool.map(pid, range(8)))), flush=True)\n"
        "    time.sleep(600)\n",
        encoding="utf-8",
    )
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT)
    try:
        workers = [psutil.Process(int(pid)) for pid in parent.stdout.readline().split()]
        assert workers and all(w.is_running() for w in workers)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)

    def alive(worker: psutil.Process) -> bool:
        try:
            return worker.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(alive(w) for w in workers):
        time.sleep(0.1)
    left = [w for w in workers if alive(w)]
    for worker in left:  # not to leave them behind when the check fails
        worker.kill()
    assert not left


def test_a_value_missing_for_one_city_but_not_its_neighbours_shows_as_missing_not_nan(warehouse, opd_project):
    # cities read together share each column's type: an OPD name missing for this city but present for another is NaN
    # in its rows (a text column), which a template takes for true; the page shows the OPD's code instead
    from kotacerdas.report.labels import load_labels
    from kotacerdas.report.reader import read_scorecard_data
    from kotacerdas.report.scorecard_page import build_scorecard_html

    data = read_scorecard_data(warehouse["engine"], "19.71", "2025-03", with_uncertainty=False)
    league = data.opd_league.astype({"opd_name": "str"})
    league.loc[league.index[0], "opd_name"] = float("nan")
    quality = data.opd_quality.astype({"status": "str"})
    quality.loc[:, "status"] = float("nan")
    unnamed = dataclasses.replace(data, opd_league=league, opd_quality=quality)
    html = build_scorecard_html(unnamed, load_labels(opd_project, "en"), opd_project)
    code = league.iloc[0]["opd_code"]
    assert f"<td>{code} <code>{code}</code></td>" in html
    assert ">nan<" not in html and ">nan " not in html


def test_the_masterplan_section_counts_programmes_per_status_and_dimension_and_shows_readiness(warehouse, opd_project):
    from kotacerdas.regulators import load_regulator_methodology
    from kotacerdas.report.labels import load_labels
    from kotacerdas.report.reader import read_scorecard_data
    from kotacerdas.report.scorecard_page import build_scorecard_html

    engine = warehouse["engine"]
    with engine.connect() as conn:
        rollups = pd.read_sql(
            "SELECT * FROM v_masterplan_rollups WHERE city_code = '19.71' AND period = '2025-03'", conn
        ).set_index(["level", "code"])
        ready = pd.read_sql(
            "SELECT * FROM v_masterplan_readiness WHERE city_code = '19.71' AND period = '2025-03'", conn
        ).set_index("component")
    data = read_scorecard_data(engine, "19.71", "2025-03", with_uncertainty=False)
    statuses = _status_labels()
    kominfo = load_regulator_methodology(opd_project.pipeline.kominfo_methodology, opd_project.dir)
    for lang in ("id", "en"):
        page = _parse(build_scorecard_html(data, load_labels(opd_project, lang), opd_project))
        table = page.tables["masterplan-status"]
        assert table[0][1:] == [v[f"name_{lang}"] for v in statuses.values()] + ["Jumlah" if lang == "id" else "Total"]
        dims = rollups.loc["dimension"]
        assert len(table) == len(dims) + 2 and len(dims) >= 3  # a row per dimension with programmes, and the total
        for row in table[1:-1]:
            code = _dimension_code(row[0])  # the dimension's name, as config names it
            expected = [str(int(dims.loc[code, s])) for s in statuses] + [str(int(dims.loc[code, "programmes"]))]
            assert row[1:] == expected, (code, row)
        city = rollups.loc[("city", "19.71")]
        assert table[-1][1:] == [str(int(city[s])) for s in statuses] + [str(int(city["programmes"]))]
        assert page.by_id["quick-wins"].split() == [str(city["quick_wins_delivered"]), "/", str(city["quick_wins_due"])]
        share = format_half_up(city["rpjmd_linked_share"] * 100, 1)
        assert page.by_id["rpjmd-share"].strip() == (share.replace(".", ",") if lang == "id" else share) + " %"
        readiness = page.tables["masterplan-readiness"]
        assert [r[0] for r in readiness[1:-1]] == [p.name for p in kominfo.parts.values()]

        def shown(value: float, lang: str = lang) -> str:
            text = format_half_up(value, 2)
            return text.replace(".", ",") if lang == "id" else text

        for row, part in zip(readiness[1:], [*kominfo.parts, "index"], strict=True):
            # the self-assessed score beside the official one: the yearly job published 2025's evaluation
            assert row[2] == shown(ready.loc[part, "self_score"])
            assert row[3] == shown(ready.loc[part, "official_score"])
            assert row[4].lstrip("+") == shown(ready.loc[part, "self_score"] - ready.loc[part, "official_score"])
            assert row[5] == ready.loc[part, "evidence"]
        assert readiness[-1][0] == ("Indeks evaluasi" if lang == "id" else "Evaluation index")
    assert "no previous evaluation" in ready.loc["baseline", "evidence"]  # the first evaluation loaded is 2025's


def _dimension_code(name: str) -> str:
    method = yaml.safe_load((REPO_ROOT / "config/methodologies/maturity-v1.yaml").read_text(encoding="utf-8"))
    return next(code for code, d in method["dimensions"].items() if name in (d["name_id"], d["name_en"]))


@pytest.fixture
def copied_warehouse(warehouse, tmp_path):
    """A copy of the module's warehouse a test may change (DuckDB file)."""
    path = Path(warehouse["env"]["KOTACERDAS_WAREHOUSE_URL"].removeprefix("duckdb:///"))
    for f in path.parent.glob(path.name + "*"):
        shutil.copy(f, tmp_path / f.name)
    engine = sa.create_engine(f"duckdb:///{tmp_path / path.name}", poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


def test_a_city_month_without_masterplan_says_so_and_an_incomplete_one_carries_its_status_everywhere(
    copied_warehouse, opd_project, tmp_path
):
    from kotacerdas.masterplan.status import empty_frames
    from kotacerdas.report.build import write_exports, write_scorecards
    from kotacerdas.warehouse.publish import publish_partition

    engine = copied_warehouse
    city, month = "19.03", "2025-03"
    # what the pipeline publishes when no masterplan version is in force, and a month published incomplete
    # (`kotacerdas run --allow-incomplete`) with an incomplete Kominfo figure of its year
    publish_partition(engine, city, month, empty_frames(), run_id="no-plan")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"UPDATE index_scores SET status = 'incomplete' WHERE city_code = '{city}' AND period = '{month}'"
        )
        conn.exec_driver_sql(
            f"UPDATE regulator_kominfo_evaluation SET status = 'incomplete', coverage = 0.8 WHERE city_code = '{city}'"
        )
        coverage = conn.exec_driver_sql(
            "SELECT data_coverage FROM index_scores WHERE level = 'index' AND city_code = ? AND period = ?",
            (city, month),
        ).scalar_one()
    shown = format_half_up(coverage * 100, 1).replace(".", ",") + " %"

    out = tmp_path / "pages"
    write_scorecards(engine, opd_project, [city, "19.71"], month, out)
    html = (out / f"scorecard_{city}_{month}_id.html").read_text(encoding="utf-8")
    page = _parse(html)
    assert "masterplan-none" in page.by_id and "masterplan-status" not in page.tables
    assert "belum memiliki masterplan" in page.by_id["masterplan-none"]
    assert "data tidak lengkap" in page.by_id["incomplete"] and shown in page.by_id["incomplete"]
    english = _parse((out / f"scorecard_{city}_{month}_en.html").read_text(encoding="utf-8"))
    assert "no smart-city masterplan" in english.by_id["masterplan-none"]
    assert "incomplete data" in english.by_id["incomplete"]
    other = _parse((out / f"scorecard_19.71_{month}_id.html").read_text(encoding="utf-8"))
    assert "incomplete" not in other.by_id and "masterplan-status" in other.tables
    national = _parse((out / f"national_{month}_id.html").read_text(encoding="utf-8")).tables["ranking"]
    row = next(r for r in national if any(city in c for c in r))
    assert any("data tidak lengkap" in c and shown in c for c in row)
    assert all("tidak lengkap" not in c for r in national if r is not row for c in r)

    exports = tmp_path / "exports"
    write_exports(engine, opd_project, exports, ("csv", "sdmx-csv"), periods=[month])
    indices = pd.read_csv(exports / "indices.csv", encoding="utf-8-sig", dtype={"city_code": str})
    by_city = indices.set_index("city_code")
    assert by_city.loc[city, "status"] == "incomplete" and by_city.loc["19.71", "status"] == "complete"
    assert by_city.loc[city, "data_coverage"] == pytest.approx(coverage)
    values = pd.read_csv(exports / "indicator_values.csv", encoding="utf-8-sig", dtype={"city_code": str})
    assert set(values[values["city_code"] == city]["status"]) == {"incomplete"}
    assert set(values[values["city_code"] == "19.71"]["status"]) == {"complete"}
    assert set(values["value_status"]) <= {"ok", "no_data"} and "data_coverage" in values.columns
    regulators = pd.read_csv(exports / "regulators.csv", encoding="utf-8-sig", dtype={"city_code": str})
    kominfo = regulators[regulators["regulator"] == "kominfo"].set_index("city_code")
    assert kominfo.loc[city, "status"] == "incomplete" and kominfo.loc[city, "coverage"] == 0.8
    assert kominfo.loc["19.71", "status"] == "complete"
    with (exports / "kotacerdas_sdmx.csv").open(encoding="utf-8", newline="") as fh:
        sdmx = list(csv.DictReader(fh))
    mine = [r for r in sdmx if r["REF_AREA"] == city and r["TIME_PERIOD"] == month and r["OBS_VALUE"] != ""]
    assert mine and {r["OBS_STATUS"] for r in mine} == {"P"}  # indicators, dimensions and index alike
    theirs = [r for r in sdmx if r["REF_AREA"] == "19.71" and r["TIME_PERIOD"] == month and r["OBS_VALUE"] != ""]
    assert theirs and {r["OBS_STATUS"] for r in theirs} == {"A"}
    # the year's IKM from the fixture's three months is year to date: provisional too
    ikm = [r for r in sdmx if r["REF_AREA"] == "19.71" and r["TIME_PERIOD"] == "2025" and "IKM" in r["INDICATOR"]]
    assert ikm and {r["OBS_STATUS"] for r in ikm} == {"P"}


# --- exports ----------------------------------------------------------------------------------------------------


def _export(warehouse, fmt: str, out: Path, *extra: str) -> Path:
    done = _cli(warehouse, "export", "--format", fmt, "--out", str(out), *extra)
    assert done.returncode == 0, done.stderr
    return out


def test_sdmx_csv_has_the_columns_and_codes_of_the_format(warehouse, tmp_path):
    path = _export(warehouse, "sdmx-csv", tmp_path) / "kotacerdas_sdmx.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
        header = rows[0].keys() if rows else []
    assert list(header) == [
        "DATAFLOW",
        "REF_AREA",
        "INDICATOR",
        "TIME_PERIOD",
        "OBS_VALUE",
        "UNIT_MEASURE",
        "OBS_STATUS",
    ]
    kemendagri = {
        r["kode_kemendagri"]
        for r in csv.DictReader((REFERENCE / "regions" / "kode_wilayah_prov_kabkota.csv").open(encoding="utf-8"))
    }
    assert {r["REF_AREA"] for r in rows} == set(CITIES) and set(CITIES) <= kemendagri
    assert all(re.fullmatch(r"\d{4}(-\d{2})?", r["TIME_PERIOD"]) for r in rows)
    assert all(re.fullmatch(r"[A-Z]+:[A-Z_]+\([\w.]+\)", r["DATAFLOW"]) for r in rows)
    # SDMX CL_OBS_STATUS: A normal, P provisional (incomplete), O missing (and then no value)
    assert {r["OBS_STATUS"] for r in rows} <= {"A", "P", "O"}
    assert all((r["OBS_VALUE"] == "") == (r["OBS_STATUS"] == "O") for r in rows)
    index = [
        r for r in rows if r["REF_AREA"] == "19.71" and r["TIME_PERIOD"] == "2025-03" and r["INDICATOR"] == "INDEX"
    ]
    assert len(index) == 1 and float(index[0]["OBS_VALUE"]) == _index(warehouse["engine"], "19.71", "2025-03")
    indicators = {r["INDICATOR"] for r in rows if r["DATAFLOW"].startswith("KOTACERDAS:SMART_CITY_INDICATORS")}
    catalog = yaml.safe_load((REPO_ROOT / "config/indicators.yaml").read_text(encoding="utf-8"))
    assert indicators <= {i["code"] for i in catalog["indicators"]} and len(indicators) > 10
    assert {"KOMINFO", "SPBE_SELF", "IKM"} <= {r["INDICATOR"] for r in rows if r["TIME_PERIOD"] == "2025"}


def test_fiware_entities_validate_against_the_key_performance_indicator_schema(warehouse, tmp_path):
    from jsonschema import Draft202012Validator, FormatChecker
    from referencing import Registry, Resource

    entities = json.loads((_export(warehouse, "fiware", tmp_path) / "kotacerdas_kpi.json").read_text("utf-8"))
    schema = json.loads((REFERENCE / "fiware_kpi" / "schema.json").read_text("utf-8"))
    common = json.loads((REPO_ROOT / "tests/data/fiware/common-schema.json").read_text("utf-8"))
    registry = Registry().with_resource(common["$id"], Resource.from_contents(common))
    validator = Draft202012Validator(schema, registry=registry, format_checker=FormatChecker())
    assert len(entities) == len(CITIES) * len(MONTHS) * 7  # index and six dimensions
    for entity in entities:
        assert list(validator.iter_errors(entity)) == [], entity["id"]
    assert len({e["id"] for e in entities}) == len(entities)
    # the validator does reject what the model forbids
    assert list(validator.iter_errors({**entities[0], "currentStanding": "excellent"}))
    assert list(validator.iter_errors({**entities[0], "calculationFrequency": "sometimes"}))


def test_workbook_opens_with_a_sheet_per_dimension_and_a_methodology_sheet(warehouse, tmp_path):
    from openpyxl import load_workbook

    path = _export(warehouse, "xlsx", tmp_path, "--city", "19.71", "--months", "2025-03") / "kotacerdas_scores.xlsx"
    wb = load_workbook(path)
    assert wb.sheetnames == ["Indeks kematangan", *_dimension_names("id"), "Indeks regulator", "Metodologi"]
    sheet = wb["Indeks kematangan"]
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, [c.value for c in sheet[2]], strict=True))
    assert row["city_name"] == "Kota Pangkalpinang" and row["period"] == "2025-03"
    assert row["score"] == _index(warehouse["engine"], "19.71", "2025-03")
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.bold
    score = next(c for c in sheet[2] if header[c.column - 1] == "score")
    assert score.number_format == "0.00" and sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(header)).column_letter}2"
    gov = wb["Tata Kelola Cerdas"]
    assert any(c.value == "GOV_SLA_COMPLIANCE" for r in gov.iter_rows() for c in r)
    assert gov["A1"].value == "Tata Kelola Cerdas" and gov["A1"].font.sz == 14 and gov.freeze_panes == "A4"
    # the dimension's scores from row 3, then the label of its indicators' table and that table
    assert gov["A3"].value == "city_code" and gov["A4"].value == "19.71"
    assert gov["A5"].value == "Indikator" and gov["A5"].font.bold and gov["A6"].value == "city_code"
    widest = max(len(str(c.value)) for r in gov.iter_rows(min_row=3) for c in r if c.column == 6 and c.value)
    assert gov.column_dimensions["F"].width == min(max(10, widest + 2), 60)  # fits both tables' values
    method = wb["Metodologi"]
    assert method.max_row > 20  # the tree of the methodology, every node with its weight
    # its names in the workbook's language, every node named (the warehouse's names are English, elements unnamed)
    header = [c.value for c in method[3]]
    names = {r[header.index("code")]: r[header.index("name")] for r in method.iter_rows(min_row=4, values_only=True)}
    assert names["governance"] == "Tata Kelola Cerdas" and names["INDEX"] == "Indeks kematangan"
    assert all(n and n != code for code, n in names.items())


def test_csv_and_json_carry_names_methodology_coverage_and_status(warehouse, tmp_path):
    out = _export(warehouse, "csv,json", tmp_path, "--lang", "en")
    indices = pd.read_csv(out / "indices.csv", encoding="utf-8-sig", dtype={"city_code": str})
    assert set(indices["city_name"]) == {"Kota Pangkalpinang", "Kabupaten Bangka Selatan"}
    assert {"methodology_version", "coverage", "status"} <= set(indices.columns)
    assert set(indices["status"]) == {"complete"} and set(indices["methodology_version"]) == {"1.0.0"}
    values = pd.read_csv(out / "indicator_values.csv", encoding="utf-8-sig")
    assert {"indicator_name", "dimension_name", "unit", "coverage", "status"} <= set(values.columns)
    assert "Smart Governance" in set(values["dimension_name"])
    body = json.loads((out / "kotacerdas_export.json").read_text("utf-8"))
    assert body["language"] == "en" and len(body["indices"]) == len(CITIES) * len(MONTHS)
    assert {r["regulator"] for r in body["regulators"]} == {"kominfo", "spbe", "ikm"}


def test_a_text_cell_that_starts_a_formula_is_neutralised_in_csv_and_excel(warehouse, tmp_path, opd_project):
    from openpyxl import load_workbook

    from kotacerdas.report.build import write_exports

    def poison(data):
        data["indicators"][0]["name_id"] = '=HYPERLINK("http://example.invalid","klik")'
        data["indicators"][1]["name_id"] = "@SUM(1+1)"

    project = edited_project(tmp_path, opd_project)
    path = project.dir / "indicators.yaml"
    catalog = yaml.safe_load(path.read_text(encoding="utf-8"))
    poison(catalog)
    path.write_text(yaml.safe_dump(catalog, allow_unicode=True, sort_keys=False), encoding="utf-8")
    write_exports(warehouse["engine"], project, tmp_path / "out", ("csv", "xlsx"), periods=["2025-03"])

    with (tmp_path / "out" / "indicator_values.csv").open(encoding="utf-8-sig", newline="") as fh:
        names = {r["indicator_name"] for r in csv.DictReader(fh)}
    assert '\'=HYPERLINK("http://example.invalid","klik")' in names and "'@SUM(1+1)" in names
    assert not any(n.startswith(("=", "+", "-", "@")) for n in names)
    wb = load_workbook(tmp_path / "out" / "kotacerdas_scores.xlsx")
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert any(c.value.startswith("'=HYPERLINK") for c in cells)
    assert all(c.data_type != "f" for ws in wb.worksheets for row in ws.iter_rows() for c in row)


# --- command-line conventions on real output -----------------------------------------------------------------


def test_explain_never_breaks_a_path_or_hash_when_wrapped(warehouse):
    done = _cli(warehouse, "explain", "--city", "19.71", "--period", "2025-03", columns=60)
    assert done.returncode == 0, done.stderr
    with warehouse["engine"].connect() as conn:
        files = conn.exec_driver_sql(
            "SELECT DISTINCT raw_file, raw_sha256 FROM v_lineage_rows WHERE city_code = '19.71' AND period = '2025-03'"
        ).all()
    lines = done.stdout.splitlines()
    assert files
    for raw_file, sha in files:
        assert any(sha in line for line in lines), sha
        assert any(raw_file in line for line in lines), raw_file
    # an element no indicator of the catalogue feeds says so, rather than a bare coverage 0
    [unfed] = [line for line in lines if "element spatial_harmony" in line]
    assert "no indicator of config/indicators.yaml feeds element spatial_harmony" in unfed


def test_unknown_city_or_empty_result_is_an_error_on_stderr(warehouse, tmp_path):
    for args in (
        ("scorecard", "--city", "99.99"),
        ("scorecard", "--months", "2024-01"),
        ("explain", "--city", "99.99", "--period", "2025-03"),
        ("report", "--city", "99.99", "--period", "2025-03", "--out", str(tmp_path)),
        ("export", "--format", "csv", "--city", "99.99", "--out", str(tmp_path)),
        ("export", "--format", "pdf", "--out", str(tmp_path)),
    ):
        done = _cli(warehouse, *args)
        assert done.returncode != 0, args
        assert "error" in done.stderr.lower() and done.stdout.strip() == "", (args, done.stdout, done.stderr)
    ok = _cli(warehouse, "scorecard", "--city", "19.71", "--months", "2025-03")
    assert ok.returncode == 0 and format_half_up(_index(warehouse["engine"], "19.71", "2025-03"), 2) in ok.stdout


def test_template_rows_have_none_for_every_missing_marker_and_python_values_otherwise():
    # the rows a template gets: None for NaN, NaT, pd.NA and None in every column type, and Python (not numpy) values
    import numpy as np

    from kotacerdas.report.views import records

    frame = pd.DataFrame(
        {
            "text": pd.array(["a", None], dtype="str"),
            "score": [61.25, np.nan],
            "rank": [1, 2],
            "count": pd.array([None, 3], dtype="Int64"),
            "flag": pd.array([True, None], dtype="boolean"),
            "at": pd.to_datetime(["2025-01-31", None]).tz_localize("Asia/Jakarta"),
            "mixed": ["x", None],
        }
    )
    first, second = records(frame)
    assert first == {
        "text": "a",
        "score": 61.25,
        "rank": 1,
        "count": None,
        "flag": True,
        "at": pd.Timestamp("2025-01-31", tz="Asia/Jakarta"),
        "mixed": "x",
    }
    assert second == dict.fromkeys(["text", "score", "at", "mixed", "flag"], None) | {"rank": 2, "count": 3}
    assert [type(v) for v in first.values()] == [str, float, int, type(None), bool, pd.Timestamp, str]
    assert type(second["count"]) is int and records(frame.iloc[0:0]) == []


def test_the_national_page_takes_the_newest_methodology_version_by_its_numbers():
    from kotacerdas.report.reader import newest_version

    assert newest_version(["1.9.0", "1.10.0", "1.2.0"]) == "1.10.0"  # as strings 1.9.0 came last
    assert newest_version(["2024.1", "2025.1", "2024.12"]) == "2025.1"
    assert newest_version(["5/2018", "59/2020"]) == "59/2020"
