"""The pages' shared machinery: Jinja2 templates (autoescaped) beside this module, number formats per language."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import SupportsFloat

import jinja2
import pandas as pd

from kotacerdas.rounding import format_half_up

TEMPLATES = Path(__file__).resolve().parent / "templates"


def number(value: SupportsFloat | None, places: int = 2, lang: str = "id", signed: bool = False) -> str:
    """Half up (as published); Indonesian writes a decimal comma. Missing is an em dash."""
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return "—"
    text = format_half_up(float(value), places)
    if signed and float(value) > 0 and text.strip("0.,") != "":
        text = "+" + text
    return text.replace(".", ",") if lang == "id" else text


def percent(share: SupportsFloat | None, lang: str = "id") -> str:
    """A share 0–1 as a percentage with one decimal."""
    if share is None or share is pd.NA or (isinstance(share, float) and pd.isna(share)):
        return "—"
    return number(float(share) * 100, 1, lang) + " %"


def colour(score: SupportsFloat | None) -> str:
    """Background of a choropleth-style cell: light (0) to dark green (100); grey when missing."""
    if score is None or score is pd.NA or (isinstance(score, float) and pd.isna(score)):
        return "#eeeeee"
    t = min(max(float(score), 0.0), 100.0) / 100.0
    light, dark = (240, 247, 236), (0, 90, 50)
    r, g, b = (round(a + (z - a) * t) for a, z in zip(light, dark, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def ink(score: SupportsFloat | None) -> str:
    """Text colour readable on `colour(score)`."""
    if score is None or score is pd.NA or (isinstance(score, float) and pd.isna(score)):
        return "#333333"
    return "#ffffff" if float(score) >= 55 else "#111111"


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(number=number, percent=percent, colour=colour, ink=ink)
    return env


def render(template: str, **context) -> str:
    return environment().get_template(template).render(**context)


def style() -> str:
    return (TEMPLATES / "style.css").read_text(encoding="utf-8")
