"""Two customers of one name made every order imported by that name ambiguous: a new customer
(or a renamed one) takes a name no other customer has."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from salesloop.customers.models import Customer
from salesloop.customers.services import customer_create, customer_update
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_a_second_customer_of_the_same_name_is_refused(org):
    f.customer(org.rep_a1, name="永安合联电子装备制造有限公司")
    f.customer(org.rep_a1, name="Acme Trading")
    # the owner is named to whom may see the customer (rep_a2's manager sees rep_a1's)
    with pytest.raises(ValidationError) as seen:
        customer_create(name=" Acme trading ", owner=org.rep_a2, actor=org.mgr_a.user)
    assert "already exists (owner: Rep_A1)" in " ".join(seen.value.message_dict["name"])
    # not to whom may not: a rep of another branch
    with pytest.raises(ValidationError) as hidden:
        customer_create(
            name="永安合联电子装备制造有限公司", owner=org.rep_w1, actor=org.rep_w1.user
        )
    words = " ".join(hidden.value.message_dict["name"])
    assert "outside your view" in words and "Rep_A1" not in words
    assert Customer.objects.filter(name__iexact="acme trading").count() == 1


def test_a_rename_to_a_taken_name_is_refused_and_its_own_name_kept(org):
    f.customer(org.rep_a1, name="Acme Trading")
    other = f.customer(org.rep_a1, name="Beta Works")
    with pytest.raises(ValidationError):
        customer_update(customer=other, name="ACME TRADING", actor=org.rep_a1.user)
    other.refresh_from_db()
    assert other.name == "Beta Works"
    # its own name in another case, and other fields, are fine
    customer_update(customer=other, name="BETA Works", region="华东", actor=org.rep_a1.user)


def test_the_new_customer_page_says_so_and_creates_nothing(org, client, login):
    f.customer(org.rep_a1, name="杭州远景")
    login(org.rep_a1)
    response = client.post(
        reverse("customers:create"),
        {
            "name": "杭州远景",
            "tier": "c",
            "industry": "other",
            "potential": "0",
            "owner": org.rep_a1.pk,
        },
    )
    assert response.status_code in (200, 400)
    assert "already exists" in response.content.decode()
    assert Customer.objects.filter(name="杭州远景").count() == 1


def test_an_edit_and_its_audit_entry_are_written_together(org, monkeypatch):
    """When the audit entry cannot be written, the edit is not kept either."""
    from salesloop.customers import services

    cust = f.customer(org.rep_a1, name="Gamma Ltd")

    def broken(**kwargs):
        raise RuntimeError("the audit trail is down")

    monkeypatch.setattr(services, "audit_record", broken)
    with pytest.raises(RuntimeError):
        customer_update(customer=cust, name="Gamma Holdings", actor=org.rep_a1.user)
    assert Customer.objects.get(pk=cust.pk).name == "Gamma Ltd"
