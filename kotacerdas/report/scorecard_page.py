"""One self-contained HTML scorecard per city × month (no script, no network): index and level with their
changes, the six dimensions, trends, elements and indicators, OPDs, regulators' indices, the masterplan (status,
quick wins, RPJMD alignment, evaluation readiness), uncertainty, lineage."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from markupsafe import Markup

from kotacerdas.config import ProjectConfig
from kotacerdas.masterplan.status import STATUSES
from kotacerdas.report.charts import series_colours, trend_lines
from kotacerdas.report.html import render, style
from kotacerdas.report.labels import Labels, maturity_methodology
from kotacerdas.report.masterplan import MasterplanSection
from kotacerdas.report.reader import ScorecardData
from kotacerdas.report.views import is_complete, records


def display_name(project: ProjectConfig, code: str, kemendagri_name: str) -> str:
    """The name a city goes by in config/cities.yaml (e.g. "Kota Pangkalpinang"), else the Kemendagri list's."""
    for city in project.cities.cities:
        if city.code == code:
            return city.name
    return kemendagri_name


def scorecard_filename(city: str, period: str, lang: str) -> str:
    return f"scorecard_{city}_{period}_{lang}.html"


def national_filename(period: str, lang: str) -> str:
    return f"national_{period}_{lang}.html"


@dataclass(frozen=True)
class _Node:
    level: str
    code: str
    name: str
    score: float | None
    weight: float | None
    coverage: float | None
    row: dict
    children: list[_Node]
    files: list[dict]


def _tree(data: ScorecardData, labels: Labels) -> _Node:
    ex = data.explanation
    rows = records(ex.scores.sort_values(["level", "code"]))
    children: dict[str, list[dict]] = {}
    for row in rows:
        children.setdefault(row["parent_code"], []).append(row)
    files: dict[str, list[dict]] = {}
    for f in records(ex.files):
        files.setdefault(f["indicator_code"], []).append(f)

    def node(row: dict) -> _Node:
        kids = [node(r) for r in children.get(row["code"], [])] if row["level"] != "indicator" else []
        return _Node(
            level=row["level"],
            code=row["code"],
            name=labels.name(row["level"], row["code"]),
            score=row["score"],
            weight=row["weight"],
            coverage=row["coverage"],
            row=row,
            children=kids,
            files=files.get(row["code"], []) if row["level"] == "indicator" else [],
        )

    return node(next(r for r in rows if r["level"] == "index"))


def _bar_width(score: object) -> str:
    """The bar's CSS width for a 0–100 score (a missing score draws no bar)."""
    if score is None or pd.isna(score):
        return "0%"
    return f"{min(100.0, max(0.0, float(score))):.2f}%"  # type: ignore[arg-type]


def _dimension_rows(data: ScorecardData, labels: Labels) -> list[dict]:
    current = {r["code"]: r for r in records(data.current) if r["level"] == "dimension"}
    rows = []
    for code in labels.dimension_order:
        row = current.get(code)
        rows.append(
            {
                "code": code,
                "name": labels.dimensions.get(code, code),
                "score": None if row is None else row["score"],
                "bar_width": _bar_width(None if row is None else row["score"]),
                "level": None if row is None else row["maturity_level"],
                "coverage": None if row is None else row["coverage"],
                "change_previous": data.change("dimension", code, 1),
                "change_last_year": data.change("dimension", code, 12),
            }
        )
    return rows


def _indicator_rows(data: ScorecardData) -> dict[str, list[dict]]:
    """Indicator rows of the partition by their element."""
    s = data.explanation.scores
    out: dict[str, list[dict]] = {}
    for row in records(s[s["level"] == "indicator"].sort_values("code")):
        out.setdefault(row["parent_code"], []).append(row)
    return out


INDEX_SERIES = "INDEX"  # the index's line in the trend chart, beside the dimensions' codes


def _trend_frame(data: ScorecardData, dimension_order: Sequence[str]) -> pd.DataFrame:
    """period, code, score, complete: each dimension in order, then the index, of the page's methodology version.
    The chart and each page's legend ask for it: computed once per city."""
    key = ("trend", tuple(dimension_order))
    if key not in data.derived:
        data.derived[key] = _trend_rows(data, dimension_order)
    return data.derived[key]


def _trend_rows(data: ScorecardData, dimension_order: Sequence[str]) -> pd.DataFrame:
    h = data.history
    version = data.methodology[1]
    h = h[h["methodology_version"] == version]
    frames = [h[(h["level"] == "dimension") & (h["code"] == code)] for code in dimension_order]
    frames.append(h[h["level"] == "index"].assign(code=INDEX_SERIES))
    out = pd.concat(frames, ignore_index=True)
    status = out["status"] if "status" in out else pd.Series([None] * len(out))
    out["complete"] = [is_complete(s) for s in status]
    return out[["period", "code", "score", "complete"]].dropna(subset=["score"])


def trend_chart(data: ScorecardData, labels: Labels) -> str:
    """The city's trend chart (SVG), the same for every language: draw it once, give it to each page."""
    return trend_lines(_trend_frame(data, labels.dimension_order), INDEX_SERIES)


