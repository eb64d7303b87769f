"""Rounding figures for reading, as people and Excel round: half away from zero.

Python's ``round`` and format specs round a float by its binary value, half to even: 0.125
reads "12%" and 0.285 (stored as 0.28499…) reads "28%", where a director's spreadsheet shows
13 % and 29 %. The helpers here round the shortest decimal that names the float (its
``repr``), half away from zero, so a page, a report and the workbook cell agree.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

__all__ = ["half_up", "percent"]


def half_up(value: float, places: int = 0) -> Decimal:
    """``value`` rounded to ``places`` decimals, half away from zero (2.5 → 3, −2.5 → −3)."""
    return Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def percent(fraction: float, places: int = 0) -> str:
    """A fraction in percent: 0.125 → "13%", 0.8 → "80%", −0.125 → "-13%" (``places``
    decimals: 0.1964 → "19.6%" with one)."""
    exact = Decimal(repr(float(fraction))).scaleb(2)  # × 100 in decimal: 0.285 → 28.5, not 28.4999…
    shown = exact.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    if shown == 0:
        shown = abs(shown)  # −0.2 % rounds to 0, not "-0%"
    return f"{shown:f}%"
