"""Money as a sales director reads it: the sign before the currency, Chinese units in zh-Hans."""

from __future__ import annotations

from decimal import Decimal

from django.utils import translation

from salesloop.web.templatetags.salesloop import (
    money2,
    signed_compact_figure,
    signed_short_figure,
    signed_yuan,
    split_gap,
    yuan,
)


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
        assert yuan(Decimal("9999")) == "¥9,999"  # below 1万: whole yuan, grouped by three
        assert yuan(Decimal("95140000")) == "¥9,514万"  # no ".0"
        assert yuan(Decimal("95140100")) == "¥9,514万"  # 9,514.01万 rounds to it


def test_a_change_in_money_carries_its_sign():
    """The leaderboard's change by driver: a rise reads +¥2.97亿 beside a fall's −¥574.5万 (the
    rise used to read as a bare figure)."""
    with translation.override("zh-hans"):
        assert signed_yuan(Decimal("297000000")) == "+¥2.97亿"
        assert signed_yuan(Decimal("-5745000")) == "−¥574.5万"
    with translation.override("en"):
        assert signed_yuan(Decimal("2378000")) == "+¥2,378,000"
        assert signed_yuan(Decimal("0.30")) == "¥0"  # no sign on a figure shown as zero
        assert signed_yuan(None) == "—"


def test_a_difference_reads_compact_with_its_sign():
    """A plan comparison's change: in a sentence as the page writes money (¥147.42亿), in a
    dense cell as the columns beside it (¥4,245万, ¥80.0k); counts whole, signed."""
    with translation.override("zh-hans"):
        assert signed_compact_figure(Decimal("14741920000"), "booked_revenue") == "+¥147.42亿"
        assert signed_short_figure(Decimal("42450000"), "booked_revenue") == "+¥4,245万"
        assert signed_short_figure(Decimal("-23190000"), "booked_revenue") == "−¥2,319万"
    with translation.override("en"):
        assert signed_short_figure(Decimal("80000"), "booked_revenue") == "+¥80.0k"
        assert signed_compact_figure(Decimal("80000.40"), "booked_revenue") == "+¥80,000"
        assert signed_compact_figure(Decimal("12"), "deals_won") == "+12"
        assert signed_short_figure(Decimal("0"), "deals_won") == "0"
        assert signed_compact_figure(None, "deals_won") == "—"


def test_counts_are_grouped_by_three_in_chinese_too():
    """Django's zh-Hans locale prints 3691 and 1234567; Chinese spreadsheets write 3,691."""
    from django.contrib.humanize.templatetags.humanize import intcomma

    with translation.override("zh-hans"):
        assert intcomma(3691) == "3,691" and intcomma(1234567) == "1,234,567"
    with translation.override("en"):
        assert intcomma(3691) == "3,691"


def test_money2_is_exact():
    assert money2(Decimal("-1234.5")) == "-1,234.50"


def test_short_figure_fits_a_month_cell():
    from salesloop.web.templatetags.salesloop import short_figure

    with translation.override("en"):
        assert short_figure(Decimal("19242090"), "booked_revenue") == "¥19.24M"
        assert short_figure(Decimal("245430000"), "booked_revenue") == "¥245.43M"
        assert short_figure(Decimal("860400"), "booked_revenue") == "¥860k"
        assert short_figure(Decimal("12540"), "collected_revenue") == "¥12.5k"
        assert short_figure(Decimal("999.6"), "booked_revenue") == "¥1,000"
        assert short_figure(Decimal("-2500000"), "booked_revenue") == "−¥2.50M"
        assert short_figure(Decimal("1811.4"), "activities_visit") == "1,811"  # a count
        assert short_figure(None, "booked_revenue") == "—"
    with translation.override("zh-hans"):
        assert short_figure(Decimal("37127000"), "booked_revenue") == "¥3,713万"
        assert short_figure(Decimal("865000"), "booked_revenue") == "¥86.5万"
        assert short_figure(Decimal("125000000"), "booked_revenue") == "¥1.25亿"