def _trend_legend(data: ScorecardData, labels: Labels) -> list[dict]:
    codes = list(dict.fromkeys(_trend_frame(data, labels.dimension_order)["code"]))
    names = labels.dimensions | {INDEX_SERIES: labels.text("index")}
    return [
        {"name": names.get(c, c), "colour": colour, "index": c == INDEX_SERIES}
        for c, colour in series_colours(codes, INDEX_SERIES).items()
    ]


def _count(value: object) -> int:
    return 0 if value is None or pd.isna(value) else int(value)  # type: ignore[call-overload]


def _masterplan(section: MasterplanSection | None, labels: Labels) -> dict | None:
    """Programmes per status and dimension (then the city), quick wins, RPJMD alignment, readiness; None: no plan."""
    if section is None:
        return None
    dims = section.dimensions.set_index("code")
    known = [d for d in labels.dimension_order if d in dims.index]
    order = known + [d for d in dims.index if d not in known]

    def counts(row: pd.Series) -> dict:
        return {s: _count(row[s]) for s in STATUSES} | {"programmes": _count(row["programmes"])}

    rows = [{"name": labels.dimensions.get(d, d), "code": d} | counts(dims.loc[d]) for d in order]
    parts = list(labels.components)
    rank = [parts.index(c) if c in parts else len(parts) for c in section.readiness["component"]]
    ready = section.readiness.assign(_order=rank).sort_values("_order")
    readiness = [
        {
            "name": labels.text("kominfo_index")
            if r["component_type"] == "index"
            else labels.components.get(r["component"], r["component"]),
            "is_index": r["component_type"] == "index",
            "evidence": r["evidence"],
            "self_score": r["self_score"],
            "official_score": r["official_score"],
            "difference": r["self_minus_official"],
            "weight": r["weight"],
        }
        for r in records(ready)
    ]
    city = section.city
    return {
        "version": section.version,
        "statuses": [(s, labels.statuses.get(s, s)) for s in STATUSES],
        "rows": rows,
        "total": counts(city),
        "quick_wins_due": _count(city["quick_wins_due"]),
        "quick_wins_delivered": _count(city["quick_wins_delivered"]),
        "rpjmd_linked_share": city["rpjmd_linked_share"],
        "unserved": section.unserved,
        "readiness": readiness,
    }


def build_scorecard_html(
    data: ScorecardData,
    labels: Labels,
    project: ProjectConfig,
    *,
    generated: dt.datetime | None = None,
    trend: str | None = None,
) -> str:
    """The page of a city × month in the labels' language. `trend`: the city's trend chart when already drawn
    (`trend_chart`, the same in every language), else it is drawn here."""
    index = data.index_row
    methodology, version = data.methodology
    dims = _dimension_rows(data, labels)
    trend = trend if trend is not None else trend_chart(data, labels)
    rank = data.ranking[data.ranking["city_code"] == data.city_code]
    rank = rank[rank["rank_overall"].notna()]  # an incomplete period is not ranked (v_ranking gives it no rank)
    incomplete = not is_complete(index.get("status"))
    band = None
    if data.uncertainty is not None and not incomplete:  # the Monte Carlo ranks complete periods only
        b = data.uncertainty.bands
        mine = b[b["city_code"] == data.city_code]
        band = mine.iloc[0].to_dict() if not mine.empty else None
    indicators, element_rows = _indicator_rows(data), _score_rows(data, "element")
    elements = {
        d: [
            {
                "code": e,
                "name": labels.elements.get(e, e),
                "row": element_rows.get(e),
                "indicators": indicators.get(e, []),
            }
            for e in maturity_methodology(project).dimensions[d].elements
        ]
        for d in labels.dimension_order
        if d in maturity_methodology(project).dimensions
    }
    indicator_meta = data.indicators.drop_duplicates("indicator_code").set_index("indicator_code")
    other = "en" if labels.lang == "id" else "id"
    return render(
        "scorecard.html.j2",
        t=labels.text,
        labels=labels,
        lang=labels.lang,
        css=Markup(style()),
        city=display_name(project, data.city_code, data.region.name),
        region=data.region,
        period=data.period,
        index=index,
        change_previous=data.change("index", "INDEX", 1),
        change_last_year=data.change("index", "INDEX", 12),
        incomplete=incomplete,
        data_coverage=index.get("data_coverage"),
        masterplan=_masterplan(data.masterplan, labels),
        rank=rank.iloc[0].to_dict() if not rank.empty else None,
        expected_cities=len(project.cities.cities),
        band=band,
        uncertainty=data.uncertainty,
        dims=dims,
        trend=Markup(trend),
        trend_legend=_trend_legend(data, labels),
        elements=elements,
        indicator_meta=indicator_meta,
        opd_league=records(data.opd_league),
        opd_quality=records(data.opd_quality),
        regulators={k: records(v) for k, v in data.regulators.items()},
        methodology=methodology,
        version=version,
        tree=_tree(data, labels),
        other_lang=other,
        other_href=scorecard_filename(data.city_code, data.period, other),
        national_href=national_filename(data.period, labels.lang),
        generated=(generated or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M UTC"),
    )


def _score_rows(data: ScorecardData, level: str) -> dict[str, dict]:
    s = data.explanation.scores
    return {r["code"]: r for r in records(s[s["level"] == level])}


def write_scorecard(html: str, out_dir: Path, city: str, period: str, lang: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / scorecard_filename(city, period, lang)
    path.write_text(html, encoding="utf-8")
    return path
