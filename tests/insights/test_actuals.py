"""Monthly actuals per member, credited by split share, aggregated in the database."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from salesloop.customers.services import product_create, product_line_create
from salesloop.insights.actuals import monthly_actuals
from salesloop.orders.services import CreditIn, LineIn, order_create, payment_create
from salesloop.pipeline.services import opportunity_move_stage, opportunity_set_credits
from tests import factories as f

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def test_booked_and_collected_credit_by_share(org):
    a1, a2 = org.rep_a1, org.rep_a2
    cust = f.customer(a1)
    order_create(
        number="1", customer=cust, owner=a1, signed_on=date(2025, 3, 7), amount=Decimal("1000")
    )
    split = order_create(
        number="2",
        customer=cust,
        owner=a1,
        signed_on=date(2025, 3, 20),
        amount=Decimal("500"),
        credits=[CreditIn(a1, Decimal("70")), CreditIn(a2, Decimal("30"))],
    )
    order_create(
        number="3", customer=cust, owner=a2, signed_on=date(2025, 4, 1), amount=Decimal("200")
    )
    order_create(
        number="4", customer=cust, owner=a2, signed_on=date(2025, 5, 1), amount=Decimal("999")
    )  # outside P
    payment_create(order=split, paid_on=date(2025, 4, 2), amount=Decimal("100"))
    booked = monthly_actuals(
        metric="booked_revenue",
        members=[a1.pk, a2.pk],
        start=date(2025, 3, 1),
        end=date(2025, 4, 30),
    )
    # a1: 1000 + 70 % × 500 = 1350 in March; a2: 30 % × 500 = 150 in March, 200 in April
    assert booked.values == {
        (a1.pk, 2025, 3): Decimal("1350"),
        (a2.pk, 2025, 3): Decimal("150"),
        (a2.pk, 2025, 4): Decimal("200"),
    }
    assert booked.total() == Decimal("1700")  # = 1000 + 500 + 200: splits add up to the whole
    collected = monthly_actuals(
        metric="collected_revenue",
        members=[a1.pk, a2.pk],
        start=date(2025, 1, 1),
        end=date(2025, 12, 31),
    )
    assert collected.values == {(a1.pk, 2025, 4): Decimal("70"), (a2.pk, 2025, 4): Decimal("30")}
    only_a2 = monthly_actuals(
        metric="booked_revenue", members=[a2.pk], start=date(2025, 3, 1), end=date(2025, 4, 30)
    )
    assert only_a2.total() == Decimal("350")


def test_booked_by_product_line_uses_lines(org):
    other_line = product_line_create(name="Hardware", code="HW")
    sw = product_create(name="SW", sku="S", product_line=org.product_line, list_price=Decimal(1))
    hw = product_create(name="HW", sku="H", product_line=other_line, list_price=Decimal(1))
    cust = f.customer(org.rep_a1)
    order_create(
        number="L",
        customer=cust,
        owner=org.rep_a1,
        signed_on=date(2025, 6, 1),
        lines=[LineIn(sw, Decimal(2), Decimal("100")), LineIn(hw, Decimal(1), Decimal("50"))],
        credits=[CreditIn(org.rep_a1, Decimal("50")), CreditIn(org.rep_a2, Decimal("50"))],
    )
    by_line = monthly_actuals(
        metric="booked_revenue",
        members=[org.rep_a1.pk, org.rep_a2.pk],
        start=date(2025, 1, 1),
        end=date(2025, 12, 31),
        product_line=org.product_line,
    )
    assert by_line.values == {
        (org.rep_a1.pk, 2025, 6): Decimal("100"),
        (org.rep_a2.pk, 2025, 6): Decimal("100"),
    }


def test_deals_won_created_new_customers_and_activities(org):
    a1 = org.rep_a1
    won = org.pipeline.stages.get(kind="won")
    t = datetime(2025, 2, 10, 10, tzinfo=SH)
    c1, c2 = f.customer(a1), f.customer(a1)
    o1 = f.opportunity(a1, c1, created_at=t)
    o2 = f.opportunity(a1, c2, created_at=t + timedelta(days=40))
    opportunity_set_credits(
        opportunity=o2, credits=[CreditIn(a1, Decimal("60")), CreditIn(org.rep_a2, Decimal("40"))]
    )
    opportunity_move_stage(opportunity=o1, stage=won, at=t + timedelta(days=20))  # won 2025-03-02
    opportunity_move_stage(opportunity=o2, stage=won, at=t + timedelta(days=50))  # won 2025-04-01
    members = [a1.pk, org.rep_a2.pk]
    deals = monthly_actuals(
        metric="deals_won", members=members, start=date(2025, 1, 1), end=date(2025, 12, 31)
    )
    assert deals.values == {
        (a1.pk, 2025, 3): Decimal("1"),
        (a1.pk, 2025, 4): Decimal("0.6"),
        (org.rep_a2.pk, 2025, 4): Decimal("0.4"),
    }
    created = monthly_actuals(
        metric="opportunities_created",
        members=members,
        start=date(2025, 1, 1),
        end=date(2025, 12, 31),
    )
    assert created.values == {
        (a1.pk, 2025, 2): Decimal("1"),
        (a1.pk, 2025, 3): Decimal("0.6"),
        (org.rep_a2.pk, 2025, 3): Decimal("0.4"),
    }
    order_create(
        number="N1", customer=c1, owner=a1, signed_on=date(2024, 12, 1), amount=Decimal(1)
    )  # c1 first ordered in 2024
    order_create(number="N2", customer=c1, owner=a1, signed_on=date(2025, 5, 1), amount=Decimal(1))
    order_create(number="N3", customer=c2, owner=a1, signed_on=date(2025, 5, 3), amount=Decimal(1))
    new = monthly_actuals(
        metric="new_customers", members=members, start=date(2025, 1, 1), end=date(2025, 12, 31)
    )
    assert new.values == {(a1.pk, 2025, 5): Decimal("1")}  # only c2 is new in 2025
    f.activity(a1, c1, at=t, kind="visit")
    f.activity(a1, c1, at=t + timedelta(hours=1), kind="call")
    f.activity(a1, c2, at=t + timedelta(days=30), kind="visit")
    visits = monthly_actuals(
        metric="activities_visit", members=members, start=date(2025, 1, 1), end=date(2025, 12, 31)
    )
    assert visits.values == {(a1.pk, 2025, 2): Decimal("1"), (a1.pk, 2025, 3): Decimal("1")}
    everything = monthly_actuals(
        metric="activities_all", members=members, start=date(2025, 1, 1), end=date(2025, 12, 31)
    )
    assert everything.total() == 3