def test_chart_labels_stay_as_they_were():
    from salesloop.targets.charts import compact

    with translation.override("en"):
        assert compact(500_000_000) == "¥500M" and compact(12_500) == "¥12.5k"
        assert compact(3, money=False) == "3"
    with translation.override("zh-hans"):
        assert compact(500_000_000) == "¥5亿" and compact(12_500_000) == "¥1,250万"


def test_exact_and_signed_figures_follow_the_metric():
    from salesloop.web.templatetags.salesloop import exact_figure, signed_figure

    with translation.override("zh-hans"):
        assert exact_figure(Decimal("689440000.00"), "booked_revenue") == "¥689,440,000"
        assert exact_figure(Decimal("1017300.50"), "collected_revenue") == "¥1,017,300.50"
        assert exact_figure(Decimal("1240"), "activities_visit") == "1,240"  # a count: no ¥
        assert signed_figure(Decimal("-16130000.00"), "booked_revenue") == "−¥16,130,000"
        assert signed_figure(Decimal("5240000"), "booked_revenue") == "+¥5,240,000"
        assert signed_figure(Decimal("-12"), "deals_won") == "−12"
        assert signed_figure(Decimal("3"), "deals_won") == "+3"
        assert signed_figure(Decimal("0"), "deals_won") == "0"
        assert exact_figure(None, "deals_won") == signed_figure("", "deals_won") == "—"


def test_simulated_probabilities_are_never_shown_as_certain():
    """2,000 draws that all reach the target say "very likely", not "certain"."""
    from salesloop.web.templatetags.salesloop import chance

    assert chance(0.42) == "42%"
    assert chance(0.994) == "99%"
    assert chance(0.995) == chance(1.0) == "> 99%"
    assert chance(0.006) == "1%"
    assert chance(0.005) == chance(0.0) == "< 1%"
    assert chance(None) == "—"


def test_a_small_change_is_not_shown_as_none():
    """A cut of ¥10,000 on ¥22.3M is −0.04 %, not "0%"; no change at all is 0%."""
    from salesloop.web.templatetags.salesloop import signed_pct

    assert signed_pct(0.287) == "+29%" and signed_pct(-0.05) == "−5%"
    assert signed_pct(Decimal(-10000) / Decimal(22320000)) == "−0.04%"
    assert signed_pct(0.004) == "+0.4%" and signed_pct(0.0049) == "+0.5%"
    # whole percents round half away from zero, by the decimal the figure names
    assert signed_pct(0.005) == "+1%" and signed_pct(-0.125) == "−13%"
    assert signed_pct(0.285) == "+29%" and signed_pct(-0.005) == "−1%"
    assert signed_pct(Decimal(1) / Decimal(10_000_000)) == "+<0.01%"  # ¥1 on ¥10M
    assert signed_pct(0) == "0%" and signed_pct(None) == "—"


def test_since_says_how_long_ago_in_its_largest_unit(time_machine):
    from datetime import UTC, datetime, timedelta

    from salesloop.web.templatetags.salesloop import since

    now = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
    time_machine.move_to(now, tick=False)
    assert since(now - timedelta(days=4, hours=17)) == "4\xa0days"
    assert since(now - timedelta(hours=2, minutes=59)) == "2\xa0hours"
    assert since(now - timedelta(days=40)) == "1\xa0month"
    assert since(None) == ""
    with translation.override("zh-hans"):
        assert since(now - timedelta(days=4, hours=17)) == "4\xa0日"


def test_a_parents_gap_says_which_way_its_children_are_off():
    """Target less its children's sum: positive is what is left to split, negative what the
    children exceed it by; the figure is exact and has no sign of its own."""
    with translation.override("en"):
        assert split_gap(Decimal("21540000"), "booked_revenue") == "¥21,540,000 left to split"
        assert split_gap(Decimal("-1000"), "booked_revenue") == "¥1,000 over the target"
        assert split_gap(Decimal("-3"), "deals_won") == "3 over the target"
        assert split_gap("", "deals_won") == ""  # the level adds up: nothing to say
    with translation.override("zh-hans"):
        assert split_gap(Decimal("21540000"), "booked_revenue") == "尚有 ¥21,540,000 未分解"
        assert split_gap(Decimal("-1000"), "booked_revenue") == "超出目标 ¥1,000"
