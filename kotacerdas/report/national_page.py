"""The national overview: every city scored in a month, ranked, filterable by province and peer group (kota or
kabupaten, population band), each score a coloured cell (a choropleth without a map). One self-contained page."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from markupsafe import Markup

from kotacerdas.config import ProjectConfig
from kotacerdas.report.html import render, style
from kotacerdas.report.labels import Labels
from kotacerdas.report.reader import NationalData
from kotacerdas.report.scorecard_page import display_name, national_filename, scorecard_filename
from kotacerdas.report.views import is_complete

# Filtering is a few lines of plain script in the page (no library, no network).
FILTER_SCRIPT = """
(function () {
  var selects = document.querySelectorAll('select[data-filter]');
  function apply() {
    var shown = 0;
    document.querySelectorAll('tbody tr[data-province]').forEach(function (row) {
      var ok = true;
      selects.forEach(function (s) { if (s.value && row.dataset[s.dataset.filter] !== s.value) { ok = false; } });
      row.hidden = !ok;
      if (ok) { shown += 1; row.querySelector('.rank-shown').textContent = shown; }
    });
    document.getElementById('shown').textContent = shown;
  }
  selects.forEach(function (s) { s.addEventListener('change', apply); });
  apply();
})();
"""


def build_national_html(
    data: NationalData,
    labels: Labels,
    project: ProjectConfig,
    *,
    scorecards: set[str] | None = None,
    generated: dt.datetime | None = None,
) -> str:
    """`scorecards`: the city codes whose scorecard of this period sits beside the page (linked)."""
    r = data.ranking
    index = r[r["level"] == "index"].sort_values(["rank_overall", "city_code"])
    dims = r[r["level"] == "dimension"].pivot_table(index="city_code", columns="code", values="score", aggfunc="first")
    rows = []
    for row in index.to_dict("records"):
        code = row["city_code"]
        rows.append(
            {
                "code": code,
                "name": display_name(project, code, row["city_name"] or code),
                "province_code": row["province_code"] or "",
                "province": data.provinces.get(row["province_code"], row["province_code"] or ""),
                "kind": row["kind"] or "",
                "band": row["population_band"] or "",
                "rank": row["rank_overall"],
                "score": row["score"],
                "level": row["maturity_level"],
                # ranked beside complete ones only with a mark, once the warehouse publishes a status
                "incomplete": not is_complete(row.get("status")),
                "data_coverage": row.get("data_coverage"),
                "dims": [
                    dims.at[code, d] if code in dims.index and d in dims.columns else None
                    for d in labels.dimension_order
                ],
                "href": scorecard_filename(code, data.period, labels.lang)
                if scorecards is None or code in scorecards
                else None,
            }
        )
    provinces = sorted({(x["province_code"], x["province"]) for x in rows if x["province_code"]})
    return render(
        "national.html.j2",
        t=labels.text,
        lang=labels.lang,
        css=Markup(style()),
        script=Markup(FILTER_SCRIPT),
        period=data.period,
        version=data.methodology_version,
        rows=rows,
        dimensions=[labels.dimensions.get(d, d) for d in labels.dimension_order],
        provinces=provinces,
        kinds=sorted({x["kind"] for x in rows if x["kind"]}),
        bands=sorted({x["band"] for x in rows if x["band"]}, key=_band_order),
        other_lang="en" if labels.lang == "id" else "id",
        other_href=national_filename(data.period, "en" if labels.lang == "id" else "id"),
        generated=(generated or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M UTC"),
    )


def _band_order(band: str) -> float:
    digits = "".join(ch for ch in band.split("-")[0] if ch.isdigit())
    scale = 1_000_000 if "M" in band.split("-")[0] else 1_000 if "k" in band.split("-")[0] else 1
    return float(digits or 0) * scale + (0.5 if band.startswith(">") else 0)


def write_national(html: str, out_dir: Path, period: str, lang: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / national_filename(period, lang)
    path.write_text(html, encoding="utf-8")
    return path
