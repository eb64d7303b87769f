"""Money: Decimal with two places, currencies, exact rounding."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

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


def separators_misplaced(text: str) -> bool:
    """Whether ``text`` (a typed figure, currency sign, spaces and 万 / 亿 / 元 allowed) has
    thousands separators that do not group digits by three before the point."""
    core = re.sub(r"[¥￥\s\u00a0\u202f\u3000元万亿]", "", text).rstrip(",，")  # a slip at the end
    if "," not in core and "，" not in core:
        return False
    return _GROUPED.fullmatch(core) is None
