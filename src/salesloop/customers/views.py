from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from salesloop.activities.forms import ActivityForm
from salesloop.activities.selectors import activity_list
from salesloop.common.forms import apply_service_errors
from salesloop.common.htmx import render_page_or_partial
from salesloop.customers import services
from salesloop.customers.filters import CustomerFilter
from salesloop.customers.forms import ContactForm, CustomerForm
from salesloop.customers.models import Customer
from salesloop.customers.selectors import (
    customer_contacts,
    customer_get,
    customer_list,
    customer_search,
    customer_totals,
)
from salesloop.orders.selectors import customer_revenue, order_list
from salesloop.org.decorators import writer_required
from salesloop.pipeline.selectors import opportunity_list

PAGE_SIZE = 25


def customer_list_view(request: HttpRequest) -> HttpResponse:
    filters = CustomerFilter(request.GET)
    page = Paginator(customer_list(user=request.user, filters=filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "filters": filters,
        "page": page,
        "query": request.GET.copy(),
        "owners": filters.owner_options(request.user),
    }
    return render_page_or_partial(request, "customers/customer_list.html", context, "table")


def customer_totals_view(request: HttpRequest) -> HttpResponse:
    """The list's totals row, asked for by the list once it is shown (same filters): summing a
    director's year of orders (S1: 435,000) takes about ten times as long as the page itself, so
    the table does not wait for it."""
    filters = CustomerFilter(request.GET)
    listed = customer_list(user=request.user, filters=filters)
    count = listed.count()
    totals = {"count": count, **customer_totals(listed, user=request.user)} if count else None
    return render(request, "customers/customer_list.html#totals", {"totals": totals})


DEALS_SHOWN = 20


def _customer_deals(user: Any, customer: Customer) -> dict[str, Any]:
    """A customer's deals for its page: the open ones first (soonest expected close first),
    then the closed ones, newest first; ``deals_total`` counts them all."""
    deals = opportunity_list(user=user).filter(customer=customer)
    shown = list(deals.filter(stage__kind="open").order_by("expected_close", "pk")[:DEALS_SHOWN])
    if len(shown) < DEALS_SHOWN:
        closed = deals.exclude(stage__kind="open").order_by("-closed_at", "-pk")
        shown += list(closed[: DEALS_SHOWN - len(shown)])
    return {"opportunities": shown, "deals_total": deals.count()}


def customer_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    customer = customer_get(user=request.user, pk=pk)
    context = {
        "customer": customer,
        "contacts": customer_contacts(user=request.user, customer=customer),
        **_customer_deals(request.user, customer),
        "orders": order_list(user=request.user, customer=customer)[:20],
        "revenue": customer_revenue(user=request.user, customer=customer),
        "activities": activity_list(user=request.user, customer=customer)[:30],
        "activity_form": ActivityForm(),
        "contact_form": ContactForm(),
    }
    return render(request, "customers/customer_detail.html", context)


@writer_required
def customer_create_view(request: HttpRequest) -> HttpResponse:
    form = CustomerForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.customer_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Customer %(name)s created.") % {"name": customer.name})
            return redirect("customers:detail", pk=customer.pk)
    return render(request, "customers/customer_form.html", {"form": form})


@writer_required
def customer_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    customer = customer_get(user=request.user, pk=pk)
    form = CustomerForm(request.POST or None, instance=customer, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_update(customer=customer, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("customers:detail", pk=customer.pk)
    if request.method == "POST":
        customer.refresh_from_db()
    return render(request, "customers/customer_form.html", {"form": form, "customer": customer})


@writer_required
@require_POST
def contact_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    customer = customer_get(user=request.user, pk=pk)
    form = ContactForm(request.POST)
    if form.is_valid():
        try:
            services.contact_create(customer=customer, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
    context = {
        "customer": customer,
        "contacts": customer_contacts(user=request.user, customer=customer),
        "contact_form": form if form.errors else ContactForm(),
    }
    if request.htmx:
        return render(request, "customers/customer_detail.html#contacts", context)
    return redirect("customers:detail", pk=customer.pk)


def customer_search_view(request: HttpRequest) -> HttpResponse:
    q = (request.GET.get("q") or request.GET.get("customer") or "").split("·")[0].strip()
    return render(
        request,
        "customers/customer_options.html",
        {"customers": customer_search(user=request.user, q=q)},
    )
