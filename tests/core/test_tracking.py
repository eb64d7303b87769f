"""Tests for salesloop.core.tracking (pure math, no database)."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesloop.core.funnel import stage_stints
from salesloop.core.periods import Period
from salesloop.core.tracking import (
    attainment,
    attainment_frame,
    calibrate_win_rates,
    grown_rates,
    in_rest_of_period,
    new_business_rate,
    pipeline_coverage,
    pipeline_coverage_by_owner,
    probability_of_attainment,
    rate_uncertainty,
    ratio,
    remaining_gap,
    rollup_to_units,
    sum_attainments,
    win_probability,
    yearly_growth,
)

D = Decimal
Q1 = Period(date(2025, 1, 1), date(2025, 3, 31))

# ------------------------------------------------------------------ attainment


def test_attainment_hand_example() -> None:
    a = attainment(
        D("80000.00"), floor=D("60000.00"), target=D("100000.00"), stretch=D("125000.00")
    )
    # 80 000 / 60 000 = 1.3333; 80 000 / 100 000 = 0.8; 80 000 / 125 000 = 0.64
    assert a.vs_floor == pytest.approx(4 / 3)
    assert a.vs_target == pytest.approx(0.8)
    assert a.vs_stretch == pytest.approx(0.64)
    # gap = max(100 000 − 80 000, 0) = 20 000
    assert a.remaining_gap == D("20000.00")
    assert a.reached_floor and not a.reached_target and not a.reached_stretch


def test_attainment_zero_targets_are_none_safe() -> None:
    a = attainment(D("10.00"), floor=D("0.00"), target=D("0.00"), stretch=D("0.00"))
    assert a.vs_floor is None and a.vs_target is None and a.vs_stretch is None
    # target exceeded: gap is 0, never negative, and keeps two places
    assert a.remaining_gap == 0 and str(a.remaining_gap) == "0.00"
    assert ratio(5, 0) is None
    assert remaining_gap(D("100.00"), D("150.00")) == D("0.00")


def test_sum_attainments_recomputes_ratios_from_sums() -> None:
    a = attainment(D("50.00"), floor=D("40.00"), target=D("100.00"), stretch=D("120.00"))
    b = attainment(D("150.00"), floor=D("80.00"), target=D("100.00"), stretch=D("130.00"))
    t = sum_attainments([a, b])
    # actual 50 + 150 = 200, target 100 + 100 = 200 → 1.0 (not the mean of 0.5 and 1.5)
    assert t.actual == D("200.00") and t.target == D("200.00")
    assert t.vs_target == pytest.approx(1.0)
    assert t.floor == D("120.00") and t.stretch == D("250.00")
    # gap of the sum is 0 even though child a alone has a gap of 50
    assert t.remaining_gap == D("0.00")


def test_attainment_frame_and_rollup_hand_example() -> None:
    rows = pl.DataFrame(
        {
            "member_id": [1, 2, 3],
            "actual": [D("30.00"), D("70.00"), D("10.00")],
            "floor": [D("20.00"), D("40.00"), D("0.00")],
            "target": [D("50.00"), D("50.00"), D("0.00")],
            "stretch": [D("60.00"), D("60.00"), D("10.00")],
        }
    )
    # org: unit 10 (company) ⊃ unit 11 (team of members 1, 2); member 3 directly in 10
    membership = pl.DataFrame({"member_id": [1, 1, 2, 2, 3], "unit_id": [10, 11, 10, 11, 10]})
    units = attainment_frame(rollup_to_units(rows, membership))
    u10 = units.filter(pl.col("unit_id") == 10).row(0, named=True)
    u11 = units.filter(pl.col("unit_id") == 11).row(0, named=True)
    # team 11: actual 30 + 70 = 100, target 50 + 50 = 100 → 1.0, gap 0
    assert u11["actual"] == D("100.00") and u11["vs_target"] == pytest.approx(1.0)
    assert u11["remaining_gap"] == D("0.00")
    # company 10: actual 110, target 100 → 1.1; floor 60 → 110 / 60
    assert u10["actual"] == D("110.00") and u10["vs_target"] == pytest.approx(1.1)
    assert u10["vs_floor"] == pytest.approx(110 / 60)
    members = attainment_frame(rows)
    # member 3 has a zero target: ratio null, gap 0
    m3 = members.filter(pl.col("member_id") == 3).row(0, named=True)
    assert m3["vs_target"] is None and m3["remaining_gap"] == D("0.00")
    # member 1: gap 50 − 30 = 20
    assert members.row(0, named=True)["remaining_gap"] == D("20.00")


@st.composite
def _trees(draw: st.DrawFn) -> tuple[list[int], list[int], list[int]]:
    n_units = draw(st.integers(1, 8))
    parents = [-1] + [draw(st.integers(0, i - 1)) for i in range(1, n_units)]
    n_members = draw(st.integers(1, 15))
    home = [draw(st.integers(0, n_units - 1)) for _ in range(n_members)]
    cents = [draw(st.integers(0, 10**9)) for _ in range(n_members)]
    return parents, home, cents


@given(_trees())
@settings(max_examples=60, deadline=None)
def test_rollup_children_sum_to_parent(tree: tuple[list[int], list[int], list[int]]) -> None:
    parents, home, cents = tree
    pairs = []
    for m, u in enumerate(home):
        while u >= 0:  # closure: own unit and every ancestor
            pairs.append((m, u))
            u = parents[u]
    membership = pl.DataFrame(
        {"member_id": [p[0] for p in pairs], "unit_id": [p[1] for p in pairs]}
    )
    rows = pl.DataFrame(
        {
            "member_id": list(range(len(home))),
            "actual": [D(c).scaleb(-2) for c in cents],
            "floor": [D(c // 2).scaleb(-2) for c in cents],
            "target": [D(c + 1).scaleb(-2) for c in cents],
            "stretch": [D(2 * c).scaleb(-2) for c in cents],
        }
    )
    units = rollup_to_units(rows, membership)
    by_unit = {r["unit_id"]: r for r in units.iter_rows(named=True)}
    for u in range(len(parents)):
        if u not in by_unit:
            continue
        for col in ("actual", "floor", "target", "stretch"):
            children = sum(
                (by_unit[c][col] for c in range(len(parents)) if parents[c] == u and c in by_unit),
                D(0),
            )
            direct = sum(
                (rows.row(m, named=True)[col] for m in range(len(home)) if home[m] == u), D(0)
            )
            assert by_unit[u][col] == children + direct


@given(
    st.integers(0, 10**8),
    st.integers(0, 10**8),
    st.integers(1, 10**8),
)
def test_attainment_is_monotone_in_actual(a: int, extra: int, target: int) -> None:
    t = D(target)
    lo = attainment(D(a), floor=t, target=t, stretch=t)
    hi = attainment(D(a + extra), floor=t, target=t, stretch=t)
    assert lo.vs_target is not None and hi.vs_target is not None
    assert hi.vs_target >= lo.vs_target
    assert hi.remaining_gap <= lo.remaining_gap


# -------------------------------------------------------------------- coverage


def test_in_rest_of_period() -> None:
    close = ["2025-01-10", "2025-02-15", "2025-03-31", "2025-04-01", "2025-02-14"]
    # today 2025-02-14: included; 01-10 overdue; 04-01 after the quarter
    assert in_rest_of_period(close, Q1, date(2025, 2, 14)).tolist() == [
        False,
        True,
        True,
        False,
        True,
    ]
    assert in_rest_of_period(close, Q1, date(2025, 2, 14), include_overdue=True).tolist() == [
        True,
        True,
        True,
        False,
        True,
    ]


def test_pipeline_coverage_hand_example() -> None:
    amount = [100_000.0, 50_000.0, 80_000.0, 30_000.0]
    close = ["2025-02-20", "2025-03-15", "2025-04-10", "2025-01-05"]
    prob = [0.5, 0.2, 0.9, 0.9]
    cov = pipeline_coverage(
        amount, close, prob, period=Q1, today=date(2025, 2, 1), remaining_gap=D("60000.00")
    )
    # in the rest of Q1: 100 000 and 50 000 (80 000 closes in April, 30 000 is overdue)
    assert cov.open_amount == 150_000.0
    # weighted: 100 000 × 0.5 + 50 000 × 0.2 = 60 000
    assert cov.weighted_amount == pytest.approx(60_000.0)
    assert cov.plain == pytest.approx(2.5)  # 150 000 / 60 000
    assert cov.weighted == pytest.approx(1.0)  # 60 000 / 60 000
    done = pipeline_coverage(
        amount, close, prob, period=Q1, today=date(2025, 2, 1), remaining_gap=D("0.00")
    )
    assert done.plain is None and done.weighted is None and done.covered


def test_pipeline_coverage_by_owner_matches_scalar() -> None:
    owner = [0, 1, 0, 2]
    amount = [100.0, 200.0, 300.0, 50.0]
    close = ["2025-03-01"] * 4
    prob = [0.5, 0.5, 0.1, 1.0]
    table = pipeline_coverage_by_owner(
        owner,
        amount,
        close,
        prob,
        remaining_gap=[200.0, 0.0, 100.0],
        period=Q1,
        today=date(2025, 2, 1),
    )
    # owner 0: 400 / 200 = 2; weighted (50 + 30) / 200 = 0.4
    assert table.plain[0] == pytest.approx(2.0) and table.weighted[0] == pytest.approx(0.4)
    # owner 1: gap 0 → covered, NaN in the arrays, None in the scalar view
    assert table.covered[1] and math.isnan(table.plain[1]) and table.for_owner(1).plain is None
    assert table.for_owner(2).plain == pytest.approx(0.5)


@given(
    st.lists(st.floats(0, 1e7, allow_nan=False), min_size=1, max_size=10),
    st.floats(0, 1e7, allow_nan=False),
    st.floats(1, 1e7, allow_nan=False),
    st.floats(0, 1e7, allow_nan=False),
)
def test_coverage_monotone(amounts: list[float], extra: float, gap: float, more_gap: float) -> None:
    close = ["2025-03-01"] * len(amounts)
    prob = [0.5] * len(amounts)
    kw = {"period": Q1, "today": date(2025, 1, 1)}
    base = pipeline_coverage(amounts, close, prob, remaining_gap=gap, **kw)  # type: ignore[arg-type]
    more_pipe = pipeline_coverage(
        [*amounts, extra],
        [*close, "2025-03-02"],
        [*prob, 0.5],
        remaining_gap=gap,
        **kw,  # type: ignore[arg-type]
    )
    bigger_gap = pipeline_coverage(amounts, close, prob, remaining_gap=gap + more_gap, **kw)  # type: ignore[arg-type]
    assert base.plain is not None and more_pipe.plain is not None and bigger_gap.plain is not None
    # monotone up to float rounding: adding an item can regroup numpy's pairwise sum
    rel = 1e-12
    assert more_pipe.plain >= base.plain * (1 - rel)
    assert more_pipe.weighted is not None and base.weighted is not None
    assert more_pipe.weighted >= base.weighted * (1 - rel)
    assert bigger_gap.plain <= base.plain * (1 + rel)


# ------------------------------------------------------------------- win rates


def test_calibrate_win_rates_hand_example() -> None:
    history = pl.DataFrame(
        {"stage": [1, 1, 1, 1], "days_in_stage": [3.0, 10.0, 20.0, 40.0], "won": [1, 0, 1, 0]}
    )
    table = calibrate_win_rates(
        history,
        {1: 0.2, 2: 0.6},
        edges=(0, 7, 30),
        stage_prior_strength=2.0,
        bucket_prior_strength=1.0,
    )
    # bucket counts (a stint counts in every bucket whose lower edge is <= its length):
    #   >= 0: 4 stints, 2 won;  >= 7: 10, 20, 40 → 3, 1 won;  >= 30: 40 → 1, 0 won
    assert table.counts[0].tolist() == [4, 3, 1] and table.wins[0].tolist() == [2, 1, 0]
    # stage rate = (2 + 2 × 0.2) / (4 + 2) = 0.4
    assert table.stage_rates[0] == pytest.approx(0.4)
    # cells: (2 + 0.4) / 5 = 0.48; (1 + 0.4) / 4 = 0.35; (0 + 0.4) / 2 = 0.2
    assert table.rates[0].tolist() == pytest.approx([0.48, 0.35, 0.2])
    # stage 2 has no history: (0 + 2 × 0.6) / (0 + 2) = 0.6 everywhere
    assert table.rates[1].tolist() == pytest.approx([0.6, 0.6, 0.6])
    p = win_probability([1, 1, 1, 2, 9], [0, 10, 45, 100, 5], table)
    # stage 9 is unknown: the pooled rate 2 / 4 = 0.5
    assert p.tolist() == pytest.approx([0.48, 0.35, 0.2, 0.6, 0.5])


def test_win_rates_from_stage_stints() -> None:
    opps = pl.DataFrame(
        {
            "id": [1, 2],
            "created_at": [date(2024, 1, 1), date(2024, 1, 1)],
            "status": ["won", "lost"],
            "amount": [1.0, 1.0],
            "closed_at": [date(2024, 2, 1), date(2024, 1, 21)],
        }
    )
    changes = pl.DataFrame(
        {
            "opportunity_id": [1, 1, 2],
            "stage": [1, 2, 1],
            "changed_at": [date(2024, 1, 1), date(2024, 1, 11), date(2024, 1, 1)],
        }
    )
    stints = stage_stints(changes, opps, as_of=date(2024, 3, 1), stages=[1, 2])
    closed = stints.filter(pl.col("won").is_not_null())
    table = calibrate_win_rates(closed, {1: 0.5, 2: 0.5}, edges=(0,), stage_prior_strength=0)
    # stage 1: opp 1 (10 days, won), opp 2 (20 days, lost) → 1 / 2; with m_b = 10 and the
    # stage rate 0.5 as prior: (1 + 10 × 0.5) / (2 + 10) = 0.5
    assert table.rates[0, 0] == pytest.approx(0.5)
    # stage 2: opp 1 only, won → stage rate 1 / 1 = 1 (no stage prior)
    assert table.stage_rates[1] == pytest.approx(1.0)


# --------------------------------------------------------------- new business


def test_new_business_rate_hand_example() -> None:
    q4 = Period(date(2024, 10, 1), date(2024, 12, 31))
    q3 = Period(date(2024, 7, 1), date(2024, 9, 30))
    rate = new_business_rate(
        owner=[0, 0, 0, 1],
        created_on=["2024-10-05", "2024-09-20", "2024-07-02", "2024-11-01"],
        won_on=["2024-11-05", "2024-10-10", "2024-08-01", "2024-12-01"],
        periods=[q3, q4],
        n_owners=2,
    )
    # owner 0: Q4 has 1 (the 09-20 deal crossed quarters: not counted), Q3 has 1 → 2 / 2
    # owner 1: Q4 1, Q3 0 → 0.5
    assert rate.tolist() == [1.0, 0.5]


def test_yearly_growth_hand_example() -> None:
    # owners 0 and 1 sold in both years: (30 + 12) / (20 + 8) = 1.5; owner 2 was hired last
    # year (nothing in the earlier year) and does not count, or growth would read 52 / 28
    assert yearly_growth([30, 12, 10], [20, 8, 0]) == pytest.approx(1.5)
    # too little history to measure: no growth assumed
    assert yearly_growth([30, 12], [10, 9]) == 1.0
    assert yearly_growth([], []) == 1.0
    assert yearly_growth([5, 5], [10, 9], min_earlier=5) == pytest.approx(10 / 19)
    # held within the bounds: a tenfold change is a reorganisation, not a trend
    assert yearly_growth([500], [50]) == 2.0
    assert yearly_growth([1], [50]) == 0.5
    with pytest.raises(ValueError, match="same length"):
        yearly_growth([1, 2], [1])
    with pytest.raises(ValueError, match="bounds"):
        yearly_growth([1], [1], bounds=(1.2, 2.0))


def test_grown_rates_hand_example() -> None:
    counts = [[5, 2], [0, 4], [3, 0]]  # the same period one and two years ago
    # growth 1.2: (5 × 1.2 + 2 × 1.44) / 2 = 4.44; (0 + 4 × 1.44) / 2 = 2.88; 3 × 1.2 / 2 = 1.8
    assert grown_rates(counts, 1.2).tolist() == pytest.approx([4.44, 2.88, 1.8])
    # growth 1 is the plain mean of new_business_rate
    assert grown_rates(counts, 1.0).tolist() == pytest.approx([3.5, 2.0, 1.5])
    assert grown_rates(np.zeros((2, 0)), 1.3).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="positive"):
        grown_rates(counts, 0.0)
    with pytest.raises(ValueError, match="matrix"):
        grown_rates([1, 2], 1.0)


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), min_size=1, max_size=8),
    g1=st.floats(0.5, 2.0),
    g2=st.floats(0.5, 2.0),
)
def test_grown_rates_rise_with_growth(counts: list[tuple[int, int]], g1: float, g2: float) -> None:
    """More growth never lowers a rate; rates are never negative."""
    lo, hi = sorted((g1, g2))
    a, b = grown_rates(counts, lo), grown_rates(counts, hi)
    assert np.all(a >= 0) and np.all(b >= a - 1e-9)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 200)), max_size=10),
)
def test_yearly_growth_is_bounded(rows: list[tuple[int, int]]) -> None:
    recent = [r for r, _ in rows]
    earlier = [e for _, e in rows]
    g = yearly_growth(recent, earlier)
    assert 0.5 <= g <= 2.0
    if sum(earlier) >= 20 and all(e > 0 for e in earlier):
        assert g == pytest.approx(min(max(sum(recent) / sum(earlier), 0.5), 2.0))


# ---------------------------------------------------------------- Monte Carlo


def _prob(**kw: object) -> object:
    base: dict[str, object] = {"floor": 0.0, "stretch": 0.0, "draws": 20_000, "seed": 7}
    base.update(kw)
    return probability_of_attainment(**base)  # type: ignore[arg-type]


def test_probability_hand_examples() -> None:
    # two independent deals of 100 at p = 0.5; actual 0:
    #   P(total >= 0) = 1;  P(>= 150) = P(both) = 0.25;  P(>= 100) = 1 − 0.25 = 0.75
    r = probability_of_attainment(
        actual_to_date=[0.0],
        floor=[0.0],
        target=[150.0],
        stretch=[100.0],
        opp_owner=[0, 0],
        opp_amount=[100.0, 100.0],
        opp_probability=[0.5, 0.5],
        draws=20_000,
        seed=1,
    )
    assert r.p_floor[0] == 1.0
    assert r.p_target[0] == pytest.approx(0.25, abs=0.015)  # 4.5 sd of 20 000 draws ≈ 0.014
    assert r.p_stretch[0] == pytest.approx(0.75, abs=0.015)
    # mean = 2 × 0.5 × 100 = 100; median of {0, 100, 100, 200} weighted → 100
    assert r.mean[0] == pytest.approx(100.0, abs=3.0)
    assert r.percentiles[0, r.levels.index(50.0)] == 100.0


def test_probability_ties_and_certain_deals_are_exact() -> None:
    # actual 50.01 + a certain deal of 49.99 = 100.00 exactly → target reached in every draw
    r = probability_of_attainment(
        actual_to_date=[50.01, 0.0],
        floor=[0.0, 0.0],
        target=[100.00, 0.01],
        stretch=[100.01, 0.0],
        opp_owner=[0, 1],
        opp_amount=[49.99, 5.0],
        opp_probability=[1.0, 0.0],
        draws=100,
        seed=3,
    )
    assert r.p_target.tolist() == [1.0, 0.0]
    assert r.p_stretch.tolist() == [0.0, 1.0]
    assert r.percentiles[0].tolist() == pytest.approx([100.0] * len(r.levels))


def test_probability_new_business_poisson_hand_example() -> None:
    # rate 2 deals per quarter, half the quarter left → Poisson(1) deals, each exactly 100
    # (bootstrap from 20 identical amounts): P(>= 100) = 1 − e^−1 = 0.6321,
    # P(>= 200) = 1 − e^−1 (1 + 1) = 0.2642, P(>= 300) = 1 − e^−1 (1 + 1 + 1/2) = 0.0803
    r = probability_of_attainment(
        actual_to_date=[0.0],
        floor=[100.0],
        target=[200.0],
        stretch=[300.0],
        opp_owner=[],
        opp_amount=[],
        opp_probability=[],
        new_deal_rate=[2.0],
        remaining_fraction=0.5,
        history_owner=[0] * 20,
        history_amount=[100.0] * 20,
        draws=40_000,
        seed=11,
    )
    assert r.p_floor[0] == pytest.approx(1 - math.exp(-1), abs=0.012)
    assert r.p_target[0] == pytest.approx(1 - 2 * math.exp(-1), abs=0.012)
    assert r.p_stretch[0] == pytest.approx(1 - 2.5 * math.exp(-1), abs=0.01)


def test_probability_lognormal_for_thin_history_and_pooled_for_none() -> None:
    # owner 1 has no history: it uses the pooled lognormal of owner 0's amounts (all 100
    # → log-mean ln 100, variance 0), so each new deal is 100 as well
    r = probability_of_attainment(
        actual_to_date=[0.0, 0.0],
        floor=[0.0, 100.0],
        target=[0.0, 100.0],
        stretch=[0.0, 100.0],
        opp_owner=[],
        opp_amount=[],
        opp_probability=[],
        new_deal_rate=[0.0, 1.0],
        remaining_fraction=1.0,
        history_owner=[0, 0, 0],
        history_amount=[100.0, 100.0, 100.0],
        draws=20_000,
        seed=5,
    )
    assert r.p_target[1] == pytest.approx(1 - math.exp(-1), abs=0.015)
    assert r.percentiles[1].max() % 100 == 0  # sums of deals of exactly 100


def test_probability_is_deterministic_for_a_seed_and_validates() -> None:
    kw: dict[str, object] = {
        "actual_to_date": [10.0, 20.0],
        "floor": [20.0, 20.0],
        "target": [50.0, 60.0],
        "stretch": [80.0, 90.0],
        "opp_owner": [1, 0, 1],
        "opp_amount": [30.0, 40.0, 25.0],
        "opp_probability": [0.3, 0.6, 0.9],
        "draws": 500,
    }
    a = probability_of_attainment(seed=4, **kw)  # type: ignore[arg-type]
    b = probability_of_attainment(seed=4, **kw)  # type: ignore[arg-type]
    assert a.p_target.tolist() == b.p_target.tolist()
    assert (a.p_floor >= a.p_target).all() and (a.p_target >= a.p_stretch).all()
    with pytest.raises(ValueError):
        probability_of_attainment(**{**kw, "opp_owner": [0, 2, 1]})  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        probability_of_attainment(**{**kw, "draws": 0})  # type: ignore[arg-type]


def test_groups_add_their_codes_draws() -> None:
    """With ``groups`` a group's total is the sum of its codes' totals in the same draw. Deals
    listed by code give the same random stream as one code holding them all, so a group of
    codes 0 and 1 is exactly that merged owner; identity groups change nothing; the node
    (codes 0-2) has the same mean as the sum of its children's, worked out by hand."""
    owner = np.array([0, 0, 1, 1, 1, 2])
    amount = np.array([30.0, 40.0, 25.0, 10.0, 55.5, 70.0])
    prob = np.array([0.3, 0.6, 0.9, 0.5, 0.25, 1.0])
    common: dict[str, object] = {
        "opp_amount": amount,
        "opp_probability": prob,
        "draws": 4_000,
        "seed": 11,
        "levels": (10.0, 50.0, 90.0),
    }
    codes: dict[str, object] = {
        "actual_to_date": [5.0, 0.0, 1.0],
        "floor": [20.0, 20.0, 50.0],
        "target": [50.0, 60.0, 71.0],
        "stretch": [80.0, 90.0, 100.0],
        "opp_owner": owner,
        **common,
    }
    per_code = probability_of_attainment(**codes)  # type: ignore[arg-type]
    identity = probability_of_attainment(groups=np.eye(3), **codes)  # type: ignore[arg-type]
    assert identity.p_target.tolist() == per_code.p_target.tolist()
    assert identity.percentiles.tolist() == per_code.percentiles.tolist()
    groups = [[1, 1, 0], [1, 1, 1], [0, 0, 1]]  # a team of codes 0 and 1, the node, code 2
    grouped = probability_of_attainment(
        actual_to_date=[5.0, 6.0, 1.0],
        floor=[40.0, 100.0, 50.0],
        target=[80.0, 150.0, 71.0],
        stretch=[120.0, 200.0, 100.0],
        opp_owner=owner,
        groups=groups,
        **common,  # type: ignore[arg-type]
    )
    merged = probability_of_attainment(
        actual_to_date=[5.0],
        floor=[40.0],
        target=[80.0],
        stretch=[120.0],
        opp_owner=np.zeros(5, dtype=np.int64),
        **{**common, "opp_amount": amount[:5], "opp_probability": prob[:5]},  # type: ignore[arg-type]
    )
    assert grouped.p_floor[0] == merged.p_floor[0] and grouped.p_target[0] == merged.p_target[0]
    assert grouped.percentiles[0].tolist() == merged.percentiles[0].tolist()
    # the last deal is certain: code 2 ends at 1 + 70 = 71, its target exactly
    assert grouped.p_target[2] == 1.0 and grouped.percentiles[2].tolist() == [71.0] * 3
    # expected node total: 6 + 0.3*30 + 0.6*40 + 0.9*25 + 0.5*10 + 0.25*55.5 + 70 = 150.375
    assert grouped.mean[1] == pytest.approx(150.375, rel=0.01)
    assert grouped.mean[1] == pytest.approx(grouped.mean[0] - 5 + grouped.mean[2] - 1 + 6)
    for bad, message in (
        ([[1, 1, 1], [1, 0, 0]], "one row per group"),  # two groups, one actual
        ([[1, 0.5, 1]], "0 or 1"),
        ([[1, 1]], "opp_owner codes"),  # two codes, but deals of code 2
    ):
        with pytest.raises(ValueError, match=message):
            probability_of_attainment(
                actual_to_date=[0.0],
                floor=[1.0],
                target=[1.0],
                stretch=[1.0],
                opp_owner=owner,
                groups=bad,
                **common,  # type: ignore[arg-type]
            )


