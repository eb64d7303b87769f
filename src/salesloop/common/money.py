"""Money: Decimal with two places, currencies, exact rounding."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import models
from django.utils.translation import gettext_lazy as _

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MONEY_DIGITS = 16
MONEY_PLACES = 2
#: The most digits an amount that people type (a target, a proposal, an imported cell) may
#: have: 12 before the point, below a trillion. The columns hold 16, so that sums of entered
#: figures fit; and SQLite keeps only 15 significant digits of a decimal exactly, so a
#: 16-digit entry would come back rounded and no longer fit its column.
ENTRY_DIGITS = 14
#: The largest amount that people may type.
ENTRY_MAX = Decimal(10) ** (ENTRY_DIGITS - MONEY_PLACES) - CENT


class Currency(models.TextChoices):
    CNY = "CNY", _("Chinese yuan")
    USD = "USD", _("US dollar")
    EUR = "EUR", _("Euro")
    HKD = "HKD", _("Hong Kong dollar")
    JPY = "JPY", _("Japanese yen")


def money(value: Decimal | int | str | float) -> Decimal:
    """Round to cents, half up (the convention of Chinese invoices)."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def MoneyField(verbose_name: str, **kwargs: object) -> models.DecimalField:
    """A DecimalField sized for money in minor units of two places."""
    return models.DecimalField(
        verbose_name, max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, **kwargs
    )


#: A figure as people type it with thousands separators: 1,234,567.89 (or with "，"), no
#: separator in another place — "1,2,3" is a typing slip, not 123.
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:[,，]\d{3})+(?:\.\d*)?")
_EXPONENT = re.compile(r"\d\.?[eE]")


def typing_slip(text: str) -> bool:
    """Whether ``text`` (a typed figure, currency sign, spaces and 万 / 亿 / 元 allowed) is a
    typing slip rather than a figure: thousands separators that do not group digits by three
    before the point ("1,2,3" is not 123), or an exponent ("1e6" is a slip in a cell meant for
    an amount, however Python reads it)."""
    core = re.sub(r"[¥￥\s\u00a0\u202f\u3000元万亿]", "", text).rstrip(",，")  # a slip at the end
    if _EXPONENT.search(core):
        return True
    if "," not in core and "，" not in core:
        return False
    return _GROUPED.fullmatch(core) is None


#: What people type around a figure and what it does not change: separators, currency signs,
#: 元 and spaces (of every width).
_NOISE = str.maketrans("", "", ",，¥￥元 \u00a0\u202f\u3000")
#: 504万 and 5.04亿, as Excel users write amounts.
_SCALES = {"万": 10_000, "亿": 100_000_000}


def typed_figure(text: str) -> Decimal | None:
    """A figure as people type it or copy it from Excel or a report — ``1,234,567.89``,
    ``1 234 567``, ``¥1,234,567``, ``504万``, ``0.018亿`` — or None if ``text`` is not one (a
    typing slip such as ``1,2,3`` or ``1e6`` included). Scaled figures keep the decimals typed
    and no more: ``0.018亿`` is ``1800000``, not ``1800000.000``."""
    if typing_slip(text):
        return None
    core = text.translate(_NOISE)
    scale = 1
    for suffix, factor in _SCALES.items():
        if core.endswith(suffix):
            core, scale = core.removesuffix(suffix), factor
    try:
        number = Decimal(core)
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    if scale == 1:
        return number
    scaled = number * scale
    return (
        scaled.quantize(Decimal(1)) if scaled == scaled.to_integral_value() else scaled.normalize()
    )
