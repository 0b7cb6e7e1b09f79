"""Charts of the scorecards as inline SVG: Vega-Lite specs made with Altair, rendered by vl-convert (Vega bundled in
the wheel), so a page needs no JavaScript and no network at view time. Rendering is the costly part of a scorecard
(about 0.1–0.2 s of CPU a chart), so a chart carries no text in a language and is drawn once per city for both
pages; the six dimension scores are plain HTML bars (scorecard.html.j2), which need no rendering at all."""

from __future__ import annotations

import altair as alt
import pandas as pd
import vl_convert

FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif"
COLOURS = ["#1b6ca8", "#d1495b", "#edae49", "#00798c", "#6a4c93", "#3d9970", "#222222"]


def _svg(chart: alt.TopLevelMixin) -> str:
    spec = (
        chart.configure(font=FONT)
        .configure_view(stroke=None)
        .configure_axis(labelFontSize=13, titleFontSize=13)
        .configure_legend(labelFontSize=13)
        .configure_title(fontSize=15)
        .to_dict(validate=False)  # the specs are fixed here; validating them each time costs more than drawing
    )
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
    data = history.assign(date=pd.PeriodIndex(history["period"], freq="M").to_timestamp())
    codes = list(dict.fromkeys(data["code"]))
    colours = series_colours(codes, index_code)
    scale = alt.Scale(domain=list(colours), range=list(colours.values()))
    base = alt.Chart(data).encode(
        x=alt.X("date:T", title=None, axis=alt.Axis(format="%Y-%m", tickCount="month")),
        y=alt.Y("score:Q", scale=alt.Scale(domain=[0, 100]), title=None),
        color=alt.Color("code:N", scale=scale, legend=None),
    )
    lines = base.mark_line(strokeWidth=2).encode(
        strokeWidth=alt.condition(alt.datum.code == index_code, alt.value(3.5), alt.value(1.8))
    )
    points = base.mark_point(size=40, filled=True).encode(
        fill=alt.condition("datum.complete", alt.Fill("code:N", scale=scale, legend=None), alt.value("white")),
        shape=alt.value("circle"),
    )
    return _svg((lines + points).properties(width=520, height=300))