def test_probability_chunking_does_not_change_the_law() -> None:
    rng = np.random.default_rng(0)
    owner = rng.integers(0, 5, 60)
    amount = np.round(rng.uniform(10, 100, 60), 2)
    prob = rng.uniform(0, 1, 60)
    kw: dict[str, object] = {
        "actual_to_date": np.zeros(5),
        "floor": np.full(5, 100.0),
        "target": np.full(5, 300.0),
        "stretch": np.full(5, 500.0),
        "opp_owner": owner,
        "opp_amount": amount,
        "opp_probability": prob,
        "draws": 8_000,
    }
    small = probability_of_attainment(chunk_elements=10_000, seed=1, **kw)  # type: ignore[arg-type]
    big = probability_of_attainment(seed=2, **kw)  # type: ignore[arg-type]
    np.testing.assert_allclose(small.p_target, big.p_target, atol=0.035)
    # the mean is exact in expectation: Σ p × amount per owner
    expected = np.bincount(owner, weights=prob * amount, minlength=5)
    np.testing.assert_allclose(big.mean, expected, rtol=0.03)


def test_probability_of_attainment_is_calibrated() -> None:
    """Calibration on 20 000 synthetic reps with a known truth.

    Each rep has an actual to date, 0–12 open deals with known true win probabilities
    and amounts, and a known new-business process (Poisson rate × remaining fraction,
    lognormal deal sizes). The function sees the true probabilities, the rate and 40
    historical deal sizes drawn from the true size distribution (so it must bootstrap).
    One outcome per rep is drawn from the truth with an independent generator.

    Tolerance: the predictions are binned into deciles [0, 0.1), …, [0.9, 1]; in every
    bin with at least 100 reps the observed frequency of reaching the target must be
    within ±0.05 (absolute) of the mean prediction in that bin (bins hold 1 500–3 500
    reps here, so ±0.05 is more than 3.5 binomial standard errors; measured deviations
    are ≤ 0.01). The Brier score must be below 0.17 and below 70 % of the climatological
    score p̄ (1 − p̄) (measured: 0.151 vs 0.247). 500 draws per prediction (Monte Carlo
    error ≤ 0.023 per rep, averaged out within a bin)."""
    n = 20_000
    truth = np.random.default_rng(2024)
    n_open = truth.integers(0, 13, n)
    owner = np.repeat(np.arange(n), n_open)
    p_true = truth.uniform(0.05, 0.95, owner.size)
    amount = np.round(truth.lognormal(math.log(50_000), 0.6, owner.size), 2)
    rate = truth.uniform(0.0, 6.0, n)
    remaining = truth.uniform(0.2, 0.8, n)
    mu_size, sigma_size = math.log(30_000), 0.5
    hist_owner = np.repeat(np.arange(n), 40)
    hist_amount = np.round(truth.lognormal(mu_size, sigma_size, hist_owner.size), 2)
    actual = np.round(truth.uniform(0, 200_000, n), 2)
    expected = (
        actual
        + np.bincount(owner, weights=p_true * amount, minlength=n)
        + rate * remaining * math.exp(mu_size + sigma_size**2 / 2)
    )
    target = np.round(expected * truth.uniform(0.6, 1.5, n), 2)

    pred = probability_of_attainment(
        actual_to_date=actual,
        floor=target,
        target=target,
        stretch=target,
        opp_owner=owner,
        opp_amount=amount,
        opp_probability=p_true,
        new_deal_rate=rate,
        remaining_fraction=remaining,
        history_owner=hist_owner,
        history_amount=hist_amount,
        draws=500,
        seed=99,
    ).p_target

    # one real outcome per rep, from the true process
    world = np.random.default_rng(7)
    won = world.random(owner.size) < p_true
    total = actual + np.bincount(owner, weights=won * amount, minlength=n)
    k = world.poisson(rate * remaining)
    sizes = np.round(world.lognormal(mu_size, sigma_size, int(k.sum())), 2)
    total += np.bincount(np.repeat(np.arange(n), k), weights=sizes, minlength=n)
    hit = (total >= target).astype(np.float64)

    bins = np.minimum((pred * 10).astype(int), 9)
    checked = 0
    for b in range(10):
        sel = bins == b
        if sel.sum() >= 100:
            checked += 1
            assert abs(hit[sel].mean() - pred[sel].mean()) <= 0.05, (b, sel.sum())
    assert checked >= 5
    brier = float(np.mean((pred - hit) ** 2))
    base = hit.mean() * (1 - hit.mean())
    assert brier < 0.17
    assert brier < 0.7 * base


