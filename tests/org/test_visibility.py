"""The one visibility rule, for every role against own / subordinate's / peer's / other branch's records."""

from __future__ import annotations

from decimal import Decimal

import pytest

from salesloop.activities.models import Activity
from salesloop.customers.models import Contact, Customer
from salesloop.orders.models import Order, Payment
from salesloop.orders.services import order_create, payment_create
from salesloop.org.models import Member
from salesloop.org.visibility import can_write, visible
from salesloop.pipeline.models import Opportunity, StageChange
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org):
    """One customer, opportunity, activity, order and payment per rep/manager."""
    records = {}
    for name in ("rep_a1", "rep_a2", "mgr_a", "rep_b1", "east_mgr", "rep_w1", "mgr_w", "director"):
        owner = getattr(org, name)
        cust = f.customer(owner, name=f"Customer of {name}")
        f.opportunity(owner, cust)
        f.activity(owner, cust)
        order = order_create(
            number=f"O-{name}",
            customer=cust,
            owner=owner,
            signed_on=f.date(2025, 1, 5),
            amount=Decimal("100.00"),
        )
        payment_create(order=order, paid_on=f.date(2025, 2, 1), amount=Decimal("40.00"))
        records[name] = cust
    return records


def owners_seen(model, user, lookup):
    return set(visible(model.objects.all(), user=user).values_list(lookup, flat=True))


ALL = {"rep_a1", "rep_a2", "mgr_a", "rep_b1", "east_mgr", "rep_w1", "mgr_w", "director"}
EXPECTED = {
    "rep_a1": {"rep_a1"},  # a rep: own records only (not the peer rep_a2, not the manager)
    "mgr_a": {"rep_a1", "rep_a2", "mgr_a"},  # a team manager: the team, not team B, not West
    "viewer_a": {"rep_a1", "rep_a2", "mgr_a"},  # a viewer: their unit's subtree, read-only
    "east_mgr": {"rep_a1", "rep_a2", "mgr_a", "rep_b1", "east_mgr"},  # regional manager: the region
    "mgr_w": {"rep_w1", "mgr_w"},
    "director": ALL,
    "admin": ALL,
}

MODELS = [
    (Customer, "owner__user__username"),
    (Contact, "customer__owner__user__username"),
    (Opportunity, "owner__user__username"),
    (StageChange, "opportunity__owner__user__username"),
    (Activity, "owner__user__username"),
    (Order, "owner__user__username"),
    (Payment, "order__owner__user__username"),
]


@pytest.mark.parametrize("viewer", sorted(EXPECTED))
@pytest.mark.parametrize(("model", "lookup"), MODELS, ids=[m.__name__ for m, _ in MODELS])
def test_each_role_sees_exactly_its_scope(org, world, viewer, model, lookup):
    user = getattr(org, viewer).user
    seen = owners_seen(model, user, lookup)
    if model is Contact:
        assert seen == set()  # no contacts were created in this world
    else:
        assert seen == EXPECTED[viewer]


def test_members_are_visible_by_the_same_rule(org):
    assert set(
        visible(Member.objects.all(), user=org.rep_a1.user).values_list("user__username", flat=True)
    ) == {"rep_a1"}
    team = set(
        visible(Member.objects.all(), user=org.mgr_a.user).values_list("user__username", flat=True)
    )
    assert team == {"mgr_a", "rep_a1", "rep_a2", "viewer_a"}


def test_user_without_member_or_inactive_sees_nothing(org, world, django_user_model):
    stranger = django_user_model.objects.create_user("stranger", password="x")
    assert not visible(Customer.objects.all(), user=stranger).exists()
    rep = org.rep_a1.user
    rep.is_active = False
    rep.save()
    assert not visible(Customer.objects.all(), user=rep).exists()


def test_member_who_left_sees_nothing(org, world):
    org.rep_a1.left_on = f.date(2025, 1, 1)
    org.rep_a1.save()
    assert not visible(Customer.objects.all(), user=org.rep_a1.user).exists()


def test_viewer_cannot_write_but_others_can(org):
    assert not can_write(org.viewer_a.user)
    for m in (org.rep_a1, org.mgr_a, org.director, org.admin):
        assert can_write(m.user)


def test_model_without_declared_owner_is_refused(org):
    from salesloop.org.models import OrgUnit

    with pytest.raises(TypeError):
        visible(OrgUnit.objects.all(), user=org.director.user)
