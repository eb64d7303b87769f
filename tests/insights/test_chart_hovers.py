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
        "target": 100_000_000.0,
        "stretch": 120_000_000.0,
    }


def test_burn_up_draws_the_three_levels_across_the_period_each_named():
    """The target had no line: only the floor and the stretch were drawn."""
    with translation.override("en"):
        fig = charts.burn_up(burn_up_data())
    levels = [(s["y0"], s["line"]["dash"]) for s in fig["layout"]["shapes"]]
    assert levels == [(80_000_000.0, "dot"), (100_000_000.0, "solid"), (120_000_000.0, "dot")]
    names = [(a["y"], a["text"]) for a in fig["layout"]["annotations"]]
    assert names == [(80_000_000.0, "Floor"), (100_000_000.0, "Target"), (120_000_000.0, "Stretch")]
    without = charts.burn_up({**burn_up_data(), "target": 0.0})  # no target: no line
    assert [s["y0"] for s in without["layout"]["shapes"]] == [80_000_000.0, 120_000_000.0]


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
    # in English every two-word label takes two lines (at 1,100 px "Deal size" and "Won to
    # date" ran into each other)
    with translation.override("en"):
        fig = charts.gap_waterfall(split, reference_label="FY2026 Q3", current_label="Won to date")
    assert fig["data"][0]["x"] == [
        "FY2026<br>Q3",
        "Opportunities",
        "Win<br>rate",
        "Deal<br>size",
        "Won to<br>date",
    ]


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


def test_the_month_in_progress_is_hatched_and_says_to_which_day():
    """On 2 December this December holds two days: its bar is hatched and its hover says so,
    with last year's same two days beside last year's whole December (the bare bar read as a
    collapse)."""
    data = {
        "labels": ["2026-11", "2026-12"],
        "last": [4_900_000.0, 7_800_000.0],
        "this": [7_000_000.0, 384_000.0],
        "partial": 1,
        "through": "2026-12-02",
        "same_days_last_year": 512_000.0,
    }
    with translation.override("en"):
        fig = charts.trend(data)
    this = fig["data"][1]
    assert this["marker"]["pattern"]["shape"] == ["", "/"]
    assert this["customdata"] == [
        "¥7,000,000",
        "¥384,000 to 12-02 (last year's same days: ¥512,000)",
    ]
    with translation.override("en"):
        whole = charts.trend({**data, "partial": None})
    assert whole["data"][1]["marker"]["pattern"]["shape"] == ["", ""]


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


def test_funnel_bars_read_grouped_counts_not_si_suffixes():
    """On the bars, 173,828 deals read "173,828" (Plotly's own text read "173.828k", in the
    Chinese page too), each step with its share of the previous one."""
    with translation.override("zh-hans"):
        fig = charts.funnel(["初步接洽", "需求确认", "赢单"], [173828.0, 123846.0, 37719.0])
    trace = fig["data"][0]
    assert trace["textinfo"] == "text"
    assert trace["text"] == ["173,828", "123,846<br>71%", "37,719<br>30%"]


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


def test_leaderboard_labels_read_the_percent_the_table_reads():
    """华中 at 87.58 of 101.23 (86.52 %) reads 87% in the table (``pct``) and on its bar — the bar
    used to format its one-decimal 86.5 and read 86% (half to even)."""
    from salesloop.web.templatetags.salesloop import pct

    ratio = 87.58 / 101.23
    with translation.override("en"):
        fig = charts.leaderboard([("华中", ratio, 0.96), ("西南", 97.47 / 114.04, 0.95)])
    labels = dict(zip(fig["data"][0]["y"], fig["data"][0]["text"], strict=True))
    assert labels["华中"] == f"{pct(ratio)} · pace 0.96" == "87% · pace 0.96"
    assert labels["西南"] == "85% · pace 0.95"  # 85.47 %
    assert fig["data"][0]["x"] == [85.5, 86.5]  # the bars keep one decimal, lowest first


def test_product_mix_labels_read_level_and_get_room_outside_the_ring():
    """A small slice's label outside the ring was cut off at the card's edge, and the labels
    inside turned with their slices."""
    with translation.override("en"):
        fig = charts.product_mix(["Software", "Training"], [920.0, 80.0])
    trace = fig["data"][0]
    assert trace["automargin"] is True and trace["insidetextorientation"] == "horizontal"
    assert trace["customdata"] == ["¥920", "¥80"]