def test_many_new_deals_use_the_normal_limit_with_the_same_answer(monkeypatch) -> None:
    """300 new deals per draw × 2 000 draws = 600 000 simulated deals: the normal (central
    limit) path gives the same probabilities as simulating every deal."""
    import salesloop.core.tracking as tracking

    rng = np.random.default_rng(3)
    sizes = rng.lognormal(8.0, 0.6, 400)  # historical deal sizes around 3 600
    mean_total = 300 * float(np.mean(sizes))  # expected new business ≈ 300 × E[X]
    kwargs = dict(
        actual_to_date=[0.0],
        floor=[0.97 * mean_total],
        target=[mean_total],
        stretch=[1.03 * mean_total],
        opp_owner=np.array([], dtype=np.int64),
        opp_amount=[],
        opp_probability=[],
        new_deal_rate=[300.0],
        remaining_fraction=1.0,
        history_owner=np.zeros(400, dtype=np.int64),
        history_amount=sizes.tolist(),
        draws=2_000,
        seed=5,
    )
    approx = probability_of_attainment(**kwargs)  # type: ignore[arg-type]
    monkeypatch.setattr(tracking, "_CLT_EVENTS", 10**9)
    exact = probability_of_attainment(**kwargs)  # type: ignore[arg-type]
    for name in ("p_floor", "p_target", "p_stretch"):
        assert getattr(approx, name)[0] == pytest.approx(getattr(exact, name)[0], abs=0.04), name
    assert 0.3 < approx.p_target[0] < 0.7  # the target is the mean: about even odds


