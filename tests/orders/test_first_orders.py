"""Each customer's first active order is kept up to date by every write of orders, and the
"new customers" figures read it: checked against a plain-Python reference after each step."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from salesloop.insights.actuals import monthly_actuals
from salesloop.orders.models import CustomerFirstOrder, Order
from salesloop.orders.services import (
    first_orders_refresh,
    order_cancel,
    order_create,
    order_update,
)
from tests import factories as f

pytestmark = pytest.mark.django_db


def reference() -> dict[int, int]:
    """customer → its first active order, by (signing day, id), computed in Python."""
    first: dict[int, tuple[date, int]] = {}
    for customer, signed_on, pk in Order.objects.filter(status="active").values_list(
        "customer_id", "signed_on", "pk"
    ):
        if customer not in first or (signed_on, pk) < first[customer]:
            first[customer] = (signed_on, pk)
    return {c: pk for c, (_d, pk) in first.items()}


def kept() -> dict[int, int]:
    rows = CustomerFirstOrder.objects.values_list("customer_id", "order_id", "signed_on")
    for customer, order, signed_on in rows:  # the day kept is the order's own
        assert Order.objects.get(pk=order).signed_on == signed_on, customer
    return {c: o for c, o, _d in rows}


def test_every_write_of_orders_keeps_the_first_orders(org):
    a1, a2 = org.rep_a1, org.rep_a2
    c1, c2, c3 = f.customer(a1), f.customer(a1), f.customer(a2)

    def order(number, customer, owner, day):
        return order_create(
            number=number, customer=customer, owner=owner, signed_on=day, amount=Decimal(100)
        )

    o1 = order("N1", c1, a1, date(2025, 3, 1))
    o2 = order("N2", c1, a1, date(2025, 3, 1))  # same day, higher id: not the first
    o3 = order("N3", c2, a1, date(2025, 6, 1))
    assert kept() == reference() == {c1.pk: o1.pk, c2.pk: o3.pk}
    o4 = order("N4", c1, a1, date(2024, 12, 31))  # an earlier one arrives
    assert kept() == reference() == {c1.pk: o4.pk, c2.pk: o3.pk}
    order_cancel(order=o4)  # cancelled: the next one is the first again
    assert kept() == reference() == {c1.pk: o1.pk, c2.pk: o3.pk}
    order_update(order=o1, actor=None, customer=c3)  # moved to another customer
    assert kept() == reference() == {c1.pk: o2.pk, c2.pk: o3.pk, c3.pk: o1.pk}
    order_update(order=o3, actor=None, signed_on=date(2026, 1, 5))
    order_update(order=o2, actor=None, status="cancelled")
    assert kept() == reference() == {c2.pk: o3.pk, c3.pk: o1.pk}  # c1 has no active order
    # a refresh of everything from scratch gives the same
    CustomerFirstOrder.objects.all().delete()
    assert first_orders_refresh() == 2 and kept() == reference()


def test_new_customers_are_read_from_the_first_orders(org):
    """c1 first ordered in 2024, c2 in May 2025 (split 60 / 40), c3 in July 2025 on a line."""
    from salesloop.customers.services import product_line_create
    from salesloop.orders.models import OrderCredit

    a1, a2 = org.rep_a1, org.rep_a2
    c1, c2, c3 = f.customer(a1), f.customer(a1), f.customer(a2)
    line = product_line_create(code="HW", name="Hardware")
    for number, customer, owner, day in [
        ("N1", c1, a1, date(2024, 12, 1)),
        ("N2", c1, a1, date(2025, 5, 1)),
        ("N3", c2, a1, date(2025, 5, 3)),
        ("N4", c3, a2, date(2025, 7, 9)),
        ("N5", c3, a2, date(2025, 8, 9)),
    ]:
        order_create(
            number=number, customer=customer, owner=owner, signed_on=day, amount=Decimal(1)
        )
    n3 = Order.objects.get(number="N3")
    OrderCredit.objects.bulk_create(
        [
            OrderCredit(order=n3, member=a1, share=Decimal(60)),
            OrderCredit(order=n3, member=a2, share=Decimal(40)),
        ]
    )
    Order.objects.filter(number="N4").update(product_line=line)
    year = dict(start=date(2025, 1, 1), end=date(2025, 12, 31))
    new = monthly_actuals(metric="new_customers", members=[a1.pk, a2.pk], **year)
    assert new.values == {
        (a1.pk, 2025, 5): Decimal("0.6"),
        (a2.pk, 2025, 5): Decimal("0.4"),
        (a2.pk, 2025, 7): Decimal("1"),
    }
    on_line = monthly_actuals(
        metric="new_customers", members=[a1.pk, a2.pk], product_line=line, **year
    )
    assert on_line.values == {(a2.pk, 2025, 7): Decimal("1")}
