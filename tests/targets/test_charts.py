"""The recommendation chart's lead-in: the forecast of the months between the history and the plan
year, drawn only where nothing has been recorded yet."""

from __future__ import annotations

from datetime import date

from salesloop.targets.charts import forecast_fan

REC = {
    "fan": {k: [100.0] * 12 for k in ("mean", "lo80", "hi80", "lo95", "hi95")},
    "monthly": [[90.0, 100.0, 110.0]] * 12,
    "lead_in": {"start": "2026-11", "mean": [50.0, 60.0]},
}


def lead(fig):
    return [t for t in fig["data"] if t["name"] == "Rest of year (forecast)"]


def test_the_lead_in_joins_the_last_known_month_to_the_plan_year():
    fig = forecast_fan(
        history=[0.0, 30.0, 40.0],  # August (no records yet) to October
        history_start=date(2026, 8, 1),
        recommendation=REC,
        plan_start=date(2027, 1, 1),
    )
    (trace,) = lead(fig)
    assert trace["x"] == ["2026-10", "2026-11", "2026-12"]
    assert trace["y"] == [40.0, 50.0, 60.0]
    # November recorded since: the lead-in starts from it and keeps December only
    fig = forecast_fan(
        history=[0.0, 30.0, 40.0],
        history_start=date(2026, 8, 1),
        recommendation=REC,
        plan_start=date(2027, 1, 1),
        actual=[45.0],
        actual_start=date(2026, 11, 1),
    )
    (trace,) = lead(fig)
    assert trace["x"] == ["2026-11", "2026-12"] and trace["y"] == [45.0, 60.0]
    # both months recorded (the plan looked at in January): no lead-in
    fig = forecast_fan(
        history=[0.0, 30.0, 40.0],
        history_start=date(2026, 8, 1),
        recommendation=REC,
        plan_start=date(2027, 1, 1),
        actual=[45.0, 70.0],
        actual_start=date(2026, 11, 1),
    )
    assert lead(fig) == []
    # a recommendation without one (history ending just before the year, or computed earlier)
    fig = forecast_fan(
        history=[30.0, 40.0],
        history_start=date(2026, 11, 1),
        recommendation={k: v for k, v in REC.items() if k != "lead_in"},
        plan_start=date(2027, 1, 1),
    )
    assert lead(fig) == []


def test_a_first_month_begun_mid_month_is_left_off_the_history_line():
    # records begin on 28 November: that month's 2 is a fragment of the months that follow
    history = [0.0, 2.0, *([40.0] * 12)]
    fig = forecast_fan(
        history=history,
        history_start=date(2025, 10, 1),
        recommendation=REC,
        plan_start=date(2027, 1, 1),
    )
    line = next(t for t in fig["data"] if t["name"] == "History")
    assert line["x"][0] == "2025-12" and line["y"][0] == 40.0
    # a real first month (not below half the median that follows) stays
    fig = forecast_fan(
        history=[0.0, 25.0, *([40.0] * 12)],
        history_start=date(2025, 10, 1),
        recommendation=REC,
        plan_start=date(2027, 1, 1),
    )
    line = next(t for t in fig["data"] if t["name"] == "History")
    assert line["x"][0] == "2025-11" and line["y"][0] == 25.0


def test_a_waterfall_step_hovers_with_its_own_amount_not_the_running_total():
    from salesloop.targets.charts import waterfall

    rec = {
        "waterfall": [
            {"key": "baseline", "amount": 581_530_000.0},
            {"key": "growth", "amount": 69_780_000.0},
            {"key": "uplift:CLOUD", "amount": -1_200.0},
        ],
        "target": 651_308_800.0,
    }
    trace = waterfall(rec, line_names={"CLOUD": "云服务"})["data"][0]
    assert trace["customdata"] == ["¥581,530,000", "+¥69,780,000", "−¥1,200", "¥651,308,800"]
    assert "%{customdata}" in trace["hovertemplate"] and "%{y" not in trace["hovertemplate"]
    counts = waterfall(rec, money=False)["data"][0]
    assert counts["customdata"][1] == "+69,780,000"


def test_the_actual_line_goes_on_from_the_history():
    """Months recorded since the history join its last month (the line had a gap there that read
    as a shift of a month); that joint carries no marker. A gap of months stays a gap."""
    fig = forecast_fan(
        history=[30.0, 40.0],  # November, December 2025
        history_start=date(2025, 11, 1),
        recommendation={k: v for k, v in REC.items() if k != "lead_in"},
        plan_start=date(2026, 1, 1),
        actual=[45.0, 70.0],
        actual_start=date(2026, 1, 1),
    )
    (line,) = (t for t in fig["data"] if t["name"] == "Actual")
    assert line["x"] == ["2025-12", "2026-01", "2026-02"] and line["y"] == [40.0, 45.0, 70.0]
    assert line["marker"]["size"] == [0, 5, 5]
    fig = forecast_fan(
        history=[30.0, 40.0],
        history_start=date(2025, 10, 1),  # October, November: December is missing
        recommendation={k: v for k, v in REC.items() if k != "lead_in"},
        plan_start=date(2026, 1, 1),
        actual=[45.0],
        actual_start=date(2026, 1, 1),
    )
    (line,) = (t for t in fig["data"] if t["name"] == "Actual")
    assert line["x"] == ["2026-01"] and line["marker"]["size"] == [5]


def test_the_waterfalls_english_labels_take_two_lines_where_they_have_two_words():
    """At 1,100 px "Baseline" and "Market growth" ran into each other under their bars."""
    from django.utils import translation

    from salesloop.targets.charts import waterfall

    rec = {
        "waterfall": [
            {"key": "baseline", "amount": 100.0},
            {"key": "growth", "amount": 10.0},
            {"key": "hires", "amount": 5.0},
        ],
        "target": 115.0,
    }
    with translation.override("en"):
        assert waterfall(rec)["data"][0]["x"] == [
            "Baseline",
            "Market<br>growth",
            "New<br>hires",
            "Target",
        ]
    with translation.override("zh-hans"):
        assert waterfall(rec)["data"][0]["x"][:3] == ["基线", "市场增长", "新招聘"]