# ------------------------------------------------------- rate uncertainty


def test_rate_uncertainty_hand_example() -> None:
    recent = [1100, 900, 1100, 900, 1100, 900]
    earlier = [1000] * 6
    # log ratios ±: log 1.1 = 0.09531, log 0.9 = -0.10536; squares 0.009084 and 0.011101,
    # sum 3 × 0.020185 = 0.060555, over n - 1 = 5: 0.012111. Poisson noise: the mean of
    # 1/1100 + 1/1000 = 0.001909 and 1/900 + 1/1000 = 0.002111, 0.002010. A year's surprise:
    # (0.012111 - 0.002010) / 2 = 0.0050505; the two-year rate's error: sqrt(1.5 × 0.0050505)
    assert rate_uncertainty(recent, earlier, 1.0) == pytest.approx(0.08704, abs=2e-5)
    # growth read from the pairs themselves: their mean log ratio -0.005025 taken out leaves
    # ±0.100335, squares 0.0100671, sum 0.0604026, over 5: 0.0120805; (0.0120805 - 0.002010) / 2
    # = 0.0050352; sqrt(1.5 × 0.0050352)
    assert rate_uncertainty(recent, earlier) == pytest.approx(0.08691, abs=2e-5)
    # growth is taken out first: the same months 10 % up give the same log ratios, with less
    # Poisson noise (1210 and 990 deals: 0.001918): sqrt(1.5 × (0.012111 - 0.001918) / 2)
    assert rate_uncertainty([x * 1.1 for x in recent], earlier, 1.1) == pytest.approx(
        0.08743, abs=2e-5
    )
    # too few months with sales on both sides: nothing measured
    assert rate_uncertainty([5, 0, 7, 9, 4], [6, 3, 0, 8, 5]) == 0.0
    # pure Poisson noise reads as nothing
    assert rate_uncertainty([100, 110, 95, 105, 98, 102], [103, 97, 108, 100, 96, 104]) == 0.0
    with pytest.raises(ValueError, match="same length"):
        rate_uncertainty([1, 2], [1])
    with pytest.raises(ValueError, match="positive"):
        rate_uncertainty([1], [1], 0.0)


