"""Charts of the scorecards as inline SVG: Vega-Lite specs made with Altair, rendered by vl-convert (Vega bundled in
the wheel), so a page needs no JavaScript and no network at view time."""

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


def dimension_bars(scores: pd.DataFrame, title: str) -> str:
    """`scores`: name, score (0–100), label (the score as the page writes it) in display order; one horizontal bar
    each, the label at its end."""
    data = scores
    base = alt.Chart(data, title=title).encode(
        y=alt.Y("name:N", sort=list(data["name"]), title=None, axis=alt.Axis(labelLimit=260)),
        x=alt.X("score:Q", scale=alt.Scale(domain=[0, 100]), title=None),
    )
    bars = base.mark_bar(color=COLOURS[0], height=18)
    text = base.mark_text(align="left", dx=4, fontSize=12).encode(text="label:N")
    return _svg((bars + text).properties(width=360, height=alt.Step(30)))


def trend_lines(history: pd.DataFrame, title: str, index_name: str) -> str:
    """`history`: period, name, score, complete (bool); a line per dimension and one for the index, 0–100; an
    incomplete period is drawn as a hollow point."""
    data = history.assign(date=pd.PeriodIndex(history["period"], freq="M").to_timestamp())
    names = list(dict.fromkeys(data["name"]))
    scale = alt.Scale(domain=names, range=COLOURS[: len(names) - 1] + [COLOURS[-1]])
    colour = alt.Color(
        "name:N", sort=names, title=None, scale=scale, legend=alt.Legend(orient="bottom", columns=3, labelLimit=220)
    )
    base = alt.Chart(data, title=title).encode(
        x=alt.X("date:T", title=None, axis=alt.Axis(format="%Y-%m", tickCount="month")),
        y=alt.Y("score:Q", scale=alt.Scale(domain=[0, 100]), title=None),
        color=colour,
    )
    lines = base.mark_line(strokeWidth=2).encode(
        strokeWidth=alt.condition(alt.datum.name == index_name, alt.value(3.5), alt.value(1.8))
    )
    points = base.mark_point(size=40, filled=True).encode(
        fill=alt.condition("datum.complete", alt.Fill("name:N", scale=scale, legend=None), alt.value("white")),
        shape=alt.value("circle"),
    )
    return _svg((lines + points).properties(width=520, height=300))
