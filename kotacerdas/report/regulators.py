"""Read the regulators' published annual indices back as one row per city × year (the figures as published), from
the evaluator views."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from kotacerdas.report.views import in_clause, is_complete, query

COLUMNS = [
    "city_code",
    "period",
    "kominfo",
    "spbe_self",
    "spbe_external",
    "spbe_predicate",
    "ikm",
    "ikm_grade",
    "ikm_respondents",
    "provisional",
]


_VIEWS = {
    "regulator_kominfo_evaluation": "v_regulator_kominfo",
    "regulator_spbe": "v_regulator_spbe",
    "regulator_ikm": "v_regulator_ikm",
}


def _select(engine: sa.Engine, table: str, cities: list[str] | None, years: list[str] | None, where: str):
    """Rows of the table's evaluator view (`year` as `period`), so an evaluator's login can read them."""
    params: dict = {}
    sql = f"SELECT * FROM {_VIEWS[table]} WHERE {where}"
    sql += in_clause("city_code", cities, params, "c") + in_clause("year", years, params, "y")
    with engine.connect() as conn:
        return query(conn, sql, params).rename(columns={"year": "period"})


def read_regulators(engine: sa.Engine, cities: list[str] | None = None, years: list[str] | None = None) -> pd.DataFrame:
    """Columns: city_code, period (YYYY), kominfo, spbe_self, spbe_external, spbe_predicate (external, else self),
    ikm, ikm_grade, ikm_respondents (the whole city), provisional (the regulators among kominfo, spbe, ikm whose
    figure is published with status incomplete, e.g. an IKM of the year so far; empty when none); a figure not
    published is missing."""
    key = ["city_code", "period"]
    kominfo = _select(engine, "regulator_kominfo_evaluation", cities, years, "component = 'index'")
    spbe = _select(engine, "regulator_spbe", cities, years, "component_type = 'index'")
    ikm = _select(engine, "regulator_ikm", cities, years, "opd_code IS NULL")
    parts = []
    if not kominfo.empty:
        parts.append(kominfo.set_index(key)[["published_value"]].rename(columns={"published_value": "kominfo"}))
    if not spbe.empty:
        by_assessor = spbe.pivot_table(index=key, columns="assessor", values="published_value", aggfunc="first")
        parts.append(by_assessor.rename(columns=lambda a: f"spbe_{a}"))
        predicate = spbe.sort_values("assessor").groupby(key)["predicate"].first()  # external sorts first
        parts.append(predicate.rename("spbe_predicate").to_frame())
    if not ikm.empty:
        parts.append(
            ikm.set_index(key)[["published_value", "grade", "respondents"]].rename(
                columns={"published_value": "ikm", "grade": "ikm_grade", "respondents": "ikm_respondents"}
            )
        )
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    flags = [
        frame.assign(regulator=name)[key + ["regulator"]][~frame["status"].map(is_complete)]
        for name, frame in (("kominfo", kominfo), ("spbe", spbe), ("ikm", ikm))
        if not frame.empty and "status" in frame
    ]
    marked = pd.concat(flags) if flags else pd.DataFrame(columns=[*key, "regulator"])
    provisional = marked.drop_duplicates().groupby(key)["regulator"].agg(", ".join).rename("provisional")
    wide = pd.concat([*parts, provisional.to_frame()], axis=1).reset_index()
    wide["provisional"] = wide["provisional"].fillna("")
    return wide.reindex(columns=COLUMNS).sort_values(key, ignore_index=True)
