"""Writes for pipelines, leads and opportunities. Every stage transition is recorded."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext_lazy

from salesloop.common.audit import audit_record, diff, snapshot
from salesloop.common.models import AuditEvent
from salesloop.common.money import money
from salesloop.customers.models import Customer, ProductLine
from salesloop.customers.services import contact_create, customer_create
from salesloop.orders.services import (
    CreditIn,
    company_currency,
    currency_to_base,
    validate_credit_shares,
)
from salesloop.org.models import Member
from salesloop.pipeline.choices import LeadStatus, StageKind
from salesloop.pipeline.models import (
    Lead,
    Opportunity,
    OpportunityCredit,
    Pipeline,
    Stage,
    StageChange,
)
from salesloop.webhooks.choices import WebhookEvent
from salesloop.webhooks.payloads import opportunity_payload
from salesloop.webhooks.services import webhook_emit

OPPORTUNITY_AUDITED = (
    "name",
    "customer",
    "owner",
    "stage",
    "amount",
    "currency",
    "expected_close",
    "product_line",
    "closed_at",  # a stage move records its old value: the rollups refill that day's month
)

# What a deleted opportunity said (the audit trail keeps it; the rollups read the OLD
# ``created_at`` and ``closed_at`` to know which days to refill).
OPPORTUNITY_SNAPSHOT = (
    *OPPORTUNITY_AUDITED,
    "pipeline",
    "amount_base",
    "source",
    "external_id",
    "created_at",
    "stage_entered_at",
    "closed_at",
    "lost_reason",
)

# (name, probability %, kind) — a B2B pipeline familiar to Chinese SME sales teams.
#: A new pipeline's stages, named in the install's language (settings.LANGUAGE_CODE) when
#: created: "初步接洽" in a Chinese install, "Prospecting" in an English one — not both in one
#: label, which doubled every funnel and board column. Imports still read a default stage by
#: its name in either language (``default_stage_names``).
DEFAULT_STAGES: tuple[tuple[Any, int, str], ...] = (
    (pgettext_lazy("stage", "Prospecting"), 10, StageKind.OPEN),
    (pgettext_lazy("stage", "Qualification"), 20, StageKind.OPEN),
    (pgettext_lazy("stage", "Proposal"), 40, StageKind.OPEN),
    (pgettext_lazy("stage", "Negotiation"), 70, StageKind.OPEN),
    (pgettext_lazy("stage", "Won"), 100, StageKind.WON),
    (pgettext_lazy("stage", "Lost"), 0, StageKind.LOST),
)


def default_stage_names(order: int) -> set[str]:
    """The names the default stage at ``order`` (1-based) has in every shipped language,
    casefolded (with the bilingual names of earlier versions): an import's "Won" or "赢单"
    finds that stage whichever language the pipeline was made in."""
    from django.conf import settings

    if not 1 <= order <= len(DEFAULT_STAGES):
        return set()
    name = DEFAULT_STAGES[order - 1][0]
    said = {}
    for code, _label in settings.LANGUAGES:
        with translation.override(code):
            said[code] = str(name).casefold()
    return {*said.values(), f"{said.get('zh-hans', '')} {said.get('en', '')}".strip()}


@transaction.atomic
def pipeline_create(
    *, name: str, stages: Sequence[tuple[str, int, str]] = DEFAULT_STAGES, is_default: bool = False
) -> Pipeline:
    kinds = [kind for _n, _p, kind in stages]
    if StageKind.WON not in kinds or StageKind.LOST not in kinds:
        raise ValidationError(_("A pipeline needs at least one won and one lost stage."))
    if is_default:
        Pipeline.objects.filter(is_default=True).update(is_default=False)
    pipeline = Pipeline(name=name, is_default=is_default)
    pipeline.full_clean()
    pipeline.save()
    from django.conf import settings

    for order, (stage_name, probability, kind) in enumerate(stages, start=1):
        with translation.override(settings.LANGUAGE_CODE):  # the install's language
            stage_name = str(stage_name)
        stage = Stage(
            pipeline=pipeline, name=stage_name, order=order, probability=probability, kind=kind
        )
        stage.full_clean()
        stage.save()
    return pipeline


def pipeline_default() -> Pipeline:
    pipeline = Pipeline.objects.filter(is_default=True).first() or Pipeline.objects.first()
    if pipeline is None:
        pipeline = pipeline_create(name=_("Sales pipeline"), is_default=True)
    return pipeline


def _first_open_stage(pipeline: Pipeline) -> Stage:
    stage = pipeline.stages.filter(kind=StageKind.OPEN).order_by("order").first()
    if stage is None:
        raise ValidationError(_("The pipeline %(p)s has no open stage.") % {"p": pipeline})
    return stage


def _check_stage(pipeline: Pipeline, stage: Stage) -> None:
    if stage.pipeline_id != pipeline.pk:
        raise ValidationError(
            {
                "stage": _("The stage %(s)s does not belong to the pipeline %(p)s.")
                % {"s": stage, "p": pipeline}
            }
        )


@transaction.atomic
def opportunity_create(
    *,
    name: str,
    customer: Customer,
    owner: Member,
    amount: Decimal,
    expected_close: date,
    pipeline: Pipeline | None = None,
    stage: Stage | None = None,
    currency: str | None = None,
    product_line: ProductLine | None = None,
    source: str = "other",
    external_id: str | None = None,
    created_at: datetime | None = None,
    actor: Any = None,
) -> Opportunity:
    pipeline = pipeline or (stage.pipeline if stage is not None else pipeline_default())
    stage = stage or _first_open_stage(pipeline)
    _check_stage(pipeline, stage)
    if amount is None or amount < 0:
        raise ValidationError({"amount": _("The amount cannot be negative.")})
    now = created_at or timezone.now()
    currency = currency or company_currency()
    opportunity = Opportunity(
        name=name,
        customer=customer,
        owner=owner,
        pipeline=pipeline,
        stage=stage,
        amount=money(amount),
        currency=currency,
        expected_close=expected_close,
        product_line=product_line,
        source=source,
        external_id=external_id,
        created_at=now,
        stage_entered_at=now,
        closed_at=now if stage.kind != StageKind.OPEN else None,
    )
    opportunity.amount_base = currency_to_base(
        amount=opportunity.amount, currency=currency, on=now.date()
    )
    opportunity.full_clean()
    opportunity.save()
    StageChange.objects.create(
        opportunity=opportunity,
        from_stage=None,
        to_stage=stage,
        changed_at=now,
        changed_by=_member(actor),
        amount_base=opportunity.amount_base,
    )
    audit_record(
        actor=actor,
        action="opportunity.create",
        subject=opportunity,
        kind=AuditEvent.Kind.CREATE,
        changes={k: [None, v] for k, v in snapshot(opportunity, OPPORTUNITY_AUDITED).items()},
    )
    return opportunity


def _member(actor: Any) -> Member | None:
    if actor is None:
        return None
    if isinstance(actor, Member):
        return actor
    from salesloop.org.visibility import member_of

    return member_of(actor)


@transaction.atomic
def opportunity_move_stage(
    *,
    opportunity: Opportunity,
    stage: Stage,
    actor: Any = None,
    at: datetime | None = None,
    lost_reason: str = "",
) -> Opportunity:
    """Move to ``stage``, recording the transition. Moving to the current stage changes nothing."""
    opportunity = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    _check_stage(opportunity.pipeline, stage)
    if stage.pk == opportunity.stage_id:
        return opportunity
    now = at or timezone.now()
    if opportunity.stage_entered_at and now < opportunity.stage_entered_at:
        raise ValidationError(_("A stage change cannot be dated before the previous one."))
    if stage.kind == StageKind.LOST and not lost_reason:
        lost_reason = "other"
    old_stage = opportunity.stage
    before = snapshot(opportunity, OPPORTUNITY_AUDITED)
    opportunity.stage = stage
    opportunity.stage_entered_at = now
    opportunity.closed_at = now if stage.kind != StageKind.OPEN else None
    opportunity.lost_reason = lost_reason if stage.kind == StageKind.LOST else ""
    opportunity.full_clean()
    opportunity.save()
    StageChange.objects.create(
        opportunity=opportunity,
        from_stage=old_stage,
        to_stage=stage,
        changed_at=now,
        changed_by=_member(actor),
        amount_base=opportunity.amount_base,
    )
    audit_record(
        actor=actor,
        action="opportunity.stage",
        subject=opportunity,
        changes=diff(before, snapshot(opportunity, OPPORTUNITY_AUDITED)),
    )
    event = opportunity_payload(opportunity, from_stage=old_stage)
    transaction.on_commit(lambda: webhook_emit(WebhookEvent.STAGE_CHANGED, event))
    if stage.kind == StageKind.WON:
        transaction.on_commit(lambda: webhook_emit(WebhookEvent.DEAL_WON, event))
    return opportunity


@transaction.atomic
def opportunity_update(
    *, opportunity: Opportunity, actor: Any = None, **fields: Any
) -> Opportunity:
    """Change the editable fields (not the stage: use :func:`opportunity_move_stage`)."""
    allowed = {
        "name",
        "customer",
        "owner",
        "amount",
        "currency",
        "expected_close",
        "product_line",
        "source",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(
            _("These fields cannot be changed here: %(f)s") % {"f": ", ".join(sorted(unknown))}
        )
    if "amount" in fields and (fields["amount"] is None or fields["amount"] < 0):
        raise ValidationError({"amount": _("The amount cannot be negative.")})
    before = snapshot(opportunity, OPPORTUNITY_AUDITED)
    for key, value in fields.items():
        setattr(opportunity, key, money(value) if key == "amount" else value)
    if {"amount", "currency"} & set(fields):
        opportunity.amount_base = currency_to_base(
            amount=opportunity.amount,
            currency=opportunity.currency,
            on=opportunity.created_at.date(),
        )
    opportunity.full_clean()
    opportunity.save()
    changes = diff(before, snapshot(opportunity, OPPORTUNITY_AUDITED))
    if changes:
        audit_record(actor=actor, action="opportunity.update", subject=opportunity, changes=changes)
    return opportunity


@transaction.atomic
def opportunity_set_credits(
    *, opportunity: Opportunity, credits: Sequence[CreditIn], actor: Any = None
) -> None:
    """Replace the credit split. An empty split means 100 % to the owner."""
    validate_credit_shares(credits)
    before = {str(c.member_id): str(c.share) for c in opportunity.credits.all()}
    opportunity.credits.all().delete()
    OpportunityCredit.objects.bulk_create(
        OpportunityCredit(opportunity=opportunity, member=c.member, share=c.share) for c in credits
    )
    after = {str(c.member.pk): str(c.share) for c in credits}
    audit_record(
        actor=actor,
        action="opportunity.credits",
        subject=opportunity,
        changes={"credits": [before, after]},
    )


@transaction.atomic
def opportunity_delete(*, opportunity: Opportunity, actor: Any = None) -> None:
    """Remove an opportunity with its stage history and credit split. The removal is audited
    with what it said, its stage history and its credits (activities about it stay with the
    customer). Refused while orders refer to it: an order is never erased."""
    opportunity = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    orders = opportunity.orders.count()
    if orders:
        raise ProtectedError(
            ngettext(
                "The opportunity %(name)s has %(count)d order: it cannot be deleted.",
                "The opportunity %(name)s has %(count)d orders: it cannot be deleted.",
                orders,
            )
            % {"name": opportunity.name, "count": orders},
            set(),
        )
    said: dict[str, Any] = snapshot(opportunity, OPPORTUNITY_SNAPSHOT)
    said["stage_history"] = [
        snapshot(change, ("from_stage", "to_stage", "changed_at", "changed_by", "amount_base"))
        for change in opportunity.stage_changes.order_by("changed_at", "pk")
    ]
    said["credits"] = {str(c.member_id): str(c.share) for c in opportunity.credits.all()}
    said["activities"] = sorted(opportunity.activities.values_list("pk", flat=True))
    said["converted_leads"] = sorted(
        Lead.objects.filter(converted_opportunity=opportunity).values_list("pk", flat=True)
    )
    audit_record(
        actor=actor,
        action="opportunity.delete",
        subject=opportunity,
        kind=AuditEvent.Kind.DELETE,
        changes={k: [v, None] for k, v in said.items()},
    )
    opportunity.delete()


@transaction.atomic
def lead_create(
    *,
    name: str,
    owner: Member,
    company_name: str = "",
    phone: str = "",
    email: str = "",
    source: str = "other",
    external_id: str | None = None,
    actor: Any = None,
) -> Lead:
    lead = Lead(
        name=name,
        owner=owner,
        company_name=company_name,
        phone=phone,
        email=email,
        source=source,
        external_id=external_id,
    )
    lead.full_clean()
    lead.save()
    return lead


@transaction.atomic
def lead_convert(
    *,
    lead: Lead,
    amount: Decimal,
    expected_close: date,
    opportunity_name: str | None = None,
    product_line: ProductLine | None = None,
    customer: Customer | None = None,
    actor: Any = None,
) -> Opportunity:
    """Turn a lead into an opportunity owned by the lead's owner: of a new customer named after
    the lead's company, or of ``customer`` (a company already known; the lead's person becomes
    one of its contacts). A new customer whose name is taken is refused, naming the one that
    exists, so that a company is never split in two by a conversion."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.status in (LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED):
        raise ValidationError(
            _("This lead is already %(status)s.") % {"status": lead.get_status_display()}
        )
    person = {"name": lead.name, "phone": lead.phone, "email": lead.email}
    if customer is None:
        try:
            customer = customer_create(
                name=lead.company_name or lead.name,
                owner=lead.owner,
                phone=lead.phone,
                actor=actor,
                converting=True,
                contacts=[{**person, "is_primary": True}],
            )
        except ValidationError as exc:  # the name taken: the customer to choose is the fix
            errors = getattr(exc, "error_dict", {})
            if "name" in errors:
                raise ValidationError({"customer": errors["name"]}) from exc
            raise
    elif not customer.contacts.filter(name=lead.name).exists():
        contact_create(customer=customer, **person)
    opportunity = opportunity_create(
        name=opportunity_name or customer.name,
        customer=customer,
        owner=lead.owner,
        amount=amount,
        expected_close=expected_close,
        product_line=product_line,
        source=lead.source,
        actor=actor,
    )
    lead.status = LeadStatus.CONVERTED
    lead.converted_at = timezone.now()
    lead.converted_customer = customer
    lead.converted_opportunity = opportunity
    lead.save()
    return opportunity


