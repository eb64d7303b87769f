"""Bad input through the pages: a clear message and nothing changed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from salesloop.activities.models import Activity
from salesloop.customers.models import Customer
from salesloop.pipeline.models import Opportunity, StageChange
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_customer_form_errors_change_nothing(org, login):
    client = login(org.rep_a1)
    response = client.post(
        reverse("customers:create"),
        {"name": "", "tier": "gold", "industry": "it", "potential": "-1", "owner": org.rep_a1.pk},
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) >= {"name", "tier", "potential"}
    assert not Customer.objects.exists()


def test_rep_cannot_assign_a_customer_to_someone_else(org, login):
    client = login(org.rep_a1)
    response = client.post(
        reverse("customers:create"),
        {"name": "X", "tier": "a", "industry": "it", "potential": "0", "owner": org.rep_a2.pk},
    )
    assert "owner" in response.context["form"].errors
    assert not Customer.objects.exists()


def test_opportunity_form_refuses_negative_amount_and_hidden_customer(org, login):
    mine, hidden = f.customer(org.rep_a1), f.customer(org.rep_w1)
    client = login(org.rep_a1)
    data = {
        "name": "Deal",
        "customer": f"{mine.name} · #{mine.pk}",
        "owner": org.rep_a1.pk,
        "amount": "-100",
        "currency": "CNY",
        "expected_close": "2027-01-01",
        "source": "other",
    }
    response = client.post(reverse("pipeline:create"), data)
    assert "amount" in response.context["form"].errors
    data.update(amount="100", customer=str(hidden.pk))
    response = client.post(reverse("pipeline:create"), data)
    assert "customer" in response.context["form"].errors
    assert not Opportunity.objects.exists()
    data.update(customer=f"{mine.name} · #{mine.pk}")
    response = client.post(reverse("pipeline:create"), data)
    assert response.status_code == 302
    assert Opportunity.objects.get().customer == mine


def test_unknown_stage_on_the_board_is_a_clear_400(org, login):
    opp = f.opportunity(org.rep_a1)
    client = login(org.rep_a1)
    response = client.post(
        reverse("pipeline:move", args=[opp.pk]),
        {"stage": 999999, "from": "board"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    assert b"Unknown stage" in response.content
    assert StageChange.objects.filter(opportunity=opp).count() == 1


def test_activity_with_due_before_is_refused_through_htmx(org, login):
    cust = f.customer(org.rep_a1)
    client = login(org.rep_a1)
    response = client.post(
        reverse("activities:log"),
        {
            "customer": cust.pk,
            "kind": "call",
            "subject": "x",
            "occurred_at": "2026-03-10T10:00",
            "duration_minutes": "5",
            "outcome": "neutral",
            "follow_up_due": "2026-03-09",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    assert b"cannot be due before" in response.content
    assert not Activity.objects.exists()


def test_list_pages_run_a_bounded_number_of_queries(org, login, django_assert_max_num_queries):
    for i in range(30):
        cust = f.customer(org.rep_a1, name=f"C{i}")
        f.opportunity(org.rep_a1, cust)
    client = login(org.director)
    for route in ("customers:list", "pipeline:list", "pipeline:board"):
        with django_assert_max_num_queries(20):
            assert client.get(reverse(route)).status_code == 200
    # My day adds the dashboard's month and quarter cards: more queries, but a fixed number
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for extra in (0, 30):
        for i in range(extra):
            f.opportunity(org.rep_a1, f.customer(org.rep_a1, name=f"D{i}"))
        client.get(reverse("home"))  # fills the caches of derived figures for this data
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("home")).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1] and counts[0] <= 60


def test_language_follows_member_setting(org, login):
    client = login(org.rep_a1)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert "客户".encode() in client.get(reverse("home")).content
    client.post(reverse("set_language"), {"language": "en", "next": "https://evil.example/"})
    assert b"Customers" in client.get(reverse("home")).content
