"""Recommendation, waterfall, capacity cap, period totals and SMART checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesloop.core.forecast import forecast
from salesloop.core.planning import (
    Hire,
    PlanInputs,
    SmartInputs,
    period_targets,
    probability_of_reaching,
    recommend,
    smart_check,
    yoy_growth_rates,
)


def seasonal_history(level=100.0, growth=0.01, noise=0.1, seed=1, n=36):
    rng = np.random.default_rng(seed)
    season = np.array([0.6, 0.7, 1.0, 1.0, 1.0, 1.05, 1.0, 0.95, 1.0, 1.05, 1.25, 1.4])
    return [level * (1 + growth) ** i * season[i % 12] * rng.lognormal(0, noise) for i in range(n)]


HISTORY = seasonal_history()
FC = forecast(HISTORY, 12, season_length=12)


def test_period_targets_order_and_scale():
    floor, target, stretch = period_targets(HISTORY, 12)
    assert floor < target < stretch
    last_year = sum(HISTORY[-12:])
    # a series growing 1 %/month: next year's median total is above last year's total
    assert last_year < target < last_year * 1.4


def test_period_targets_account_for_how_errors_add_up():
    """The floor of the total lies above the sum of the monthly 20 % quantiles (errors partly cancel)."""
    from salesloop.core.forecast import quantiles

    floor, target, _ = period_targets(HISTORY, 12)
    sum_of_monthly_floors = sum(quantiles(FC, [0.2])[0])
    assert floor >= sum_of_monthly_floors - 1e-6
    assert abs(target - sum(quantiles(FC, [0.5])[0])) / target < 0.05


@settings(max_examples=25, deadline=None)
@given(st.floats(min_value=-0.5, max_value=1.0), st.floats(min_value=0.0, max_value=0.5))
def test_higher_growth_never_lowers_the_target(g, extra):
    low = recommend(HISTORY, PlanInputs(growth_rate=g), fc=FC)
    high = recommend(HISTORY, PlanInputs(growth_rate=g + extra), fc=FC)
    assert high.target >= low.target - 1e-9
    assert high.floor >= low.floor - 1e-9 and high.stretch >= low.stretch - 1e-9
    for r in (low, high):
        assert 0 <= r.floor <= r.target <= r.stretch


def test_waterfall_adds_up_to_the_target_and_names_each_input():
    rec = recommend(
        HISTORY,
        PlanInputs(
            growth_rate=0.1,
            uplifts={"cloud": 300.0},
            hires=[Hire(start_month=4, ramp_months=6)],
            ramped_productivity=40.0,
        ),
        fc=FC,
    )
    keys = [s.key for s in rec.waterfall]
    assert keys == ["baseline", "growth", "uplift:cloud", "hires"]
    assert sum(s.amount for s in rec.waterfall) == pytest.approx(rec.target, abs=1e-6)
    steps = {s.key: s.amount for s in rec.waterfall}
    assert steps["uplift:cloud"] == pytest.approx(
        300.0, rel=1e-9
    )  # deterministic additions pass through
    # hire from month 4 with a 6-month ramp: FTE 1/6, 2/6, … 6/6 from month 4 to 9, then 1 → 3.5 + 3 = 6.5 FTE-months
    assert steps["hires"] == pytest.approx(6.5 * 40.0, rel=1e-9)
    assert steps["growth"] == pytest.approx(0.1 * steps["baseline"], rel=1e-9)
    assert sum(m[1] for m in rec.monthly) == pytest.approx(rec.target)


def test_hire_ramp():
    assert Hire(start_month=11, ramp_months=3).fte_by_month().tolist() == [0] * 10 + [1 / 3, 2 / 3]


def test_capacity_caps_and_flags():
    free = recommend(HISTORY, PlanInputs(), fc=FC)
    capped = recommend(HISTORY, PlanInputs(capacity=free.target * 0.8), fc=FC)
    assert capped.capped and capped.target == pytest.approx(free.target * 0.8)
    assert capped.floor <= capped.target <= capped.stretch
    assert capped.waterfall[-1].key == "cap" and sum(
        s.amount for s in capped.waterfall
    ) == pytest.approx(capped.target)
    assert not recommend(HISTORY, PlanInputs(capacity=free.target * 2), fc=FC).capped


def test_bad_probabilities_are_refused():
    with pytest.raises(ValueError):
        recommend(HISTORY, PlanInputs(probabilities=(1.0, 0.5, 0.3)), fc=FC)


@pytest.mark.parametrize(
    ("season_length", "probabilities", "says"),
    [(0, (0.8, 0.5, 0.3), "season_length"), (12, (0.8, 0.5, 1.0), "between 0 and 1")],
)
def test_period_targets_refuses_what_makes_no_sense(season_length, probabilities, says):
    with pytest.raises(ValueError, match=says):
        period_targets(HISTORY, season_length, probabilities)


def test_probability_of_reaching_is_monotone():
    _, target, _ = period_targets(HISTORY, 12)
    p_low = probability_of_reaching(FC, target * 0.8)
    p_mid = probability_of_reaching(FC, target)
    p_high = probability_of_reaching(FC, target * 1.2)
    assert p_low > p_mid > p_high
    assert 0.4 < p_mid < 0.6


def test_yoy_growth_rates_by_hand():
    # 12 months of 10 then 12 months of 11 then 12 months of 12.1: rolling totals grow 10 % a year
    monthly = [10.0] * 12 + [11.0] * 12 + [12.1] * 12
    rates = yoy_growth_rates(monthly)
    assert len(rates) == 13
    assert rates[0] == pytest.approx(0.1) and rates[-1] == pytest.approx(0.1)


def base_inputs(**kw):
    values = dict(
        has_owner=True,
        metric_defined=True,
        target=1_000_000.0,
        period_set=True,
        relevant_to="云服务",
        probability=0.5,
        last_year_actual=900_000.0,
        yoy_growth_history=[0.05, 0.1, 0.15, 0.2],
        fte=1.0,
        team_productivity=[600_000.0, 800_000.0, 900_000.0, 1_200_000.0],
    )
    values.update(kw)
    return SmartInputs(**values)


def failed(checks):
    return {(c.letter, c.reason) for c in checks if not c.ok}


def test_smart_all_good():
    assert failed(smart_check(base_inputs())) == set()


def test_smart_flags_constructed_cases():
    # growth implied 1.5M / 0.9M − 1 = 66.7 % vs the 90th percentile of 5/10/15/20 % = 18.5 %
    checks = smart_check(base_inputs(target=1_500_000.0, probability=0.05))
    assert failed(checks) == {
        ("A", "growth_above_p90"),
        ("A", "probability_low"),
        ("A", "productivity_above_top_decile"),
    }
    growth = next(c for c in checks if c.reason == "growth_above_p90")
    assert growth.figures["implied_growth"] == pytest.approx(0.6667, abs=1e-4)
    assert growth.figures["p90_growth"] == pytest.approx(0.185)
    assert failed(smart_check(base_inputs(probability=0.99))) == {("A", "probability_high")}
    assert failed(smart_check(base_inputs(relevant_to=""))) == {("R", "not_tied")}
    assert failed(
        smart_check(base_inputs(has_owner=False, metric_defined=False, period_set=False))
    ) == {("S", "no_owner"), ("M", "metric_undefined"), ("T", "no_period")}


def test_path_totals_are_the_sample_path_sums_of_each_forecast() -> None:
    """The batch draws equal one sample_paths call per forecast, bit for bit."""
    import numpy as np

    from salesloop.core.forecast import forecast, sample_paths
    from salesloop.core.planning import path_totals

    rng = np.random.default_rng(7)
    histories = [
        list(rng.uniform(50, 150, 30)),  # steady, positive (log scale)
        list(rng.uniform(0, 10, 24) * (rng.uniform(0, 1, 24) > 0.6)),  # intermittent
        list(np.linspace(10, 100, 36) + rng.normal(0, 5, 36)),  # trending
        list(rng.normal(0, 50, 20)),  # signs mixed (additive)
        [5.0, 6.0, 4.0],  # very short
    ]
    fcs = [forecast(y, 12, season_length=12) for y in histories]
    batch = path_totals(fcs, n=500, seed=3)
    assert batch.shape == (5, 500)
    for fc, row in zip(fcs, batch, strict=True):
        assert np.array_equal(row, sample_paths(fc, n=500, seed=3).sum(axis=1))
    assert path_totals([], n=10).shape == (0, 10)


def test_yoy_growth_rates_many_equal_one_call_per_series_bit_for_bit() -> None:
    import numpy as np

    from salesloop.core.planning import yoy_growth_rates_many

    rng = np.random.default_rng(11)
    for length in (12, 24, 25, 36):
        table = rng.lognormal(8, 2, size=(30, length)) * (rng.random((30, length)) > 0.3)
        table[0] = 0.0
        table[1, :12] = 0.0
        table[2] *= -1
        many = yoy_growth_rates_many(table)
        one = [yoy_growth_rates(row) for row in table]
        assert many == one
        assert [[np.float64(x).tobytes() for x in r] for r in many] == [
            [np.float64(x).tobytes() for x in r] for r in one
        ]
    assert yoy_growth_rates_many(np.zeros((0, 36))) == []
