"""Everything one scorecard (city × month) and the national page show, read from the evaluator views only."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property, partial
from typing import TypeVar

import pandas as pd
import sqlalchemy as sa

from kotacerdas.errors import KotacerdasError
from kotacerdas.report.explain import Explanation, read_lineage, require_scores
from kotacerdas.report.masterplan import MasterplanSection, read_masterplan_sections
from kotacerdas.report.uncertainty import Uncertainty, index_uncertainty
from kotacerdas.report.views import by_city, in_clause, is_complete, month_offset, query

TREND_MONTHS = 24

T = TypeVar("T")


@dataclass(frozen=True)
class Region:
    code: str
    name: str  # as the Kemendagri list names it
    kind: str | None
    province_code: str | None
    province_name: str | None
    population: float | None
    population_band: str | None


@dataclass(frozen=True)
class Change:
    value: float | None  # None: not compared
    baseline_period: str


@dataclass(frozen=True)
class ScorecardData:
    city_code: str
    period: str
    region: Region
    history: pd.DataFrame  # v_scorecard rows of the city, TREND_MONTHS up to `period` (dimensions and index)
    explanation: Explanation  # v_lineage_scores / v_lineage_rows of the partition
    indicators: pd.DataFrame  # v_indicator rows of the catalog version used
    ranking: pd.DataFrame  # v_ranking: the index of every city this period, same methodology version
    opd_league: pd.DataFrame
    opd_quality: pd.DataFrame
    quality: pd.DataFrame
    regulators: dict[str, pd.DataFrame]  # kominfo / spbe / ikm rows of the latest year up to the period's
    uncertainty: Uncertainty | None
    masterplan: MasterplanSection | None = None  # None: no masterplan in force that month

    # cached: a page asks for them dozens of times (the history is not changed after reading)
    @cached_property
    def current(self) -> pd.DataFrame:
        return self.history[self.history["period"] == self.period]

    @cached_property
    def index_row(self) -> pd.Series:
        rows = self.current[self.current["level"] == "index"]
        return rows.iloc[0]

    @cached_property
    def methodology(self) -> tuple[str, str]:
        row = self.index_row
        return str(row["methodology"]), str(row["methodology_version"])

    @cached_property
    def derived(self) -> dict:
        """What pages compute from these rows more than once (the trend series of each language's page), kept."""
        return {}

    @cached_property
    def _history_rows(self) -> dict[tuple[str, str, str], dict]:
        """(period, level, code) -> its first v_scorecard row: `change` looks up dozens of them per page."""
        rows: dict[tuple[str, str, str], dict] = {}
        for row in self.history.to_dict("records"):
            rows.setdefault((row["period"], row["level"], row["code"]), row)
        return rows

    def change(self, level: str, code: str, months_back: int) -> Change:
        """This period's score minus the one `months_back` earlier, only when both exist, both are complete and
        both were made by the same methodology version (`is_complete` is the rule)."""
        baseline = month_offset(self.period, -months_back)
        a = self._history_rows.get((self.period, level, code))
        b = self._history_rows.get((baseline, level, code))
        if a is None or b is None:
            return Change(None, baseline)
        same = a["methodology"] == b["methodology"] and a["methodology_version"] == b["methodology_version"]
        usable = same and is_complete(a.get("status")) and is_complete(b.get("status"))
        if not usable or pd.isna(a["score"]) or pd.isna(b["score"]):
            return Change(None, baseline)
        return Change(float(a["score"]) - float(b["score"]), baseline)


def _region(code: str, rows: pd.DataFrame) -> Region:
    """The city's Region from v_region rows holding it and its province."""
    city = rows[rows["region_code"] == code]
    province = rows[rows["region_code"] == code[:2]]
    if city.empty:
        raise KotacerdasError(
            f"region {code!r} is not in the warehouse's Kemendagri list (v_region)",
            hint="give a kabupaten/kota code such as 19.71",
        )
    r = city.iloc[0]
    return Region(
        code=code,
        name=str(r["name"]),
        kind=None if pd.isna(r["kind"]) else str(r["kind"]),
        province_code=None if pd.isna(r["province_code"]) else str(r["province_code"]),
        province_name=None if province.empty else str(province.iloc[0]["name"]),
        population=None if pd.isna(r["population"]) else float(r["population"]),
        population_band=None if pd.isna(r["population_band"]) else str(r["population_band"]),
    )


def _regulators(conn: sa.Connection, cities: list[str], year: str) -> dict[str, dict[str, pd.DataFrame]]:
    """city -> kominfo / spbe / ikm rows of the latest year up to `year`."""
    params: dict = {"year": year}
    of_cities = in_clause("city_code", cities, params, "c")
    out: dict[str, dict[str, pd.DataFrame]] = {city: {} for city in cities}
    for key, view, where in (
        ("kominfo", "v_regulator_kominfo", "component_type = 'index'"),
        ("spbe", "v_regulator_spbe", "component_type = 'index'"),
        ("ikm", "v_regulator_ikm", "opd_code IS NULL"),
    ):
        rows = query(conn, f"SELECT * FROM {view} WHERE year <= :year AND {where}{of_cities}", params)
        for city, mine in by_city(rows, cities).items():
            if not mine.empty:
                mine = mine[mine["year"] == mine["year"].max()].reset_index(drop=True)
            out[city][key] = mine
    return out


def read_uncertainty(
    conn: sa.Connection, period: str, methodology: str, version: str, min_coverage: float | None = None
) -> Uncertainty | None:
    """The index engine's Monte Carlo over every city scored in `period` with this methodology version."""
    params = {"p": period, "m": methodology, "v": version}
    scores = query(
        conn,
        "SELECT city_code, code, score FROM v_lineage_scores WHERE period = :p AND level = 'indicator' "
        "AND methodology = :m AND methodology_version = :v ORDER BY city_code, code",
        params,
    )
    nodes = query(
        conn,
        "SELECT level, code, parent_code, configured_weight AS weight FROM v_methodology "
        "WHERE methodology = :m AND version = :v",
        {"m": methodology, "v": version},
    )
    catalog = query(
        conn,
        "SELECT DISTINCT s.code, s.parent_code, i.weight FROM v_lineage_scores s "
        "JOIN v_indicator i ON i.indicator_code = s.code AND i.catalog_version = s.catalog_version "
        "WHERE s.period = :p AND s.level = 'indicator' AND s.methodology = :m AND s.methodology_version = :v "
        "ORDER BY s.code, s.parent_code, i.weight",  # which row drop_duplicates keeps below
        params,
    )
    if scores.empty or nodes.empty or catalog.empty:
        return None
    catalog = catalog.drop_duplicates("code").assign(level="indicator")
    tree = pd.concat([nodes, catalog[["level", "code", "parent_code", "weight"]]], ignore_index=True)
    return index_uncertainty(scores, tree, min_coverage=min_coverage)


def _once(cache: dict | None, key: tuple, read: Callable[[], T]) -> T:
    """`read()` the first time `key` is asked for in `cache`, the kept answer after (no cache: every time)."""
    if cache is None:
        return read()
    if key not in cache:
        cache[key] = read()
    return cache[key]


def read_scorecard_data(
    engine: sa.Engine,
    city: str,
    period: str,
    *,
    with_uncertainty: bool = True,
    min_coverage: float | None = None,
    period_cache: dict | None = None,
) -> ScorecardData:
    """All a scorecard shows; an unknown city or a partition without published scores is an error.
    `period_cache` keeps what every city of a period shows alike (the Monte Carlo over all of them, the ranking, the
    indicator catalogue) for the next city of the same period."""
    return next(
        read_scorecards_data(
            engine,
            [city],
            period,
            with_uncertainty=with_uncertainty,
            min_coverage=min_coverage,
            period_cache=period_cache,
        )
    )


_RANKING_SQL = (
    "SELECT * FROM v_ranking WHERE period = :p AND level = 'index' AND methodology_version = :v "
    "ORDER BY rank_overall, city_code"
)
CITIES_PER_READ = 64  # cities whose scorecards are read by one query per view: bounded memory, few statements


def read_scorecards_data(
    engine: sa.Engine,
    cities: list[str],
    period: str,
    *,
    with_uncertainty: bool = True,
    min_coverage: float | None = None,
    period_cache: dict | None = None,
) -> Iterator[ScorecardData]:
    """`read_scorecard_data` of each city in turn, reading each view once per `CITIES_PER_READ` cities: a national
    month's 514 scorecards take some 150 queries instead of 8,000 (each costs milliseconds whatever its rows)."""
    cache = {} if period_cache is None else period_cache
    for first in range(0, len(cities), CITIES_PER_READ):
        chunk = cities[first : first + CITIES_PER_READ]
        yield from _read_chunk(engine, chunk, period, with_uncertainty, min_coverage, cache)


def _of_versions(catalog: pd.DataFrame, versions: tuple[str, ...]) -> pd.DataFrame:
    """The catalogue rows of these versions (all of them when none is known)."""
    return catalog[catalog["catalog_version"].isin(versions)].reset_index(drop=True) if versions else catalog


def _read_chunk(
    engine: sa.Engine, cities: list[str], period: str, with_uncertainty: bool, min_coverage: float | None, cache: dict
) -> list[ScorecardData]:
    start, year_ago = month_offset(period, -(TREND_MONTHS - 1)), month_offset(period, -12)
    params: dict = {"s": start, "p": period, "y": year_ago}
    of_cities = in_clause("city_code", cities, params, "c")
    out = []
    with engine.connect() as conn:
        lineage = read_lineage(conn, cities, period)
        codes: dict = {}
        regions = query(
            conn,
            "SELECT * FROM v_region WHERE 1 = 1"
            + in_clause("region_code", sorted(set(cities) | {c[:2] for c in cities}), codes, "r"),
            codes,
        )
        # the trend window, and a year ago even when the window is shorter than 13 months
        history = by_city(
            query(
                conn,
                f"SELECT * FROM v_scorecard WHERE (period BETWEEN :s AND :p OR period = :y){of_cities} "
                "ORDER BY city_code, period, level, code",
                params,
            ),
            cities,
        )
        opd_league = by_city(
            query(
                conn,
                f"SELECT * FROM v_opd_league WHERE period = :p{of_cities} "
                "ORDER BY city_code, rank_indicator_score NULLS LAST, opd_code",
                params,
            ),
            cities,
        )
        opd_quality = by_city(
            query(
                conn,
                f"SELECT * FROM v_opd_quality WHERE period = :p AND expected{of_cities} "
                "ORDER BY city_code, opd_code, table_name",
                params,
            ),
            cities,
        )
        quality = by_city(
            query(conn, f"SELECT * FROM v_quality WHERE period = :p{of_cities} ORDER BY city_code, table_name", params),
            cities,
        )
        regulators = _regulators(conn, cities, period[:4])
        masterplans = read_masterplan_sections(conn, cities, period)
        for city in cities:
            explanation = require_scores(lineage[city])
            region = _region(city, regions)
            current = history[city]
            current = current[(current["period"] == period) & (current["level"] == "index")]
            if current.empty:
                raise KotacerdasError(
                    f"no index for {city} {period} in v_scorecard", hint="re-run the pipeline for that partition"
                )
            methodology, version = current.iloc[0]["methodology"], current.iloc[0]["methodology_version"]
            catalog_versions = tuple(sorted(explanation.scores["catalog_version"].dropna().unique()))
            catalog = _once(cache, ("indicators",), lambda: query(conn, "SELECT * FROM v_indicator"))
            indicators = _once(
                cache, ("indicators", catalog_versions), partial(_of_versions, catalog, catalog_versions)
            )
            ranking = _once(
                cache, ("ranking", period, version), partial(query, conn, _RANKING_SQL, {"p": period, "v": version})
            )
            uncertainty = None
            if with_uncertainty:
                key = ("uncertainty", period, methodology, version, min_coverage)
                uncertainty = _once(
                    cache, key, partial(read_uncertainty, conn, period, methodology, version, min_coverage)
                )
            out.append(
                ScorecardData(
                    city_code=city,
                    period=period,
                    region=region,
                    history=history[city],
                    explanation=explanation,
                    indicators=indicators,
                    ranking=ranking,
                    opd_league=opd_league[city],
                    opd_quality=opd_quality[city],
                    quality=quality[city],
                    regulators=regulators[city],
                    uncertainty=uncertainty,
                    masterplan=masterplans[city],
                )
            )
    return out


@dataclass(frozen=True)
class NationalData:
    period: str
    methodology_version: str
    ranking: pd.DataFrame  # v_ranking rows (dimensions and index) of the period
    provinces: dict[str, str]  # province code -> name


def published_partitions(engine: sa.Engine, periods: list[str]) -> set[tuple[str, str]]:
    """(city, month) pairs of these months that have a published index."""
    if not periods:
        return set()
    params: dict = {}
    where = in_clause("period", periods, params, "p")
    with engine.connect() as conn:
        rows = query(conn, f"SELECT DISTINCT city_code, period FROM v_scorecard WHERE level = 'index'{where}", params)
    return set(zip(rows["city_code"], rows["period"], strict=True))


def latest_period(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        rows = query(conn, "SELECT MAX(period) AS p FROM v_scorecard WHERE level = 'index'")
    if rows.empty or pd.isna(rows.iloc[0]["p"]):
        raise KotacerdasError("the warehouse has no published scores", hint="run the pipeline first (kotacerdas run)")
    return str(rows.iloc[0]["p"])


def read_national_data(engine: sa.Engine, period: str) -> NationalData:
    """Every city scored in `period`, ranked; with several methodology versions, the newest."""
    with engine.connect() as conn:
        ranking = query(conn, "SELECT * FROM v_ranking WHERE period = :p", {"p": period})
        provinces = query(conn, "SELECT region_code, name FROM v_region WHERE level = 'provinsi'")
    if ranking.empty:
        raise KotacerdasError(f"no city has published scores for {period}", hint="pick a period the pipeline has run")
    version = newest_version(ranking["methodology_version"].dropna().astype(str))
    ranking = ranking[ranking["methodology_version"] == version].reset_index(drop=True)
    return NationalData(period, version, ranking, dict(zip(provinces["region_code"], provinces["name"], strict=True)))


def newest_version(versions) -> str:
    """The newest of some version names, their numbers compared as numbers: 1.10.0 after 1.9.0, 2025.2 after
    2025.1 (as strings, 1.9.0 came last)."""
    return max(versions, key=lambda v: [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", v)])
