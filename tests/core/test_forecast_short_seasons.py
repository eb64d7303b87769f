"""Seasonality with two to three seasons of history (too short for the lag-m autocorrelation test)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from salesloop.core.forecast import forecast, is_seasonal, repeats_last_two_seasons

# A year-end business: November and December well above the rest, Jan-Feb low (Spring Festival).
PROFILE = np.array([0.7, 0.6, 1.0, 1.0, 1.0, 1.0, 0.95, 0.95, 1.05, 0.9, 1.2, 1.9])


def _series(months: int, growth: float = 0.25, noise: float = 0.05, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(months)
    level = 30.0 * (1 + growth) ** (t / 12)
    return level * PROFILE[t % 12] * np.exp(rng.normal(0, noise, months))


def test_two_years_with_a_year_end_spike_count_as_seasonal():
    y = _series(26)
    assert not is_seasonal(y, 12)  # the classical test needs three seasons
    assert repeats_last_two_seasons(y, 12)
    fc = forecast(y, 12, 12)
    mean = np.asarray(fc.mean)
    # the forecast starts two months into the year (26 % 12 == 2): December is index 9
    assert mean.argmax() == 9
    assert mean[9] > 1.5 * np.median(mean)


def test_a_trend_with_noise_is_not_seasonal():
    rng = np.random.default_rng(3)
    trend_only = 30.0 * 1.02 ** np.arange(30) * np.exp(rng.normal(0, 0.08, 30))
    assert not repeats_last_two_seasons(trend_only, 12)
    straight = np.linspace(10.0, 40.0, 30)  # nothing left once each season's trend is removed
    assert not repeats_last_two_seasons(straight, 12)


def test_short_seasons_and_short_histories_are_left_alone():
    assert not repeats_last_two_seasons(_series(23), 12)  # less than two seasons
    quarterly = np.tile([1.0, 2.0, 1.0, 3.0], 2) * 10
    assert not repeats_last_two_seasons(quarterly, 4)  # m < 6: too few points per season


@settings(max_examples=40, deadline=None)
@given(
    months=st.integers(24, 35),
    scale=st.floats(1e-3, 1e9),
    seed=st.integers(0, 10_000),
)
def test_the_decision_does_not_depend_on_units(months, scale, seed):
    y = _series(months, seed=seed)
    assert repeats_last_two_seasons(y * scale, 12) == repeats_last_two_seasons(y, 12)
