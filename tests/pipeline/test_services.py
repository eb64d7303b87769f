from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from salesloop.common.models import AuditEvent
from salesloop.orders.services import CreditIn
from salesloop.pipeline.models import Opportunity, Stage, StageChange
from salesloop.pipeline.services import (
    lead_convert,
    lead_create,
    opportunity_move_stage,
    opportunity_set_credits,
    opportunity_update,
    pipeline_create,
)
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_create_records_the_initial_stage_change(org):
    opp = f.opportunity(org.rep_a1, amount="1234.565")
    assert opp.amount == Decimal("1234.57")  # half up to cents
    assert opp.amount_base == Decimal("1234.57")
    change = StageChange.objects.get(opportunity=opp)
    assert change.from_stage is None and change.to_stage == opp.stage and opp.stage.order == 1
    assert AuditEvent.objects.filter(action="opportunity.create", subject_id=str(opp.pk)).exists()


def test_every_move_is_recorded_and_closing_sets_closed_at(org):
    opp = f.opportunity(org.rep_a1)
    stages = {s.order: s for s in org.pipeline.stages.all()}
    t0 = timezone.now()
    opportunity_move_stage(
        opportunity=opp, stage=stages[3], actor=org.rep_a1.user, at=t0 + timedelta(days=2)
    )
    opp = opportunity_move_stage(
        opportunity=opp, stage=stages[5], actor=org.rep_a1.user, at=t0 + timedelta(days=9)
    )
    assert opp.closed_at == t0 + timedelta(days=9)
    path = list(
        StageChange.objects.filter(opportunity=opp).values_list(
            "from_stage__order", "to_stage__order"
        )
    )
    assert path == [(None, 1), (1, 3), (3, 5)]
    # moving back to an open stage re-opens it
    opp = opportunity_move_stage(opportunity=opp, stage=stages[4], at=t0 + timedelta(days=10))
    assert opp.closed_at is None


def test_moving_to_the_current_stage_changes_nothing(org):
    opp = f.opportunity(org.rep_a1)
    opportunity_move_stage(opportunity=opp, stage=opp.stage)
    assert StageChange.objects.filter(opportunity=opp).count() == 1


def test_unknown_stage_of_another_pipeline_is_refused(org):
    other = pipeline_create(name="Other")
    foreign = Stage.objects.filter(pipeline=other).first()
    opp = f.opportunity(org.rep_a1)
    with pytest.raises(ValidationError, match="does not belong"):
        opportunity_move_stage(opportunity=opp, stage=foreign)
    opp.refresh_from_db()
    assert opp.stage.pipeline == org.pipeline
    assert StageChange.objects.filter(opportunity=opp).count() == 1


def test_stage_change_dated_before_the_previous_one_is_refused(org):
    opp = f.opportunity(org.rep_a1)
    stage2 = org.pipeline.stages.get(order=2)
    with pytest.raises(ValidationError):
        opportunity_move_stage(
            opportunity=opp, stage=stage2, at=opp.stage_entered_at - timedelta(days=1)
        )
    assert StageChange.objects.filter(opportunity=opp).count() == 1


def test_negative_amount_is_refused_and_nothing_is_written(org):
    cust = f.customer(org.rep_a1)
    with pytest.raises(ValidationError, match="negative"):
        f.opportunity(org.rep_a1, cust, amount="-1")
    assert not Opportunity.objects.exists() and not StageChange.objects.exists()
    opp = f.opportunity(org.rep_a1, cust)
    with pytest.raises(ValidationError):
        opportunity_update(opportunity=opp, amount=Decimal("-5"))
    opp.refresh_from_db()
    assert opp.amount == Decimal("10000.00")


def test_update_audits_amount_close_date_and_owner(org):
    opp = f.opportunity(org.rep_a1)
    opportunity_update(
        opportunity=opp, actor=org.mgr_a.user, amount=Decimal("20000"), owner=org.rep_a2
    )
    event = AuditEvent.objects.get(action="opportunity.update")
    assert event.actor == org.mgr_a.user
    assert event.changes["amount"] == ["10000.00", "20000.00"]
    assert event.changes["owner"] == [org.rep_a1.pk, org.rep_a2.pk]


