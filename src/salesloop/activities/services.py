"""Writes for activities (follow-ups)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salesloop.activities.models import Activity
from salesloop.common.audit import audit_record, diff, snapshot
from salesloop.common.models import AuditEvent
from salesloop.customers.models import Customer
from salesloop.org.models import Member


@transaction.atomic
def activity_log(
    *,
    owner: Member,
    customer: Customer,
    kind: str,
    subject: str,
    occurred_at: datetime | None = None,
    opportunity: Any = None,
    duration_minutes: int = 0,
    outcome: str = "neutral",
    notes: str = "",
    follow_up_due: date | None = None,
    external_id: str | None = None,
) -> Activity:
    """Log a follow-up. It also settles the owner's open follow-ups with this customer."""
    occurred_at = occurred_at or timezone.now()
    if opportunity is not None and opportunity.customer_id != customer.pk:
        raise ValidationError({"opportunity": _("The opportunity belongs to another customer.")})
    local_day = timezone.localtime(occurred_at).date()
    if local_day > timezone.localdate():
        raise ValidationError(
            {
                "occurred_at": _(
                    "An activity is logged once it has happened: %(day)s is after today. "
                    "For something planned, set the next follow-up of the last activity instead."
                )
                % {"day": local_day.isoformat()}
            }
        )
    if follow_up_due is not None and follow_up_due < local_day:
        raise ValidationError(
            {
                "follow_up_due": _(
                    "The next follow-up cannot be due before the activity itself (%(day)s)."
                )
                % {"day": local_day.isoformat()}
            }
        )
    activity = Activity(
        owner=owner,
        customer=customer,
        kind=kind,
        subject=subject.strip(),
        occurred_at=occurred_at,
        opportunity=opportunity,
        duration_minutes=duration_minutes,
        outcome=outcome,
        notes=notes,
        follow_up_due=follow_up_due,
        external_id=external_id,
    )
    activity.full_clean()
    Activity.objects.filter(
        owner=owner,
        customer=customer,
        follow_up_due__isnull=False,
        followed_up_at__isnull=True,
        occurred_at__lt=occurred_at,
    ).update(followed_up_at=occurred_at)
    activity.save()
    return activity


@transaction.atomic
def follow_up_complete(*, activity: Activity, at: datetime | None = None) -> Activity:
    """Mark a promised follow-up as done without logging a new activity."""
    if activity.follow_up_due is None:
        raise ValidationError(_("This activity has no follow-up to complete."))
    if activity.followed_up_at is None:
        activity.followed_up_at = at or timezone.now()
        activity.save(update_fields=["followed_up_at", "updated_at"])
    return activity


ACTIVITY_EDITABLE = {
    "kind",
    "subject",
    "occurred_at",
    "duration_minutes",
    "outcome",
    "notes",
    "follow_up_due",
}


@transaction.atomic
def activity_update(*, activity: Activity, actor: Any = None, **fields: Any) -> Activity:
    """Correct a logged activity (the customer and owner stay: log a new one instead)."""
    unknown = set(fields) - ACTIVITY_EDITABLE
    if unknown:
        raise ValidationError(
            _("These fields cannot be changed here: %(f)s") % {"f": ", ".join(sorted(unknown))}
        )
    before = snapshot(activity, sorted(ACTIVITY_EDITABLE))
    for key, value in fields.items():
        setattr(activity, key, value)
    local_day = timezone.localtime(activity.occurred_at).date()
    if activity.follow_up_due is not None and activity.follow_up_due < local_day:
        raise ValidationError(
            {
                "follow_up_due": _(
                    "The next follow-up cannot be due before the activity itself (%(day)s)."
                )
                % {"day": local_day.isoformat()}
            }
        )
    activity.full_clean()
    activity.save()
    changes = diff(before, snapshot(activity, sorted(ACTIVITY_EDITABLE)))
    if changes:
        audit_record(actor=actor, action="activity.update", subject=activity, changes=changes)
    return activity


@transaction.atomic
def activity_delete(*, activity: Activity, actor: Any = None) -> None:
    """Remove an activity logged by mistake; the removal is audited with what it said."""
    audit_record(
        actor=actor,
        action="activity.delete",
        subject=activity,
        kind=AuditEvent.Kind.DELETE,
        changes={k: [v, None] for k, v in snapshot(activity, sorted(ACTIVITY_EDITABLE)).items()},
    )
    activity.delete()