LEAD_EDITABLE = {"name", "company_name", "phone", "email", "source", "status", "owner"}


@transaction.atomic
def lead_update(*, lead: Lead, actor: Any = None, **fields: Any) -> Lead:
    """Change a lead; converting goes through :func:`lead_convert`, never by setting the status."""
    unknown = set(fields) - LEAD_EDITABLE
    if unknown:
        raise ValidationError(
            _("These fields cannot be changed here: %(f)s") % {"f": ", ".join(sorted(unknown))}
        )
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.status == LeadStatus.CONVERTED:
        raise ValidationError(
            _("A converted lead cannot be changed: change its customer or opportunity instead.")
        )
    if fields.get("status") == LeadStatus.CONVERTED:
        raise ValidationError({"status": _("Convert the lead to make it converted.")})
    before = snapshot(lead, sorted(LEAD_EDITABLE))
    for key, value in fields.items():
        setattr(lead, key, value)
    lead.full_clean()
    lead.save()
    changes = diff(before, snapshot(lead, sorted(LEAD_EDITABLE)))
    if changes:
        audit_record(actor=actor, action="lead.update", subject=lead, changes=changes)
    return lead


LEAD_SNAPSHOT = (
    *sorted(LEAD_EDITABLE),
    "external_id",
    "created_at",
    "converted_at",
    "converted_customer",
    "converted_opportunity",
)


@transaction.atomic
def lead_delete(*, lead: Lead, actor: Any = None) -> None:
    """Remove a lead; the removal is audited with what it said (a converted lead's customer
    and opportunity stay)."""
    audit_record(
        actor=actor,
        action="lead.delete",
        subject=lead,
        kind=AuditEvent.Kind.DELETE,
        changes={k: [v, None] for k, v in snapshot(lead, LEAD_SNAPSHOT).items()},
    )
    lead.delete()