def test_rate_uncertainty_recovers_a_known_year_surprise() -> None:
    """400 month pairs whose yearly surprise has σ = 0.2 (lognormal), counts Poisson around 150:
    the estimate is sqrt(1.5) × 0.2 = 0.245 give or take sampling (here within 0.03); with no
    surprise it is near 0."""
    rng = np.random.default_rng(11)
    base = rng.uniform(80, 250, 400)
    noisy = [np.exp(0.2 * rng.standard_normal(400)) for _ in range(2)]
    recent = rng.poisson(base * noisy[0])
    earlier = rng.poisson(base * noisy[1])
    assert rate_uncertainty(recent, earlier) == pytest.approx(math.sqrt(1.5) * 0.2, abs=0.03)
    assert rate_uncertainty(rng.poisson(base), rng.poisson(base)) < 0.04


N_COMPANIES = 3000


def test_a_common_rate_shock_makes_company_figures_honest() -> None:
    """3,000 companies whose market moves every rate together: their new business is
    Poisson(60 × F) deals, F lognormal with σ = 0.3 and mean 1, sizes drawn from 60 past deals;
    the target is 0.6–1.4 times the mean outcome. Simulated with ``rate_sd=0.3`` the chances are
    calibrated: in each fifth of the predictions (≥ 100 companies; binomial standard error
    ≤ 0.05) the observed frequency is within ±0.06 of the mean prediction (measured 0.03).
    Simulated as if the rate were known (``rate_sd=0``) they are sure of themselves and wrong:
    some fifth is off by more than 0.12 (measured 0.17), and the Brier score is worse (0.215
    against 0.190)."""
    truth = np.random.default_rng(5)
    n, lam, sigma = N_COMPANIES, 60.0, 0.3
    hist = np.round(truth.lognormal(math.log(20_000), 0.4, 60), 2)
    mean_size = float(hist.mean())
    targets = lam * mean_size * truth.uniform(0.6, 1.4, n)
    factor = np.exp(sigma * truth.standard_normal(n) - sigma**2 / 2)
    outcome = np.array(
        [truth.choice(hist, truth.poisson(lam * f)).sum() for f in factor], dtype=float
    )
    reached = outcome >= targets

    def predict(rate_sd: float) -> np.ndarray:
        return np.array(
            [
                probability_of_attainment(
                    actual_to_date=[0.0],
                    floor=[0.0],
                    target=[t],
                    stretch=[t],
                    opp_owner=[],
                    opp_amount=[],
                    opp_probability=[],
                    new_deal_rate=[lam],
                    remaining_fraction=1.0,
                    history_owner=np.zeros(hist.size, dtype=np.int64),
                    history_amount=hist,
                    draws=200,
                    seed=k,
                    levels=(),
                    rate_sd=rate_sd,
                ).p_target[0]
                for k, t in enumerate(targets)
            ]
        )

    def worst_bin(p: np.ndarray) -> float:
        bins = np.minimum((p * 5).astype(int), 4)
        gaps = [
            abs(reached[bins == b].mean() - p[bins == b].mean())
            for b in range(5)
            if (bins == b).sum() >= 100
        ]
        return max(gaps)

    honest, sure = predict(sigma), predict(0.0)
    assert worst_bin(honest) <= 0.06
    assert worst_bin(sure) > 0.12
    assert np.mean((honest - reached) ** 2) < np.mean((sure - reached) ** 2)


