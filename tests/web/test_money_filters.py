"""Money as a sales director reads it: the sign before the currency, Chinese units in zh-Hans."""

from __future__ import annotations

from decimal import Decimal

from django.utils import translation

from salesloop.web.templatetags.salesloop import money2, yuan


def test_yuan_in_english():
    with translation.override("en"):
        assert yuan(Decimal("1234567.49")) == "¥1,234,567"
        assert yuan(Decimal("-5611773.20")) == "−¥5,611,773"
        assert yuan(Decimal("-0.40")) == "¥0"  # no minus sign on a figure shown as zero
        assert yuan(None) == "—"


def test_yuan_in_chinese_units():
    with translation.override("zh-hans"):
        assert yuan(Decimal("123456")) == "¥12.3万"
        assert yuan(Decimal("-123456")) == "−¥12.3万"
        assert yuan(Decimal("2591000000")) == "¥25.91亿"
        assert yuan(Decimal("9999")) == "¥9999"  # below 1万: plain digits, as zh-Hans formats


def test_money2_is_exact():
    assert money2(Decimal("-1234.5")) == "-1,234.50"
