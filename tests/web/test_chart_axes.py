"""Chart axes and bar labels read as a director reads money: round steps, ¥ and 万/M units,
signed steps on a waterfall, and an axis that reaches every bar (also below zero)."""

from __future__ import annotations

from types import SimpleNamespace

from django.utils import translation

from salesloop.insights import charts as dash
from salesloop.targets.charts import value_axis, waterfall_extent


def test_axis_from_zero_with_round_steps():
    with translation.override("en"):
        axis = value_axis(176_588_819)
    # 176.6M / 5 = 35.3M → step 50M; 0 … 200M
    assert axis["tickvals"] == [0, 50e6, 100e6, 150e6, 200e6]
    assert axis["ticktext"] == ["¥0", "¥50M", "¥100M", "¥150M", "¥200M"]
    assert axis["range"] == [0, 208e6]


def test_axis_below_zero_keeps_round_ticks_and_a_zero_line():
    with translation.override("zh-hans"):
        axis = value_axis(1_684_274, bottom=-1_545_242)
    # span 3.23M / 5 = 0.646M → step 1M; −2M … 2M
    assert axis["tickvals"] == [-2e6, -1e6, 0, 1e6, 2e6]
    assert axis["ticktext"] == ["−¥200万", "−¥100万", "¥0", "¥100万", "¥200万"]
    assert axis["range"][0] < -2e6 and axis["range"][1] > 2e6
    assert axis["zeroline"] is True


def test_counts_have_no_currency():
    axis = value_axis(37, money=False)
    assert axis["ticktext"][0] == "0" and all("¥" not in t for t in axis["ticktext"])
    assert axis["tickvals"][-1] >= 37


def test_waterfall_extent_follows_the_running_level():
    # 100 → −150 → +20 → total: the bars go down to −50
    assert waterfall_extent(
        [100, -150, 20, -30], ["absolute", "relative", "relative", "total"]
    ) == (
        -50,
        100,
    )


def test_gap_waterfall_labels_are_compact_and_signed():
    split = SimpleNamespace(
        reference=17_541_599,
        opportunities=1_684_274,
        win_rate=-228_257,
        deal_size=-1_406_877,
        current=17_590_740,
    )
    with translation.override("en"):
        fig = dash.gap_waterfall(split, reference_label="Q3", current_label="This period")
    trace = fig["data"][0]
    assert trace["text"] == ["¥17.54M", "+¥1.68M", "−¥228k", "−¥1.41M", "¥17.59M"]
    # the highest running level is 17,541,599 + 1,684,274 = 19,225,873: on the axis
    assert fig["layout"]["yaxis"]["tickvals"][-1] >= 19_225_873
    # on hover each step's own amount, written as the page writes money (in English the whole
    # yuan), not Plotly's running total %{y}
    assert "%{customdata}" in trace["hovertemplate"]
    assert trace["customdata"] == [
        "¥17,541,599",
        "+¥1,684,274",
        "−¥228,257",
        "−¥1,406,877",
        "¥17,590,740",
    ]


def test_children_drivers_axis_covers_stacked_ups_and_downs():
    splits = [
        SimpleNamespace(opportunities=700_000, win_rate=-1_200_000, deal_size=400_000),
        SimpleNamespace(opportunities=900_000, win_rate=700_000, deal_size=-1_500_000),
    ]
    fig = dash.children_drivers(["East", "South"], splits)
    ticks = fig["layout"]["yaxis"]["tickvals"]
    assert ticks[0] <= -1_500_000 and ticks[-1] >= 1_600_000


def test_burn_up_axis_reaches_the_stretch_line():
    data = {
        "days": ["2026-10-01", "2026-10-02"],
        "expected": [0.0, 10.0],
        "actual": [0.0, 8.0],
        "run_rate": [0.0, 9.0],
        "floor": 40.0,
        "target": 50.0,
        "stretch": 61.0,
    }
    fig = dash.burn_up(data, money=False)
    axis = fig["layout"]["yaxis"]
    # 61 / 5 = 12.2 → step 20: 0, 20, 40, 60, 80 (60 would cut the stretch line)
    assert axis["tickvals"] == [0, 20, 40, 60, 80] and axis["ticktext"][-1] == "80"


def test_axes_of_labels_are_categories_and_months_stay_dates():
    month_step = {"data": [{"type": "waterfall", "x": ["2026-09", "Opportunities", "This period"]}]}
    assert dash.with_category_axes(month_step)["layout"]["xaxis"] == {"type": "category"}
    months = {"data": [{"type": "bar", "x": ["2026-01", "2026-02"]}], "layout": {"a": 1}}
    assert dash.with_category_axes(months)["layout"] == {"a": 1}  # a date axis, as it should be
    names = {
        "data": [{"type": "bar", "orientation": "h", "y": ["East", "2026"]}],
        "layout": {"yaxis": {"automargin": True}},
    }
    assert dash.with_category_axes(names)["layout"]["yaxis"] == {
        "type": "category",
        "automargin": True,
    }
    # the charts built now type their own axes
    split = SimpleNamespace(reference=1, opportunities=0, win_rate=0, deal_size=0, current=1)
    fig = dash.gap_waterfall(split, reference_label="2026-09", current_label="This period")
    assert fig["layout"]["xaxis"]["type"] == "category"
