"""Tests for salesloop.core.customers (pure math, no database)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesloop.core.customers import (
    active_customers,
    churn,
    concentration,
    key_account_silence,
    orders_frame,
    product_mix,
    repurchase,
)
from salesloop.core.periods import Period

Y2024 = Period(date(2024, 1, 1), date(2024, 12, 31))

ORDERS = orders_frame(
    customer=[1, 1, 1, 1, 2, 2, 3, 4],
    order_date=[
        date(2024, 1, 1),
        date(2024, 2, 1),
        date(2024, 3, 1),
        date(2024, 3, 1),
        date(2023, 6, 1),
        date(2024, 6, 1),
        date(2023, 2, 1),
        date(2023, 1, 1),
    ],
    amount=[100.0, 200.0, 300.0, 50.0, 500.0, 100.0, 1000.0, 70.0],
    product_line=["a", "b", "a", "a", "b", "b", "a", "a"],
)


def test_active_customers_trailing_twelve_months() -> None:
    # at 2023-12-31 the window is 2023-01-01 .. 2023-12-31: customers 2 (06-01),
    # 3 (02-01) and 4 (01-01, the window's first day)
    assert active_customers(ORDERS, date(2023, 12, 31)).tolist() == [2, 3, 4]
    # at 2024-01-01 the window starts 2023-01-02: customer 4 dropped, 1 ordered that day
    assert active_customers(ORDERS, date(2024, 1, 1)).tolist() == [1, 2, 3]


def test_churn_hand_example() -> None:
    c = churn(ORDERS, Y2024)
    # active at the start (as of 2023-12-31): 2, 3, 4 → 3
    # at the end (2024-01-01 .. 2024-12-31): 1, 2 → churned 3 and 4 → 2 / 3
    assert (c.active_at_start, c.churned) == (3, 2)
    assert c.rate == pytest.approx(2 / 3)
    # nobody active before the first order ever
    assert churn(ORDERS, Period(date(2020, 1, 1), date(2020, 12, 31))).rate is None


def test_repurchase_hand_example() -> None:
    r = repurchase(ORDERS, Y2024)
    # 2024 buyers: 1 (4 orders), 2 (1 order) → 1 repeat of 2
    assert (r.buyers, r.repeat_buyers, r.rate) == (2, 1, 0.5)
    q1 = repurchase(ORDERS, Period(date(2024, 3, 1), date(2024, 3, 31)))
    # two orders of customer 1 on the same day count as two orders
    assert (q1.buyers, q1.repeat_buyers) == (1, 1)


def test_concentration_hand_example() -> None:
    c = concentration(ORDERS, top_n=2)
    # revenue per customer: 1 → 650, 2 → 600, 3 → 1000, 4 → 70; total 2 320
    assert c.customers == 4 and c.total == pytest.approx(2320.0)
    # top 2: 1000 + 650 = 1650 / 2320 = 0.711207
    assert c.top_n_share == pytest.approx(1650 / 2320)
    # top 20 % of 4 customers = ceil(0.8) = 1 customer: 1000 / 2320 = 0.431034
    assert c.top_count == 1 and c.top_share == pytest.approx(1000 / 2320)
    # HHI = (1000² + 650² + 600² + 70²) / 2320² = 1 787 400 / 5 382 400 = 0.332082
    assert c.hhi == pytest.approx(1_787_400 / 5_382_400)
    # normalised: (0.332082 − 0.25) / 0.75 = 0.109443
    assert c.hhi_normalised == pytest.approx((1_787_400 / 5_382_400 - 0.25) / 0.75)
    # in 2024 only: 1 → 650, 2 → 100; top 10 covers everything
    y = concentration(ORDERS, window=Y2024)
    assert y.top_n_share == pytest.approx(1.0) and y.customers == 2


def test_concentration_edge_cases() -> None:
    one = concentration(orders_frame([7], [date(2024, 1, 1)], [10.0]))
    assert (one.hhi, one.hhi_normalised, one.top_share) == (1.0, 1.0, 1.0)
    refunded = orders_frame([1, 1], [date(2024, 1, 1)] * 2, [10.0, -10.0])
    empty = concentration(refunded)
    assert empty.customers == 0 and empty.hhi is None and empty.top_n_share is None


@given(st.lists(st.floats(0.01, 1e9, allow_nan=False), min_size=1, max_size=60))
def test_concentration_bounds(amounts: list[float]) -> None:
    n = len(amounts)
    c = concentration(orders_frame(list(range(n)), [date(2024, 1, 1)] * n, amounts))
    assert c.customers == n
    for share in (c.top_n_share, c.top_share, c.hhi_normalised):
        assert share is not None and 0.0 <= share <= 1.0
    assert c.hhi is not None and 1.0 / n - 1e-12 <= c.hhi <= 1.0
    # the top 10 hold at least as much as an average 10 customers
    assert c.top_n_share >= min(10, n) / n - 1e-9  # type: ignore[operator]


def test_key_account_silence_hand_example() -> None:
    s = key_account_silence(ORDERS, date(2024, 6, 30))
    # only customer 1 has >= 3 distinct order dates (01-01, 02-01, 03-01; the two
    # orders on 03-01 are one date); gaps 31 and 29 → usual gap = median 30 days,
    # threshold 1.5 × 30 = 45; silent since 03-01: 121 days > 45
    assert s.height == 1
    row = s.row(0, named=True)
    assert (row["customer"], row["orders"], row["usual_gap_days"]) == (1, 3, 30.0)
    assert (row["threshold_days"], row["days_silent"], row["silent"]) == (45.0, 121, True)
    # on 2024-04-10 customer 1 is 40 days silent < 45: not yet
    early = key_account_silence(ORDERS, date(2024, 4, 10)).row(0, named=True)
    assert (early["days_silent"], early["silent"]) == (40, False)
    # restricted to key accounts 2 and 3: neither has 3 order dates
    assert key_account_silence(ORDERS, date(2024, 6, 30), customers=[2, 3]).height == 0


def test_key_account_silence_orders_by_overdue() -> None:
    base = date(2024, 1, 1)
    cust, days = [], []
    for c, gap in ((1, 10), (2, 30)):
        for k in range(4):
            cust.append(c)
            days.append(base + timedelta(days=gap * k))
    o = orders_frame(cust, days, [1.0] * len(cust))
    s = key_account_silence(o, date(2024, 5, 20), factor=2.0)
    # customer 1: orders 01-01 + 0/10/20/30 days, last 01-31, silent 110 days vs
    # 2 × 10 = 20 → 90 over; customer 2: 01-01 + 0/30/60/90 days, last 03-31, silent
    # 50 days vs 2 × 30 = 60 → not silent; most overdue first
    assert s.get_column("customer").to_list() == [1, 2]
    assert s.get_column("silent").to_list() == [True, False]


def test_product_mix_hand_example() -> None:
    m = product_mix(ORDERS)
    # a: 100 + 300 + 50 + 1000 + 70 = 1520; b: 200 + 500 + 100 = 800; total 2320
    assert m.get_column("product_line").to_list() == ["a", "b"]
    assert m.get_column("share").to_list() == pytest.approx([1520 / 2320, 800 / 2320])
    by = product_mix(ORDERS, window=Y2024, by="customer")
    # customer 1 in 2024: a 450, b 200 → 450 / 650, 200 / 650
    c1 = by.filter(pl.col("customer") == 1)
    assert c1.get_column("share").to_list() == pytest.approx([450 / 650, 200 / 650])
    sums = by.group_by("customer").agg(pl.col("share").sum()).get_column("share")
    assert np.allclose(sums.to_numpy(), 1.0)


def test_orders_frame_validates_lengths() -> None:
    with pytest.raises(ValueError):
        orders_frame([1, 2], [date(2024, 1, 1)], [1.0, 2.0])