def test_a_common_rate_shock_keeps_the_mean_and_widens_the_spread() -> None:
    """The factor has mean 1: the projected mean stays (within Monte Carlo error) while the
    spread of a big book of new business grows; a negative or missing size is refused."""
    hist = np.full(50, 10_000.0)
    kw: dict[str, object] = {
        "actual_to_date": [0.0],
        "floor": [0.0],
        "target": [2_000_000.0],
        "stretch": [2_400_000.0],
        "opp_owner": [],
        "opp_amount": [],
        "opp_probability": [],
        "new_deal_rate": [200.0],
        "remaining_fraction": 1.0,
        "history_owner": np.zeros(50, dtype=np.int64),
        "history_amount": hist,
        "draws": 20_000,
        "seed": 3,
        "levels": (5.0, 95.0),
    }
    plain = probability_of_attainment(**kw)  # type: ignore[arg-type]
    shocked = probability_of_attainment(**kw, rate_sd=0.3)  # type: ignore[arg-type]
    # 200 deals of 10 000: mean 2 000 000 either way
    assert plain.mean[0] == pytest.approx(2_000_000, rel=0.005)
    assert shocked.mean[0] == pytest.approx(2_000_000, rel=0.01)
    # Poisson alone: sd sqrt(200) × 10 000 = 141 421, 5-95 % about ±233 000; with the factor
    # the log-sd is sqrt(0.3² + 1/200) = 0.308 and the log-mean -0.045: the 95th percentile
    # near 2e6 × e^(-0.045 + 1.645 × 0.308) = 3.17e6 (measured 3.16e6)
    width = plain.percentiles[0, 1] - plain.percentiles[0, 0]
    assert width == pytest.approx(2 * 1.645 * 141_421, rel=0.05)
    assert shocked.percentiles[0, 1] == pytest.approx(3.17e6, rel=0.03)
    # the stretch (400 000 above the mean): 2.8 Poisson sd, P about 0.002 without the factor
    # (measured 0.002); with it, log(1.2) + 0.045 = 0.227 is 0.74 log-sd: P about 0.23
    assert plain.p_stretch[0] < 0.01
    assert shocked.p_stretch[0] == pytest.approx(0.23, abs=0.03)
    with pytest.raises(ValueError, match="rate_sd"):
        probability_of_attainment(**kw, rate_sd=-0.1)  # type: ignore[arg-type]
