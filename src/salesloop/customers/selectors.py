"""Reads for customers, through the visibility rule."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, Exists, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from salesloop.customers.filters import CustomerFilter
from salesloop.customers.models import Contact, Customer
from salesloop.orders.choices import OrderStatus
from salesloop.orders.models import Order
from salesloop.org.visibility import get_visible_or_404, visible


def customer_list(*, user: Any, filters: CustomerFilter | None = None) -> QuerySet[Customer]:
    """Visible customers; with ``filters`` (the list page, its export and the API list) also
    ``revenue_12m`` and ``last_order`` from the orders the user may see, so the list can be
    sorted by them."""
    queryset = visible(Customer.objects.select_related("owner"), user=user)
    if filters is not None:
        queryset = filters.apply(with_recent_revenue(queryset, user=user))
    return queryset


def with_recent_revenue(
    queryset: QuerySet[Customer], *, user: Any, today: date | None = None
) -> QuerySet[Customer]:
    """Annotate each customer with its booked revenue of the trailing 12 months (the 365 days
    to ``today``) and its last order date, from the active orders ``user`` may see (one
    correlated subquery each, computed by the database)."""
    today = today or timezone.localdate()
    orders = visible(Order.objects.all(), user=user).filter(
        customer=OuterRef("pk"), status=OrderStatus.ACTIVE, signed_on__lte=today
    )
    recent = (
        orders.filter(signed_on__gt=today - timedelta(days=365))
        .order_by()
        .values("customer")
        .annotate(total=Sum("amount_base"))
        .values("total")
    )
    money = DecimalField(max_digits=18, decimal_places=2)
    return queryset.annotate(
        revenue_12m=Coalesce(
            Subquery(recent, output_field=money), Value(Decimal(0)), output_field=money
        ),
        last_order=Subquery(orders.order_by("-signed_on").values("signed_on")[:1]),
    )


def customer_totals(
    queryset: QuerySet[Customer], *, user: Any, today: date | None = None
) -> dict[str, Any]:
    """Under the customer list: of the customers ``queryset`` lists, how many bought in the 365
    days to ``today`` and their booked revenue over those days, from the active orders ``user``
    may see — the sums of the list's "Revenue, last 12 months" column, summed on the orders (not
    over each row's subquery). The buyers are counted with an ``EXISTS`` per customer: S1, a
    director's 50,000 customers and 435,000 orders of the year, 64 ms against 200 ms for a
    distinct count over the orders."""
    today = today or timezone.localdate()
    orders = visible(Order.objects.all(), user=user).filter(
        status=OrderStatus.ACTIVE,
        signed_on__lte=today,
        signed_on__gt=today - timedelta(days=365),
    )
    listed = queryset.order_by()
    revenue = orders.filter(customer__in=listed.values("pk")).aggregate(total=Sum("amount_base"))
    buyers = listed.filter(Exists(orders.filter(customer=OuterRef("pk")))).count()
    return {"revenue": revenue["total"] or Decimal(0), "buyers": buyers}


def customer_get(*, user: Any, pk: Any) -> Customer:
    return get_visible_or_404(Customer.objects.select_related("owner__org_unit"), user=user, pk=pk)


def customer_contacts(*, user: Any, customer: Customer) -> QuerySet[Contact]:
    return visible(Contact.objects.filter(customer=customer), user=user)


def customer_search(*, user: Any, q: str, limit: int = 20) -> QuerySet[Customer]:
    """Autocomplete: visible customers whose name contains ``q``."""
    queryset = visible(Customer.objects.all(), user=user)
    if q:
        queryset = queryset.filter(name__icontains=q)
    return queryset.order_by("name")[:limit]
