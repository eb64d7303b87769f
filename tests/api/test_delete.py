"""DELETE on customers, leads, opportunities, orders and payments: what goes, what stays, what
the audit trail keeps, and what is refused."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest

from salesloop.activities.models import Activity
from salesloop.apitokens.choices import TokenScope
from salesloop.common.models import AuditEvent
from salesloop.customers.models import Contact, Customer
from salesloop.customers.services import contact_create
from salesloop.orders.models import Order, Payment
from salesloop.orders.services import CreditIn, order_create, payment_create
from salesloop.org.choices import Role
from salesloop.org.models import Member
from salesloop.pipeline.models import Lead, Opportunity, OpportunityCredit, Stage, StageChange
from salesloop.pipeline.services import (
    lead_convert,
    lead_create,
    opportunity_move_stage,
    opportunity_set_credits,
)
from tests import factories as f

pytestmark = pytest.mark.django_db

SIGNED = date(2026, 1, 5)


def _order(owner, *, customer=None, opportunity=None, number=None):
    return order_create(
        number=number or f"SO-{next(f._seq)}",
        customer=customer or f.customer(owner),
        owner=owner,
        signed_on=SIGNED,
        amount=Decimal("1000"),
        opportunity=opportunity,
    )


def _counts():
    return {
        model.__name__: model.objects.count()
        for model in (
            Customer,
            Contact,
            Opportunity,
            StageChange,
            OpportunityCredit,
            Lead,
            Order,
            Payment,
            Activity,
        )
    } | {"changes": AuditEvent.objects.exclude(kind=AuditEvent.Kind.SECURITY).count()}


def _deleted(subject):
    return AuditEvent.objects.get(
        kind=AuditEvent.Kind.DELETE,
        subject_type=subject._meta.label_lower,
        subject_id=str(subject.pk),
    )


def _assert_refused(response, *fragments):
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "protected" and body["errors"] == {}
    for fragment in fragments:
        assert fragment in body["detail"], body["detail"]


# ---------------------------------------------------------------- orders: cancelled, never erased


def test_deleting_an_order_cancels_it_and_keeps_the_row(org, api_as):
    order = _order(org.rep_a1)
    api = api_as(org.rep_a1)

    response = api.delete(f"/api/orders/{order.pk}")

    assert response.status_code == 204 and response.content == b""
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert api.get(f"/api/orders/{order.pk}").json()["status"] == "cancelled"
    event = AuditEvent.objects.get(action="order.cancel")
    assert event.kind == AuditEvent.Kind.UPDATE
    assert (event.subject_type, event.subject_id) == ("orders.order", str(order.pk))
    assert event.actor == org.rep_a1.user
    assert event.changes == {
        "status": ["active", "cancelled"],
        "signed_on": [SIGNED.isoformat(), SIGNED.isoformat()],
    }


def test_deleting_a_cancelled_order_again_answers_204_and_changes_nothing(org, api_as):
    order = _order(org.rep_a1)
    api = api_as(org.rep_a1)
    assert api.delete(f"/api/orders/{order.pk}").status_code == 204
    before = _counts()

    again = api.delete(f"/api/orders/{order.pk}")

    assert again.status_code == 204
    assert _counts() == before
    assert Order.objects.get(pk=order.pk).status == "cancelled"


def test_an_order_with_payments_is_refused_and_nothing_changes(org, api_as):
    order = _order(org.rep_a1, number="HT-2026-001")
    for day in (1, 2):
        payment_create(order=order, paid_on=SIGNED + timedelta(days=day), amount=Decimal("100"))
    before = _counts()

    response = api_as(org.rep_a1).delete(f"/api/orders/{order.pk}")

    _assert_refused(response, "HT-2026-001", "2 payments")
    assert _counts() == before
    order.refresh_from_db()
    assert order.status == "active"


def test_the_refusal_is_translated(org, api_as):
    order = _order(org.rep_a1, number="HT-zh")
    payment_create(order=order, paid_on=SIGNED, amount=Decimal("100"))

    response = api_as(org.rep_a1).request(
        "DELETE", f"/api/orders/{order.pk}", **{"Accept-Language": "zh-hans"}
    )

    _assert_refused(response, "HT-zh", "1")
    assert response.json()["detail"] == "合同 HT-zh 有 1 笔回款：请先删除回款，再作废合同。"


# ---------------------------------------------------------------- payments


def test_deleting_a_payment_removes_exactly_that_row_and_audits_what_it_said(org, api_as):
    order = _order(org.rep_a1)
    kept = payment_create(order=order, paid_on=date(2026, 1, 6), amount=Decimal("100"))
    gone = payment_create(
        order=order, paid_on=date(2026, 1, 9), amount=Decimal("250.50"), method="bill"
    )
    before = _counts()

    response = api_as(org.rep_a1).delete(f"/api/payments/{gone.pk}")

    assert response.status_code == 204
    assert list(Payment.objects.values_list("pk", flat=True)) == [kept.pk]
    assert _counts() == before | {
        "Payment": before["Payment"] - 1,
        "changes": before["changes"] + 1,
    }
    event = _deleted(gone)
    assert event.action == "payment.delete" and event.actor == org.rep_a1.user
    assert event.changes["paid_on"] == ["2026-01-09", None]
    assert event.changes["amount"] == ["250.50", None]
    assert event.changes["amount_base"] == ["250.50", None]
    assert event.changes["order"] == [order.pk, None]
    assert event.changes["method"] == ["bill", None]
    assert all(new is None for _old, new in event.changes.values())
    json.dumps(event.changes)  # JSON-safe as stored


def test_once_its_payments_are_deleted_the_order_can_be_cancelled(org, api_as):
    order = _order(org.rep_a1)
    payment = payment_create(order=order, paid_on=SIGNED, amount=Decimal("100"))
    api = api_as(org.rep_a1)
    assert api.delete(f"/api/orders/{order.pk}").status_code == 409
    assert api.delete(f"/api/payments/{payment.pk}").status_code == 204
    assert api.delete(f"/api/orders/{order.pk}").status_code == 204
    assert Order.objects.get(pk=order.pk).status == "cancelled"


# ---------------------------------------------------------------- opportunities


def test_deleting_an_opportunity_removes_its_history_and_audits_the_key_dates(org, api_as):
    opp = f.opportunity(org.rep_a1, amount="5000", expected_close=date(2026, 3, 31))
    won = Stage.objects.get(pipeline=org.pipeline, kind="won")
    opportunity_move_stage(opportunity=opp, stage=won, actor=org.rep_a1.user)
    opportunity_set_credits(
        opportunity=opp,
        credits=[CreditIn(org.rep_a1, Decimal("60")), CreditIn(org.rep_a2, Decimal("40"))],
    )
    about_it = f.activity(org.rep_a1, opp.customer, opportunity=opp)
    opp.refresh_from_db()

    response = api_as(org.rep_a1).delete(f"/api/opportunities/{opp.pk}")

    assert response.status_code == 204
    assert not Opportunity.objects.filter(pk=opp.pk).exists()
    assert not StageChange.objects.filter(opportunity_id=opp.pk).exists()
    assert not OpportunityCredit.objects.filter(opportunity_id=opp.pk).exists()
    about_it.refresh_from_db()
    assert about_it.opportunity is None  # the activity stays with the customer
    changes = _deleted(opp).changes
    assert changes["name"] == [opp.name, None]
    assert changes["customer"] == [opp.customer_id, None]
    assert changes["owner"] == [org.rep_a1.pk, None]
    assert changes["stage"] == [won.pk, None]
    assert changes["amount"] == ["5000.00", None]
    assert changes["created_at"] == [opp.created_at.isoformat(), None]
    assert changes["closed_at"] == [opp.closed_at.isoformat(), None]
    assert changes["expected_close"] == ["2026-03-31", None]
    assert [h["to_stage"] for h in changes["stage_history"][0]][-1] == won.pk
    assert changes["credits"][0] == {str(org.rep_a1.pk): "60.00", str(org.rep_a2.pk): "40.00"}
    assert changes["activities"] == [[about_it.pk], None]
    json.dumps(changes)


def test_a_converted_leads_opportunity_keeps_the_link_in_the_audit(org, api_as):
    lead = lead_create(name="张先生", owner=org.rep_a1, company_name="宏达")
    opp = lead_convert(lead=lead, amount=Decimal("100"), expected_close=date(2026, 6, 30))

    assert api_as(org.rep_a1).delete(f"/api/opportunities/{opp.pk}").status_code == 204

    lead.refresh_from_db()
    assert lead.status == "converted" and lead.converted_opportunity is None
    assert _deleted(opp).changes["converted_leads"] == [[lead.pk], None]


def test_an_open_opportunity_is_audited_with_no_close_date(org, api_as):
    opp = f.opportunity(org.rep_a1)
    assert api_as(org.rep_a1).delete(f"/api/opportunities/{opp.pk}").status_code == 204
    changes = _deleted(opp).changes
    assert changes["closed_at"] == [None, None]
    assert changes["created_at"][0] == opp.created_at.isoformat()


def test_an_opportunity_with_orders_is_refused_and_nothing_changes(org, api_as):
    opp = f.opportunity(org.rep_a1, name="MES 二期")
    _order(org.rep_a1, customer=opp.customer, opportunity=opp)
    before = _counts()

    response = api_as(org.rep_a1).delete(f"/api/opportunities/{opp.pk}")

    _assert_refused(response, "MES 二期", "1 order")
    assert _counts() == before


# ---------------------------------------------------------------- customers


def test_deleting_a_customer_removes_it_and_its_contacts_with_audit(org, api_as):
    customer = f.customer(org.rep_a1, name="重复录入的客户", region="华东")
    contacts = [contact_create(customer=customer, name=name) for name in ("王经理", "李工")]

    response = api_as(org.rep_a1).delete(f"/api/customers/{customer.pk}")

    assert response.status_code == 204
    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert not Contact.objects.filter(customer_id=customer.pk).exists()
    changes = _deleted(customer).changes
    assert changes["name"] == ["重复录入的客户", None]
    assert changes["region"] == ["华东", None]
    assert changes["owner"] == [org.rep_a1.pk, None]
    assert changes["created_at"] == [customer.created_at.isoformat(), None]
    for contact in contacts:
        assert _deleted(contact).changes["name"] == [contact.name, None]


@pytest.mark.parametrize(
    ("history", "fragment"),
    [
        ("opportunity", "opportunities: 1, orders: 0, activities: 0"),
        ("order", "opportunities: 0, orders: 1, activities: 0"),
        ("activity", "opportunities: 0, orders: 0, activities: 1"),
    ],
)
def test_a_customer_with_history_is_refused_and_nothing_changes(org, api_as, history, fragment):
    customer = f.customer(org.rep_a1, name="恒通机械")
    contact_create(customer=customer, name="王经理")
    if history == "opportunity":
        f.opportunity(org.rep_a1, customer)
    elif history == "order":
        _order(org.rep_a1, customer=customer)
    else:
        f.activity(org.rep_a1, customer)
    before = _counts()

    response = api_as(org.rep_a1).delete(f"/api/customers/{customer.pk}")

    _assert_refused(response, "恒通机械", fragment)
    assert _counts() == before


def test_a_customer_whose_orders_are_cancelled_is_still_refused(org, api_as):
    customer = f.customer(org.rep_a1)
    order = _order(org.rep_a1, customer=customer)
    api = api_as(org.rep_a1)
    assert api.delete(f"/api/orders/{order.pk}").status_code == 204
    _assert_refused(api.delete(f"/api/customers/{customer.pk}"), "orders: 1")


# ---------------------------------------------------------------- leads


def test_deleting_a_lead_is_audited(org, api_as):
    lead = lead_create(name="张先生", owner=org.rep_a1, company_name="宏达", phone="13800000000")

    response = api_as(org.rep_a1).delete(f"/api/leads/{lead.pk}")

    assert response.status_code == 204
    assert not Lead.objects.filter(pk=lead.pk).exists()
    changes = _deleted(lead).changes
    assert changes["name"] == ["张先生", None]
    assert changes["company_name"] == ["宏达", None]
    assert changes["status"] == ["new", None]
    assert changes["created_at"] == [lead.created_at.isoformat(), None]


# ---------------------------------------------------------------- the rollups read the old days


def test_the_audited_key_dates_are_the_ones_the_rollups_read(org, api_as):
    from salesloop.insights.rollups import AUDITED_KEY_DATES

    api = api_as(org.rep_a1)
    opp = f.opportunity(org.rep_a1)
    order = _order(org.rep_a1)
    payment = payment_create(order=order, paid_on=SIGNED, amount=Decimal("1"))
    assert api.delete(f"/api/payments/{payment.pk}").status_code == 204
    assert api.delete(f"/api/orders/{order.pk}").status_code == 204
    assert api.delete(f"/api/opportunities/{opp.pk}").status_code == 204
    events = AuditEvent.objects.filter(action__in=["payment.delete", "order.cancel"]) | (
        AuditEvent.objects.filter(action="opportunity.delete")
    )
    assert events.count() == 3
    for event in events:
        for field in AUDITED_KEY_DATES[event.subject_type]:
            old = event.changes[field][0]
            assert old is None or date.fromisoformat(old[:10]), (event.action, field)
    assert _deleted(payment).changes["paid_on"][0] == SIGNED.isoformat()


# ---------------------------------------------------------------- who may delete


def _own_records(owner):
    customer = f.customer(owner)
    order = _order(owner)
    return {
        "customers": customer,
        "leads": lead_create(name="Lead", owner=owner),
        "opportunities": f.opportunity(owner),
        "orders": order,
        "payments": payment_create(order=order, paid_on=SIGNED, amount=Decimal("1")),
    }


@pytest.mark.parametrize("prefix", ["customers", "leads", "opportunities", "orders", "payments"])
def test_a_reps_token_deleting_another_reps_record_gets_404(org, api_as, prefix):
    peers = _own_records(org.rep_a2)
    api = api_as(org.rep_a1)
    before = _counts()

    hidden = api.delete(f"/api/{prefix}/{peers[prefix].pk}")
    missing = api.delete(f"/api/{prefix}/999999")

    assert hidden.status_code == missing.status_code == 404
    assert hidden.content == missing.content
    assert hidden.json()["code"] == "not_found"
    assert _counts() == before
    assert type(peers[prefix]).objects.filter(pk=peers[prefix].pk).exists()


@pytest.mark.parametrize("prefix", ["customers", "leads", "opportunities", "orders", "payments"])
@pytest.mark.parametrize("who", ["read-only token", "viewer"])
def test_a_read_only_token_or_a_viewer_gets_403_and_nothing_changes(org, api_as, prefix, who):
    mine = _own_records(org.rep_a1)
    if who == "viewer":
        # a read-write token made before its user became a viewer: the role refuses it
        api = api_as(org.rep_a1)
        Member.objects.filter(pk=org.rep_a1.pk).update(role=Role.VIEWER)
        reason = "read-only role"
    else:
        api = api_as(org.rep_a1, scope=TokenScope.READ)
        reason = "read-only token"
    before = _counts()

    response = api.delete(f"/api/{prefix}/{mine[prefix].pk}")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert _counts() == before
    assert Order.objects.get(pk=mine["orders"].pk).status == "active"
    denied = AuditEvent.objects.filter(kind=AuditEvent.Kind.SECURITY, action="denied").latest("id")
    assert denied.changes["method"] == "DELETE" and denied.changes["reason"] == reason


def test_a_manager_may_delete_in_their_subtree(org, api_as):
    opp = f.opportunity(org.rep_a2)
    assert api_as(org.mgr_a).delete(f"/api/opportunities/{opp.pk}").status_code == 204
    assert _deleted(opp).actor == org.mgr_a.user


def test_a_stale_if_match_refuses_the_delete(org, api_as):
    opp = f.opportunity(org.rep_a1)
    api = api_as(org.rep_a1)
    etag = api.get(f"/api/opportunities/{opp.pk}")["ETag"]
    assert api.patch(f"/api/opportunities/{opp.pk}", {"amount": "1.00"}).status_code == 200

    stale = api.delete(f"/api/opportunities/{opp.pk}", **{"If-Match": etag})

    assert stale.status_code == 409 and stale.json()["code"] == "stale"
    assert Opportunity.objects.filter(pk=opp.pk).exists()
    fresh = api.get(f"/api/opportunities/{opp.pk}")["ETag"]
    assert api.delete(f"/api/opportunities/{opp.pk}", **{"If-Match": fresh}).status_code == 204


def test_patching_an_order_with_payments_to_cancelled_is_refused_too(org, api_as):
    """The rule of DELETE holds for PATCH: an order with payments is not cancelled."""
    order = _order(org.rep_a1, number="HT-2026-009")
    payment_create(order=order, paid_on=SIGNED + timedelta(days=1), amount=Decimal("100"))
    before = _counts()

    response = api_as(org.rep_a1).patch(f"/api/orders/{order.pk}", {"status": "cancelled"})

    assert response.status_code == 422, response.content
    assert "1 payment" in response.content.decode()
    assert _counts() == before
    order.refresh_from_db()
    assert order.status == "active"


def test_a_cancelled_order_takes_no_payments(org, api_as):
    order = _order(org.rep_a1)
    assert api_as(org.rep_a1).delete(f"/api/orders/{order.pk}").status_code == 204
    before = _counts()

    response = api_as(org.rep_a1).post(
        "/api/payments/",
        {"order": order.pk, "paid_on": str(SIGNED + timedelta(days=2)), "amount": "10"},
    )

    assert response.status_code == 422, response.content
    assert "cancelled order" in response.content.decode()
    assert _counts() == before
