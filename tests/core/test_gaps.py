"""Tests for salesloop.core.gaps (pure math, no database)."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesloop.core.gaps import (
    DriverState,
    bottlenecks,
    diagnose_target_calibration,
    lmdi_contributions,
    lmdi_split,
    lmdi_split_children,
    lmdi_split_many,
    median_state,
)

D = Decimal
NAN = float("nan")


def _sum(split: object) -> Decimal:
    return split.opportunities + split.win_rate + split.deal_size  # type: ignore[attr-defined, no-any-return]


# ------------------------------------------------------------------- LMDI


def test_lmdi_single_driver_change_goes_to_that_driver() -> None:
    target = DriverState(opportunities=50, win_rate=0.25, deal_size=50_000.0)
    actual = DriverState.from_counts(closed=40, won=10, won_amount=D("500000.00"))
    s = lmdi_split(target, actual)
    # V0 = 50 × 0.25 × 50 000 = 625 000; V1 = 500 000 (40 × 10/40 × 50 000)
    # win rate and deal size are equal in both states: ln(1) = 0 → all to opportunities
    assert (s.reference, s.current, s.gap) == (D("625000.00"), D("500000.00"), D("-125000.00"))
    assert (s.opportunities, s.win_rate, s.deal_size) == (D("-125000.00"), D("0.00"), D("0.00"))
    assert s.largest_driver == "opportunities"


def test_lmdi_offsetting_drivers() -> None:
    s = lmdi_split(DriverState(100, 0.2, 1000.0), DriverState(100, 0.4, 500.0))
    # V0 = V1 = 20 000 → L(20 000, 20 000) = 20 000
    # win rate: 20 000 × ln(0.4 / 0.2) = 20 000 × 0.693147 = 13 862.94
    # deal size: 20 000 × ln(500 / 1000) = −13 862.94
    assert s.gap == D("0.00")
    assert (s.opportunities, s.win_rate, s.deal_size) == (
        D("0.00"),
        D("13862.94"),
        D("-13862.94"),
    )


def test_lmdi_three_drivers_hand_example() -> None:
    s = lmdi_split(DriverState(100, 0.2, 1000.0), DriverState(120, 0.25, 900.0))
    # V0 = 100 × 0.2 × 1000 = 20 000; V1 = 120 × 0.25 × 900 = 27 000; gap 7 000
    # L = 7 000 / ln(27 000 / 20 000) = 7 000 / 0.3001046 = 23 325.2012
    # opportunities: L × ln(1.2)  = 23 325.2012 × 0.1823216 = 4 252.687 → 4 252.69
    # win rate:      L × ln(1.25) = 23 325.2012 × 0.2231436 = 5 204.868 → 5 204.87
    # deal size:     L × ln(0.9)  = 23 325.2012 × −0.1053605 = −2 457.555 → −2 457.56
    # 4 252.69 + 5 204.87 − 2 457.56 = 7 000.00: no residual
    assert s.gap == D("7000.00")
    assert (s.opportunities, s.win_rate, s.deal_size) == (
        D("4252.69"),
        D("5204.87"),
        D("-2457.56"),
    )


def test_lmdi_rounding_residual_goes_to_the_largest_driver() -> None:
    # all three drivers zero in state 0, state 1 = 1 × 1 × 1: each gets 1/3 = 0.333…
    # rounded 0.33 × 3 = 0.99, residual 0.01 → the first of the (tied) largest
    s = lmdi_split(DriverState(0, 0.0, 0.0), DriverState(1, 1.0, 1.0))
    assert (s.opportunities, s.win_rate, s.deal_size) == (D("0.34"), D("0.33"), D("0.33"))
    assert _sum(s) == s.gap == D("1.00")


def test_lmdi_zero_states() -> None:
    # no opportunity closed in the reference: win rate and deal size undefined there,
    # taken from the current state → the whole gap (10 × 0.2 × 2 500 = 5 000) is
    # opportunities
    empty = DriverState.from_counts(closed=0, won=0, won_amount=D("0.00"))
    actual = DriverState.from_counts(closed=10, won=2, won_amount=D("5000.00"))
    s = lmdi_split(empty, actual)
    assert (s.opportunities, s.win_rate, s.deal_size) == (D("5000.00"), D("0.00"), D("0.00"))
    # two drivers zero in state 0 (V0 = 0): they share V1 = 10 × 0.5 × 100 = 500 equally
    s = lmdi_split(DriverState(10, 0.0, 0.0), DriverState(10, 0.5, 100.0))
    assert (s.opportunities, s.win_rate, s.deal_size) == (D("0.00"), D("250.00"), D("250.00"))
    # current is zero because nothing closed: −V0 = −(10 × 0.5 × 100) to opportunities
    s = lmdi_split(DriverState(10, 0.5, 100.0), DriverState(0, 0.5, 100.0))
    assert (s.opportunities, s.win_rate, s.deal_size) == (D("-500.00"), D("0.00"), D("0.00"))
    # both zero: nothing to explain
    s = lmdi_split(DriverState(0, 0.0, 0.0), DriverState(0, None, None))
    assert (s.gap, s.opportunities, s.win_rate, s.deal_size) == (D("0.00"),) * 4
    # nothing won in the current state: deal size undefined there (taken from the
    # reference), so the gap of −500 is 10 closed × (0 − 0.5) win rate → win rate
    lost_all = DriverState.from_counts(closed=10, won=0, won_amount=D("0.00"))
    s = lmdi_split(DriverState(10, 0.5, 100.0), lost_all)
    assert (s.opportunities, s.win_rate, s.deal_size) == (D("0.00"), D("-500.00"), D("0.00"))


def test_driver_state_validation() -> None:
    with pytest.raises(ValueError):
        DriverState(-1, 0.5, 10.0)
    with pytest.raises(ValueError):
        DriverState(1, math.nan, 10.0)
    with pytest.raises(ValueError):
        DriverState.from_counts(closed=1, won=2, won_amount=D("1.00"))
    with pytest.raises(ValueError):
        lmdi_contributions([[1.0, -1.0]], [[1.0, 1.0]])


def test_median_state() -> None:
    m = median_state(
        [
            DriverState(10, 0.2, 100.0),
            DriverState(20, None, None),
            DriverState(30, 0.4, 300.0),
        ]
    )
    # medians over defined values: opportunities 20; win rate (0.2, 0.4) → 0.3; size 200
    assert (m.opportunities, m.win_rate, m.deal_size) == (20.0, pytest.approx(0.3), 200.0)


driver = st.one_of(st.just(0.0), st.floats(1e-6, 1e6, allow_nan=False, allow_infinity=False))
maybe = st.one_of(st.none(), driver)
states = st.builds(DriverState, driver, maybe, maybe)


@given(st.lists(st.tuples(states, states), min_size=1, max_size=8))
@settings(max_examples=300, deadline=None)
def test_lmdi_contributions_add_up_exactly_to_the_gap(
    pairs: list[tuple[DriverState, DriverState]],
) -> None:
    splits = lmdi_split_many([p[0] for p in pairs], [p[1] for p in pairs])
    for s in splits:
        assert _sum(s) == s.gap == s.current - s.reference
        for v in (s.gap, s.opportunities, s.win_rate, s.deal_size):
            assert v.is_finite() and v.as_tuple().exponent == -2


@given(
    st.lists(st.tuples(driver, driver, driver), min_size=1, max_size=20),
    st.lists(st.tuples(driver, driver, driver), min_size=1, max_size=20),
)
def test_lmdi_float_contributions_sum_to_the_change(
    a: list[tuple[float, float, float]], b: list[tuple[float, float, float]]
) -> None:
    n = min(len(a), len(b))
    x0, x1 = np.array(a[:n]), np.array(b[:n])
    c = lmdi_contributions(x0, x1)
    assert np.all(np.isfinite(c))
    dv = x1.prod(axis=1) - x0.prod(axis=1)
    scale = np.maximum(np.abs(x1.prod(axis=1)), np.abs(x0.prod(axis=1)))
    # float64 logarithms of nearly-zero drivers lose digits (hypothesis found up to 1e-8 relative);
    # the money split (lmdi_split) is exact to the cent whatever the float error.
    assert np.all(np.abs(c.sum(axis=1) - dv) <= 1e-6 * np.maximum(scale, 1.0))


@given(
    st.dictionaries(st.integers(0, 6), states, max_size=6),
    st.dictionaries(st.integers(0, 6), states, max_size=6),
)
@settings(max_examples=200, deadline=None)
def test_children_add_up_to_the_parent(
    ref: dict[int, DriverState], cur: dict[int, DriverState]
) -> None:
    split = lmdi_split_children(ref, cur)
    kids = split.children.values()
    t = split.total
    assert t.gap == sum((k.gap for k in kids), D("0.00"))
    assert t.current - t.reference == t.gap
    for name in ("opportunities", "win_rate", "deal_size"):
        assert getattr(t, name) == sum((getattr(k, name) for k in kids), D("0.00"))
    assert _sum(t) == t.gap
    for k in kids:
        assert _sum(k) == k.gap


def test_children_hand_example() -> None:
    split = lmdi_split_children(
        {"north": DriverState(10, 0.5, 100.0), "south": DriverState(20, 0.5, 100.0)},
        {
            "north": DriverState(10, 0.5, 200.0),
            "east": DriverState.from_counts(closed=4, won=1, won_amount=D("300.00")),
        },
    )
    north, south, east = (split.children[k] for k in ("north", "south", "east"))
    # north: 500 → 1 000, only the deal size moved: +500 to deal size
    assert (north.gap, north.deal_size) == (D("500.00"), D("500.00"))
    # south disappeared: −1 000 (20 × 0.5 × 100), all opportunities
    assert (south.gap, south.opportunities) == (D("-1000.00"), D("-1000.00"))
    # east is new: +300, all opportunities
    assert (east.gap, east.opportunities) == (D("300.00"), D("300.00"))
    # parent: 1 500 → 1 300 = −200 = 500 − 1 000 + 300; opportunities −700, size +500
    t = split.total
    assert (t.reference, t.current, t.gap) == (D("1500.00"), D("1300.00"), D("-200.00"))
    assert (t.opportunities, t.win_rate, t.deal_size) == (D("-700.00"), D("0.00"), D("500.00"))


# ------------------------------------------------------------- bottleneck


def test_bottlenecks_hand_example() -> None:
    result = bottlenecks(
        ["a", "b", "c"],
        entries=[100, 80, 50],
        conversions=[[0.5, 0.4, 0.3], [0.6, 0.2, 0.5], [0.4, 0.5, NAN]],
        deal_size=[1000.0, 2000.0, NAN],
        stage_labels=["qualify", "propose", "negotiate"],
    )
    a, b, c = result
    # team medians: step 0 median(0.5, 0.6, 0.4) = 0.5; step 1 median(0.4, 0.2, 0.5) = 0.4;
    # step 2 median(0.3, 0.5) = 0.4 (c undefined); deal size median(1000, 2000) = 1500
    # a: revenue 100 × 0.5 × 0.4 × 0.3 × 1000 = 6 000; only step 2 is below the median:
    #    gain 100 × 0.5 × 0.4 × (0.4 − 0.3) × 1000 = 2 000
    assert (a.step, a.stage, a.gain, a.revenue) == (2, "negotiate", D("2000.00"), D("6000.00"))
    assert a.gains == (D("0.00"), D("0.00"), D("2000.00"))
    # b: revenue 80 × 0.6 × 0.2 × 0.5 × 2000 = 9 600; step 1: 80 × 0.6 × 0.5 × 0.2 × 2000
    #    = 9 600
    assert (b.step, b.gain, b.conversion, b.team_median) == (1, D("9600.00"), 0.2, 0.4)
    # c: step 2 and deal size undefined → team medians 0.4 and 1 500 in the model;
    #    revenue 50 × 0.4 × 0.5 × 0.4 × 1500 = 6 000; step 0: 50 × 0.5 × 0.4 × 0.1 × 1500
    #    = 1 500; step 2 is never the bottleneck (no evidence)
    assert (c.step, c.stage, c.gain, c.revenue) == (0, "qualify", D("1500.00"), D("6000.00"))
    assert c.gains[2] == D("0.00")


def test_bottleneck_none_when_at_or_above_median() -> None:
    (only,) = bottlenecks(["x"], [10], [[0.5, 0.5]], [100.0])
    # a single member is the median: nothing to gain
    assert only.step is None and only.gain == D("0.00") and only.stage is None
    assert bottlenecks([], [], np.zeros((0, 2)), []) == []


# ------------------------------------------------------ target calibration


def test_target_calibration_diagnosis() -> None:
    d = diagnose_target_calibration([0.5, 0.6, None, 0.9, 0.65], 0.5)
    # paces 0.5, 0.6, 0.9, 0.65 → median (0.6 + 0.65) / 2 = 0.625 < 0.7;
    # below 0.8: 3 of 4 = 75 % > 60 %
    assert d is not None
    assert (d.members, d.median_pace, d.share_behind) == (4, pytest.approx(0.625), 0.75)
    assert "miscalibrated" in d.message and "75%" in d.message
    # too early in the period (30 % < one third)
    assert diagnose_target_calibration([0.5, 0.6, 0.9, 0.65], 0.3) is None
    # median 0.75 is not far enough behind
    assert diagnose_target_calibration([0.5, 0.6, 0.9, 0.95], 0.5) is None
    # median 0.6 but only 3 of 5 = 60 % below 0.8: not *more than* 60 %
    assert diagnose_target_calibration([0.5, 0.55, 0.9, 0.95, 0.6], 0.5) is None
    # too few members with a pace
    assert diagnose_target_calibration([0.1, 0.2, None], 0.9) is None
    # thresholds are parameters
    assert diagnose_target_calibration(
        [0.5, 0.6, 0.9, 0.95], 0.5, median_below=0.8, share_above=0.4
    )
