"""Dashboard chart hovers write money as the page does (¥2,122.5万, not 21,224,722), and the
figures carry the layout a phone needs (legend below, short label lines)."""

from __future__ import annotations

from types import SimpleNamespace

from django.utils import translation

from salesloop.insights import charts
from salesloop.web.templatetags.salesloop import yuan


def burn_up_data() -> dict:
    return {
        "days": ["2026-10-01", "2026-10-02", "2026-10-03"],
        "expected": [10_000_000.0, 20_000_000.0, 30_000_000.0],
        "actual": [9_000_000.0, 68_237_918.0, None],
        "run_rate": [None, 68_237_918.0, 90_000_000.0],
        "floor": 80_000_000.0,
        "stretch": 120_000_000.0,
    }


def test_burn_up_hover_carries_the_formatted_figure():
    with translation.override("zh-hans"):
        fig = charts.burn_up(burn_up_data())
    actual = next(t for t in fig["data"] if t["y"] == burn_up_data()["actual"])
    assert actual["customdata"][1] == "¥6,823.8万"
    assert "%{customdata}" in actual["hovertemplate"] and "%{y" not in actual["hovertemplate"]
    assert actual["customdata"][2] == ""  # no figure after today, no hover text
    for trace in fig["data"]:
        assert trace["hovertemplate"] == charts.NAMED_HOVER


def test_burn_up_of_a_count_has_no_currency():
    with translation.override("en"):
        fig = charts.burn_up({**burn_up_data(), "actual": [3.0, 1234.0, None]}, money=False)
    assert fig["data"][1]["customdata"][:2] == ["3", "1,234"]


def test_gap_waterfall_hover_is_each_steps_own_amount_signed():
    split = SimpleNamespace(
        reference=21_224_722,
        opportunities=-1_290_000,
        win_rate=2_920_000,
        deal_size=-1_100_000,
        current=21_754_722,
    )
    with translation.override("zh-hans"):
        fig = charts.gap_waterfall(
            split, reference_label="应由赢单带来", current_label="截至今日赢单"
        )
    trace = fig["data"][0]
    assert trace["customdata"] == ["¥2,122.5万", "−¥129万", "+¥292万", "−¥110万", "¥2,175.5万"]
    assert trace["hovertemplate"] == "%{x}: %{customdata}<extra></extra>"
    # on a phone the long labels are on short lines, not over each other
    ticks = fig["narrow"]["xaxis"]
    assert ticks["tickvals"] == trace["x"] and ticks["ticktext"][0] == "应由赢<br>单带来"


def test_trend_and_driver_bars_hover_in_money():
    with translation.override("en"):
        fig = charts.trend({"labels": ["2026-01"], "last": [1_000_000.0], "this": [1_234_567.0]})
        drivers = charts.children_drivers(
            ["East"],
            [SimpleNamespace(opportunities=-62_000.0, win_rate=1_323_000.0, deal_size=0.0)],
        )
    assert [t["customdata"] for t in fig["data"]] == [["¥1,000,000"], ["¥1,234,567"]]
    assert [t["customdata"][0] for t in drivers["data"]] == ["−¥62,000", "+¥1,323,000", "+¥0"]
    assert fig["narrow"]["legend"]["orientation"] == "h"


def test_product_mix_hover_in_money():
    with translation.override("zh-hans"):
        fig = charts.product_mix(["云服务"], [12_345_678.0])
        assert fig["data"][0]["customdata"] == [yuan(12_345_678.0)] == ["¥1,234.6万"]


def test_narrow_label_wrapping():
    assert charts.wrap_narrow("2026财年 Q3") == "2026财年<br>Q3"
    assert charts.wrap_narrow("本期") == "本期"
    assert charts.wrap_narrow("Expected from deals") == "Expected<br>from deals"


def test_funnel_hover_is_written_by_salesloop_not_plotly():
    """Plotly's own funnel hover is English ("25% of previous"): each step's hover is ours,
    in the reader's language."""
    with translation.override("en"):
        fig = charts.funnel(["Lead", "Qualified", "Won"], [40.0, 10.0, 4.0])
    trace = fig["data"][0]
    assert trace["hovertemplate"] == "%{y}<br>%{customdata}<extra></extra>"
    assert trace["customdata"] == [
        "Reached: 40",
        "Reached: 10<br>25% of the previous step<br>25% of the first step",
        "Reached: 4<br>40% of the previous step<br>10% of the first step",
    ]
    assert trace["x"] == [40.0, 10.0, 4.0]  # the figures themselves unchanged
    with translation.override("en"):
        empty = charts.funnel(["Lead", "Won"], [0.0, 0.0])
    assert empty["data"][0]["customdata"][1] == (
        "Reached: 0<br>— of the previous step<br>— of the first step"
    )


def test_funnel_and_heatmap_hovers_in_chinese():
    """Needs the zh-Hans catalogue entries of the funnel and heatmap hovers."""
    with translation.override("zh-hans"):
        fig = charts.funnel(["线索", "方案", "赢单"], [40.0, 10.0, 4.0])
        heat = charts.heatmap(
            {"weeks": ["2026-03-02"], "rows": [(SimpleNamespace(name="张三"), [3])]}
        )
    assert fig["data"][0]["customdata"] == [
        "到达数：40",
        "到达数：10<br>占上一步 25%<br>占第一步 25%",
        "到达数：4<br>占上一步 40%<br>占第一步 10%",
    ]
    assert fig["data"][0]["name"] == "到达数"
    assert heat["data"][0]["hovertemplate"] == "%{y} · %{x}: %{z} 条跟进记录<extra></extra>"
