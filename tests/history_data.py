"""Shared data (imported as a fixture by tests/conftest.py) for the targets tests: three years of orders for the reps of the small org."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pytest

from salesloop.customers.services import product_create, product_line_create
from salesloop.orders.services import LineIn, order_create
from tests import factories as f

#: "Today" while the targets tests run: next year's plan is made in late November, when the
#: current month is incomplete and December has no figures yet (the orders dated after it
#: are never read).
PLANNING_TODAY = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@pytest.fixture
def history(org, time_machine):
    """36 months of orders before FY2027 for each rep; rep_a1 sells twice as much as rep_a2."""
    time_machine.move_to(PLANNING_TODAY, tick=True)
    hw_line = product_line_create(name="Hardware", code="HW")
    sw = product_create(name="SW", sku="SW1", product_line=org.product_line, list_price=Decimal(1))
    hw = product_create(name="HW", sku="HW1", product_line=hw_line, list_price=Decimal(1))
    rng = np.random.default_rng(7)
    n = 0
    for rep, scale, hw_share in (
        (org.rep_a1, 2.0, 0.0),
        (org.rep_a2, 1.0, 0.5),
        (org.rep_b1, 1.0, 0.3),
        (org.rep_w1, 1.5, 0.2),
    ):
        cust = f.customer(rep)
        for k in range(36):
            y, m = 2024 + k // 12, k % 12 + 1
            amount = round(
                10_000
                * scale
                * (1 + 0.01 * k)
                * (0.6 if m in (1, 2) else 1.3 if m in (11, 12) else 1.0)
                * rng.lognormal(0, 0.1)
            )
            hw_amount = round(amount * hw_share)
            lines = [LineIn(sw, Decimal(1), Decimal(amount - hw_amount))]
            if hw_amount:
                lines.append(LineIn(hw, Decimal(1), Decimal(hw_amount)))
            n += 1
            order_create(
                number=f"H{n}", customer=cust, owner=rep, signed_on=date(y, m, 15), lines=lines
            )
    return hw_line