def test_credit_split_must_sum_to_100(org):
    opp = f.opportunity(org.rep_a1)
    with pytest.raises(ValidationError, match="100"):
        opportunity_set_credits(
            opportunity=opp,
            credits=[CreditIn(org.rep_a1, Decimal("70")), CreditIn(org.rep_a2, Decimal("20"))],
        )
    with pytest.raises(ValidationError, match="once"):
        opportunity_set_credits(
            opportunity=opp,
            credits=[CreditIn(org.rep_a1, Decimal("50")), CreditIn(org.rep_a1, Decimal("50"))],
        )
    assert not opp.credits.exists()
    opportunity_set_credits(
        opportunity=opp,
        credits=[CreditIn(org.rep_a1, Decimal("70")), CreditIn(org.rep_a2, Decimal("30"))],
    )
    assert sorted(opp.credits.values_list("share", flat=True)) == [
        Decimal("30.00"),
        Decimal("70.00"),
    ]


def test_lead_converts_once_into_customer_and_opportunity(org):
    lead = lead_create(
        name="王芳",
        company_name="杭州云帆科技",
        owner=org.rep_a1,
        phone="13800000000",
        source="website",
    )
    opp = lead_convert(
        lead=lead, amount=Decimal("50000"), expected_close=timezone.localdate() + timedelta(days=60)
    )
    lead.refresh_from_db()
    assert lead.status == "converted" and lead.converted_opportunity == opp
    assert opp.customer.name == "杭州云帆科技" and opp.source == "website"
    assert opp.customer.contacts.get().name == "王芳"
    with pytest.raises(ValidationError):
        lead_convert(lead=lead, amount=Decimal("1"), expected_close=timezone.localdate())
    assert Opportunity.objects.count() == 1


def test_a_lead_of_a_known_company_is_converted_into_it_never_into_a_second_one(org):
    """Converting a lead whose company is a customer already is refused, naming that customer
    (so the fix is to choose it), and nothing is written; converting into it adds the lead's
    person as a contact and keeps one customer of that name."""
    from salesloop.customers.models import Customer

    known = f.customer(org.rep_a1, name="杭州云帆科技")
    lead = lead_create(name="王芳", company_name="杭州云帆科技 ", owner=org.rep_a1, phone="138")
    close = timezone.localdate() + timedelta(days=60)
    with pytest.raises(ValidationError) as refused:
        lead_convert(
            lead=lead, amount=Decimal("50000"), expected_close=close, actor=org.rep_a1.user
        )
    message = refused.value.message_dict["customer"][0]
    assert "杭州云帆科技" in message and f"number {known.pk}" in message and "convert" in message
    lead.refresh_from_db()
    assert lead.status == "new" and Opportunity.objects.count() == 0
    assert Customer.objects.filter(name__icontains="云帆").count() == 1

    opp = lead_convert(
        lead=lead, amount=Decimal("50000"), expected_close=close, customer=known, actor=None
    )
    lead.refresh_from_db()
    assert opp.customer == known and lead.converted_customer == known
    assert list(known.contacts.values_list("name", "phone")) == [("王芳", "138")]
    assert Customer.objects.filter(name__icontains="云帆").count() == 1


def test_pipeline_needs_won_and_lost_stages(db):
    with pytest.raises(ValidationError):
        pipeline_create(name="Broken", stages=[("Only", 10, "open")])


def test_lead_update_never_converts_and_is_audited(org):
    from salesloop.pipeline.services import lead_update

    lead = lead_create(name="李雷", owner=org.rep_a1)
    with pytest.raises(ValidationError):
        lead_update(lead=lead, status="converted")
    lead_update(lead=lead, status="contacted", actor=org.rep_a1.user)
    assert AuditEvent.objects.get(action="lead.update").changes["status"] == ["new", "contacted"]
    lead_convert(lead=lead, amount=Decimal("10"), expected_close=timezone.localdate())
    with pytest.raises(ValidationError, match="converted lead"):
        lead_update(lead=lead, phone="1")


def test_a_new_pipelines_stages_speak_the_install_language(settings):
    """Named in the install's language, not "初步接洽 Prospecting" in both."""
    from salesloop.pipeline.services import default_stage_names

    settings.LANGUAGE_CODE = "zh-hans"
    zh = pipeline_create(name="中文")
    assert list(zh.stages.order_by("order").values_list("name", flat=True)) == [
        "初步接洽",
        "需求确认",
        "方案报价",
        "商务谈判",
        "赢单",
        "输单",
    ]
    settings.LANGUAGE_CODE = "en"
    en = pipeline_create(name="English")
    assert en.stages.get(order=5).name == "Won"
    assert default_stage_names(5) == {"won", "赢单", "赢单 won"}
