"""The tables every export format is written from, read from the evaluator views: indicator values, dimension
scores, indices and the regulators' indices, with region names, methodology version, coverage and status."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from kotacerdas.config import ProjectConfig
from kotacerdas.errors import KotacerdasError
from kotacerdas.report.labels import Labels, maturity_methodology
from kotacerdas.report.scorecard_page import display_name
from kotacerdas.report.views import in_clause, is_complete, query

COMPLETE, INCOMPLETE = "complete", "incomplete"


@dataclass(frozen=True)
class ExportTables:
    indicator_values: pd.DataFrame
    dimension_scores: pd.DataFrame
    indices: pd.DataFrame
    regulators: pd.DataFrame
    methodology: pd.DataFrame  # v_methodology rows of the versions exported
    lang: str

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "indicator_values": self.indicator_values,
            "dimension_scores": self.dimension_scores,
            "indices": self.indices,
            "regulators": self.regulators,
        }


def _status(frame: pd.DataFrame) -> pd.Series:
    """The published status when the view carries one, else complete (see `is_complete`)."""
    if "status" not in frame:
        return pd.Series(COMPLETE, index=frame.index, dtype="object")
    return frame["status"].map(lambda s: COMPLETE if is_complete(s) else INCOMPLETE)


def read_export_tables(
    engine: sa.Engine,
    project: ProjectConfig,
    labels: Labels,
    cities: list[str] | None = None,
    periods: list[str] | None = None,
) -> ExportTables:
    """Everything published for these cities and months (all when None); nothing published is an error."""
    params: dict = {}
    filters = in_clause("s.city_code", cities, params, "c") + in_clause("s.period", periods, params, "p")
    with engine.connect() as conn:
        scores = query(conn, f"SELECT s.* FROM v_scorecard s WHERE 1 = 1{filters}", params)
        lineage = query(conn, f"SELECT s.* FROM v_lineage_scores s WHERE s.level = 'indicator'{filters}", dict(params))
        regions = query(conn, "SELECT region_code, name, kind, province_code FROM v_region")
        years = sorted({p[:4] for p in scores["period"]}) if not scores.empty else []
        reg_params: dict = {}
        reg_filter = in_clause("city_code", cities, reg_params, "c") + in_clause("year", years, reg_params, "y")
        regulators = _regulators(conn, reg_filter, reg_params)
        versions = scores[["methodology", "methodology_version"]].drop_duplicates() if not scores.empty else None
        methodology = query(conn, "SELECT * FROM v_methodology")
    if scores.empty:
        what = f"cities {cities}" if cities else "any city"
        raise KotacerdasError(
            f"nothing published for {what} in {periods if periods else 'any month'}",
            hint="check the city codes and months (kotacerdas scorecard lists what is published)",
        )
    if versions is not None:
        keep = methodology.merge(versions, left_on=["methodology", "version"], right_on=list(versions.columns))
        methodology = keep[methodology.columns]
    # the nodes' names in the export's language (the warehouse keeps one name); a node config no longer names keeps it
    methodology["name"] = [
        stored if named == code and isinstance(stored, str) else named
        for named, code, stored in zip(
            map(labels.name, methodology["level"], methodology["code"]),
            methodology["code"],
            methodology["name"],
            strict=True,
        )
    ]
    names = _names(project, regions)
    provinces = dict(zip(regions["region_code"], regions["name"], strict=True))

    def place(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        frame.insert(1, "city_name", frame["city_code"].map(names))
        frame.insert(2, "province", frame["city_code"].str[:2].map(provinces))
        return frame

    parents = {e: d for d, dim in maturity_methodology(project).dimensions.items() for e in dim.elements}
    ind = lineage.sort_values(["city_code", "period", "code"])
    # every row carries its partition's status and data coverage (the index row's: what the whole city-month had)
    whole = scores[scores["level"] == "index"].assign(status=lambda f: _status(f))
    partition = whole.set_index(["city_code", "period"])[["status", "data_coverage"]]
    keys = pd.MultiIndex.from_frame(ind[["city_code", "period"]])
    partition_status = partition["status"].reindex(keys).fillna(COMPLETE).to_numpy()
    partition_coverage = partition["data_coverage"].reindex(keys).to_numpy()
    indicator_values = place(
        pd.DataFrame(
            {
                "city_code": ind["city_code"],
                "period": ind["period"],
                "dimension": ind["parent_code"].map(parents),
                "dimension_name": ind["parent_code"].map(parents).map(labels.dimensions),
                "element": ind["parent_code"],
                "element_name": ind["parent_code"].map(labels.elements),
                "indicator_code": ind["code"],
                "indicator_name": ind["code"].map(labels.indicators),
                "value": ind["value"],
                "unit": ind["unit"],
                "normalised_score": ind["score"],
                "weight": ind["weight"],
                "coverage": ind["delivery_coverage"],
                "quality_flag": ind["quality_flag"],
                "value_status": ind["status"].fillna("no_data"),
                "status": partition_status,
                "data_coverage": partition_coverage,
                "methodology": ind["methodology"],
                "methodology_version": ind["methodology_version"],
                "catalog_version": ind["catalog_version"],
            }
        )
    )

    def score_table(level: str) -> pd.DataFrame:
        s = scores[scores["level"] == level].sort_values(["city_code", "period", "code"])
        return place(
            pd.DataFrame(
                {
                    "city_code": s["city_code"],
                    "period": s["period"],
                    "code": s["code"],
                    "name": [labels.name(level, c) for c in s["code"]],
                    "score": s["score"],
                    "maturity_level": s["maturity_level"],
                    "coverage": s["coverage"],
                    "change_previous": s["change_previous"],
                    "change_last_year": s["change_last_year"],
                    "status": _status(s),
                    "data_coverage": s["data_coverage"],
                    "methodology": s["methodology"],
                    "methodology_version": s["methodology_version"],
                    "published_at": s["published_at"],
                }
            )
        )

    if not regulators.empty:
        regulators = place(regulators)
    return ExportTables(
        indicator_values=indicator_values.reset_index(drop=True),
        dimension_scores=score_table("dimension").reset_index(drop=True),
        indices=score_table("index").reset_index(drop=True),
        regulators=regulators.reset_index(drop=True),
        methodology=methodology.reset_index(drop=True),
        lang=labels.lang,
    )


def _names(project: ProjectConfig, regions: pd.DataFrame) -> dict[str, str]:
    return {
        code: display_name(project, code, name)
        for code, name in zip(regions["region_code"], regions["name"], strict=True)
    }


def _regulators(conn: sa.Connection, where: str, params: dict) -> pd.DataFrame:
    columns = [
        "city_code",
        "period",
        "regulator",
        "assessor",
        "published_value",
        "score",
        "predicate_or_grade",
        "respondents",
        "methodology",
        "methodology_version",
        "status",
        "coverage",
    ]
    stamp = "methodology, methodology_version, status, coverage"
    parts = []
    for regulator, sql in (
        (
            "kominfo",
            "SELECT city_code, year AS period, NULL AS assessor, published_value, score, NULL AS predicate_or_grade, "
            f"NULL AS respondents, {stamp} FROM v_regulator_kominfo WHERE component_type = 'index'",
        ),
        (
            "spbe",
            "SELECT city_code, year AS period, assessor, published_value, score, predicate AS predicate_or_grade, "
            f"NULL AS respondents, {stamp} FROM v_regulator_spbe WHERE component_type = 'index'",
        ),
        (
            "ikm",
            "SELECT city_code, year AS period, NULL AS assessor, published_value, score, grade AS predicate_or_grade, "
            f"respondents, {stamp} FROM v_regulator_ikm WHERE opd_code IS NULL",
        ),
    ):
        rows = query(conn, sql + where, params)
        if not rows.empty:
            parts.append(rows.assign(regulator=regulator, status=_status(rows)))
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns].sort_values(["city_code", "period", "regulator"])
