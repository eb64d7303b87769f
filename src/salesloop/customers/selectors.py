"""Reads for customers, through the visibility rule."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from salesloop.customers.filters import CustomerFilter
from salesloop.customers.models import Contact, Customer
from salesloop.org.visibility import get_visible_or_404, visible


def customer_list(*, user: Any, filters: CustomerFilter | None = None) -> QuerySet[Customer]:
    queryset = visible(Customer.objects.select_related("owner"), user=user)
    if filters is not None:
        queryset = filters.apply(queryset)
    return queryset


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
