"""Figures are rounded for reading half away from zero, by their decimal value."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesloop.core.rounding import half_up, percent


@pytest.mark.parametrize(
    ("fraction", "places", "text"),
    [
        (0.125, 0, "13%"),  # exactly half: up, where Python's format gives "12%"
        (0.285, 0, "29%"),  # stored as 0.28499…: the decimal it names is half, so up
        (0.135, 0, "14%"),
        (-0.125, 0, "-13%"),  # away from zero
        (-0.001, 0, "0%"),  # no "-0%"
        (0.8, 0, "80%"),
        (1.0, 0, "100%"),
        (0.1964, 1, "19.6%"),
        (0.19649, 1, "19.6%"),
        (0.00015, 2, "0.02%"),
        (2.5, 0, "250%"),
    ],
)
def test_percent_by_hand(fraction: float, places: int, text: str) -> None:
    assert percent(fraction, places) == text


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [(2.5, 0, "3"), (-2.5, 0, "-3"), (1.005, 2, "1.01"), (0.445, 2, "0.45"), (1.2345, 3, "1.235")],
)
def test_half_up_by_hand(value: float, places: int, expected: str) -> None:
    assert half_up(value, places) == Decimal(expected)


@given(st.integers(min_value=-(10**9), max_value=10**9))
def test_percent_of_thousandths_rounds_tenths_half_away_from_zero(n: int) -> None:
    """n / 1000 is n / 10 percent: by integer arithmetic, half away from zero."""
    size = (abs(n) + 5) // 10
    expected = f"{size if n >= 0 or size == 0 else -size}%"
    assert percent(n / 1000) == expected


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), st.integers(0, 4))
def test_half_up_is_within_half_a_unit(value: float, places: int) -> None:
    rounded = half_up(value, places)
    assert abs(rounded - Decimal(repr(value))) <= Decimal(5).scaleb(-places - 1)
    assert rounded.as_tuple().exponent == -places
