"""Round-figure splits: a rounding unit (in minor units) for targets such as ¥10,000 steps."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesloop.core.allocation import (
    AllocationError,
    ChildSpec,
    LevelSpec,
    RangeError,
    allocate,
    allocate_levels,
    fit_matrix,
    largest_remainder,
    largest_remainder_many,
    round_matrix,
    rounding_step,
    split_levels_many,
    split_over_months,
)

WAN = 1_000_000  # ¥10,000 in cents
units_st = st.sampled_from([1, 10, 100, 10_000, 100_000, WAN])


def test_rounding_step_falls_back_to_finer_steps_for_small_totals() -> None:
    # ¥6.9亿 over 5 regions: 13 800 steps of ¥10,000 each on average → ¥10,000.
    assert rounding_step(69_000_000_000, 5, WAN) == WAN
    # ¥30万 over 12 months: 30 steps of ¥10,000 is 2.5 per month (< 10) → ¥1,000 (25 per month).
    assert rounding_step(30_000_000, 12, WAN) == 100_000
    # ¥500 over 12 months: not even 10 cents-steps of 10 each → down to ¥1 (4 200 cents per month).
    assert rounding_step(50_000, 12, WAN) == 100
    assert rounding_step(5, 12, WAN) == 1
    assert rounding_step(10**12, 3, 1) == 1


def test_round_split_hand_example() -> None:
    # ¥1,000万 over weights 1 : 2 : 4 in ¥10,000 steps: 1 000 steps → 142.86 / 285.71 / 571.43
    # → floors 142 / 285 / 571 (998), the two largest remainders (.86, .71) get one more step.
    parts = largest_remainder(1_000 * WAN, [1, 2, 4], unit=WAN)
    assert parts == [143 * WAN, 286 * WAN, 571 * WAN]
    # A total with ¥1,234.56 below one step: it goes to the largest weight, and only there.
    parts = largest_remainder(1_000 * WAN + 123_456, [1, 2, 4], unit=WAN)
    assert parts == [143 * WAN, 286 * WAN, 571 * WAN + 123_456]


def test_allocate_rounds_the_unlocked_children_around_a_locked_odd_value() -> None:
    # ¥100万 parent, one child locked at ¥12,345.67; the rest (¥987,654.33) over two equal
    # children: 98 whole steps (49 each) and ¥7,654.33 below a step to the first (equal weights:
    # the lower index).
    out = allocate(
        Decimal("1000000.00"),
        [
            ChildSpec("a", locked_value=Decimal("12345.67")),
            ChildSpec("b", 1.0),
            ChildSpec("c", 1.0),
        ],
        unit=WAN,
    )
    assert out == [Decimal("12345.67"), Decimal("497654.33"), Decimal("490000.00")]
    assert sum(out) == Decimal("1000000.00")


def test_months_of_a_round_target_are_round() -> None:
    # ¥120万 by equal weights in ¥10,000 steps (120 steps, 10 per month): ¥10万 a month.
    months = split_over_months(Decimal("1200000"), [1] * 12, unit=WAN)
    assert months == [Decimal("100000.00")] * 12
    # ¥121万: 121 steps, 10.08 per month → one month gets the extra ¥1万 (the first, on ties).
    months = split_over_months(Decimal("1210000"), [1] * 12, unit=WAN)
    assert months[0] == Decimal("110000.00") and months[1:] == [Decimal("100000.00")] * 11


def test_unit_must_be_a_power_of_ten() -> None:
    for bad in (0, -10, 3, 250, True):
        with pytest.raises(AllocationError, match="rounding unit"):
            largest_remainder(1000, [1, 1], unit=bad)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 10**13),
    st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=15),
    units_st,
)
def test_round_split_properties(total: int, weights: list[float], unit: int) -> None:
    parts = largest_remainder(total, weights, unit=unit)
    assert sum(parts) == total and all(p >= 0 for p in parts)
    step = rounding_step(total, len(weights), unit)
    off_step = [p for p in parts if p % step]
    assert len(off_step) <= 1  # at most the part that took what lies below one step
    exact = [Fraction(w) for w in weights]
    if sum(exact) == 0:
        exact = [Fraction(1)] * len(weights)
    for p, w in zip(parts, exact, strict=True):
        assert abs(p - total * w / sum(exact)) < 2 * step
    # a larger weight never gets less
    order = sorted(range(len(weights)), key=lambda i: exact[i])
    got = [parts[i] for i in order]
    for a, b, i, j in zip(got, got[1:], order, order[1:], strict=False):
        if exact[i] < exact[j]:
            assert a <= b


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(0, 10**12), min_size=1, max_size=6),
    st.lists(st.floats(0, 100, allow_nan=False), min_size=12, max_size=12),
    units_st,
)
def test_many_equals_one_split_at_a_time(
    totals: list[int], weights: list[float], unit: int
) -> None:
    out = largest_remainder_many([totals], [weights], unit=unit)
    for j, total in enumerate(totals):
        assert out[0, j].tolist() == largest_remainder(total, weights, unit=unit)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_round_matrix_in_steps_keeps_both_margins(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 6))
    m = data.draw(st.integers(1, 5))
    step = data.draw(st.sampled_from([1, 100, WAN]))
    rows = [data.draw(st.integers(0, 5_000)) * step for _ in range(n)]
    col_w = [data.draw(st.floats(0.1, 10)) for _ in range(m)]
    cols = largest_remainder(sum(rows), col_w)
    cols_in_steps = [c - c % step for c in cols]
    cols_in_steps[0] += sum(cols) - sum(cols_in_steps)  # margins that are multiples of the step
    seed = [[data.draw(st.floats(0, 100)) for _ in range(m)] for _ in range(n)]
    table = round_matrix(fit_matrix(seed, rows, cols_in_steps), rows, cols_in_steps, unit=step * 10)
    assert [sum(r) for r in table] == rows
    assert [sum(c) for c in zip(*table, strict=True)] == cols_in_steps
    if sum(rows) >= 10 * step * n * m:
        # enough steps per cell: every cell is a multiple of the margins' common step
        assert all(v % step == 0 for row in table for v in row)


def test_round_matrix_falls_back_when_a_margin_is_odd() -> None:
    table = round_matrix([[1.5, 1.5], [1.0, 1.0]], [300, 201], [250, 251], unit=100)
    assert [sum(r) for r in table] == [300, 201]
    assert [sum(c) for c in zip(*table, strict=True)] == [250, 251]


def test_largest_remainder_many_leaves_unit_one_unchanged() -> None:
    totals = np.array([[1001, 7, 0]])
    w = np.array([[0.2, 0.3, 0.5, 0.0]])
    assert (largest_remainder_many(totals, w) == largest_remainder_many(totals, w, unit=1)).all()


# ------------------------------------------------- floor ≤ target ≤ stretch, level by level


def test_levels_hand_example_target_first() -> None:
    # ¥40万 target over 1 : 1 : 1 in ¥1万 steps (40 steps: 13.33 each → 14 / 13 / 13), the step down
    # to the floor (¥5万: 5 steps → 2 / 2 / 1) and up to the stretch (¥3万 → 1 / 1 / 1), all in the
    # target's ¥1万 steps although the two steps are small themselves.
    out = allocate_levels(
        [Decimal(350_000), Decimal(400_000), Decimal(430_000)],
        [LevelSpec("a"), LevelSpec("b"), LevelSpec("c")],
        unit=WAN,
    )
    assert out == [
        (Decimal("120000.00"), Decimal("140000.00"), Decimal("150000.00")),
        (Decimal("110000.00"), Decimal("130000.00"), Decimal("140000.00")),
        (Decimal("120000.00"), Decimal("130000.00"), Decimal("140000.00")),
    ]


def test_levels_split_one_by_one_can_break_the_order_but_not_by_increments() -> None:
    # Weights 4 : 12 : 84, in ¥1万 steps. Floor 11 steps: quotas 0.44 / 1.32 / 9.24 → 0 / 1 / 9 and
    # the one left over goes to the largest remainder (.44) → 1 / 1 / 9. Target 13 steps: quotas
    # 0.52 / 1.56 / 10.92 → 0 / 1 / 10, the two left over to .92 and .56 → 0 / 2 / 11. Level by
    # level, the small child's floor (¥1万) is above its target (0).
    weights = [4.0, 12.0, 84.0]
    floors = largest_remainder(11 * WAN, weights, unit=WAN, min_steps=0)
    targets = largest_remainder(13 * WAN, weights, unit=WAN, min_steps=0)
    assert floors == [WAN, WAN, 9 * WAN] and targets == [0, 2 * WAN, 11 * WAN]
    # By increments: the target 13 steps as above, the step down (2 steps: 0.08 / 0.24 / 1.68 →
    # 0 / 0 / 1, one left to .68 → 0 / 0 / 2) and up (1 step → 0 / 0 / 1).
    out = allocate_levels(
        [Decimal(110_000), Decimal(130_000), Decimal(140_000)],
        [LevelSpec(i, w) for i, w in enumerate(weights)],
        unit=WAN,
        min_steps=0,
    )
    assert out == [
        (Decimal("0.00"), Decimal("0.00"), Decimal("0.00")),
        (Decimal("20000.00"), Decimal("20000.00"), Decimal("20000.00")),
        (Decimal("90000.00"), Decimal("110000.00"), Decimal("120000.00")),
    ]


def test_levels_keep_locks_and_refuse_a_locked_range_too_wide() -> None:
    out = allocate_levels(
        [Decimal(100), Decimal(200), Decimal(300)],
        [LevelSpec("a", locked=(Decimal(10), Decimal(50), Decimal(60))), LevelSpec("b")],
    )
    assert out == [
        (Decimal("10.00"), Decimal("50.00"), Decimal("60.00")),
        (Decimal("90.00"), Decimal("150.00"), Decimal("240.00")),
    ]
    # a locked child spanning 10 → 150 leaves the other a target − floor of 100 − 140 < 0
    with pytest.raises(RangeError):
        allocate_levels(
            [Decimal(100), Decimal(200), Decimal(300)],
            [LevelSpec("a", locked=(Decimal(10), Decimal(150), Decimal(160))), LevelSpec("b")],
        )
    with pytest.raises(RangeError):
        allocate_levels([Decimal(3), Decimal(2), Decimal(5)], [LevelSpec("a")])


levels_st = st.tuples(st.integers(0, 10**10), st.integers(0, 10**9), st.integers(0, 10**9)).map(
    lambda t: (t[0], t[0] + t[1], t[0] + t[1] + t[2])
)


@settings(max_examples=200, deadline=None)
@given(levels_st, st.lists(st.floats(0, 1e3, allow_nan=False), min_size=1, max_size=12), units_st)
def test_levels_properties(levels: tuple[int, int, int], weights: list[float], unit: int) -> None:
    parent = [Decimal(v).scaleb(-2) for v in levels]
    out = allocate_levels(parent, [LevelSpec(i, w) for i, w in enumerate(weights)], unit=unit)
    assert [sum(c) for c in zip(*out, strict=True)] == parent
    assert all(Decimal(0) <= f <= t <= s for f, t, s in out)
    # each target is near its exact quota: the plain rounded split (target first), or, where
    # that would leave a child a floor below zero, floor + step up (within three steps)
    exact = [Fraction(w) for w in weights]
    if sum(exact) == 0:
        exact = [Fraction(1)] * len(weights)
    for (_f, t, _s), w in zip(out, exact, strict=True):
        assert abs(int(t * 100) - levels[1] * w / sum(exact)) < 3 * unit
    many = split_levels_many([list(levels)], [weights + [0.0] * (12 - len(weights))], unit=unit)
    assert many.shape == (1, 3, 12)
    assert many[0].sum(axis=1).tolist() == list(levels)
    assert (many[0, 0] >= 0).all() and (many[0, 0] <= many[0, 1]).all()
    assert (many[0, 1] <= many[0, 2]).all()


def test_split_levels_many_leaves_rows_out_of_order_level_by_level() -> None:
    rows = [[300, 200, 400], [100, 200, 300]]
    w = [[1.0] * 12, [1.0] * 12]
    out = split_levels_many(rows, w)
    assert out[0].sum(axis=1).tolist() == [300, 200, 400]
    assert out[1].sum(axis=1).tolist() == [100, 200, 300]
    assert (out[1, 0] <= out[1, 1]).all() and (out[1, 1] <= out[1, 2]).all()
