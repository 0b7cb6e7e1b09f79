"""Rounding as regulations and published tables do it: half up on the decimal value, never banker's rounding."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal
from typing import SupportsFloat

_EXACT = Context(prec=400)  # a float has at most 309 digits before its point


def decimal_of(value: SupportsFloat) -> Decimal:
    """A float as the decimal number a person wrote or saw (its shortest repr): differences of such numbers
    computed on these are exact (50 − 47.85 is 2.15, where the floats give 2.1499…)."""
    return value if isinstance(value, Decimal) else Decimal(repr(float(value)))


def round_half_up(value: SupportsFloat | Decimal | None, places: int = 2) -> Decimal | None:
    """2.675 → 2.68 (Python's round gives 2.67: the binary float is just below 2.675).

    The float is read through its shortest repr, which is the decimal number a person wrote or saw; a Decimal is
    taken as it is. Infinity is no number a table can show: None, as missing.
    """
    if value is None:
        return None
    try:
        number = decimal_of(value)
    except TypeError:  # pd.NA: missing
        return None
    if not number.is_finite():
        return None
    # enough digits for any float: the default context's 28 would fail on 4e26 with 2 places
    return number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=_EXACT)


def format_signed(value: SupportsFloat | Decimal | None, places: int = 2, missing: str = "—") -> str:
    """A change with its sign, half up: +0.13, -2.13; a change that rounds to nothing is 0.00 (never -0.00), a
    missing one has no sign."""
    rounded = round_half_up(value, places)
    if rounded is None:
        return missing
    if rounded == 0:
        return f"{abs(rounded):.{places}f}"
    return f"{rounded:+.{places}f}"


def format_half_up(value: SupportsFloat | Decimal | None, places: int = 2, missing: str = "—") -> str:
    rounded = round_half_up(value, places)
    return missing if rounded is None else f"{rounded:.{places}f}"


def round_for_display(value: SupportsFloat | None, places: int = 2) -> float | None:
    """A number as a screen shows it (half up), still a number so that a UI can plot it; None when missing.
    Only for display: stored values stay unrounded."""
    rounded = round_half_up(value, places)
    return None if rounded is None else float(rounded)
