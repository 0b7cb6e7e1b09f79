"""Everything one scorecard (city × month) and the national page show, read from the evaluator views only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

import pandas as pd
import sqlalchemy as sa

from kotacerdas.errors import KotacerdasError
from kotacerdas.report.explain import Explanation, explain
from kotacerdas.report.masterplan import MasterplanSection, read_masterplan_section
from kotacerdas.report.uncertainty import Uncertainty, index_uncertainty
from kotacerdas.report.views import in_clause, is_complete, month_offset, query

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

    @property
    def current(self) -> pd.DataFrame:
        return self.history[self.history["period"] == self.period]

    @property
    def index_row(self) -> pd.Series:
        rows = self.current[self.current["level"] == "index"]
        return rows.iloc[0]

    @property
    def methodology(self) -> tuple[str, str]:
        row = self.index_row
        return str(row["methodology"]), str(row["methodology_version"])

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


def read_region(conn: sa.Connection, code: str) -> Region:
    rows = query(conn, "SELECT * FROM v_region WHERE region_code IN (:c, :p)", {"c": code, "p": code[:2]})
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


def _regulators(conn: sa.Connection, city: str, year: str) -> dict[str, pd.DataFrame]:
    params = {"city": city, "year": year}
    out = {}
    for key, view, where in (
        ("kominfo", "v_regulator_kominfo", "component_type = 'index'"),
        ("spbe", "v_regulator_spbe", "component_type = 'index'"),
        ("ikm", "v_regulator_ikm", "opd_code IS NULL"),
    ):
        rows = query(conn, f"SELECT * FROM {view} WHERE city_code = :city AND year <= :year AND {where}", params)
        if not rows.empty:
            rows = rows[rows["year"] == rows["year"].max()]
        out[key] = rows.reset_index(drop=True)
    return out


def read_uncertainty(
    conn: sa.Connection, period: str, methodology: str, version: str, min_coverage: float | None = None
) -> Uncertainty | None:
    """The index engine's Monte Carlo over every city scored in `period` with this methodology version."""
    params = {"p": period, "m": methodology, "v": version}
    scores = query(
        conn,
        "SELECT city_code, code, score FROM v_lineage_scores WHERE period = :p AND level = 'indicator' "
        "AND methodology = :m AND methodology_version = :v",
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
        "WHERE s.period = :p AND s.level = 'indicator' AND s.methodology = :m AND s.methodology_version = :v",
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
    explanation = explain(engine, city, period)  # raises when nothing is published for the partition
    start = month_offset(period, -(TREND_MONTHS - 1))
    with engine.connect() as conn:
        region = read_region(conn, city)
        history = query(
            conn,
            "SELECT * FROM v_scorecard WHERE city_code = :c AND period BETWEEN :s AND :p ORDER BY period, level, code",
            {"c": city, "s": start, "p": period},
        )
        # a year ago is compared too, even when the trend window is shorter than 13 months
        last_year = query(
            conn,
            "SELECT * FROM v_scorecard WHERE city_code = :c AND period = :y",
            {"c": city, "y": month_offset(period, -12)},
        )
        if not last_year.empty and month_offset(period, -12) < start:
            history = pd.concat([last_year, history], ignore_index=True)
        current = history[(history["period"] == period) & (history["level"] == "index")]
        if current.empty:
            raise KotacerdasError(
                f"no index for {city} {period} in v_scorecard", hint="re-run the pipeline for that partition"
            )
        methodology, version = current.iloc[0]["methodology"], current.iloc[0]["methodology_version"]
        catalog_versions = [v for v in explanation.scores["catalog_version"].dropna().unique()]
        indicators = _once(period_cache, ("indicators",), lambda: query(conn, "SELECT * FROM v_indicator"))
        if catalog_versions:
            indicators = indicators[indicators["catalog_version"].isin(catalog_versions)]
        ranking = _once(
            period_cache,
            ("ranking", period, version),
            lambda: query(
                conn,
                "SELECT * FROM v_ranking WHERE period = :p AND level = 'index' AND methodology_version = :v "
                "ORDER BY rank_overall, city_code",
                {"p": period, "v": version},
            ),
        )
        params = {"c": city, "p": period}
        opd_league = query(
            conn,
            "SELECT * FROM v_opd_league WHERE city_code = :c AND period = :p "
            "ORDER BY rank_indicator_score NULLS LAST, opd_code",
            params,
        )
        opd_quality = query(
            conn,
            "SELECT * FROM v_opd_quality WHERE city_code = :c AND period = :p AND expected "
            "ORDER BY opd_code, table_name",
            params,
        )
        quality = query(
            conn, "SELECT * FROM v_quality WHERE city_code = :c AND period = :p ORDER BY table_name", params
        )
        regulators = _regulators(conn, city, period[:4])
        masterplan = read_masterplan_section(conn, city, period)
        uncertainty = None
        if with_uncertainty:
            uncertainty = _once(
                period_cache,
                ("uncertainty", period, methodology, version, min_coverage),
                lambda: read_uncertainty(conn, period, methodology, version, min_coverage),
            )
    return ScorecardData(
        city_code=city,
        period=period,
        region=region,
        history=history,
        explanation=explanation,
        indicators=indicators.reset_index(drop=True),
        ranking=ranking,
        opd_league=opd_league,
        opd_quality=opd_quality,
        quality=quality,
        regulators=regulators,
        uncertainty=uncertainty,
        masterplan=masterplan,
    )


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
    version = str(sorted(ranking["methodology_version"].dropna().unique())[-1])
    ranking = ranking[ranking["methodology_version"] == version].reset_index(drop=True)
    return NationalData(period, version, ranking, dict(zip(provinces["region_code"], provinces["name"], strict=True)))
