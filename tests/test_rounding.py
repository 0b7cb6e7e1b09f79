from decimal import Decimal

from kotacerdas.rounding import format_half_up, round_half_up


def test_half_up_where_python_round_goes_down():
    assert round(2.675, 2) == 2.67  # binary float and half-even: what we must not publish
    assert round_half_up(2.675) == Decimal("2.68")
    assert round_half_up(0.125, 2) == Decimal("0.13")
    assert round_half_up(-1.005, 2) == Decimal("-1.01")
    assert round_half_up(float("nan")) is None and round_half_up(None) is None


def test_format():
    assert format_half_up(66.085) == "66.09"
    assert format_half_up(float("nan")) == "—"


def test_any_float_rounds_without_overflow():
    # a published value of 4e26 (an absurd count that once passed the gate) broke every scorecard and `explain`:
    # the default decimal context keeps 28 digits, and 4e26 to 2 places needs 29
    assert round_half_up(4.127370658521988e26) == Decimal("412737065852198800000000000.00")
    assert format_half_up(1.7976931348623157e308).endswith(".00")
    assert round_half_up(float("inf")) is None and format_half_up(float("-inf")) == "—"
