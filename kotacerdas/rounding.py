"""Rounding as regulations and published tables do it: half up on the decimal value, never banker's rounding."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import SupportsFloat

_EXACT = Context(prec=400)  # a float has at most 309 digits before its point


def round_half_up(value: SupportsFloat | None, places: int = 2) -> Decimal | None:
    """2.675 → 2.68 (Python's round gives 2.67: the binary float is just below 2.675).

    The float is read through its shortest repr, which is the decimal number a person wrote or saw. Infinity is
    no number a table can show: None, as missing.
    """
    if value is None:
        return None
    try:
        number = float(value)
    except TypeError:  # pd.NA: missing
        return None
    if not math.isfinite(number):
        return None
    # enough digits for any float: the default context's 28 would fail on 4e26 with 2 places
    return Decimal(repr(number)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=_EXACT)


def format_half_up(value: SupportsFloat | None, places: int = 2, missing: str = "—") -> str:
    rounded = round_half_up(value, places)
    return missing if rounded is None else f"{rounded:.{places}f}"


def round_for_display(value: SupportsFloat | None, places: int = 2) -> float | None:
    """A number as a screen shows it (half up), still a number so that a UI can plot it; None when missing.
    Only for display: stored values stay unrounded."""
    rounded = round_half_up(value, places)
    return None if rounded is None else float(rounded)
