"""Two orders for one customer created at the same moment, on PostgreSQL: both go in and the
customer's first order is the earlier one (the refreshes wait for each other, no duplicate row,
no deadlock)."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection, connections

from salesloop.orders import services
from salesloop.orders.models import CustomerFirstOrder, Order
from tests import factories as f
from tests.orders.test_first_orders import reference

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs DATABASE_URL pointing at PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True),
]


def test_concurrent_orders_of_one_customer(org, monkeypatch):
    customer = f.customer(org.rep_a1)
    both_inserted = threading.Barrier(2, timeout=20)
    real_refresh = services.first_orders_refresh

    def refresh_together(customer_ids=None):
        both_inserted.wait()  # each thread has inserted its order, neither has committed
        return real_refresh(customer_ids)

    monkeypatch.setattr(services, "first_orders_refresh", refresh_together)
    errors: list[BaseException] = []

    def create(number: str, day: date) -> None:
        try:
            services.order_create(
                number=number,
                customer=customer,
                owner=org.rep_a1,
                signed_on=day,
                amount=Decimal(10),
            )
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=create, args=("P-1", date(2025, 6, 1))),
        threading.Thread(target=create, args=("P-2", date(2025, 5, 1))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert Order.objects.filter(customer=customer).count() == 2
    first = CustomerFirstOrder.objects.get(customer=customer)
    assert first.order.number == "P-2" and first.signed_on == date(2025, 5, 1)
    assert dict(CustomerFirstOrder.objects.values_list("customer_id", "order_id")) == reference()
