"""Charts of the scorecards as inline SVG: Vega-Lite specs, written as plain JSON (building them with Altair took
longer than drawing them), rendered by vl-convert (Vega bundled in the wheel), so a page needs no JavaScript and no
network at view time. Rendering is the costly part of a scorecard (about 0.05–0.1 s of CPU a chart), so a chart
carries no text in a language and is drawn once per city for both pages; the six dimension scores are plain HTML bars
(scorecard.html.j2), which need no rendering at all."""

from __future__ import annotations

import json

import pandas as pd
import vl_convert

FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif"
COLOURS = ["#1b6ca8", "#d1495b", "#edae49", "#00798c", "#6a4c93", "#3d9970", "#222222"]


def _svg(spec: dict) -> str:
    spec = spec | {
        "config": {
            "font": FONT,
            "view": {"stroke": None},
            "axis": {"labelFontSize": 13, "titleFontSize": 13},
            "legend": {"labelFontSize": 13},
            "title": {"fontSize": 15},
        }
    }
    svg = vl_convert.vegalite_to_svg(spec)
    # the SVG's own width/height would stop it shrinking on a narrow screen; CSS sizes it
    return svg.replace("<svg ", '<svg role="img" preserveAspectRatio="xMinYMin meet" ', 1)


def series_colours(codes: list[str], index_code: str) -> dict[str, str]:
    """The colour of each line of the trend chart: the dimensions in order, the index last in ink. The page's legend
    (HTML, in the page's language) takes its colours from here too."""
    dims = [c for c in codes if c != index_code]
    return {c: COLOURS[i % (len(COLOURS) - 1)] for i, c in enumerate(dims)} | {index_code: COLOURS[-1]}


def trend_lines(history: pd.DataFrame, index_code: str) -> str:
    """`history`: period, code, score, complete (bool); a line per dimension and one, thicker, for the index, 0–100;
    an incomplete period is drawn as a hollow point.

    Nothing in it depends on the page's language (no title, no legend; months as YYYY-MM, scores as integers), so a
    city's chart is drawn once and put into its Indonesian and its English page, which give the title and the legend
    in their language (`series_colours`)."""
    codes = list(dict.fromkeys(history["code"]))
    colours = series_colours(codes, index_code)
    scale = {"domain": list(colours), "range": list(colours.values())}
    colour = {"field": "code", "type": "nominal", "legend": None, "scale": scale}
    encoding = {
        "x": {"field": "date", "type": "temporal", "title": None, "axis": {"format": "%Y-%m", "tickCount": "month"}},
        "y": {"field": "score", "type": "quantitative", "scale": {"domain": [0, 100]}, "title": None},
        "color": colour,
    }
    line_width = {"condition": {"test": f"datum.code === {json.dumps(index_code)}", "value": 3.5}, "value": 1.8}
    hollow = {"condition": {"test": "datum.complete"} | colour, "value": "white"}
    # a month as its first day at local midnight, as Vega-Lite's temporal axis reads it
    values = [
        {"date": f"{period}-01T00:00:00", "code": code, "score": float(score), "complete": bool(complete)}
        for period, code, score, complete in history[["period", "code", "score", "complete"]].itertuples(index=False)
    ]
    return _svg(
        {
            "width": 520,
            "height": 300,
            "data": {"values": values},
            "layer": [
                {"mark": {"type": "line", "strokeWidth": 2}, "encoding": encoding | {"strokeWidth": line_width}},
                {
                    "mark": {"type": "point", "filled": True, "size": 40},
                    "encoding": encoding | {"fill": hollow, "shape": {"value": "circle"}},
                },
            ],
        }
    )
