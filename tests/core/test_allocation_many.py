"""largest_remainder_many: the array version of largest_remainder must give the very same units."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesloop.core.allocation import (
    AllocationError,
    largest_remainder,
    largest_remainder_many,
    split_totals_over_months,
)
from salesloop.core.periods import SeasonalWeights

# Weights that make the float path hard: zeros, exact ties, tiny and huge values, integers,
# subnormals, and plain random floats.
weight_st = st.one_of(
    st.just(0.0),
    st.sampled_from([1.0, 0.5, 1 / 3, 1 / 12, 0.1, 2.0, 3.0]),
    st.floats(0, 1, allow_nan=False, allow_infinity=False),
    st.floats(0, 1e6, allow_nan=False, allow_infinity=False),
    st.floats(5e-324, 1e-300),
    st.floats(1e300, 1e307),
)
total_st = st.one_of(
    st.integers(0, 100),
    st.integers(0, 10**12),
    st.integers(2**53 - 5, 2**53 + 5),
    st.integers(0, 2**62),
)


@st.composite
def tables(draw):
    n = draw(st.integers(1, 8))
    m = draw(st.integers(1, 14))
    k = draw(st.integers(1, 3))
    rows = []
    for _ in range(n):
        kind = draw(st.integers(0, 3))
        if kind == 0:  # every weight the same: ties everywhere
            rows.append([draw(weight_st)] * m)
        elif kind == 1:  # a few distinct values: many ties
            values = draw(st.lists(weight_st, min_size=1, max_size=3))
            rows.append([draw(st.sampled_from(values)) for _ in range(m)])
        else:
            rows.append(draw(st.lists(weight_st, min_size=m, max_size=m)))
    totals = [draw(st.lists(total_st, min_size=k, max_size=k)) for _ in range(n)]
    return totals, rows


@settings(max_examples=400, deadline=None)
@given(tables())
def test_equals_the_scalar_split(table):
    totals, weights = table
    out = largest_remainder_many(totals, weights)
    assert out.shape == (len(weights), len(totals[0]), len(weights[0]))
    for i, row in enumerate(weights):
        for j, total in enumerate(totals[i]):
            expected = largest_remainder(total, row)
            assert out[i, j].tolist() == expected
            assert sum(out[i, j].tolist()) == total  # exact sum (in Python integers)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(
            st.floats(0, 1e7, allow_nan=False, allow_infinity=False), min_size=12, max_size=12
        ),
        min_size=1,
        max_size=20,
    ),
    st.data(),
)
def test_equals_split_totals_over_months(raw, data):
    """The way planning uses it: seasonal weights, a floor, a target and a stretch in cents."""
    seasons = [SeasonalWeights.from_raw(r) if sum(r) > 0 else SeasonalWeights.equal() for r in raw]
    totals = [
        sorted(data.draw(st.lists(st.integers(0, 10**13), min_size=3, max_size=3))) for _ in seasons
    ]
    out = largest_remainder_many(
        np.array(totals, dtype=np.int64), np.array([s.values for s in seasons])
    )
    for i, season in enumerate(seasons):
        levels = [Decimal(t).scaleb(-2) for t in totals[i]]
        expected = split_totals_over_months(levels, season, places=2)
        assert [[Decimal(int(v)).scaleb(-2) for v in row] for row in out[i]] == expected


def test_ties_and_integer_quotas_follow_the_scalar_rule():
    # 12 equal weights: the extra units go to the first months
    out = largest_remainder_many([[17, 24, 0]], [[1 / 12] * 12])
    assert out[0, 0].tolist() == [2] * 5 + [1] * 7
    assert out[0, 1].tolist() == [2] * 12
    assert out[0, 2].tolist() == [0] * 12
    # zero weights get nothing; all zero splits equally
    assert largest_remainder_many([[5]], [[0.0, 1.0, 0.0, 1.0]])[0, 0].tolist() == [0, 3, 0, 2]
    assert largest_remainder_many([[5]], [[0.0, 0.0]])[0, 0].tolist() == [3, 2]
    # totals beyond float precision take the exact path
    big = 2**60 + 7
    out = largest_remainder_many([[big]], [[0.3, 0.7]])
    assert out[0, 0].tolist() == largest_remainder(big, [0.3, 0.7])


def test_int_arrays_and_lists_give_the_same():
    rng = np.random.default_rng(3)
    weights = rng.random((50, 12)) ** 3
    totals = rng.integers(0, 10**11, size=(50, 3))
    a = largest_remainder_many(totals, weights)
    b = largest_remainder_many(totals.tolist(), weights.tolist())
    assert (a == b).all()
    assert (a.sum(axis=2) == totals).all()


@pytest.mark.parametrize(
    ("totals", "weights"),
    [
        ([[-1]], [[1.0, 2.0]]),
        ([[1.5]], [[1.0, 2.0]]),
        ([[True]], [[1.0, 2.0]]),
        ([[10]], [[1.0, -2.0]]),
        ([[10]], [[1.0, float("nan")]]),
        ([[10]], [[1.0, float("inf")]]),
        ([[10], [20]], [[1.0, 2.0]]),
        ([[10]], [[]]),
        ([[2**63]], [[1.0]]),
    ],
)
def test_refused(totals, weights):
    with pytest.raises(AllocationError):
        largest_remainder_many(totals, weights)
