"""Reads for orders and payments, through the visibility rule."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Max, QuerySet, Sum

from salesloop.orders.choices import OrderStatus
from salesloop.orders.models import Order, Payment
from salesloop.org.visibility import visible


def order_list(*, user: Any, customer: Any = None) -> QuerySet[Order]:
    queryset = visible(Order.objects.select_related("customer", "owner", "product_line"), user=user)
    if customer is not None:
        queryset = queryset.filter(customer=customer)
    return queryset


def payment_list(*, user: Any, order: Any = None) -> QuerySet[Payment]:
    queryset = visible(Payment.objects.select_related("order"), user=user)
    if order is not None:
        queryset = queryset.filter(order=order)
    return queryset


def customer_revenue(*, user: Any, customer: Any) -> dict[str, Any]:
    """Lifetime booked and collected revenue of a customer, from the orders the user may see."""
    orders = order_list(user=user, customer=customer).filter(status=OrderStatus.ACTIVE)
    booked = orders.aggregate(
        revenue=Sum("amount_base"), last_order=Max("signed_on"), n=Count("id")
    )
    collected = (
        payment_list(user=user)
        .filter(order__customer=customer, order__status=OrderStatus.ACTIVE)
        .aggregate(total=Sum("amount_base"))
    )
    return {
        "booked": booked["revenue"] or 0,
        "collected": collected["total"] or 0,
        "last_order": booked["last_order"],
        "order_count": booked["n"],
    }
